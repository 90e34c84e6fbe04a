//! Every path of the portal, in one table: the pages (Leptos routes), the form posts and protocol
//! endpoints (axum routes), and the functions that build the paths with a parameter. The server's
//! router, its redirects and the pages' links and form actions all read from here, so a renamed
//! page is renamed once. Two places must repeat a literal, because their macros take nothing else:
//! the Leptos `path!` routes in `lib.rs` and the `#[server(prefix = …)]` of the server functions;
//! the server's tests check that every page below is one of the Leptos routes.
//!
//! The paths are French: they are what professionals read in the address bar.

use std::fmt::Display;

// --- Pages (Leptos routes) -------------------------------------------------------------------

/// The sign-in page, with every sign-in mode.
pub const SIGN_IN: &str = "/connexion";
/// The e-mail code step, after a right password.
pub const CODE: &str = "/connexion/code";
/// The one-time linking of an unknown card.
pub const CARD_LINK: &str = "/connexion/carte/lier";
/// The one-time linking of an unknown Pro Santé Connect identity.
pub const PSC_LINK: &str = "/connexion/lier";
/// Where every refused Pro Santé Connect sign-in ends.
pub const PSC_ERROR: &str = "/connexion/psc/erreur";
/// The TIQR QR code to scan.
pub const TIQR_SIGN_IN: &str = "/connexion/tiqr";
pub const FORGOT_PASSWORD: &str = "/mot-de-passe-oublie";
/// The password chosen through an activation or reset link (`?jeton=`).
pub const NEW_PASSWORD: &str = "/mot-de-passe";
/// The establishment chooser (several establishments).
pub const CHOOSER: &str = "/etablissements";
/// Signed in without any establishment: the regional support contact.
pub const NO_ESTABLISHMENT: &str = "/aucun-etablissement";
pub const MY_MEANS: &str = "/compte/moyens-de-connexion";
pub const MY_TIQR: &str = "/compte/tiqr";
/// « Ce n'était pas moi » (`?jeton=`, from a new-device alert): the page, and its form's post.
pub const NOT_ME: &str = "/connexion/pas-moi";
/// A session too weak for its account's roles lands here: how to get a stronger means.
pub const STRENGTHEN: &str = "/compte/renforcer";
/// The wake link of a dormant account (`?jeton=`, e-mailed when a sign-in met it): the page, and
/// its form's post.
pub const WAKE: &str = "/connexion/reveil";
/// « Mes connexions »: the holder's sessions and last sign-ins.
pub const MY_ACTIVITY: &str = "/compte/connexions";
pub const CONSOLE: &str = "/admin";
pub const USERS: &str = "/admin/comptes";
pub const NEW_USER: &str = "/admin/comptes/nouveau";
pub const ESTABLISHMENTS: &str = "/admin/etablissements";
pub const IMPORTS: &str = "/admin/import";
pub const AUDIT: &str = "/admin/journal";
/// The console's password confirmation before a sensitive action (`?retour=`).
pub const REAUTH: &str = "/admin/confirmer";
/// The public directory of establishments (`?q=`), without sign-in.
pub const DIRECTORY: &str = "/annuaire";
/// The national directory's loads (national administrators).
pub const DIRECTORY_LOADS: &str = "/admin/annuaire";
/// The console's dormant accounts and those about to be (`/admin/comptes-inactifs/{id}`: keep
/// one active).
pub const INACTIVE: &str = "/admin/comptes-inactifs";
/// A bulk action on accounts selected from the list: its form's post (`/admin/selection/{id}`:
/// the confirmation and progress page, and its confirmation's post).
pub const BULK: &str = "/admin/selection";
/// The news items of the console (`/admin/actualites/{id}`: one item).
pub const NEWS: &str = "/admin/actualites";
/// The e-mails the demo wrote instead of sending them (demo data only).
pub const DEMO_MAILS: &str = "/demo/courriels";

/// Every page above: each is a Leptos route (checked by the server's tests).
pub const PAGES: &[&str] = &[
    SIGN_IN,
    CODE,
    CARD_LINK,
    PSC_LINK,
    PSC_ERROR,
    TIQR_SIGN_IN,
    FORGOT_PASSWORD,
    NEW_PASSWORD,
    CHOOSER,
    NO_ESTABLISHMENT,
    MY_MEANS,
    MY_TIQR,
    MY_ACTIVITY,
    NOT_ME,
    WAKE,
    STRENGTHEN,
    CONSOLE,
    USERS,
    NEW_USER,
    ESTABLISHMENTS,
    IMPORTS,
    AUDIT,
    REAUTH,
    DEMO_MAILS,
    DIRECTORY,
    DIRECTORY_LOADS,
    NEWS,
    INACTIVE,
];

// --- Form posts and endpoints (axum routes) --------------------------------------------------

pub const CODE_SEND: &str = "/connexion/code/envoyer";
/// The card agent's signed proof.
pub const CARD_SIGN_IN: &str = "/connexion/carte";
/// A fresh nonce for the card agent.
pub const CARD_CHALLENGE: &str = "/connexion/carte/defi";
/// A passkey's answer (the sign-in page's form, filled by the browser's authenticator).
pub const PASSKEY_SIGN_IN: &str = "/connexion/cle-d-acces";
/// The options of a passkey sign-in (a fresh challenge, bound to the browser).
pub const PASSKEY_CHALLENGE: &str = "/connexion/cle-d-acces/defi";
/// A new passkey's answer, from "Mes moyens de connexion".
pub const MY_PASSKEY_ADD: &str = "/compte/cles-d-acces";
/// The options of a new passkey (the password again unless the sign-in is recent).
pub const MY_PASSKEY_CHALLENGE: &str = "/compte/cles-d-acces/defi";
/// The card through the TLS terminator: start, check (on the card host), back on the portal.
pub const CARD_TLS_START: &str = "/connexion/carte/certificat";
pub const CARD_TLS_VERIFY: &str = "/connexion/carte/certificat/verifier";
pub const CARD_TLS_RETURN: &str = "/connexion/carte/retour";
pub const PSC_START: &str = "/connexion/psc";
pub const PSC_CALLBACK: &str = "/connexion/psc/retour";
pub const PSC_BACK_CHANNEL_LOGOUT: &str = "/connexion/psc/deconnexion";
pub const PSC_END_SESSION: &str = "/connexion/psc/fin";
pub const TIQR_POLL: &str = "/connexion/tiqr/etat";
pub const TIQR_OFFLINE_CODE: &str = "/connexion/tiqr/code";
pub const SIGN_OUT: &str = "/deconnexion";
pub const CHOOSE: &str = "/etablissements/choisir";
/// The former address of the sign-in means page.
pub const FORMER_MY_CARDS: &str = "/compte/cartes";
pub const MY_MEANS_REMOVE: &str = "/compte/moyens-de-connexion/retirer";
/// Ends one of the holder's other sessions, or all of them.
pub const MY_ACTIVITY_END: &str = "/compte/connexions/fermer";
pub const MY_TIQR_ENROLL: &str = "/compte/tiqr/inscrire";
pub const MY_TIQR_STATUS: &str = "/compte/tiqr/etat";
pub const AUDIT_EXPORT: &str = "/admin/journal.csv";
pub const IMPORT_TEMPLATE: &str = "/admin/import/modele.csv";
/// The TIQR app's protocol endpoints (`tiqr-protocol.md`).
pub const TIQR_METADATA: &str = "/tiqr/metadata";
pub const TIQR_ENROL: &str = "/tiqr/enrol";
pub const TIQR_AUTH: &str = "/tiqr/auth";
pub const TIQR_LOGO: &str = "/tiqr/logo.png";
pub const LIVE: &str = "/healthz";
pub const READY: &str = "/readyz";

/// Route patterns with parameters (axum's `{name}` syntax); build them with the functions below.
pub mod pattern {
    /// An account's page in the console.
    pub const USER: &str = "/admin/comptes/{id}";
    /// One import's page.
    pub const IMPORT: &str = "/admin/import/{id}";
    pub const USER_ACTION: &str = "/admin/comptes/{id}/{verb}";
    /// A bulk action's page, and its confirmation's post.
    pub const BULK_JOB: &str = "/admin/selection/{id}";
    /// « Prolonger » from the list of inactive accounts.
    pub const KEEP_ACTIVE: &str = "/admin/comptes-inactifs/{id}";
    pub const USER_TIQR_ENROLL: &str = "/admin/comptes/{id}/tiqr-inscrire";
    pub const USER_TIQR_CODE: &str = "/admin/comptes/{id}/tiqr-code";
    pub const ESTABLISHMENT_EDIT: &str = "/admin/etablissements/{finess}";
    pub const IMPORT_ACTION: &str = "/admin/import/{id}/{what}";
    pub const MY_TIQR_REVOKE: &str = "/compte/tiqr/{id}/revoquer";
    pub const LANGUAGE: &str = "/langue/{code}";
    /// One news item's page in the console, and an action on it.
    pub const NEWS_ITEM: &str = "/admin/actualites/{id}";
    pub const NEWS_ACTION: &str = "/admin/actualites/{id}/{verb}";
    /// A region's news as an Atom feed (`FR-IDF.atom`).
    pub const NEWS_FEED: &str = "/actualites/{feed}";
}

// --- Paths with a parameter ------------------------------------------------------------------

/// An establishment's dashboard.
pub fn establishment(finess: impl Display) -> String {
    format!("{CHOOSER}/{finess}")
}

/// The page after sign-in (`domain::routing`).
#[cfg(feature = "ssr")]
pub fn landing(landing: &domain::routing::Landing) -> String {
    use domain::routing::Landing;
    match landing {
        Landing::Dashboard { finess } => establishment(finess),
        Landing::Chooser => CHOOSER.to_string(),
        Landing::NoEstablishment => NO_ESTABLISHMENT.to_string(),
        Landing::Console => USERS.to_string(),
    }
}

/// An account's page in the console.
pub fn user(id: impl Display) -> String {
    format!("{USERS}/{id}")
}

/// A bulk action's page.
pub fn bulk_job(id: impl Display) -> String {
    format!("{BULK}/{id}")
}

/// « Prolonger » an account from the list of inactive accounts.
pub fn keep_active(id: impl Display) -> String {
    format!("{INACTIVE}/{id}")
}

/// One news item's page in the console.
pub fn news_item(id: impl Display) -> String {
    format!("{NEWS}/{id}")
}

/// One action on a news item (`modifier`, `publier`, `retirer`, `supprimer`).
pub fn news_action(id: impl Display, verb: &str) -> String {
    format!("{NEWS}/{id}/{verb}")
}

/// A region's news as an Atom feed.
pub fn news_feed(region: &str) -> String {
    format!("/actualites/{region}.atom")
}

/// One action on an account (`desactiver`, `deverrouiller`…).
pub fn user_action(id: impl Display, verb: &str) -> String {
    format!("{USERS}/{id}/{verb}")
}

/// An establishment's page in the console.
pub fn establishment_edit(finess: impl Display) -> String {
    format!("{ESTABLISHMENTS}/{finess}")
}

/// One import's page.
pub fn import(id: impl Display) -> String {
    format!("{IMPORTS}/{id}")
}

/// One of an import's files (`rapport.csv`, `apercu.csv`) or actions (`valider`…).
pub fn import_action(id: impl Display, what: &str) -> String {
    format!("{IMPORTS}/{id}/{what}")
}

/// Revoking one of the holder's own TIQR enrolments.
pub fn my_tiqr_revoke(id: impl Display) -> String {
    format!("{MY_TIQR}/{id}/revoquer")
}

/// A return path through the console's password confirmation.
pub fn reauth(back: &str) -> String {
    format!("{REAUTH}?retour={}", urlencode(back))
}

/// The language switch, back to `back` afterwards.
pub fn language(code: &str, back: &str) -> String {
    format!("/langue/{code}?retour={}", urlencode(back))
}

/// Percent-encodes a path for a query parameter (`retour=`), keeping its slashes readable.
pub fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// One of the demo's e-mails.
pub fn demo_mail(id: impl Display) -> String {
    format!("{DEMO_MAILS}/{id}")
}

/// One audit row's page.
pub fn audit_row(id: impl Display) -> String {
    format!("{AUDIT}/{id}")
}

#[cfg(all(test, feature = "ssr"))]
mod tests {
    use domain::routing::Landing;

    #[test]
    fn each_landing_is_a_page() {
        let dashboard = Landing::Dashboard {
            finess: model::ids::Finess::parse("750712184").unwrap(),
        };
        assert_eq!(super::landing(&dashboard), "/etablissements/750712184");
        assert_eq!(super::landing(&Landing::Chooser), "/etablissements");
        assert_eq!(
            super::landing(&Landing::NoEstablishment),
            "/aucun-etablissement"
        );
        assert_eq!(super::landing(&Landing::Console), "/admin/comptes");
    }
}
