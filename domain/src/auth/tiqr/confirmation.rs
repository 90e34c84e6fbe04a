//! The last step of an enrolment: the phone that enrolled answers the confirmation QR shown in
//! the enrolling browser (a sign-in answer, [`super::sign_in`]), and only then can it sign in.
//! Below both the enrolment flow and the sign-in flow, which each reach it.

use sqlx::PgConnection;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::error::Result;
use crate::mail::{self, messages, outbox};

/// The phone answered its confirmation QR rightly: it becomes usable, the enrolling browser's
/// page moves to "registered", and the holder is e-mailed (who started it, when, what to do if it
/// was not them). In the caller's transaction; false when it was confirmed already.
pub(crate) async fn confirm_in(
    conn: &mut PgConnection,
    enrollment_id: Uuid,
    now: OffsetDateTime,
) -> Result<bool> {
    let Some(confirmed) = sqlx::query!(
        r#"UPDATE tiqr_enrollments e SET activated_at = $2
           WHERE e.id = $1 AND e.activated_at IS NULL AND e.state = 'active'
           RETURNING e.user_id, e.name, e.created_at,
                     (SELECT username FROM users WHERE id = e.enrolled_by) AS "desk_agent?""#,
        enrollment_id,
        now
    )
    .fetch_optional(&mut *conn)
    .await?
    else {
        return Ok(false);
    };
    sqlx::query!(
        "UPDATE tiqr_enrollment_starts SET status = 'finalized' WHERE enrollment_id = $1",
        enrollment_id
    )
    .execute(&mut *conn)
    .await?;
    if let Some(recipient) = mail::recipient(conn, confirmed.user_id).await? {
        let message = messages::tiqr_phone_added(
            &recipient,
            &confirmed.name,
            confirmed.desk_agent.as_deref(),
            confirmed.created_at,
        );
        outbox::enqueue(conn, &recipient, &message, now).await?;
    }
    Ok(true)
}
