//! Why the e-mail code step refused.

use serde::{Deserialize, Serialize};

/// Where the latest code's e-mail is, as the code page tells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Delivery {
    NotRequested,
    /// Handed to the mail server.
    Sent,
    /// Waiting in the outbox; `failed` when at least one attempt failed (server down).
    Pending {
        failed: bool,
    },
    Abandoned,
}

/// Why a code step refused; each has its French message on the page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum CodeError {
    /// No such step (never, used, expired, or ended after too many wrong codes).
    StepExpired,
    NoCodeSent,
    Wrong {
        attempts_left: i32,
    },
    Expired,
    /// The fifth wrong code: the step is over.
    TooManyAttempts,
    ResendTooSoon {
        seconds: i64,
    },
    TooManySends,
}
