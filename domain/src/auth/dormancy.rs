//! Inactive accounts. An account is a door: one nobody has used for a year is a door nobody
//! watches. An active account without a sign-in for the deployment's `inactive_after` (`[policy]
//! inactive_days`, a year by default) becomes `dormant`; its holder is warned by e-mail
//! [`WARNING_BEFORE`] that, and dormancy never comes sooner than that after the warning (an
//! account already past the limit when the rule starts is warned first, not put to sleep
//! unannounced).
//!
//! [`run_daily`] does it, once per day across every instance: the day's row in `daily_runs` is
//! claimed first, so a second instance finds the day taken; the accounts then go by batches, each
//! committed on its own, and a run that dies midway is taken over by a later tick, which does the
//! rest.
//!
//! A sign-in that proves who it is (password, card, PSC, passkey, TIQR) but meets a dormant
//! account is refused as for any unavailable account, and e-mails the holder a wake link
//! ([`sign_in_met`]): only the holder's mailbox, on top of the means, wakes the account. Opening
//! the link shows a page whose button wakes it ([`wake`]; a GET never changes anything: mail
//! scanners open links); the holder then signs in as usual. A regional administrator may keep an
//! account active from the console (`admin::dormant`), as enabling or unlocking it does.
//!
//! The inactivity counts from the latest of the account's creation, its last sign-in
//! (`users.last_sign_in_at`, written by every sign-in) and the last time it was kept active
//! (`users.kept_active_at`).

use serde_json::json;
use sqlx::PgConnection;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use super::Portal;
use super::browser::{hash_of, random_token};
use crate::accounts::UserStatus;
use crate::audit::{self, Event, Outcome};
use crate::call::Call;
use crate::error::{Error, Result};
use crate::ids::{RegionCode, Username};
use crate::mail::{self, messages, outbox};
use model::sign_in::Method;

/// How long before dormancy the holder is warned (at most half the inactivity allowed).
pub const WARNING_BEFORE: Duration = Duration::days(30);
/// How long a wake link works.
pub const WAKE_LINK_LIFETIME: Duration = Duration::days(7);
/// Sign-ins that meet a dormant account e-mail a new link at most this often (each refused
/// attempt would otherwise fill the holder's mailbox).
pub const WAKE_LINK_EVERY: Duration = Duration::minutes(10);
/// How the job signs its audit rows.
const JOB_LABEL: &str = "tâche quotidienne";

/// The deployment's rule: after how long without a sign-in an account becomes dormant (`None`:
/// never).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    pub inactive_after: Option<Duration>,
}

impl Default for Rule {
    fn default() -> Self {
        Self::days(365)
    }
}

impl Rule {
    /// `days` without a sign-in; 0 turns dormancy off.
    pub fn days(days: u32) -> Self {
        Self {
            inactive_after: (days > 0).then(|| Duration::days(i64::from(days))),
        }
    }

    pub const fn never() -> Self {
        Self {
            inactive_after: None,
        }
    }

    /// How long before dormancy the warning goes out.
    pub fn warning_before(self) -> Option<Duration> {
        self.inactive_after.map(|d| WARNING_BEFORE.min(d / 2))
    }

    /// When an account whose inactivity counts from `since`, warned at `warned`, becomes dormant:
    /// the limit, or the warning's notice if that comes later.
    pub fn dormant_on(
        self,
        since: OffsetDateTime,
        warned: Option<OffsetDateTime>,
    ) -> Option<OffsetDateTime> {
        let after = self.inactive_after?;
        let notice = self.warning_before()?;
        let limit = since + after;
        Some(match warned {
            Some(w) => limit.max(w + notice),
            // Not warned yet: at the limit at the earliest (the warning's notice may push it).
            None => limit,
        })
    }
}

/// What one day's run did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DailyReport {
    pub warned: usize,
    pub dormant: usize,
}

/// The day's run: warns the accounts that become dormant in [`WARNING_BEFORE`], puts to sleep
/// those past the limit and warned long enough ago, e-mails and audits each. `None` when the rule
/// is off or another run (this instance's or another's) has the day.
///
/// The day is claimed first, on its own; the accounts then go by batches of [`BATCH`], each batch
/// (its accounts, e-mails and audit rows) one transaction. Every sign-in of the fleet waits for
/// the audit chain's lock, which a transaction holds from its first audit row to its commit: one
/// transaction for a first run over a national base would stop every sign-in for as long as it
/// took. A run that dies leaves its day unfinished and its committed batches done; the first run
/// [`STALLED_AFTER`] later takes the day over and does the rest. Two runs at once (a take-over of a
/// run that was only slow: no heartbeat, the runs take the time as given) never handle the same
/// account: each batch skips the accounts another batch holds, and the accounts it commits no
/// longer match.
pub async fn run_daily(portal: &Portal, call: Call<'_>) -> Result<Option<DailyReport>> {
    let Call { now, .. } = call;
    let rule = portal.dormancy;
    let (Some(after), Some(notice)) = (rule.inactive_after, rule.warning_before()) else {
        return Ok(None);
    };
    // A concurrent claim of the same day waits for this statement, then finds the row.
    let claimed = sqlx::query!(
        "INSERT INTO daily_runs (job, day, ran_at) VALUES ('dormancy', $1, $2)
         ON CONFLICT (job, day) DO UPDATE SET ran_at = EXCLUDED.ran_at
           WHERE daily_runs.finished_at IS NULL AND daily_runs.ran_at <= $3",
        now.date(),
        now,
        now - STALLED_AFTER
    )
    .execute(&portal.pool)
    .await?
    .rows_affected()
        == 1;
    if !claimed {
        return Ok(None);
    }
    // Each pass goes once through the accounts in the order of their ids (the primary key's
    // index), a batch starting after the last account of the one before: a whole base is read
    // once, not once per batch.
    let mut report = DailyReport::default();
    let mut after_id = Uuid::nil();
    loop {
        let (warned, last) = warn_batch(portal, rule, after, notice, after_id, call).await?;
        report.warned += warned;
        match last {
            Some(last) if warned == BATCH => after_id = last,
            _ => break,
        }
    }
    let mut after_id = Uuid::nil();
    loop {
        let (slept, last) = sleep_batch(portal, after, notice, after_id, call).await?;
        report.dormant += slept;
        match last {
            Some(last) if slept == BATCH => after_id = last,
            _ => break,
        }
    }
    // Only the run that holds the claim closes the day (a run taken over leaves it to its
    // successor).
    sqlx::query!(
        "UPDATE daily_runs SET finished_at = $2, details = $3
         WHERE job = 'dormancy' AND day = $1 AND ran_at = $2",
        now.date(),
        now,
        json!({ "warned": report.warned, "dormant": report.dormant })
    )
    .execute(&portal.pool)
    .await?;
    Ok(Some(report))
}

/// Accounts per transaction of the daily run (see [`run_daily`]).
const BATCH: usize = 200;
/// A day's run unfinished for this long died (or is very slow): the next run takes the day over.
const STALLED_AFTER: Duration = Duration::minutes(10);

/// Warns up to [`BATCH`] accounts whose dormancy comes within the notice, those of ids after
/// `after_id`, in one transaction. How many, and the last one's id.
async fn warn_batch(
    portal: &Portal,
    rule: Rule,
    after: Duration,
    notice: Duration,
    after_id: Uuid,
    call: Call<'_>,
) -> Result<(usize, Option<Uuid>)> {
    let now = call.now;
    let mut tx = portal.pool.begin().await?;
    let warned = sqlx::query!(
        r#"UPDATE users SET dormancy_warned_at = $1
           WHERE id IN (SELECT id FROM users
                        WHERE id > $4 AND status = 'active' AND dormancy_warned_at IS NULL
                          AND greatest(created_at, last_sign_in_at, kept_active_at) <= $2
                        ORDER BY id LIMIT $3 FOR NO KEY UPDATE SKIP LOCKED)
           RETURNING id, username AS "username: Username", region_code AS "region_code: RegionCode",
                     greatest(created_at, last_sign_in_at, kept_active_at) AS "since!""#,
        now,
        now - (after - notice),
        BATCH as i64,
        after_id
    )
    .fetch_all(&mut *tx)
    .await?;
    for account in &warned {
        let dormant_on = rule
            .dormant_on(account.since, Some(now))
            .unwrap_or(now + notice);
        if let Some(recipient) = mail::recipient(&mut tx, account.id).await? {
            let message = messages::dormancy_warning(
                &recipient,
                messages::paris_date(account.since),
                messages::paris_date(dormant_on),
                &format!("{}/connexion", portal.public_origin),
            );
            outbox::enqueue(&mut tx, &recipient, &message, now).await?;
        }
        audit::record(
            &mut tx,
            Event::new(
                audit::Action::AccountDormancyWarning,
                Outcome::Success,
                JOB_LABEL,
            )
            .target("user", account.id.to_string(), &account.username)
            .region(&account.region_code)
            .details(json!({ "inactive_since": account.since, "dormant_on": dormant_on })),
            call,
        )
        .await?;
    }
    tx.commit().await?;
    Ok((warned.len(), warned.iter().map(|a| a.id).max()))
}

/// Puts to sleep up to [`BATCH`] accounts past the limit and warned at least the notice ago, those
/// of ids after `after_id`, in one transaction. How many, and the last one's id.
async fn sleep_batch(
    portal: &Portal,
    after: Duration,
    notice: Duration,
    after_id: Uuid,
    call: Call<'_>,
) -> Result<(usize, Option<Uuid>)> {
    let now = call.now;
    let mut tx = portal.pool.begin().await?;
    let slept = sqlx::query!(
        r#"UPDATE users SET status = 'dormant', updated_at = $1, version = version + 1
           WHERE id IN (SELECT id FROM users
                        WHERE id > $5 AND status = 'active'
                          AND greatest(created_at, last_sign_in_at, kept_active_at) <= $2
                          AND dormancy_warned_at <= $3
                        ORDER BY id LIMIT $4 FOR NO KEY UPDATE SKIP LOCKED)
           RETURNING id, username AS "username: Username", region_code AS "region_code: RegionCode",
                     greatest(created_at, last_sign_in_at, kept_active_at) AS "since!",
                     dormancy_warned_at AS "warned_at!""#,
        now,
        now - after,
        now - notice,
        BATCH as i64,
        after_id
    )
    .fetch_all(&mut *tx)
    .await?;
    for account in &slept {
        audit::record(
            &mut tx,
            Event::new(audit::Action::AccountDormant, Outcome::Success, JOB_LABEL)
                .target("user", account.id.to_string(), &account.username)
                .region(&account.region_code)
                .details(json!({
                    "inactive_since": account.since,
                    "warned_at": account.warned_at,
                    "before": UserStatus::Active,
                    "after": UserStatus::Dormant,
                })),
            call,
        )
        .await?;
    }
    tx.commit().await?;
    Ok((slept.len(), slept.iter().map(|a| a.id).max()))
}

/// A sign-in proved who it is and met a dormant account: e-mails the holder a wake link (unless
/// one went out in the last [`WAKE_LINK_EVERY`]), in the caller's transaction. The caller refuses
/// the sign-in (`AccountUnavailable(Dormant)`) and audits it as it does for any unavailable
/// account.
pub(crate) async fn sign_in_met(
    conn: &mut PgConnection,
    portal: &Portal,
    user_id: Uuid,
    method: Method,
    call: Call<'_>,
) -> Result<()> {
    let Call { client, now } = call;
    // The link and its e-mail together (a savepoint when the caller's transaction is open).
    let mut tx = sqlx::Connection::begin(&mut *conn).await?;
    let recent: bool = sqlx::query_scalar!(
        r#"SELECT EXISTS (SELECT 1 FROM wake_links
                          WHERE user_id = $1 AND used_at IS NULL AND created_at > $2) AS "recent!""#,
        user_id,
        now - WAKE_LINK_EVERY
    )
    .fetch_one(&mut *tx)
    .await?;
    if recent {
        return Ok(());
    }
    let Some(recipient) = mail::recipient(&mut tx, user_id).await? else {
        return Ok(());
    };
    let (token, hash) = random_token();
    sqlx::query!(
        "INSERT INTO wake_links (token_hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)",
        &hash[..],
        user_id,
        now,
        now + WAKE_LINK_LIFETIME
    )
    .execute(&mut *tx)
    .await?;
    let place = model::activity::Place::of(client.ip.as_deref());
    let message = messages::wake_link(
        &recipient,
        messages::Attempt {
            at: now,
            method,
            place: &place,
            browser: model::activity::browser_of(client.user_agent.as_deref()).as_deref(),
        },
        &format!("{}/connexion/reveil?jeton={token}", portal.public_origin),
        WAKE_LINK_LIFETIME.whole_days(),
    );
    outbox::enqueue(&mut tx, &recipient, &message, now).await?;
    let account = crate::accounts::account(&mut tx, user_id)
        .await?
        .ok_or(Error::NotFound)?;
    audit::record(
        &mut tx,
        Event::new(
            audit::Action::AccountWakeLinkSent,
            Outcome::Success,
            &account.username,
        )
        .target("user", user_id.to_string(), &account.username)
        .region(&account.region_code)
        .details(json!({ "method": method.as_str() })),
        call,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Makes the account count as used from `now` (the holder's wake link, or a decision of the
/// console): a dormant account becomes active, the next warning is a year away. Returns the status
/// before and after.
pub(crate) async fn keep_active(
    conn: &mut PgConnection,
    user_id: Uuid,
    now: OffsetDateTime,
) -> Result<(UserStatus, UserStatus)> {
    let row = sqlx::query!(
        r#"WITH before AS (SELECT status FROM users WHERE id = $1 FOR UPDATE)
           UPDATE users u
              SET status = CASE WHEN u.status = 'dormant' THEN 'active'::user_status ELSE u.status END,
                  kept_active_at = $2, dormancy_warned_at = NULL, updated_at = $2,
                  version = u.version + 1
             FROM before
            WHERE u.id = $1
           RETURNING before.status AS "before: UserStatus", u.status AS "after: UserStatus""#,
        user_id,
        now
    )
    .fetch_optional(&mut *conn)
    .await?
    .ok_or(Error::NotFound)?;
    // A woken account's other links are spent: one is enough.
    sqlx::query!(
        "UPDATE wake_links SET used_at = $2 WHERE user_id = $1 AND used_at IS NULL",
        user_id,
        now
    )
    .execute(&mut *conn)
    .await?;
    Ok((row.before, row.after))
}

/// The holder's wake link, confirmed: the account is active again (the holder then signs in as
/// usual); audited. An unknown, used or expired link changes nothing (`AccountLinkExpired`,
/// audited as an anonymous refusal). A link for an account the console woke, disabled or locked
/// meanwhile is spent and changes nothing but the inactivity's start.
pub async fn wake(portal: &Portal, token: &str, call: Call<'_>) -> Result<()> {
    let Call { now, .. } = call;
    let mut tx = portal.pool.begin().await?;
    let Some(user_id) = sqlx::query_scalar!(
        "UPDATE wake_links SET used_at = $2
         WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2
         RETURNING user_id",
        &hash_of(token)[..],
        now
    )
    .fetch_optional(&mut *tx)
    .await?
    else {
        drop(tx);
        crate::refusals::record(
            &portal.pool,
            crate::refusals::Refusal {
                action: audit::Action::AccountWake,
                reason: "link_expired",
                outcome: Outcome::Failure,
            },
            call,
            async |_| {
                Ok(Event::new(
                    audit::Action::AccountWake,
                    Outcome::Failure,
                    "lien de réveil",
                )
                .details(json!({ "reason": "link_expired" })))
            },
        )
        .await?;
        return Err(Error::AccountLinkExpired);
    };
    let (before, after) = keep_active(&mut tx, user_id, now).await?;
    let account = crate::accounts::account(&mut tx, user_id)
        .await?
        .ok_or(Error::NotFound)?;
    audit::record(
        &mut tx,
        Event::new(
            audit::Action::AccountWake,
            Outcome::Success,
            &account.username,
        )
        .actor(user_id)
        .target("user", user_id.to_string(), &account.username)
        .region(&account.region_code)
        .details(json!({ "before": before, "after": after })),
        call,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Every sign-in, in its transaction: the account was used now (its inactivity starts again and
/// a pending warning is void).
pub(crate) async fn signed_in(
    conn: &mut PgConnection,
    user_id: Uuid,
    now: OffsetDateTime,
) -> Result<()> {
    sqlx::query!(
        "UPDATE users SET last_sign_in_at = $2, dormancy_warned_at = NULL WHERE id = $1",
        user_id,
        now
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn dormancy_comes_at_the_limit_or_a_full_notice_after_the_warning() {
        let rule = Rule::default();
        let since = datetime!(2025-01-10 08:00 UTC);
        // Warned on time (30 days before the limit): dormant at the limit.
        assert_eq!(
            rule.dormant_on(since, Some(since + Duration::days(335))),
            Some(since + Duration::days(365))
        );
        // Warned late (the rule started after the limit): 30 days after the warning.
        let late = since + Duration::days(500);
        assert_eq!(
            rule.dormant_on(since, Some(late)),
            Some(late + Duration::days(30))
        );
        // Not warned: never before the limit.
        assert_eq!(
            rule.dormant_on(since, None),
            Some(since + Duration::days(365))
        );
        assert_eq!(Rule::days(0).dormant_on(since, None), None);
    }

    #[test]
    fn a_short_rule_warns_half_way() {
        assert_eq!(Rule::days(20).warning_before(), Some(Duration::days(10)));
        assert_eq!(Rule::days(365).warning_before(), Some(WARNING_BEFORE));
        assert_eq!(Rule::never().warning_before(), None);
    }
}
