//! One call into the domain: who is asking (their address and browser, for the audit log and the
//! address throttles) and the one instant of the request (every rule of the call sees the same
//! time; the domain never reads the clock, so tests pass any time they need).

use time::OffsetDateTime;

/// Who and where an action came from: written in the audit log, keyed by the address throttles.
#[derive(Debug, Clone, Default)]
pub struct Client {
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    /// The hash of the browser's long-lived device cookie (new-device alerts, `auth::devices`);
    /// none for what is not a browser (the TIQR app, a back-channel call, a worker).
    pub device: Option<[u8; 32]>,
}

/// Who asks, and when. Small and `Copy`: passed by value down every call.
#[derive(Debug, Clone, Copy)]
pub struct Call<'a> {
    pub client: &'a Client,
    pub now: OffsetDateTime,
}

impl<'a> Call<'a> {
    pub fn new(client: &'a Client, now: OffsetDateTime) -> Self {
        Call { client, now }
    }

    /// The same caller, at another instant (a worker's step, a test that lets time pass).
    pub fn at(self, now: OffsetDateTime) -> Self {
        Call { now, ..self }
    }
}
