//! Per-cluster work, run concurrently and bounded by `--parallel`.

use std::future::Future;

use futures::stream::{self, StreamExt};

/// Runs `work` for every item, at most `limit` at once, and returns the results in the order
/// of the items. A slow item never holds back the start of others beyond the limit.
pub async fn map_bounded<T, F, Fut>(items: Vec<T>, limit: usize, work: F) -> Vec<Fut::Output>
where
    F: Fn(T) -> Fut,
    Fut: Future,
{
    let mut results: Vec<(usize, Fut::Output)> = stream::iter(items.into_iter().enumerate())
        .map(|(index, item)| {
            let fut = work(item);
            async move { (index, fut.await) }
        })
        .buffer_unordered(limit.max(1))
        .collect()
        .await;
    results.sort_by_key(|(index, _)| *index);
    results.into_iter().map(|(_, output)| output).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    #[tokio::test]
    async fn keeps_order_and_bound() {
        let running = AtomicUsize::new(0);
        let peak = AtomicUsize::new(0);
        let out = map_bounded((0..10u64).collect(), 3, |i| {
            let (running, peak) = (&running, &peak);
            async move {
                let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                peak.fetch_max(now, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(10 * (10 - i))).await;
                running.fetch_sub(1, Ordering::SeqCst);
                i * 2
            }
        })
        .await;
        assert_eq!(out, (0..10).map(|i| i * 2).collect::<Vec<_>>());
        assert_eq!(peak.load(Ordering::SeqCst), 3);
    }
}
