//! Brute-force limits on guessable secrets, shared by every instance through Postgres.
//!
//! An attempt first *claims* a slot with one atomic upsert, before the secret is verified, and a
//! success gives the slot back. Counting before verifying is what keeps parallel guesses from
//! slipping past the limit: N requests racing each get a distinct count from the database, and
//! those past the limit are refused without being verified.

use sqlx::PgConnection;
use time::{Duration, OffsetDateTime};

use crate::error::Result;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Keyed by the normalised identifier typed in, whether or not such an account exists.
    Account,
    /// Keyed by the client's IP address.
    Address,
    /// Wrong e-mail codes, keyed by the account's username. Counted apart from the password's
    /// failures, because a right password resets those: only a right code resets these.
    EmailCode,
}

impl Scope {
    fn as_str(self) -> &'static str {
        match self {
            Scope::Account => "account",
            Scope::Address => "address",
            Scope::EmailCode => "email_code",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// Failures allowed in a window; the last one locks.
    pub max_failures: i32,
    /// Failures older than this are forgotten.
    pub window: Duration,
    /// How long a lock lasts.
    pub lock_for: Duration,
}

impl Policy {
    pub const ACCOUNT_DEFAULT: Policy = Policy {
        max_failures: 5,
        window: Duration::minutes(15),
        lock_for: Duration::minutes(15),
    };
    pub const ADDRESS_DEFAULT: Policy = Policy {
        max_failures: 30,
        window: Duration::minutes(15),
        lock_for: Duration::minutes(15),
    };
    /// Wrong e-mail codes: five a day (the counter lives until a right code, or a day), then an
    /// hour's lock. Someone who knows the password can no longer try codes sign-in after sign-in
    /// (the code step allows five per step, and a right password does not reset this counter).
    pub const EMAIL_CODE_DEFAULT: Policy = Policy {
        max_failures: 5,
        window: Duration::days(1),
        lock_for: Duration::hours(1),
    };
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claim {
    /// The attempt may be verified; it is the `attempt`-th of the window.
    Allowed { attempt: i32 },
    Locked {
        until: OffsetDateTime,
        /// This claim set the lock (too many attempts in flight): it deserves an audit row.
        newly: bool,
    },
}

/// Claims an attempt slot. Committed on its own (pass a pool connection, not the caller's
/// transaction) so that concurrent attempts see it at once.
pub async fn claim(
    conn: &mut PgConnection,
    scope: Scope,
    key: &str,
    policy: Policy,
    now: OffsetDateTime,
) -> Result<Claim> {
    let window_cutoff = now - policy.window;
    let row = sqlx::query!(
        r#"INSERT INTO auth_throttle AS t (scope, key, attempts, window_started_at, locked_until)
           VALUES ($1, $2, 1, $3, NULL)
           ON CONFLICT (scope, key) DO UPDATE SET
             attempts = CASE
                 WHEN t.locked_until > $3 THEN t.attempts
                 WHEN t.locked_until <= $3 OR t.window_started_at <= $4 THEN 1
                 ELSE t.attempts + 1 END,
             window_started_at = CASE
                 WHEN t.locked_until > $3 THEN t.window_started_at
                 WHEN t.locked_until <= $3 OR t.window_started_at <= $4 THEN $3
                 ELSE t.window_started_at END,
             locked_until = CASE WHEN t.locked_until > $3 THEN t.locked_until ELSE NULL END
           RETURNING attempts, locked_until"#,
        scope.as_str(),
        key,
        now,
        window_cutoff,
    )
    .fetch_one(&mut *conn)
    .await?;
    if let Some(until) = row.locked_until.filter(|u| *u > now) {
        return Ok(Claim::Locked {
            until,
            newly: false,
        });
    }
    if row.attempts > policy.max_failures {
        // More attempts in flight than the limit allows: lock now rather than verify.
        let until = lock(conn, scope, key, policy, now)
            .await?
            .unwrap_or(now + policy.lock_for);
        return Ok(Claim::Locked { until, newly: true });
    }
    Ok(Claim::Allowed {
        attempt: row.attempts,
    })
}

/// Records that the claimed attempt failed; locks when it was the last one allowed. Returns the
/// lock's end when this failure locked.
pub async fn failed(
    conn: &mut PgConnection,
    scope: Scope,
    key: &str,
    attempt: i32,
    policy: Policy,
    now: OffsetDateTime,
) -> Result<Option<OffsetDateTime>> {
    if attempt >= policy.max_failures {
        lock(conn, scope, key, policy, now).await
    } else {
        Ok(None)
    }
}

async fn lock(
    conn: &mut PgConnection,
    scope: Scope,
    key: &str,
    policy: Policy,
    now: OffsetDateTime,
) -> Result<Option<OffsetDateTime>> {
    let until = now + policy.lock_for;
    let stored = sqlx::query_scalar!(
        r#"UPDATE auth_throttle SET locked_until = CASE WHEN locked_until > $3 THEN locked_until ELSE $4 END
           WHERE scope = $1 AND key = $2 RETURNING locked_until AS "locked_until!""#,
        scope.as_str(),
        key,
        now,
        until
    )
    .fetch_optional(&mut *conn)
    .await?;
    // No row: a concurrent success reset the counter in between; nothing is locked.
    Ok(stored)
}

/// A success: the account's counter starts afresh; an address only gets its slot back (a shared
/// address with one good user must not hide another's guessing).
pub async fn succeeded(conn: &mut PgConnection, scope: Scope, key: &str) -> Result<()> {
    match scope {
        Scope::Account | Scope::EmailCode => {
            sqlx::query!(
                "DELETE FROM auth_throttle WHERE scope = $1 AND key = $2",
                scope.as_str(),
                key
            )
            .execute(&mut *conn)
            .await?;
        }
        Scope::Address => {
            sqlx::query!(
                "UPDATE auth_throttle SET attempts = greatest(attempts - 1, 0) WHERE scope = 'address' AND key = $1",
                key
            )
            .execute(&mut *conn)
            .await?;
        }
    }
    Ok(())
}

/// A right password: [`succeeded`] for the account and for the address in one statement (every
/// sign-in runs it) — the account's failures forgotten, the address's claimed attempt given back.
pub async fn password_right(
    conn: &mut PgConnection,
    account_key: &str,
    address_key: &str,
) -> Result<()> {
    sqlx::query!(
        "WITH account AS (DELETE FROM auth_throttle WHERE scope = 'account' AND key = $1)
         UPDATE auth_throttle SET attempts = greatest(attempts - 1, 0)
         WHERE scope = 'address' AND key = $2",
        account_key,
        address_key
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The end of the lock on `key`, if it is locked now (nothing is claimed).
pub async fn locked_until(
    conn: &mut PgConnection,
    scope: Scope,
    key: &str,
    now: OffsetDateTime,
) -> Result<Option<OffsetDateTime>> {
    Ok(sqlx::query_scalar!(
        "SELECT locked_until FROM auth_throttle WHERE scope = $1 AND key = $2 AND locked_until > $3",
        scope.as_str(),
        key,
        now
    )
    .fetch_optional(&mut *conn)
    .await?
    .flatten())
}

/// Lifts a lock (support desk "débloquer").
pub async fn unlock(conn: &mut PgConnection, scope: Scope, key: &str) -> Result<bool> {
    let done = sqlx::query!(
        "DELETE FROM auth_throttle WHERE scope = $1 AND key = $2",
        scope.as_str(),
        key
    )
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() > 0)
}

/// Forgets counters whose window and lock are long over (run periodically).
pub async fn purge(conn: &mut PgConnection, older_than: OffsetDateTime) -> Result<u64> {
    let done = sqlx::query!(
        "DELETE FROM auth_throttle WHERE window_started_at < $1 AND (locked_until IS NULL OR locked_until < $1)",
        older_than
    )
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected())
}
