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

/// One row of a table of codes.
struct Entry<T: 'static> {
    code: T,
    /// The value carried in `?erreur=` (French, stable: bookmarks and the tests read it).
    slug: &'static str,
    /// The HTTP status of a page or an answer that shows it.
    status: u16,
    message: fn(&Messages) -> &'static str,
}

const fn entry<T>(
    code: T,
    slug: &'static str,
    status: u16,
    message: fn(&Messages) -> &'static str,
) -> Entry<T> {
    Entry {
        code,
        slug,
        status,
        message,
    }
}

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

/// Why a card was not accepted, as the holder is told: the certificate's reasons
/// ([`model::card::CardRefusal`]) and those of the flow around it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum CardError {
    Expired,
    NotYetValid,
    Untrusted,
    Revoked,
    RevocationUnknown,
    NotForAuthentication,
    UnknownHolder,
    BadSignature,
    Malformed,
    Challenge,
    LinkExpired,
    OtherAccount,
    RppsMismatch,
    Unavailable,
    NoCertificate,
}

static CARD_ERRORS: [Entry<CardError>; 15] = [
    entry(CardError::Expired, "carte-expiree", 403, |m| {
        m.err_card_expired
    }),
    entry(
        CardError::NotYetValid,
        "carte-pas-encore-valide",
        403,
        |m| m.err_card_not_yet_valid,
    ),
    entry(CardError::Untrusted, "carte-non-reconnue", 403, |m| {
        m.err_card_untrusted
    }),
    entry(CardError::Revoked, "carte-revoquee", 403, |m| {
        m.err_card_revoked
    }),
    entry(
        CardError::RevocationUnknown,
        "carte-revocation-inconnue",
        503,
        |m| m.err_card_revocation_unknown,
    ),
    entry(
        CardError::NotForAuthentication,
        "carte-pas-authentification",
        403,
        |m| m.err_card_not_for_auth,
    ),
    entry(
        CardError::UnknownHolder,
        "carte-porteur-inconnu",
        403,
        |m| m.err_card_unknown_holder,
    ),
    entry(
        CardError::BadSignature,
        "carte-signature-invalide",
        403,
        |m| m.err_card_bad_signature,
    ),
    entry(CardError::Malformed, "carte-illisible", 403, |m| {
        m.err_card_malformed
    }),
    entry(CardError::Challenge, "carte-defi-expire", 410, |m| {
        m.err_card_challenge
    }),
    entry(CardError::LinkExpired, "carte-liaison-expiree", 410, |m| {
        m.err_card_link_expired
    }),
    entry(CardError::OtherAccount, "carte-autre-compte", 409, |m| {
        m.err_card_other_account
    }),
    entry(CardError::RppsMismatch, "carte-rpps-different", 409, |m| {
        m.err_rpps_mismatch
    }),
    entry(CardError::Unavailable, "carte-indisponible", 404, |m| {
        m.err_card_unavailable
    }),
    entry(CardError::NoCertificate, "carte-absente", 403, |m| {
        m.err_card_no_certificate
    }),
];

impl From<model::card::CardRefusal> for CardError {
    fn from(r: model::card::CardRefusal) -> Self {
        use model::card::CardRefusal as R;
        match r {
            R::Malformed => CardError::Malformed,
            R::Expired => CardError::Expired,
            R::NotYetValid => CardError::NotYetValid,
            R::Untrusted => CardError::Untrusted,
            R::Revoked => CardError::Revoked,
            R::RevocationUnknown => CardError::RevocationUnknown,
            R::NotForAuthentication => CardError::NotForAuthentication,
            R::UnknownHolder => CardError::UnknownHolder,
            R::BadSignature => CardError::BadSignature,
        }
    }
}

/// Why a Pro Santé Connect sign-in ended, as the professional is told.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum PscError {
    /// The professional cancelled on PSC's page (`error=access_denied`).
    Cancelled,
    /// PSC answered with another error.
    Refused,
    /// PSC could not be reached (down, timeout).
    Unavailable,
    /// Missing, unknown, used (replayed callback), expired or other browser's state.
    State,
    /// The code, ID token or userinfo did not verify.
    TokenInvalid,
    /// No (valid) `SubjectNameID` in the claims.
    NoIdentity,
    /// `acr` below the deployment's minimum.
    LevelTooWeak,
    LinkExpired,
    Disabled,
}

static PSC_ERRORS: [Entry<PscError>; 9] = [
    entry(PscError::Cancelled, "psc-annule", 403, |m| {
        m.err_psc_cancelled
    }),
    entry(PscError::Refused, "psc-refus", 403, |m| m.err_psc_refused),
    entry(PscError::Unavailable, "psc-indisponible", 503, |m| {
        m.err_psc_unavailable
    }),
    entry(PscError::State, "psc-etat-invalide", 403, |m| {
        m.err_psc_state
    }),
    entry(PscError::TokenInvalid, "psc-reponse-invalide", 403, |m| {
        m.err_psc_token
    }),
    entry(PscError::NoIdentity, "psc-identifiant-absent", 403, |m| {
        m.err_psc_no_identity
    }),
    entry(PscError::LevelTooWeak, "psc-niveau-insuffisant", 403, |m| {
        m.err_psc_level
    }),
    entry(PscError::LinkExpired, "psc-liaison-expiree", 410, |m| {
        m.err_psc_link_expired
    }),
    entry(PscError::Disabled, "psc-desactive", 404, |m| {
        m.err_psc_disabled
    }),
];

impl From<model::psc::PscFailure> for PscError {
    fn from(f: model::psc::PscFailure) -> Self {
        use model::psc::PscFailure as F;
        match f {
            F::Cancelled => PscError::Cancelled,
            F::ProviderError => PscError::Refused,
            F::ProviderUnavailable => PscError::Unavailable,
            F::SubjectNameIdMissing | F::SubjectNameIdInvalid => PscError::NoIdentity,
            F::IssuerMismatch | F::TokenRefused | F::IdTokenInvalid | F::UserinfoInvalid => {
                PscError::TokenInvalid
            }
        }
    }
}

/// Why a new password was refused: `mot-de-passe-<slug>`.
static WEAKNESSES: [Entry<Weakness>; 5] = [
    entry(Weakness::TooShort, "court", 400, |m| {
        m.err_password_too_short
    }),
    entry(Weakness::TooLong, "long", 400, |m| m.err_password_too_long),
    entry(Weakness::Common, "courant", 400, |m| m.err_password_common),
    entry(Weakness::ContainsUsername, "identifiant", 400, |m| {
        m.err_password_username
    }),
    entry(Weakness::Mismatch, "different", 400, |m| {
        m.err_password_mismatch
    }),
];

/// The e-mail code step's refusals without a number (`Wrong` and `ResendTooSoon` carry one).
static CODE_ERRORS: [Entry<CodeError>; 5] = [
    entry(CodeError::StepExpired, "connexion-expiree", 410, |m| {
        m.err_code_step_expired
    }),
    entry(CodeError::NoCodeSent, "code-non-envoye", 401, |m| {
        m.err_code_not_sent
    }),
    entry(CodeError::Expired, "code-expire", 401, |m| {
        m.err_code_expired
    }),
    entry(CodeError::TooManyAttempts, "code-trop-d-essais", 429, |m| {
        m.err_code_too_many
    }),
    entry(CodeError::TooManySends, "code-trop-d-envois", 429, |m| {
        m.err_code_too_many_sends
    }),
];

/// Why an import file, or an import's confirmation, was refused as a whole.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ImportFault {
    TooLarge {
        mib: usize,
    },
    TooManyRows {
        max: usize,
    },
    Empty,
    Encoding,
    Malformed {
        line: u64,
    },
    /// Template names of the missing columns.
    MissingColumns(Vec<String>),
    DuplicateColumn(String),
    RowsInError {
        rows: usize,
    },
    NoFile,
}

/// Column names as they travel in a slug: the template's lowercase names only.
fn column_name(s: &str) -> Option<String> {
    (!s.is_empty() && s.len() <= 20 && s.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'))
        .then(|| s.to_string())
}

/// A number carried in a slug, within the bounds a real one has (anything else is not ours).
fn number<T: std::str::FromStr + PartialOrd>(
    s: &str,
    range: std::ops::RangeInclusive<T>,
) -> Option<T> {
    s.parse().ok().filter(|n| range.contains(n))
}

impl ImportFault {
    fn slug(&self) -> String {
        match self {
            ImportFault::TooLarge { mib } => format!("import-trop-gros-{mib}"),
            ImportFault::TooManyRows { max } => format!("import-trop-de-lignes-{max}"),
            ImportFault::Empty => "import-vide".into(),
            ImportFault::Encoding => "import-encodage".into(),
            ImportFault::Malformed { line } => format!("import-illisible-{line}"),
            ImportFault::MissingColumns(c) => format!("import-colonnes-manquantes-{}", c.join(".")),
            ImportFault::DuplicateColumn(c) => format!("import-colonne-en-double-{c}"),
            ImportFault::RowsInError { rows } => format!("import-lignes-en-erreur-{rows}"),
            ImportFault::NoFile => "import-sans-fichier".into(),
        }
    }

    fn from_slug(slug: &str) -> Option<Self> {
        let rest = slug.strip_prefix("import-")?;
        let count = |prefix: &str| number(rest.strip_prefix(prefix)?, 1..=10_000_000usize);
        Some(match rest {
            "vide" => ImportFault::Empty,
            "encodage" => ImportFault::Encoding,
            "sans-fichier" => ImportFault::NoFile,
            _ => {
                if let Some(mib) = count("trop-gros-") {
                    ImportFault::TooLarge { mib }
                } else if let Some(max) = count("trop-de-lignes-") {
                    ImportFault::TooManyRows { max }
                } else if let Some(line) = count("illisible-") {
                    ImportFault::Malformed { line: line as u64 }
                } else if let Some(rows) = count("lignes-en-erreur-") {
                    ImportFault::RowsInError { rows }
                } else if let Some(c) = rest.strip_prefix("colonnes-manquantes-") {
                    let columns: Option<Vec<String>> =
                        c.split('.').take(10).map(column_name).collect();
                    ImportFault::MissingColumns(columns?)
                } else if let Some(c) = rest.strip_prefix("colonne-en-double-") {
                    ImportFault::DuplicateColumn(column_name(c)?)
                } else {
                    return None;
                }
            }
        })
    }

    fn status(&self) -> u16 {
        match self {
            ImportFault::TooLarge { .. } => 413,
            ImportFault::RowsInError { .. } => 409,
            _ => 400,
        }
    }

    fn message(&self, m: &Messages) -> String {
        match self {
            ImportFault::TooLarge { mib } => {
                m.err_import_too_large.replace("{n}", &mib.to_string())
            }
            ImportFault::TooManyRows { max } => {
                m.err_import_too_many_rows.replace("{n}", &max.to_string())
            }
            ImportFault::Empty => m.err_import_empty.into(),
            ImportFault::Encoding => m.err_import_encoding.into(),
            ImportFault::Malformed { line } => {
                m.err_import_malformed.replace("{n}", &line.to_string())
            }
            ImportFault::MissingColumns(c) => m
                .err_import_missing_columns
                .replace("{cols}", &c.join(", ")),
            ImportFault::DuplicateColumn(c) => m.err_import_duplicate_column.replace("{col}", c),
            ImportFault::RowsInError { rows } => {
                m.err_import_rows_in_error.replace("{n}", &rows.to_string())
            }
            ImportFault::NoFile => m.err_import_no_file.into(),
        }
    }
}

impl From<model::import::ImportError> for ImportFault {
    fn from(e: model::import::ImportError) -> Self {
        use model::import::ImportError as E;
        match e {
            E::TooLarge { max_bytes } => ImportFault::TooLarge {
                mib: max_bytes.div_ceil(1024 * 1024),
            },
            E::TooManyRows { max_rows } => ImportFault::TooManyRows { max: max_rows },
            E::Empty => ImportFault::Empty,
            E::UnsupportedEncoding => ImportFault::Encoding,
            E::Malformed { line, .. } => ImportFault::Malformed { line },
            E::MissingColumns(c) => {
                ImportFault::MissingColumns(c.into_iter().map(str::to_string).collect())
            }
            E::DuplicateColumn(c) => ImportFault::DuplicateColumn(c.to_string()),
            E::RowsInError { rows, .. } => ImportFault::RowsInError { rows },
        }
    }
}

/// The fields of the admin forms, for "this field is invalid" and "already used" messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Field {
    Username,
    Email,
    FamilyName,
    GivenName,
    Rpps,
    NationalId,
    Finess,
    Region,
    Name,
    City,
    Date,
}

type FieldEntry = (
    Field,
    &'static str,
    &'static str,
    fn(&Messages) -> &'static str,
);

/// Each field: its slug, the domain's name for it, and its label.
const FIELDS: [FieldEntry; 11] = [
    (Field::Username, "identifiant", "username", |m| {
        m.field_username
    }),
    (Field::Email, "courriel", "email", |m| m.field_email),
    (Field::FamilyName, "nom", "family_name", |m| {
        m.field_family_name
    }),
    (Field::GivenName, "prenom", "given_name", |m| {
        m.field_given_name
    }),
    (Field::Rpps, "rpps", "rpps", |m| m.field_rpps),
    (
        Field::NationalId,
        "identite-nationale",
        "declared_national_id",
        |m| m.field_national_id,
    ),
    (Field::Finess, "finess", "finess", |m| m.field_finess),
    (Field::Region, "region", "region", |m| m.field_region),
    (Field::Name, "nom-etablissement", "name", |m| m.field_name),
    (Field::City, "ville", "city", |m| m.field_city),
    (Field::Date, "date", "date", |m| m.field_date),
];

impl Field {
    fn entry(self) -> &'static FieldEntry {
        FIELDS
            .iter()
            .find(|(f, ..)| *f == self)
            .unwrap_or(&FIELDS[0])
    }

    pub fn slug(self) -> &'static str {
        self.entry().1
    }

    fn from_slug(slug: &str) -> Option<Self> {
        FIELDS.iter().find(|(_, s, ..)| *s == slug).map(|e| e.0)
    }

    /// The field a domain error names (`InvalidInput { field }`, a constraint's name).
    pub fn from_domain(name: &str) -> Option<Self> {
        FIELDS
            .iter()
            .find(|(_, _, d, _)| name == *d || name.contains(&format!("_{d}_")))
            .map(|e| e.0)
    }

    pub fn label(self, m: &Messages) -> &'static str {
        (self.entry().3)(m)
    }
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
    /// Someone else saved the record since the form was opened.
    StaleVersion,
    EstablishmentOutsideRegion,
    OwnAccount,
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
    /// An unexpected failure; the reference is logged with the details.
    Internal {
        reference: String,
    },
}

/// The codes that carry nothing else.
static PLAIN: [Entry<ErrorCode>; 21] = [
    entry(ErrorCode::InvalidCredentials, "identifiants", 401, |m| {
        m.err_invalid_credentials
    }),
    entry(
        ErrorCode::AddressThrottled,
        "trop-de-tentatives",
        429,
        |m| m.err_address_throttled,
    ),
    entry(ErrorCode::AccountDisabled, "compte-desactive", 403, |m| {
        m.err_account_disabled
    }),
    entry(ErrorCode::AccountLocked, "compte-verrouille", 403, |m| {
        m.err_account_locked
    }),
    entry(ErrorCode::AccountPending, "compte-non-active", 403, |m| {
        m.err_account_pending
    }),
    entry(ErrorCode::Csrf, "formulaire-expire", 403, |m| m.err_csrf),
    entry(ErrorCode::NotSignedIn, "non-connecte", 401, |m| {
        m.err_not_signed_in
    }),
    entry(ErrorCode::SessionExpired, "session-expiree", 401, |m| {
        m.session_expired
    }),
    entry(ErrorCode::Forbidden, "acces-refuse", 403, |m| {
        m.err_forbidden
    }),
    entry(ErrorCode::NotFound, "introuvable", 404, |m| m.err_not_found),
    entry(ErrorCode::InvalidInput, "saisie-invalide", 400, |m| {
        m.err_invalid_input
    }),
    entry(
        ErrorCode::OtherIdentity,
        "compte-autre-identite",
        409,
        |m| m.err_other_identity,
    ),
    entry(
        ErrorCode::IdentityNotDeclared,
        "compte-identite-non-declaree",
        409,
        |m| m.err_identity_not_declared,
    ),
    entry(ErrorCode::AccountLinkExpired, "lien-expire", 410, |m| {
        m.err_link_expired
    }),
    entry(
        ErrorCode::ReauthRequired,
        "confirmation-requise",
        401,
        |m| m.err_reauth_required,
    ),
    entry(ErrorCode::StaleVersion, "modifie-entre-temps", 409, |m| {
        m.err_stale_version
    }),
    entry(
        ErrorCode::EstablishmentOutsideRegion,
        "etablissement-autre-region",
        400,
        |m| m.err_establishment_outside_region,
    ),
    entry(ErrorCode::OwnAccount, "propre-compte", 403, |m| {
        m.err_own_account
    }),
    entry(ErrorCode::TiqrExpired, "tiqr-expire", 410, |m| {
        m.err_tiqr_expired
    }),
    entry(ErrorCode::TiqrBlocked, "tiqr-bloque", 403, |m| {
        m.err_tiqr_blocked
    }),
    entry(ErrorCode::TiqrUnknown, "tiqr-inconnu", 401, |m| {
        m.err_tiqr_unknown
    }),
];

impl ErrorCode {
    /// The value carried in `?erreur=` after a form post.
    pub fn slug(&self) -> String {
        match self {
            ErrorCode::Locked { minutes } => format!("verrouille-{minutes}"),
            ErrorCode::Card(c) => row(&CARD_ERRORS, c).slug.into(),
            ErrorCode::Psc(p) => row(&PSC_ERRORS, p).slug.into(),
            ErrorCode::Code(CodeError::Wrong { attempts_left }) => {
                format!("code-incorrect-{attempts_left}")
            }
            ErrorCode::Code(CodeError::ResendTooSoon { seconds }) => {
                format!("code-renvoi-{seconds}")
            }
            ErrorCode::Code(c) => row(&CODE_ERRORS, c).slug.into(),
            ErrorCode::WeakPassword(w) => format!("mot-de-passe-{}", row(&WEAKNESSES, w).slug),
            ErrorCode::InvalidField(f) => format!("invalide-{}", f.slug()),
            ErrorCode::Duplicate(f) => format!("deja-utilise-{}", f.slug()),
            ErrorCode::TiqrWrongCode { attempts_left } => {
                format!("tiqr-code-incorrect-{attempts_left}")
            }
            ErrorCode::Import(f) => f.slug(),
            ErrorCode::Internal { reference } => format!("technique-{reference}"),
            plain => row(&PLAIN, plain).slug.into(),
        }
    }

    /// The code a slug stands for; `None` for anything this version never wrote (the page then
    /// shows no message rather than echoing the address).
    pub fn from_slug(slug: &str) -> Option<Self> {
        if let Some(code) = by_slug(&PLAIN, slug) {
            return Some(code);
        }
        if let Some(c) = by_slug(&CARD_ERRORS, slug) {
            return Some(ErrorCode::Card(c));
        }
        if let Some(p) = by_slug(&PSC_ERRORS, slug) {
            return Some(ErrorCode::Psc(p));
        }
        if let Some(c) = by_slug(&CODE_ERRORS, slug) {
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
            ErrorCode::WeakPassword(by_slug(&WEAKNESSES, w)?)
        } else if let Some(m) = after("verrouille-") {
            ErrorCode::Locked {
                minutes: number(m, 1..=1440)?,
            }
        } else if let Some(r) = after("technique-") {
            // Only echo references shaped like ours into the page.
            if r.len() != 8 || !r.bytes().all(|b| b.is_ascii_hexdigit()) {
                return None;
            }
            ErrorCode::Internal {
                reference: r.to_string(),
            }
        } else {
            return None;
        })
    }

    /// The HTTP status of a page that shows this error.
    pub fn http_status(&self) -> u16 {
        match self {
            ErrorCode::Locked { .. } => 429,
            ErrorCode::Card(c) => row(&CARD_ERRORS, c).status,
            ErrorCode::Psc(p) => row(&PSC_ERRORS, p).status,
            ErrorCode::Code(CodeError::Wrong { .. }) => 401,
            ErrorCode::Code(CodeError::ResendTooSoon { .. }) => 429,
            ErrorCode::Code(c) => row(&CODE_ERRORS, c).status,
            ErrorCode::WeakPassword(w) => row(&WEAKNESSES, w).status,
            ErrorCode::InvalidField(_) => 400,
            ErrorCode::Duplicate(_) => 409,
            ErrorCode::TiqrWrongCode { .. } => 401,
            ErrorCode::Import(f) => f.status(),
            ErrorCode::Internal { .. } => 500,
            plain => row(&PLAIN, plain).status,
        }
    }

    /// The user-facing message.
    pub fn message(&self, lang: Lang) -> String {
        let m = lang.messages();
        match self {
            ErrorCode::Locked { minutes } => {
                let unit = if *minutes == 1 { m.minute } else { m.minutes };
                m.err_locked
                    .replace("{duration}", &format!("{minutes} {unit}"))
            }
            ErrorCode::Card(c) => (row(&CARD_ERRORS, c).message)(m).into(),
            ErrorCode::Psc(p) => (row(&PSC_ERRORS, p).message)(m).into(),
            ErrorCode::Code(CodeError::Wrong { attempts_left }) => {
                m.err_code_wrong.replace("{n}", &attempts_left.to_string())
            }
            ErrorCode::Code(CodeError::ResendTooSoon { seconds }) => {
                m.err_code_resend_soon.replace("{n}", &seconds.to_string())
            }
            ErrorCode::Code(c) => (row(&CODE_ERRORS, c).message)(m).into(),
            ErrorCode::WeakPassword(w) => (row(&WEAKNESSES, w).message)(m).into(),
            ErrorCode::InvalidField(f) => m.err_invalid_field.replace("{field}", f.label(m)),
            ErrorCode::Duplicate(f) => m.err_duplicate.replace("{field}", f.label(m)),
            ErrorCode::TiqrWrongCode { attempts_left } => m
                .err_tiqr_wrong_code
                .replace("{n}", &attempts_left.to_string()),
            ErrorCode::Import(f) => f.message(m),
            ErrorCode::Internal { reference } => {
                format!("{} {} : {reference}", m.err_internal, m.err_reference)
            }
            plain => (row(&PLAIN, plain).message)(m).into(),
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.slug())
    }
}

impl std::error::Error for ErrorCode {}

/// Server functions answer with an `ErrorCode`; transport failures become `Internal`.
impl leptos::server_fn::error::FromServerFnError for ErrorCode {
    type Encoder = leptos::server_fn::codec::JsonEncoding;

    fn from_server_fn_error(value: leptos::server_fn::error::ServerFnErrorErr) -> Self {
        ErrorCode::Internal {
            reference: format!("{:08x}", fxhash(&value.to_string())),
        }
    }
}

/// A short, stable digest to tell transport errors apart in a bug report.
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
        complete(&WEAKNESSES, &Weakness::ALL);
        let psc_failures: Vec<PscError> = model::psc::PscFailure::ALL.map(PscError::from).to_vec();
        for p in psc_failures {
            assert!(PSC_ERRORS.iter().any(|e| e.code == p));
        }
        let cards: Vec<CardError> = model::card::CardRefusal::ALL.map(CardError::from).to_vec();
        for c in cards {
            assert!(CARD_ERRORS.iter().any(|e| e.code == c));
        }
        for table in [
            PLAIN.iter().map(|e| e.slug).collect::<Vec<_>>(),
            CARD_ERRORS.iter().map(|e| e.slug).collect(),
            PSC_ERRORS.iter().map(|e| e.slug).collect(),
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
        let codes = CODE_ERRORS.iter().map(|e| ErrorCode::Code(e.code));
        let weak = WEAKNESSES.iter().map(|e| ErrorCode::WeakPassword(e.code));
        let fields = FIELDS
            .iter()
            .flat_map(|(f, ..)| [ErrorCode::InvalidField(*f), ErrorCode::Duplicate(*f)]);
        for code in every_plain
            .chain(cards)
            .chain(pscs)
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

#[cfg(feature = "ssr")]
mod from_domain {
    use domain::Error;
    use domain::accounts::UserStatus;

    use super::{CardError, ErrorCode, Field, PscError};

    impl ErrorCode {
        /// An unexpected failure: logged with a short reference the user can quote to the desk.
        pub fn internal(e: impl std::fmt::Display) -> Self {
            let reference = format!("{:08x}", uuid::Uuid::new_v4().as_u128() as u32);
            tracing::error!(reference, "{e}");
            ErrorCode::Internal { reference }
        }
    }

    /// The one mapping from domain errors to what users are told.
    impl From<Error> for ErrorCode {
        fn from(e: Error) -> Self {
            match e {
                Error::InvalidCredentials => ErrorCode::InvalidCredentials,
                Error::Locked { remaining, .. } => {
                    // Rounded up: "14 minutes" for a lock of 14 min 59 s would mislead.
                    let minutes = ((remaining.whole_seconds() + 59) / 60).clamp(1, 1440);
                    ErrorCode::Locked { minutes }
                }
                Error::AddressThrottled { .. } => ErrorCode::AddressThrottled,
                Error::AccountUnavailable(UserStatus::Disabled) => ErrorCode::AccountDisabled,
                Error::AccountUnavailable(UserStatus::Locked) => ErrorCode::AccountLocked,
                Error::AccountUnavailable(UserStatus::PendingActivation | UserStatus::Active) => {
                    ErrorCode::AccountPending
                }
                Error::InvalidInput { field, .. } => Field::from_domain(field)
                    .map_or(ErrorCode::InvalidInput, ErrorCode::InvalidField),
                Error::Conflict(constraint) => Field::from_domain(&constraint).map_or_else(
                    || ErrorCode::internal(format!("conflict on {constraint}")),
                    ErrorCode::Duplicate,
                ),
                Error::ReauthenticationRequired => ErrorCode::ReauthRequired,
                Error::StaleVersion => ErrorCode::StaleVersion,
                Error::EstablishmentOutsideRegion => ErrorCode::EstablishmentOutsideRegion,
                Error::OwnAccount => ErrorCode::OwnAccount,
                Error::TiqrRequest(_) => ErrorCode::InvalidInput,
                Error::TiqrExpired => ErrorCode::TiqrExpired,
                Error::TiqrUnknownIdentity => ErrorCode::TiqrUnknown,
                Error::TiqrWrongResponse { attempts_left } => {
                    ErrorCode::TiqrWrongCode { attempts_left }
                }
                Error::TiqrBlocked => ErrorCode::TiqrBlocked,
                Error::Import(e) => ErrorCode::Import(e.into()),
                Error::NotFound => ErrorCode::NotFound,
                Error::NoSession => ErrorCode::NotSignedIn,
                Error::Forbidden => ErrorCode::Forbidden,
                Error::CardRefused(r) => ErrorCode::Card(r.into()),
                Error::CardChallengeInvalid => ErrorCode::Card(CardError::Challenge),
                Error::CardLinkExpired => ErrorCode::Card(CardError::LinkExpired),
                Error::CardOfAnotherAccount => ErrorCode::Card(CardError::OtherAccount),
                Error::RppsMismatch => ErrorCode::Card(CardError::RppsMismatch),
                Error::AccountLinkedToOtherIdentity => ErrorCode::OtherIdentity,
                Error::IdentityNotDeclared => ErrorCode::IdentityNotDeclared,
                Error::PscLinkExpired => ErrorCode::Psc(PscError::LinkExpired),
                Error::PscState(_) => ErrorCode::Psc(PscError::State),
                Error::PscRefused(f) => ErrorCode::Psc(f.into()),
                Error::PscLevelTooWeak => ErrorCode::Psc(PscError::LevelTooWeak),
                Error::Code(c) => ErrorCode::Code(c),
                Error::AccountLinkExpired => ErrorCode::AccountLinkExpired,
                Error::WeakPassword(w) => ErrorCode::WeakPassword(w),
                e @ (Error::PscLogout(_)
                | Error::PasswordHash(_)
                | Error::Internal(_)
                | Error::Embedded(_)
                | Error::Database(_)
                | Error::Migrate(_)) => ErrorCode::internal(e),
            }
        }
    }
}
