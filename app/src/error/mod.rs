//! What can go wrong, as the pages see it: a code that travels in a redirect (`?erreur=…`) or in a
//! server function's answer, with its HTTP status and its message in the catalog.
//!
//! Each family of codes is one declarative table ([`Entry`]: the value, its slug, its status, its
//! message), in the shape of `agent/src/error.rs`; a test checks that every table lists every
//! value and that every slug reads back as its code. The reasons come from the shared vocabulary
//! (`model`) unchanged, so the one mapping from the domain's errors (`from_domain`, below) is an
//! exhaustive `match`: a new reason does not compile until it is told to the user.

use std::fmt;

pub use model::code::CodeError;
pub use model::password::Weakness;
use serde::{Deserialize, Serialize};

use crate::i18n::{Lang, Messages};

mod card;
mod directory;
mod field;
#[cfg(feature = "ssr")]
mod from_domain;
mod import;
mod passkey;
mod psc;

use card::CARD_ERRORS;
pub use card::CardError;
use directory::DIRECTORY_ERRORS;
pub use directory::DirectoryFault;
#[cfg(test)]
use field::FIELDS;
pub use field::Field;
pub use import::ImportFault;
use passkey::PASSKEY_ERRORS;
pub use passkey::PasskeyError;
use psc::PSC_ERRORS;
pub use psc::PscError;

/// One row of a table of codes.
struct Entry<T: 'static> {
    code: T,
    /// The value carried in `?erreur=` (French, stable: bookmarks and the tests read it).
    slug: &'static str,
    /// The HTTP status of a page or an answer that shows it.
    status: u16,
    message: fn(&Messages) -> &'static str,
}

/// A table of codes, one line each: `value => "slug", status, message_key;`.
macro_rules! codes {
    ($(#[$attr:meta])* $vis:vis $name:ident: $t:ty [ $($code:expr => $slug:literal, $status:literal, $($msg:ident).+;)* ]) => {
        $(#[$attr])*
        $vis static $name: &[Entry<$t>] = &[
            $(Entry { code: $code, slug: $slug, status: $status, message: |m| m.$($msg).+ },)*
        ];
    };
}
use codes;

/// The row of `code`; every table lists every value (tested), so the fallback is never taken.
fn row<T: PartialEq>(table: &'static [Entry<T>], code: &T) -> &'static Entry<T> {
    table.iter().find(|e| e.code == *code).unwrap_or(&table[0])
}

fn by_slug<T: Clone>(table: &'static [Entry<T>], slug: &str) -> Option<T> {
    table
        .iter()
        .find(|e| e.slug == slug)
        .map(|e| e.code.clone())
}

/// A number carried in a slug, within the bounds a real one has (anything else is not ours).
/// A reference as ours are shaped (8 hex digits): only those are echoed into a page.
fn reference(r: &str) -> Option<String> {
    (r.len() == 8 && r.bytes().all(|b| b.is_ascii_hexdigit())).then(|| r.to_string())
}

fn number<T: std::str::FromStr + PartialOrd>(
    s: &str,
    range: std::ops::RangeInclusive<T>,
) -> Option<T> {
    s.parse().ok().filter(|n| range.contains(n))
}

codes! {
    /// Why a new password was refused: `mot-de-passe-<slug>`.
    WEAKNESSES: Weakness [
        Weakness::TooShort         => "court", 400, account.err_password_too_short;
        Weakness::TooLong          => "long", 400, account.err_password_too_long;
        Weakness::Common           => "courant", 400, account.err_password_common;
        Weakness::ContainsUsername => "identifiant", 400, account.err_password_username;
        Weakness::Mismatch         => "different", 400, account.err_password_mismatch;
    ]
}

codes! {
    /// The e-mail code step's refusals without a number (`Wrong` and `ResendTooSoon` carry one).
    CODE_ERRORS: CodeError [
        CodeError::StepExpired     => "connexion-expiree", 410, code.err_code_step_expired;
        CodeError::NoCodeSent      => "code-non-envoye", 401, code.err_code_not_sent;
        CodeError::Expired         => "code-expire", 401, code.err_code_expired;
        CodeError::TooManyAttempts => "code-trop-d-essais", 429, code.err_code_too_many;
        CodeError::TooManySends    => "code-trop-d-envois", 429, code.err_code_too_many_sends;
    ]
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ErrorCode {
    InvalidCredentials,
    Locked {
        minutes: i64,
    },
    AddressThrottled,
    AccountDisabled,
    AccountLocked,
    AccountPending,
    /// The means was right, the account is dormant: its wake link was e-mailed.
    AccountDormant,
    Csrf,
    NotSignedIn,
    SessionExpired,
    Forbidden,
    NotFound,
    InvalidInput,
    /// A card sign-in or linking refusal, with its precise reason.
    Card(CardError),
    /// A Pro Santé Connect sign-in refusal, with its precise reason.
    Psc(PscError),
    /// A passkey registration or sign-in refused, with its precise reason.
    Passkey(PasskeyError),
    /// The account typed on the linking page is linked to another professional's identity.
    OtherIdentity,
    /// The account typed on the linking page has no RPPS and no identity declared by the desk.
    IdentityNotDeclared,
    /// The e-mail code step refused.
    Code(CodeError),
    AccountLinkExpired,
    WeakPassword(Weakness),
    /// A field of an admin form is not valid.
    InvalidField(Field),
    /// This value is already used by another record.
    Duplicate(Field),
    /// The admin console asks for the password again.
    ReauthRequired,
    /// The account's roles need a stronger sign-in than this session's (or than the password).
    StrongerSignInRequired,
    /// Someone else saved the record since the form was opened.
    StaleVersion,
    EstablishmentOutsideRegion,
    OwnAccount,
    /// A bulk action's selection is larger than it takes.
    TooManySelected,
    /// A bulk action without any account selected.
    NothingSelected,
    /// The TIQR QR code (or enrollment) timed out.
    TiqrExpired,
    /// A wrong TIQR offline code.
    TiqrWrongCode {
        attempts_left: u8,
    },
    /// The TIQR enrollment is blocked after too many wrong responses.
    TiqrBlocked,
    /// Unknown or revoked TIQR identity.
    TiqrUnknown,
    /// A CSV import refused as a whole.
    Import(ImportFault),
    /// A load of the national directory refused at once, or an account that does not match it.
    Directory(DirectoryFault),
    /// The database is restarting, failing over or lost a race: try again in a moment. The
    /// reference is logged with the details.
    Unavailable {
        reference: String,
    },
    /// An unexpected failure; the reference is logged with the details.
    Internal {
        reference: String,
    },
}

codes! {
    /// The codes that carry nothing else.
    PLAIN: ErrorCode [
        ErrorCode::InvalidCredentials         => "identifiants", 401, sign_in.err_invalid_credentials;
        ErrorCode::AddressThrottled           => "trop-de-tentatives", 429, sign_in.err_address_throttled;
        ErrorCode::AccountDisabled            => "compte-desactive", 403, sign_in.err_account_disabled;
        ErrorCode::AccountLocked              => "compte-verrouille", 403, sign_in.err_account_locked;
        ErrorCode::AccountPending             => "compte-non-active", 403, sign_in.err_account_pending;
        ErrorCode::AccountDormant             => "compte-en-sommeil", 403, dormancy.err_sign_in;
        ErrorCode::TooManySelected            => "selection-trop-grande", 422, bulk.err_too_many;
        ErrorCode::NothingSelected            => "selection-vide", 422, bulk.err_nothing;
        ErrorCode::Csrf                       => "formulaire-expire", 403, common.err_csrf;
        ErrorCode::NotSignedIn                => "non-connecte", 401, sign_in.err_not_signed_in;
        ErrorCode::SessionExpired             => "session-expiree", 401, sign_in.session_expired;
        ErrorCode::Forbidden                  => "acces-refuse", 403, common.err_forbidden;
        ErrorCode::NotFound                   => "introuvable", 404, common.err_not_found;
        ErrorCode::InvalidInput               => "saisie-invalide", 400, common.err_invalid_input;
        ErrorCode::OtherIdentity              => "compte-autre-identite", 409, card.err_other_identity;
        ErrorCode::IdentityNotDeclared        => "compte-identite-non-declaree", 409, card.err_identity_not_declared;
        ErrorCode::AccountLinkExpired         => "lien-expire", 410, account.err_link_expired;
        ErrorCode::ReauthRequired             => "confirmation-requise", 401, console.err_reauth_required;
        ErrorCode::StrongerSignInRequired     => "connexion-plus-forte", 403, policy.err_stronger;
        ErrorCode::StaleVersion               => "modifie-entre-temps", 409, console.err_stale_version;
        ErrorCode::EstablishmentOutsideRegion => "etablissement-autre-region", 400, console.err_establishment_outside_region;
        ErrorCode::OwnAccount                 => "propre-compte", 403, console.err_own_account;
        ErrorCode::TiqrExpired                => "tiqr-expire", 410, tiqr.err_tiqr_expired;
        ErrorCode::TiqrBlocked                => "tiqr-bloque", 403, tiqr.err_tiqr_blocked;
        ErrorCode::TiqrUnknown                => "tiqr-inconnu", 401, tiqr.err_tiqr_unknown;
    ]
}

impl ErrorCode {
    /// The value carried in `?erreur=` after a form post.
    pub fn slug(&self) -> String {
        match self {
            ErrorCode::Locked { minutes } => format!("verrouille-{minutes}"),
            ErrorCode::Card(c) => row(CARD_ERRORS, c).slug.into(),
            ErrorCode::Psc(p) => row(PSC_ERRORS, p).slug.into(),
            ErrorCode::Passkey(p) => row(PASSKEY_ERRORS, p).slug.into(),
            ErrorCode::Directory(d) => row(DIRECTORY_ERRORS, d).slug.into(),
            ErrorCode::Code(CodeError::Wrong { attempts_left }) => {
                format!("code-incorrect-{attempts_left}")
            }
            ErrorCode::Code(CodeError::ResendTooSoon { seconds }) => {
                format!("code-renvoi-{seconds}")
            }
            ErrorCode::Code(c) => row(CODE_ERRORS, c).slug.into(),
            ErrorCode::WeakPassword(w) => format!("mot-de-passe-{}", row(WEAKNESSES, w).slug),
            ErrorCode::InvalidField(f) => format!("invalide-{}", f.slug()),
            ErrorCode::Duplicate(f) => format!("deja-utilise-{}", f.slug()),
            ErrorCode::TiqrWrongCode { attempts_left } => {
                format!("tiqr-code-incorrect-{attempts_left}")
            }
            ErrorCode::Import(f) => f.slug(),
            ErrorCode::Internal { reference } => format!("technique-{reference}"),
            ErrorCode::Unavailable { reference } => format!("indisponible-{reference}"),
            plain => row(PLAIN, plain).slug.into(),
        }
    }

    /// The code a slug stands for; `None` for anything this version never wrote (the page then
    /// shows no message rather than echoing the address).
    pub fn from_slug(slug: &str) -> Option<Self> {
        if let Some(code) = by_slug(PLAIN, slug) {
            return Some(code);
        }
        if let Some(c) = by_slug(CARD_ERRORS, slug) {
            return Some(ErrorCode::Card(c));
        }
        if let Some(p) = by_slug(PSC_ERRORS, slug) {
            return Some(ErrorCode::Psc(p));
        }
        if let Some(p) = by_slug(PASSKEY_ERRORS, slug) {
            return Some(ErrorCode::Passkey(p));
        }
        if let Some(d) = by_slug(DIRECTORY_ERRORS, slug) {
            return Some(ErrorCode::Directory(d));
        }
        if let Some(c) = by_slug(CODE_ERRORS, slug) {
            return Some(ErrorCode::Code(c));
        }
        if let Some(f) = ImportFault::from_slug(slug) {
            return Some(ErrorCode::Import(f));
        }
        let after = |prefix: &str| slug.strip_prefix(prefix);
        Some(if let Some(n) = after("tiqr-code-incorrect-") {
            ErrorCode::TiqrWrongCode {
                attempts_left: number(n, 1..=9)?,
            }
        } else if let Some(f) = after("invalide-") {
            ErrorCode::InvalidField(Field::from_slug(f)?)
        } else if let Some(f) = after("deja-utilise-") {
            ErrorCode::Duplicate(Field::from_slug(f)?)
        } else if let Some(n) = after("code-incorrect-") {
            ErrorCode::Code(CodeError::Wrong {
                attempts_left: number(n, 1..=10)?,
            })
        } else if let Some(n) = after("code-renvoi-") {
            ErrorCode::Code(CodeError::ResendTooSoon {
                seconds: number(n, 1..=3600)?,
            })
        } else if let Some(w) = after("mot-de-passe-") {
            ErrorCode::WeakPassword(by_slug(WEAKNESSES, w)?)
        } else if let Some(m) = after("verrouille-") {
            ErrorCode::Locked {
                minutes: number(m, 1..=1440)?,
            }
        } else if let Some(r) = after("technique-") {
            ErrorCode::Internal {
                reference: reference(r)?,
            }
        } else if let Some(r) = after("indisponible-") {
            ErrorCode::Unavailable {
                reference: reference(r)?,
            }
        } else {
            return None;
        })
    }

    /// The HTTP status of a page that shows this error.
    pub fn http_status(&self) -> u16 {
        match self {
            ErrorCode::Locked { .. } => 429,
            ErrorCode::Card(c) => row(CARD_ERRORS, c).status,
            ErrorCode::Psc(p) => row(PSC_ERRORS, p).status,
            ErrorCode::Passkey(p) => row(PASSKEY_ERRORS, p).status,
            ErrorCode::Directory(d) => row(DIRECTORY_ERRORS, d).status,
            ErrorCode::Code(CodeError::Wrong { .. }) => 401,
            ErrorCode::Code(CodeError::ResendTooSoon { .. }) => 429,
            ErrorCode::Code(c) => row(CODE_ERRORS, c).status,
            ErrorCode::WeakPassword(w) => row(WEAKNESSES, w).status,
            ErrorCode::InvalidField(_) => 400,
            ErrorCode::Duplicate(_) => 409,
            ErrorCode::TiqrWrongCode { .. } => 401,
            ErrorCode::Import(f) => f.status(),
            ErrorCode::Internal { .. } => 500,
            ErrorCode::Unavailable { .. } => 503,
            plain => row(PLAIN, plain).status,
        }
    }

    /// The user-facing message.
    pub fn message(&self, lang: Lang) -> String {
        let m = lang.messages();
        match self {
            ErrorCode::Locked { minutes } => (m.sign_in.err_locked)(*minutes),
            ErrorCode::Card(c) => (row(CARD_ERRORS, c).message)(m).into(),
            ErrorCode::Psc(p) => (row(PSC_ERRORS, p).message)(m).into(),
            ErrorCode::Passkey(p) => (row(PASSKEY_ERRORS, p).message)(m).into(),
            ErrorCode::Directory(d) => (row(DIRECTORY_ERRORS, d).message)(m).into(),
            ErrorCode::Code(CodeError::Wrong { attempts_left }) => {
                (m.code.err_code_wrong)(*attempts_left)
            }
            ErrorCode::Code(CodeError::ResendTooSoon { seconds }) => {
                (m.code.err_code_resend_soon)(*seconds)
            }
            ErrorCode::Code(c) => (row(CODE_ERRORS, c).message)(m).into(),
            ErrorCode::WeakPassword(w) => (row(WEAKNESSES, w).message)(m).into(),
            ErrorCode::InvalidField(f) => (m.console.err_invalid_field)(f.label(m)),
            ErrorCode::Duplicate(f) => (m.console.err_duplicate)(f.label(m)),
            ErrorCode::TiqrWrongCode { attempts_left } => {
                (m.tiqr.err_tiqr_wrong_code)(*attempts_left)
            }
            ErrorCode::Import(f) => f.message(m),
            ErrorCode::Internal { reference } => {
                format!(
                    "{} {} : {reference}",
                    m.common.err_internal, m.common.err_reference
                )
            }
            ErrorCode::Unavailable { reference } => {
                format!(
                    "{} {} : {reference}",
                    m.common.err_unavailable, m.common.err_reference
                )
            }
            plain => (row(PLAIN, plain).message)(m).into(),
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.slug())
    }
}

impl std::error::Error for ErrorCode {}

/// Server functions answer with an `ErrorCode`. On the server, a request whose parameters are
/// missing or malformed is the caller's fault: `InvalidInput` (400), nothing logged as an error;
/// any other failure is `Internal`, logged with its reference. In the browser, a failed call
/// (network, an answer it cannot read) becomes `Internal` with a digest of the failure.
impl leptos::server_fn::error::FromServerFnError for ErrorCode {
    type Encoder = leptos::server_fn::codec::JsonEncoding;

    fn from_server_fn_error(value: leptos::server_fn::error::ServerFnErrorErr) -> Self {
        #[cfg(feature = "ssr")]
        {
            use leptos::server_fn::error::ServerFnErrorErr as Failure;
            match value {
                Failure::Args(_)
                | Failure::MissingArg(_)
                | Failure::Deserialization(_)
                | Failure::UnsupportedRequestMethod(_) => {
                    tracing::debug!("server function refused: {value}");
                    ErrorCode::InvalidInput
                }
                other => ErrorCode::internal(other),
            }
        }
        #[cfg(not(feature = "ssr"))]
        ErrorCode::Internal {
            reference: format!("{:08x}", fxhash(&value.to_string())),
        }
    }
}

/// A short, stable digest to tell transport errors apart in a bug report.
#[cfg(not(feature = "ssr"))]
fn fxhash(s: &str) -> u32 {
    s.bytes().fold(0x811c_9dc5u32, |h, b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every value of a table's type is in the table once, with a slug of its own.
    fn complete<T: PartialEq + Clone + fmt::Debug>(table: &'static [Entry<T>], all: &[T]) {
        assert_eq!(table.len(), all.len());
        for v in all {
            assert_eq!(table.iter().filter(|e| e.code == *v).count(), 1, "{v:?}");
        }
        for e in table {
            assert_eq!(
                table.iter().filter(|o| o.slug == e.slug).count(),
                1,
                "{}",
                e.slug
            );
        }
    }

    #[test]
    fn tables_list_every_reason() {
        complete(WEAKNESSES, &Weakness::ALL);
        let psc_failures: Vec<PscError> = model::psc::PscFailure::ALL.map(PscError::from).to_vec();
        for p in psc_failures {
            assert!(PSC_ERRORS.iter().any(|e| e.code == p));
        }
        let cards: Vec<CardError> = model::card::CardRefusal::ALL.map(CardError::from).to_vec();
        for c in cards {
            assert!(CARD_ERRORS.iter().any(|e| e.code == c));
        }
        for r in model::passkey::PasskeyRefusal::ALL {
            assert!(
                PASSKEY_ERRORS
                    .iter()
                    .any(|e| e.code == PasskeyError::from(r))
            );
        }
        for table in [
            PLAIN.iter().map(|e| e.slug).collect::<Vec<_>>(),
            CARD_ERRORS.iter().map(|e| e.slug).collect(),
            PSC_ERRORS.iter().map(|e| e.slug).collect(),
            PASSKEY_ERRORS.iter().map(|e| e.slug).collect(),
            DIRECTORY_ERRORS.iter().map(|e| e.slug).collect(),
            CODE_ERRORS.iter().map(|e| e.slug).collect(),
        ] {
            for slug in &table {
                assert_eq!(table.iter().filter(|s| *s == slug).count(), 1, "{slug}");
            }
        }
    }

    #[test]
    fn slugs_round_trip() {
        for code in [
            ErrorCode::Locked { minutes: 15 },
            ErrorCode::Internal {
                reference: "0a1b2c3d".into(),
            },
            ErrorCode::Unavailable {
                reference: "00ff10ab".into(),
            },
            ErrorCode::Code(CodeError::Wrong { attempts_left: 2 }),
            ErrorCode::Code(CodeError::ResendTooSoon { seconds: 42 }),
            ErrorCode::TiqrWrongCode { attempts_left: 3 },
            ErrorCode::Import(ImportFault::TooLarge { mib: 5 }),
            ErrorCode::Import(ImportFault::TooManyRows { max: 20_000 }),
            ErrorCode::Import(ImportFault::Malformed { line: 12 }),
            ErrorCode::Import(ImportFault::MissingColumns(vec![
                "courriel".into(),
                "nom".into(),
            ])),
            ErrorCode::Import(ImportFault::DuplicateColumn("rpps".into())),
            ErrorCode::Import(ImportFault::RowsInError { rows: 3 }),
            ErrorCode::Import(ImportFault::Encoding),
            ErrorCode::Import(ImportFault::NoFile),
            ErrorCode::Import(ImportFault::Empty),
        ] {
            assert_eq!(ErrorCode::from_slug(&code.slug()), Some(code));
        }
        let every_plain = PLAIN.iter().map(|e| e.code.clone());
        let cards = CARD_ERRORS.iter().map(|e| ErrorCode::Card(e.code));
        let pscs = PSC_ERRORS.iter().map(|e| ErrorCode::Psc(e.code));
        let passkeys = PASSKEY_ERRORS.iter().map(|e| ErrorCode::Passkey(e.code));
        let directory = DIRECTORY_ERRORS
            .iter()
            .map(|e| ErrorCode::Directory(e.code));
        let codes = CODE_ERRORS.iter().map(|e| ErrorCode::Code(e.code));
        let weak = WEAKNESSES.iter().map(|e| ErrorCode::WeakPassword(e.code));
        let fields = FIELDS
            .iter()
            .flat_map(|(f, ..)| [ErrorCode::InvalidField(*f), ErrorCode::Duplicate(*f)]);
        for code in every_plain
            .chain(cards)
            .chain(pscs)
            .chain(passkeys)
            .chain(directory)
            .chain(codes)
            .chain(weak)
            .chain(fields)
        {
            assert_eq!(ErrorCode::from_slug(&code.slug()), Some(code));
        }
        assert_eq!(
            ErrorCode::from_slug("compte-autre-identite"),
            Some(ErrorCode::OtherIdentity)
        );
        assert_eq!(
            ErrorCode::from_slug("compte-identite-non-declaree"),
            Some(ErrorCode::IdentityNotDeclared)
        );
        assert_eq!(ErrorCode::from_slug("import-colonne-en-double-<b>"), None);
        assert_eq!(ErrorCode::from_slug("technique-<script>"), None);
        assert_eq!(ErrorCode::from_slug("verrouille-99999"), None);
        assert_eq!(ErrorCode::from_slug("code-incorrect-0"), None);
    }

    #[test]
    fn statuses_are_those_of_the_pages() {
        assert_eq!(ErrorCode::InvalidCredentials.http_status(), 401);
        assert_eq!(ErrorCode::Locked { minutes: 3 }.http_status(), 429);
        assert_eq!(
            ErrorCode::Card(CardError::RevocationUnknown).http_status(),
            503
        );
        assert_eq!(ErrorCode::Psc(PscError::Disabled).http_status(), 404);
        assert_eq!(ErrorCode::Code(CodeError::StepExpired).http_status(), 410);
        assert_eq!(
            ErrorCode::Import(ImportFault::TooLarge { mib: 5 }).http_status(),
            413
        );
    }

    #[test]
    fn lock_message_gives_the_duration_in_french() {
        let m = ErrorCode::Locked { minutes: 15 }.message(Lang::Fr);
        assert!(m.contains("pendant 15 minutes."), "{m}");
        let one = ErrorCode::Locked { minutes: 1 }.message(Lang::En);
        assert!(one.contains("for 1 minute."), "{one}");
    }
}
