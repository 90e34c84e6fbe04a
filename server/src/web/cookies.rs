//! The cookies Passerelle sets, with their attributes in one place.

use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use domain::sessions::Token;
use time::Duration;

pub const SESSION: &str = "passerelle_session";
pub const CSRF: &str = "passerelle_csrf";
/// The browser's long-lived random identity: a sign-in from one the account never used warns the
/// holder (`domain::auth::devices`). Only its hash leaves the edge.
pub const DEVICE: &str = "passerelle_appareil";
/// The pending one-time card link (a random token; the link itself is in the database).
pub use app::api::CARD_LINK_COOKIE as CARD_LINK;
/// The second step of a password sign-in (the e-mail code is awaited).
pub use app::api::SIGN_IN_STEP_COOKIE as SIGN_IN_STEP;
pub use app::i18n::LANG_COOKIE as LANG;
/// The browser's side of the TLS hand-over from the card host back to the portal.
pub const CARD_STATE: &str = "passerelle_card_state";
/// The browser's side of a Pro Santé Connect flow: the flow is bound to its hash.
pub const PSC_STATE: &str = "passerelle_psc_state";
/// Someone signed out in this browser: the next Pro Santé Connect sign-in asks PSC to
/// authenticate again (`prompt=login`) instead of riding on its single sign-on session.
pub const PSC_FRESH_LOGIN: &str = "passerelle_psc_relogin";
/// How long a sign-out keeps asking PSC for a fresh login: longer than any PSC session.
pub const PSC_FRESH_LOGIN_HOURS: i64 = 24;

/// HttpOnly, SameSite=Lax (a link from an e-mail still arrives signed in; cross-site posts do not
/// carry it), Secure whenever the portal is served over https.
fn base(name: &'static str, value: String, secure: bool) -> Cookie<'static> {
    Cookie::build((name, value))
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(secure)
        .build()
}

/// The session cookie lives as long as the browser; the server decides when the session ends.
pub fn session(value: &str, secure: bool) -> Cookie<'static> {
    base(SESSION, value.to_string(), secure)
}

pub fn csrf(value: &str, secure: bool) -> Cookie<'static> {
    base(CSRF, value.to_string(), secure)
}

/// Kept 400 days (the longest browsers allow), renewed whenever the browser comes back.
pub fn device(value: &str, secure: bool) -> Cookie<'static> {
    let mut c = base(DEVICE, value.to_string(), secure);
    c.set_max_age(Duration::days(400));
    c
}

pub fn lang(code: &str, secure: bool) -> Cookie<'static> {
    let mut c = base(LANG, code.to_string(), secure);
    c.set_max_age(Duration::days(365));
    c
}

/// A short-lived cookie for the card flows (the database row expires on its own too).
pub fn short_lived(name: &'static str, value: &str, minutes: i64, secure: bool) -> Cookie<'static> {
    let mut c = base(name, value.to_string(), secure);
    c.set_max_age(Duration::minutes(minutes));
    c
}

pub fn removal(name: &'static str, secure: bool) -> Cookie<'static> {
    let mut c = base(name, String::new(), secure);
    c.make_removal();
    c
}

/// The session token the browser presented, if it is shaped like one of ours.
pub fn session_token(jar: &CookieJar) -> Option<Token> {
    jar.get(SESSION).and_then(|c| Token::from_cookie(c.value()))
}
