//! Trying again what the database refused for a moment: a restart, a failover, a lost race.
//!
//! Two shapes, both bounded, for the two kinds of work:
//! - [`reading`]: an operation that may run twice with the same effect (a read, or a write that
//!   repeats harmlessly, such as touching a session) is tried up to three times, 50 ms then
//!   250 ms apart.
//! - [`transaction!`](crate::transaction): a transaction whose body failed (so PostgreSQL kept nothing of it) runs once
//!   more on a fresh connection. A commit that lost its connection is *not* tried again: whether
//!   it was kept is unknown, and only the user, told to try again, can look.
//!
//! Neither waits once the pool has waited its whole acquire timeout for a connection: the
//! database is down, and a clear "temporarily unavailable" now beats a longer wait.

use std::time::Duration;

use crate::error::{Error, Result};

/// The pauses between attempts: short, since a request waits behind them.
const BACKOFF: [Duration; 2] = [Duration::from_millis(50), Duration::from_millis(250)];

/// Whether a failed attempt may be tried again: the database failed, not the request, and the
/// pool did not already wait its whole timeout for a connection.
pub fn worth_retrying(e: &Error) -> bool {
    matches!(e, Error::Unavailable(inner) if !matches!(inner, sqlx::Error::PoolTimedOut))
}

/// Runs `attempt` until it succeeds, fails for a reason of its own, or has failed three times
/// for the database's. Only for work that may run more than once.
pub async fn reading<T, F>(mut attempt: impl FnMut() -> F) -> Result<T>
where
    F: Future<Output = Result<T>>,
{
    let mut waits = BACKOFF.iter();
    loop {
        match attempt().await {
            Err(e) if worth_retrying(&e) => match waits.next() {
                Some(wait) => {
                    tracing::warn!(error = %e, "database unavailable for a read: trying again");
                    tokio::time::sleep(*wait).await;
                }
                None => return Err(e),
            },
            done => return done,
        }
    }
}

/// Runs `$body` (a future using `$tx`, a `&mut PgConnection`) in a transaction of `$pool` and
/// commits it. When the body (or the `BEGIN`) fails for the database's reason, the transaction
/// was rolled back with its connection: it runs once more. So does a commit refused as a
/// serialization failure or a deadlock (rolled back too). Any other failure of the commit is
/// returned as it is. Evaluates to `Result<T>`.
///
/// The body may run twice: what it does outside the transaction (a random token drawn, a value
/// computed) must not matter if it is thrown away.
///
/// A macro rather than a function taking a closure: a closure lending the connection to a future
/// that also borrows the caller's values needs higher-ranked lifetimes, whose futures the
/// compiler cannot yet prove `Send`.
#[macro_export]
macro_rules! transaction {
    ($pool:expr, |$tx:ident| $body:expr) => {{
        let mut retries = $crate::db::retry::Retries::default();
        loop {
            let attempt = async {
                use $crate::db::retry::Attempt;
                let mut transaction = ($pool).begin().await.map_err(Attempt::body)?;
                let value = {
                    let $tx: &mut ::sqlx::PgConnection = &mut transaction;
                    $body.await
                }
                .map_err(Attempt::Body)?;
                transaction.commit().await.map_err(Attempt::commit)?;
                Ok::<_, Attempt>(value)
            }
            .await;
            if let Some(done) = retries.settle(attempt).await {
                break done;
            }
        }
    }};
}

/// Where an attempt of [`transaction!`](crate::transaction) failed: before its commit (nothing
/// kept) or at it.
#[derive(Debug)]
pub enum Attempt {
    Body(Error),
    Commit(Error),
}

impl Attempt {
    pub fn body(e: sqlx::Error) -> Self {
        Attempt::Body(e.into())
    }

    pub fn commit(e: sqlx::Error) -> Self {
        Attempt::Commit(e.into())
    }
}

/// The runs of one [`transaction!`](crate::transaction): at most one more after a failure.
#[derive(Debug, Default)]
pub struct Retries {
    retried: bool,
}

impl Retries {
    /// What to do after an attempt: `Some(result)` to return it, `None` to run the transaction
    /// once more (after a short pause).
    pub async fn settle<T>(&mut self, attempt: Result<T, Attempt>) -> Option<Result<T>> {
        let (failure, rolled_back) = match attempt {
            Ok(value) => return Some(Ok(value)),
            Err(Attempt::Body(e)) => (e, true),
            Err(Attempt::Commit(e)) => {
                let refused = refused_at_commit(&e);
                (e, refused)
            }
        };
        if self.retried || !rolled_back || !worth_retrying(&failure) {
            return Some(Err(failure));
        }
        self.retried = true;
        tracing::warn!(error = %failure, "transaction rolled back by the database: trying once more");
        tokio::time::sleep(BACKOFF[0]).await;
        None
    }
}

/// A commit PostgreSQL answered with a serialization failure or a deadlock: it rolled back.
fn refused_at_commit(e: &Error) -> bool {
    match e {
        Error::Unavailable(sqlx::Error::Database(db)) => {
            db.code().is_some_and(|c| c == "40001" || c == "40P01")
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn io() -> Error {
        Error::from(sqlx::Error::Io(std::io::Error::new(
            std::io::ErrorKind::ConnectionReset,
            "reset",
        )))
    }

    #[test]
    fn a_lost_connection_is_worth_a_retry_and_a_pool_that_waited_is_not() {
        assert!(matches!(io(), Error::Unavailable(_)));
        assert!(worth_retrying(&io()));
        let waited = Error::from(sqlx::Error::PoolTimedOut);
        assert!(matches!(waited, Error::Unavailable(_)));
        assert!(!worth_retrying(&waited));
        assert!(!worth_retrying(&Error::NotFound));
        assert!(!worth_retrying(&Error::InvalidCredentials));
    }

    #[tokio::test]
    async fn reading_tries_three_times_then_gives_up() {
        let mut calls = 0;
        let result: Result<()> = reading(|| {
            calls += 1;
            async { Err(io()) }
        })
        .await;
        assert!(matches!(result, Err(Error::Unavailable(_))));
        assert_eq!(calls, 3);
    }

    #[tokio::test]
    async fn reading_stops_at_the_first_success_or_refusal_of_its_own() {
        let mut calls = 0;
        let result = reading(|| {
            calls += 1;
            let n = calls;
            async move { if n < 2 { Err(io()) } else { Ok(n) } }
        })
        .await;
        assert_eq!(result.ok(), Some(2));

        let mut calls = 0;
        let result: Result<()> = reading(|| {
            calls += 1;
            async { Err(Error::Forbidden) }
        })
        .await;
        assert!(matches!(result, Err(Error::Forbidden)));
        assert_eq!(calls, 1);
    }
}
