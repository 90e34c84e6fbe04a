//! "Mes connexions": the holder's last sign-ins (from the audit log: the successful ones and those
//! refused on their account) and their live sessions, which they may end one by one or all but
//! the current one. Where each came from is told from the address alone (its network's prefix,
//! `model::activity::Place`), with no outside service; the browser from its `User-Agent`.

use serde_json::json;
use time::OffsetDateTime;

use crate::audit::{self, Event, Outcome};
use crate::call::Call;
use crate::error::{Error, Result};
use crate::sessions::{self, OwnSession, Session};
use model::sign_in::Method;

/// How many past sign-ins the page shows.
pub const HISTORY: i64 = 50;

/// One sign-in of the account, successful or refused.
#[derive(Debug, Clone)]
pub struct SignInRecord {
    pub at: OffsetDateTime,
    /// How (for a successful one, and a refused passkey).
    pub method: Option<Method>,
    pub succeeded: bool,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

/// The account's last [`HISTORY`] sign-ins, newest first. A refused one is one whose audit row
/// names the account: a wrong password for it, a passkey of it refused.
pub async fn sign_ins(
    conn: &mut sqlx::PgConnection,
    user_id: uuid::Uuid,
) -> Result<Vec<SignInRecord>> {
    let rows = sqlx::query!(
        r#"SELECT occurred_at, action, outcome AS "outcome: Outcome", ip, user_agent,
                  details->>'method' AS method
           FROM audit_log
           WHERE target_type = 'user' AND target_id = $1
             AND ((action = 'auth.sign_in' AND outcome = 'success')
                  OR (action IN ('auth.password.sign_in', 'auth.passkey.sign_in')
                      AND outcome = 'failure'))
           ORDER BY occurred_at DESC, id DESC LIMIT $2"#,
        user_id.to_string(),
        HISTORY
    )
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| SignInRecord {
            at: r.occurred_at,
            method: match r.action.as_str() {
                "auth.passkey.sign_in" => Some(Method::Passkey),
                "auth.password.sign_in" => Some(Method::Password),
                _ => r.method.as_deref().and_then(Method::parse),
            },
            succeeded: r.outcome == Outcome::Success,
            ip: r.ip,
            user_agent: r.user_agent,
        })
        .collect())
}

/// The holder's live sessions (the current one first).
pub async fn sessions(
    conn: &mut sqlx::PgConnection,
    session: &Session,
    policy: sessions::Policy,
    now: OffsetDateTime,
) -> Result<Vec<OwnSession>> {
    sessions::own_live(conn, session, policy, now).await
}

/// Which of the holder's other sessions to end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending<'a> {
    /// The one named by its reference (`OwnSession::reference`).
    One(&'a str),
    /// Every one but the current.
    AllOthers,
}

/// Ends other sessions of the holder (a browser left signed in elsewhere, one they do not
/// recognise); audited. How many were ended; `NotFound` for a reference that is none of theirs
/// (or the current session's: signing out ends that one).
pub async fn end_sessions(
    pool: &sqlx::PgPool,
    session: &Session,
    which: Ending<'_>,
    call: Call<'_>,
) -> Result<u64> {
    let Call { now, .. } = call;
    let mut tx = pool.begin().await?;
    let ended = match which {
        Ending::One(reference) => {
            if !sessions::end_own(&mut tx, session, reference, now).await? {
                return Err(Error::NotFound);
            }
            1
        }
        Ending::AllOthers => sessions::end_others(&mut tx, session, now).await?,
    };
    audit::record(
        &mut tx,
        Event::new(
            audit::Action::SessionEnd,
            Outcome::Success,
            &session.username,
        )
        .actor(session.user_id)
        .target("user", session.user_id.to_string(), &session.username)
        .region(&session.region_code)
        .details(json!({
            "by": "holder",
            "which": match which { Ending::One(_) => "one", Ending::AllOthers => "all_others" },
            "ended": ended,
        })),
        call,
    )
    .await?;
    tx.commit().await?;
    Ok(ended)
}
