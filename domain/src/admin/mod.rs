//! The regional administration console's rules: who may do what where (`authz`), and the queries and
//! changes on accounts, establishments and the audit log. Every function takes the `Actor` and
//! checks it here, on the server, against the region of the data read from the database.
//!
//! A refused action writes nothing but one `denied` audit row (in its own transaction, since the
//! refused change's transaction is rolled back); an allowed change is audited with its before and
//! after values in the change's own transaction.

pub mod audit_view;
pub mod authz;
pub mod bulk;
pub mod directory;
pub mod dormant;
pub mod establishments;
pub mod news;
pub mod tiqr;
pub mod users;

use serde_json::{Value, json};
use sqlx::PgPool;

use crate::audit::{self, Event, Outcome};
use crate::call::Call;
use crate::error::{Error, Result};
pub use authz::{Action, Actor, Scope, authorize};

/// What an audit row says about the record acted on.
#[derive(Debug, Clone)]
pub struct Target {
    pub kind: &'static str,
    pub id: String,
    pub label: String,
    pub region: Option<String>,
}

/// An audit event by `actor`.
pub(crate) fn event(
    actor: &Actor,
    name: audit::Action,
    outcome: Outcome,
    target: Option<&Target>,
    details: Value,
) -> Event {
    let mut e = Event::new(name, outcome, actor.label.clone()).details(details);
    if let Some(id) = actor.user_id {
        e = e.actor(id);
    }
    e.actor_role = actor.role().map(|r| r.as_str().to_string());
    if let Some(t) = target {
        e = e.target(t.kind, t.id.clone(), t.label.clone());
        if let Some(r) = &t.region {
            e = e.region(r.clone());
        }
    }
    e
}

/// Records the refusal of `action` and returns the error to answer with.
pub(crate) async fn denied(
    pool: &PgPool,
    actor: &Actor,
    name: audit::Action,
    action: Action,
    target: Option<&Target>,
    call: Call<'_>,
) -> Error {
    let write = async {
        let mut tx = pool.begin().await?;
        audit::record(
            &mut tx,
            event(
                actor,
                name,
                Outcome::Denied,
                target,
                json!({ "permission": action.name() }),
            ),
            call,
        )
        .await?;
        tx.commit().await?;
        Ok::<_, Error>(())
    };
    match write.await {
        Ok(()) => Error::Forbidden,
        Err(e) => e,
    }
}

/// Runs `authorize` for a query over `scope`; a refusal is audited.
pub(crate) async fn scope_or_deny(
    pool: &PgPool,
    actor: &Actor,
    name: audit::Action,
    action: Action,
    call: Call<'_>,
) -> Result<Scope> {
    match actor.scope(action) {
        Some(scope) => Ok(scope),
        None => Err(denied(pool, actor, name, action, None, call).await),
    }
}

/// A keyset page: the rows, and the cursor of the next page when there is one.
#[derive(Debug, Clone)]
pub struct Page<T> {
    pub rows: Vec<T>,
    pub next: Option<String>,
}

/// Turns `limit + 1` fetched rows into a page: the extra row only says that there is a next one.
pub(crate) fn page<T>(mut rows: Vec<T>, limit: usize, cursor: impl Fn(&T) -> String) -> Page<T> {
    let next = if rows.len() > limit {
        rows.truncate(limit);
        rows.last().map(cursor)
    } else {
        None
    };
    Page { rows, next }
}

/// Splits a search into words and turns each into a `LIKE` pattern, its `%`, `_` and `\` escaped
/// (the database folds case and accents on both sides).
pub(crate) fn like_patterns(query: &str) -> Vec<String> {
    query
        .split_whitespace()
        .take(5)
        .map(|w| {
            let mut p = String::from("%");
            for c in w.chars().take(64) {
                if matches!(c, '%' | '_' | '\\') {
                    p.push('\\');
                }
                p.push(c);
            }
            p.push('%');
            p
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_words_become_escaped_patterns() {
        assert_eq!(
            like_patterns("  Hélène  50%_x "),
            vec!["%Hélène%".to_string(), "%50\\%\\_x%".to_string()]
        );
        assert!(like_patterns("   ").is_empty());
    }

    #[test]
    fn a_page_keeps_limit_rows_and_points_after_the_last() {
        let p = page(vec![1, 2, 3], 2, |n| n.to_string());
        assert_eq!(p.rows, vec![1, 2]);
        assert_eq!(p.next.as_deref(), Some("2"));
        let p = page(vec![1, 2], 2, |n| n.to_string());
        assert_eq!(p.next, None);
    }
}
