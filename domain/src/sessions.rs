//! Server-side sessions in Postgres.
//!
//! The browser holds a random 256-bit token; the database holds its SHA-256 only. A session ends
//! after `idle` without a request or `absolute` after sign-in, whichever comes first (defaults:
//! 30 minutes and 4 hours, per the French health-sector identification rules). Signing in always
//! creates a new token and ends the one the browser had (no session fixation).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use sha2::{Digest, Sha256};
use sqlx::{PgConnection, PgPool};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use model::sign_in::Method;

use crate::call::Call;
use crate::error::{Error, Result};
use crate::ids::{RegionCode, Username};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    pub idle: Duration,
    pub absolute: Duration,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            idle: Duration::minutes(30),
            absolute: Duration::hours(4),
        }
    }
}

/// Only write `last_seen_at` when it is older than this: one UPDATE a minute per session, not one
/// per request.
const TOUCH_EVERY: Duration = Duration::seconds(60);

/// The secret the browser holds. Never logged, never stored.
#[derive(Clone, PartialEq, Eq)]
pub struct Token(String);

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Token(…)")
    }
}

impl Token {
    fn generate() -> Self {
        let mut bytes = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        Self(URL_SAFE_NO_PAD.encode(bytes))
    }

    /// A token as received in a cookie; anything not shaped like ours is rejected without a query.
    pub fn from_cookie(value: &str) -> Option<Self> {
        (value.len() == 43
            && value
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'))
        .then(|| Self(value.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    fn hash(&self) -> Vec<u8> {
        Sha256::digest(self.0.as_bytes()).to_vec()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Active,
    IdleExpired,
    AbsoluteExpired,
}

/// The lifetime rule, pure so that it is tested with any clock.
pub fn state(
    last_seen_at: OffsetDateTime,
    absolute_expires_at: OffsetDateTime,
    now: OffsetDateTime,
    policy: Policy,
) -> State {
    if now >= absolute_expires_at {
        State::AbsoluteExpired
    } else if now - last_seen_at >= policy.idle {
        State::IdleExpired
    } else {
        State::Active
    }
}

/// A live session and who it belongs to.
#[derive(Debug, Clone)]
pub struct Session {
    pub user_id: Uuid,
    pub username: Username,
    pub given_name: String,
    pub family_name: String,
    pub region_code: RegionCode,
    pub auth_method: Method,
    /// PSC's `authMode` and `acr` for a PSC sign-in.
    pub auth_mode: Option<String>,
    pub acr: Option<String>,
    /// The FINESS numbers Pro Santé Connect declared for the professional at sign-in.
    pub declared_finess: Vec<String>,
    pub establishment_id: Option<Uuid>,
    pub created_at: OffsetDateTime,
    /// Sign-in, or the last time the password was confirmed for the admin console. `None`: no
    /// strong authentication in this session (a sign-in with a phone enrolled in the last hours,
    /// see [`not_strong`]): the console and the enrolment of another phone ask for the password.
    pub authenticated_at: Option<OffsetDateTime>,
    /// The account's administration roles (the minimum sign-in strength depends on them).
    pub roles: Vec<model::account::AdminRole>,
    token_hash: Vec<u8>,
}

/// Why `load` found no session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Missing {
    /// No such token (never existed, logged out, or ended by an administrator).
    Unknown,
    /// It existed and has just expired: the page says so.
    Expired,
}

/// What a new session is made of.
#[derive(Debug, Clone, Copy)]
pub struct NewSession<'a> {
    pub user_id: Uuid,
    pub auth_method: Method,
    pub establishment_id: Option<Uuid>,
    /// The token the browser presented, if any: it is ended (rotation).
    pub previous: Option<&'a Token>,
    /// A Pro Santé Connect sign-in: what PSC said about it.
    pub psc: Option<&'a PscFacts>,
}

/// What a Pro Santé Connect sign-in leaves on its session: how the professional authenticated
/// (kept for the traceability rules), PSC's session id and subject (its back-channel logout names
/// them), and the FINESS numbers PSC declared (the chooser marks those establishments).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PscFacts {
    pub auth_mode: Option<String>,
    pub acr: Option<String>,
    pub sid: Option<String>,
    pub sub: Option<String>,
    pub declared_finess: Vec<String>,
}

/// Starts a session in the caller's transaction.
pub async fn start(
    tx: &mut PgConnection,
    new: NewSession<'_>,
    call: Call<'_>,
    policy: Policy,
) -> Result<Token> {
    let Call { client, now } = call;
    let NewSession {
        user_id,
        auth_method,
        establishment_id,
        previous,
        psc,
    } = new;
    let clip =
        |v: &Option<String>, n: usize| v.as_deref().map(|v| v.chars().take(n).collect::<String>());
    if let Some(prev) = previous {
        end(tx, prev, "rotated", now).await?;
    }
    let token = Token::generate();
    sqlx::query!(
        r#"INSERT INTO sessions (token_hash, user_id, auth_method, created_at, last_seen_at, absolute_expires_at,
                                 establishment_id, ip, user_agent, authenticated_at,
                                 auth_mode, acr, psc_sid, psc_sub, declared_finess)
           VALUES ($1, $2, $3, $4, $4, $5, $6, $7, $8, $4, $9, $10, $11, $12, $13)"#,
        token.hash(),
        user_id,
        auth_method.as_str(),
        now,
        now + policy.absolute,
        establishment_id,
        client.ip,
        client.user_agent.as_deref().map(|ua| ua.chars().take(512).collect::<String>()),
        psc.and_then(|p| clip(&p.auth_mode, 32)),
        psc.and_then(|p| clip(&p.acr, 64)),
        psc.and_then(|p| clip(&p.sid, 255)),
        psc.and_then(|p| clip(&p.sub, 255)),
        &psc.map(|p| p.declared_finess.clone()).unwrap_or_default()[..],
    )
    .execute(&mut *tx)
    .await?;
    Ok(token)
}

/// The live session for `token` at `now`, touching its last activity. An expired session is
/// ended (with its reason) and reported as `Missing::Expired`.
///
/// Every page asks this first: a database restarting under it is tried again (its writes, ending
/// an expired session or touching a live one, repeat harmlessly).
pub async fn load(
    pool: &PgPool,
    token: &Token,
    policy: Policy,
    now: OffsetDateTime,
) -> Result<Result<Session, Missing>> {
    crate::db::retry::reading(|| load_once(pool, token, policy, now)).await
}

async fn load_once(
    pool: &PgPool,
    token: &Token,
    policy: Policy,
    now: OffsetDateTime,
) -> Result<Result<Session, Missing>> {
    let hash = token.hash();
    let Some(row) = sqlx::query!(
        r#"SELECT s.user_id, s.auth_method, s.auth_mode, s.acr, s.declared_finess, s.establishment_id, s.created_at, s.last_seen_at, s.absolute_expires_at,
                  s.authenticated_at,
                  ARRAY(SELECT DISTINCT r.role::text FROM admin_roles r WHERE r.user_id = s.user_id) AS "roles!",
                  u.username AS "username: Username", u.given_name, u.family_name,
                  u.region_code AS "region_code: RegionCode", u.status::text AS "status!"
           FROM sessions s JOIN users u ON u.id = s.user_id
           WHERE s.token_hash = $1 AND s.ended_at IS NULL"#,
        hash
    )
    .fetch_optional(pool)
    .await?
    else {
        return Ok(Err(Missing::Unknown));
    };
    if row.status != "active" {
        // Disabled or locked by the desk since sign-in: the session dies with the account.
        sqlx::query!("UPDATE sessions SET ended_at = $2, end_reason = 'admin' WHERE token_hash = $1 AND ended_at IS NULL", hash, now)
            .execute(pool)
            .await?;
        return Ok(Err(Missing::Unknown));
    }
    let reason = match state(row.last_seen_at, row.absolute_expires_at, now, policy) {
        State::Active => None,
        State::IdleExpired => Some("idle_timeout"),
        State::AbsoluteExpired => Some("absolute_timeout"),
    };
    if let Some(reason) = reason {
        sqlx::query!("UPDATE sessions SET ended_at = $2, end_reason = $3 WHERE token_hash = $1 AND ended_at IS NULL", hash, now, reason)
            .execute(pool)
            .await?;
        return Ok(Err(Missing::Expired));
    }
    if now - row.last_seen_at >= TOUCH_EVERY {
        sqlx::query!(
            "UPDATE sessions SET last_seen_at = $2 WHERE token_hash = $1 AND ended_at IS NULL",
            hash,
            now
        )
        .execute(pool)
        .await?;
    }
    Ok(Ok(Session {
        user_id: row.user_id,
        username: row.username,
        given_name: row.given_name,
        family_name: row.family_name,
        region_code: row.region_code,
        auth_method: stored_method(&row.auth_method)?,
        auth_mode: row.auth_mode,
        acr: row.acr,
        declared_finess: row.declared_finess,
        establishment_id: row.establishment_id,
        created_at: row.created_at,
        authenticated_at: row.authenticated_at,
        roles: row
            .roles
            .iter()
            .filter_map(|r| model::account::AdminRole::parse(r))
            .collect(),
        token_hash: hash,
    }))
}

/// Ends the session of `token` (logout, rotation). True when there was one to end.
pub async fn end(
    tx: &mut PgConnection,
    token: &Token,
    reason: &str,
    now: OffsetDateTime,
) -> Result<bool> {
    let done = sqlx::query!(
        "UPDATE sessions SET ended_at = $2, end_reason = $3 WHERE token_hash = $1 AND ended_at IS NULL",
        token.hash(),
        now,
        reason
    )
    .execute(&mut *tx)
    .await?;
    Ok(done.rows_affected() > 0)
}

/// Ends every live session of a user (administrator action, password reset). Returns how many.
pub async fn end_all_for_user(
    tx: &mut PgConnection,
    user_id: Uuid,
    reason: &str,
    now: OffsetDateTime,
) -> Result<u64> {
    let done = sqlx::query!(
        "UPDATE sessions SET ended_at = $2, end_reason = $3 WHERE user_id = $1 AND ended_at IS NULL",
        user_id,
        now,
        reason
    )
    .execute(&mut *tx)
    .await?;
    Ok(done.rows_affected())
}

/// The user has just proved who they are again (password typed for the admin console).
pub async fn reauthenticated(
    conn: &mut PgConnection,
    session: &Session,
    now: OffsetDateTime,
) -> Result<()> {
    sqlx::query!(
        "UPDATE sessions SET authenticated_at = $2 WHERE token_hash = $1 AND ended_at IS NULL",
        session.token_hash,
        now
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The session just started for `token` does not count as a strong authentication (a sign-in
/// with a phone enrolled too recently to be trusted by the admin console): its
/// `authenticated_at` stays empty until the password is typed again ([`reauthenticated`]).
pub async fn not_strong(conn: &mut PgConnection, token: &Token) -> Result<()> {
    sqlx::query!(
        "UPDATE sessions SET authenticated_at = NULL WHERE token_hash = $1 AND ended_at IS NULL",
        token.hash()
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Whether the session's last strong authentication is younger than `within` (adding a TIQR
/// phone without typing the password again).
pub fn recently_authenticated(session: &Session, within: Duration, now: OffsetDateTime) -> bool {
    session
        .authenticated_at
        .is_some_and(|t| t <= now && now - t < within)
}

/// A method read back from `sessions.auth_method`; only [`start`] writes it.
fn stored_method(name: &str) -> Result<Method> {
    Method::parse(name).ok_or_else(|| Error::Internal(format!("session method {name}")))
}

/// The live sessions of a user, newest first, as the admin console lists them.
#[derive(Debug, Clone)]
pub struct LiveSession {
    pub auth_method: Method,
    pub created_at: OffsetDateTime,
    pub last_seen_at: OffsetDateTime,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

pub async fn live_of_user(conn: &mut PgConnection, user_id: Uuid) -> Result<Vec<LiveSession>> {
    sqlx::query!(
        "SELECT auth_method, created_at, last_seen_at, ip, user_agent FROM sessions
         WHERE user_id = $1 AND ended_at IS NULL ORDER BY created_at DESC LIMIT 20",
        user_id
    )
    .fetch_all(&mut *conn)
    .await?
    .into_iter()
    .map(|r| {
        Ok(LiveSession {
            auth_method: stored_method(&r.auth_method)?,
            created_at: r.created_at,
            last_seen_at: r.last_seen_at,
            ip: r.ip,
            user_agent: r.user_agent,
        })
    })
    .collect()
}

/// One of the holder's own live sessions, as "Mes connexions" lists them: named by a reference
/// (the first half of its token's hash, in hex: enough to tell them apart, useless as a token).
#[derive(Debug, Clone)]
pub struct OwnSession {
    pub reference: String,
    pub auth_method: Method,
    pub created_at: OffsetDateTime,
    pub last_seen_at: OffsetDateTime,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    /// The session asking.
    pub current: bool,
}

/// The holder's live sessions, the current one first, then the most recently active. One past
/// its idle or absolute limit is not listed (it is ended for good when its cookie comes back).
pub async fn own_live(
    conn: &mut PgConnection,
    session: &Session,
    policy: Policy,
    now: OffsetDateTime,
) -> Result<Vec<OwnSession>> {
    sqlx::query!(
        r#"SELECT encode(substring(token_hash FROM 1 FOR 16), 'hex') AS "reference!",
                  token_hash = $2 AS "current!", auth_method, created_at, last_seen_at, ip, user_agent
           FROM sessions
           WHERE user_id = $1 AND ended_at IS NULL AND absolute_expires_at > $3
             AND last_seen_at > $3::timestamptz - $4::interval
           ORDER BY token_hash = $2 DESC, last_seen_at DESC LIMIT 50"#,
        session.user_id,
        session.token_hash,
        now,
        sqlx::postgres::types::PgInterval::try_from(policy.idle)
            .map_err(|e| Error::Internal(format!("idle limit: {e}")))?
    )
    .fetch_all(&mut *conn)
    .await?
    .into_iter()
    .map(|r| {
        Ok(OwnSession {
            reference: r.reference,
            auth_method: stored_method(&r.auth_method)?,
            created_at: r.created_at,
            last_seen_at: r.last_seen_at,
            ip: r.ip,
            user_agent: r.user_agent,
            current: r.current,
        })
    })
    .collect()
}

/// Ends the holder's session named `reference` (never the current one: signing out does that);
/// true when there was one.
pub async fn end_own(
    tx: &mut PgConnection,
    session: &Session,
    reference: &str,
    now: OffsetDateTime,
) -> Result<bool> {
    let done = sqlx::query!(
        "UPDATE sessions SET ended_at = $4, end_reason = 'holder'
         WHERE user_id = $1 AND ended_at IS NULL AND token_hash <> $2
           AND encode(substring(token_hash FROM 1 FOR 16), 'hex') = $3",
        session.user_id,
        session.token_hash,
        reference,
        now
    )
    .execute(&mut *tx)
    .await?;
    Ok(done.rows_affected() > 0)
}

/// Ends every live session of the holder but the current one; how many.
pub async fn end_others(
    tx: &mut PgConnection,
    session: &Session,
    now: OffsetDateTime,
) -> Result<u64> {
    let done = sqlx::query!(
        "UPDATE sessions SET ended_at = $3, end_reason = 'holder'
         WHERE user_id = $1 AND ended_at IS NULL AND token_hash <> $2",
        session.user_id,
        session.token_hash,
        now
    )
    .execute(&mut *tx)
    .await?;
    Ok(done.rows_affected())
}

/// Records the establishment the user works in for this session.
pub async fn set_establishment(
    tx: &mut PgConnection,
    session: &Session,
    establishment_id: Uuid,
) -> Result<()> {
    sqlx::query!(
        "UPDATE sessions SET establishment_id = $2 WHERE token_hash = $1",
        session.token_hash,
        establishment_id
    )
    .execute(&mut *tx)
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idle_and_absolute_limits() {
        let p = Policy::default();
        let t0 = OffsetDateTime::UNIX_EPOCH;
        let abs = t0 + p.absolute;
        assert_eq!(state(t0, abs, t0 + Duration::minutes(29), p), State::Active);
        assert_eq!(
            state(t0, abs, t0 + Duration::minutes(30), p),
            State::IdleExpired
        );
        // Active all along, yet the absolute limit ends it.
        assert_eq!(
            state(abs - Duration::minutes(1), abs, abs, p),
            State::AbsoluteExpired
        );
        assert_eq!(
            state(
                abs - Duration::minutes(1),
                abs,
                abs - Duration::seconds(1),
                p
            ),
            State::Active
        );
    }

    #[test]
    fn tokens_are_random_and_only_ours_are_accepted() {
        let a = Token::generate();
        let b = Token::generate();
        assert_ne!(a, b);
        assert!(Token::from_cookie(a.as_str()).is_some());
        assert!(Token::from_cookie("short").is_none());
        assert!(Token::from_cookie(&format!("{}'", &a.as_str()[..42])).is_none());
    }
}
