//! Waiting for an object to reach a state: the one loop behind `expose --wait` (an address),
//! the reader's token (`link --mode remote-secret`), `verify --traffic`'s probe (a ready
//! Deployment, a finished Job) and a deletion that completes (a Terminating namespace).

use std::time::Duration;

use serde_json::Value;
use tokio::time::Instant;

use crate::kube::api::{ApiClient, ApiError};

/// What the caller makes of the object read (`None`: it does not exist).
pub enum State<T> {
    Done(T),
    /// Not yet: why, if the caller can say, for the timeout message.
    Pending(Option<String>),
    /// It will not get there (e.g. the Job failed): stop now.
    Failed(String),
}

/// How often to look: from `first`, doubling up to `max` (equal values poll at a fixed pace).
#[derive(Debug, Clone, Copy)]
pub struct Pace {
    pub first: Duration,
    pub max: Duration,
}

impl Pace {
    pub const fn fixed(every: Duration) -> Pace {
        Pace {
            first: every,
            max: every,
        }
    }
}

/// Why waiting ended without the state wanted.
#[derive(Debug)]
pub enum Waited {
    /// The deadline passed; the last reason the state gave.
    Timeout(Option<String>),
    Failed(String),
    Api(ApiError),
}

/// GETs `path` until `state` says done or failed, or `deadline` passes. `tick` runs after each
/// look that was not the last (for progress lines).
pub async fn until<T>(
    api: &ApiClient,
    path: &str,
    deadline: Instant,
    pace: Pace,
    mut state: impl FnMut(Option<&Value>) -> State<T>,
    mut tick: impl FnMut(),
) -> Result<T, Waited> {
    let mut pause = pace.first;
    loop {
        let object = api.get(path).await.map_err(Waited::Api)?;
        let pending = match state(object.as_ref()) {
            State::Done(value) => return Ok(value),
            State::Failed(why) => return Err(Waited::Failed(why)),
            State::Pending(why) => why,
        };
        let now = Instant::now();
        if now >= deadline {
            return Err(Waited::Timeout(pending));
        }
        tick();
        tokio::time::sleep(pause.min(deadline - now)).await;
        pause = (pause * 2).min(pace.max);
    }
}
