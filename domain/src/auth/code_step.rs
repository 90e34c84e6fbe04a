//! The e-mail code page's answer: the code is checked ([`super::otp`]), then what its step was
//! started for is completed in the same transaction — a password sign-in (the session starts) or
//! the one-time linking of a card or PSC identity ([`super::linking`], only in the browser that
//! holds the pending link).
//!
//! It sits above both: the linking starts code steps, and a code step finishes a linking.

use super::linking::{self, Completion};
use super::{Portal, SignedIn, Verified, complete_sign_in, otp};
use crate::call::Call;
use crate::error::Result;
use crate::sessions::Token;
use model::sign_in::Method;

/// The code typed; the session starts when it is right — after the one-time linking when the step
/// was started by it (`completion` tells which browser holds the pending link).
pub async fn verify_code(
    portal: &Portal,
    token: &str,
    typed: &str,
    completion: Completion<'_>,
    previous: Option<&Token>,
    call: Call<'_>,
) -> Result<SignedIn> {
    let right = otp::check_code(portal, token, typed, call).await?;
    let mut tx = right.tx;
    if let Some(link) = &right.link_token_hash {
        return linking::finish(tx, portal, completion, link, right.user_id, previous, call).await;
    }
    let signed_in = complete_sign_in(
        &mut tx,
        portal,
        Verified {
            user_id: right.user_id,
            username: &right.username,
            region_code: &right.region_code,
            method: Method::PasswordEmailCode,
            psc: None,
        },
        previous,
        call,
    )
    .await?;
    tx.commit().await?;
    Ok(signed_in)
}
