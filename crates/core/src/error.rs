//! Errors in what the user gave us. They map to exit code 2 and are always raised before
//! anything is written, so a user who fixes their input can simply run the command again.

use std::fmt;

/// A problem with the user's input: flags, kubeconfig, names, files.
///
/// `message` says what is wrong (naming the cluster, object and field where there is one);
/// `hint` says how to fix it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputError {
    pub message: String,
    pub hint: Option<String>,
}

impl InputError {
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            hint: None,
        }
    }

    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// Several clusters' input errors as one, found before any write: every message, the
    /// first hint, and the promise that nothing was changed. `None` when there are none.
    pub fn combine(errors: Vec<InputError>) -> Option<InputError> {
        let hint = errors.first()?.hint.clone();
        let messages: Vec<String> = errors.into_iter().map(|e| e.message).collect();
        Some(InputError {
            message: format!("{}\nnothing was changed", messages.join("\n")),
            hint,
        })
    }
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)?;
        if let Some(hint) = &self.hint {
            write!(f, "\n  hint: {hint}")?;
        }
        Ok(())
    }
}

impl std::error::Error for InputError {}
