//! What can go wrong, as the pages see it: a code that travels in a redirect (`?erreur=…`) or in a
//! server function's answer, and its message in the catalog. The server maps the domain's errors
//! to these codes in one place (`server::web::error`).

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::i18n::{Lang, Messages};

/// Why a card was not accepted, as the holder is told.
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

type PscEntry = (PscError, &'static str, fn(&Messages) -> &'static str);

/// Each PSC refusal: its `?erreur=` slug and its message, in one table.
const PSC_ERRORS: [PscEntry; 9] = [
    (PscError::Cancelled, "psc-annule", |m| m.err_psc_cancelled),
    (PscError::Refused, "psc-refus", |m| m.err_psc_refused),
    (PscError::Unavailable, "psc-indisponible", |m| {
        m.err_psc_unavailable
    }),
    (PscError::State, "psc-etat-invalide", |m| m.err_psc_state),
    (PscError::TokenInvalid, "psc-reponse-invalide", |m| {
        m.err_psc_token
    }),
    (PscError::NoIdentity, "psc-identifiant-absent", |m| {
        m.err_psc_no_identity
    }),
    (PscError::LevelTooWeak, "psc-niveau-insuffisant", |m| {
        m.err_psc_level
    }),
    (PscError::LinkExpired, "psc-liaison-expiree", |m| {
        m.err_psc_link_expired
    }),
    (PscError::Disabled, "psc-desactive", |m| m.err_psc_disabled),
];

impl PscError {
    fn entry(self) -> &'static PscEntry {
        PSC_ERRORS
            .iter()
            .find(|(e, _, _)| *e == self)
            .unwrap_or(&PSC_ERRORS[0])
    }

    pub fn slug(self) -> &'static str {
        self.entry().1
    }

    pub fn message(self, m: &Messages) -> &'static str {
        (self.entry().2)(m)
    }

    fn from_slug(slug: &str) -> Option<Self> {
        PSC_ERRORS
            .iter()
            .find(|(_, s, _)| *s == slug)
            .map(|(e, _, _)| *e)
    }
}

/// Why a new password was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum PasswordWeakness {
    TooShort,
    TooLong,
    Common,
    ContainsUsername,
    Mismatch,
}

impl PasswordWeakness {
    const ALL: [(PasswordWeakness, &'static str); 5] = [
        (PasswordWeakness::TooShort, "court"),
        (PasswordWeakness::TooLong, "long"),
        (PasswordWeakness::Common, "courant"),
        (PasswordWeakness::ContainsUsername, "identifiant"),
        (PasswordWeakness::Mismatch, "different"),
    ];

    fn slug(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(w, _)| *w == self)
            .map(|(_, s)| *s)
            .unwrap_or("court")
    }

    fn from_slug(slug: &str) -> Option<Self> {
        Self::ALL.iter().find(|(_, s)| *s == slug).map(|(w, _)| *w)
    }

    fn message(self, m: &Messages) -> &'static str {
        match self {
            PasswordWeakness::TooShort => m.err_password_too_short,
            PasswordWeakness::TooLong => m.err_password_too_long,
            PasswordWeakness::Common => m.err_password_common,
            PasswordWeakness::ContainsUsername => m.err_password_username,
            PasswordWeakness::Mismatch => m.err_password_mismatch,
        }
    }
}

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
        let number = |prefix: &str| -> Option<usize> {
            rest.strip_prefix(prefix)?
                .parse()
                .ok()
                .filter(|n| (1..=10_000_000).contains(n))
        };
        Some(match rest {
            "vide" => ImportFault::Empty,
            "encodage" => ImportFault::Encoding,
            "sans-fichier" => ImportFault::NoFile,
            _ => {
                if let Some(mib) = number("trop-gros-") {
                    ImportFault::TooLarge { mib }
                } else if let Some(max) = number("trop-de-lignes-") {
                    ImportFault::TooManyRows { max }
                } else if let Some(line) = number("illisible-") {
                    ImportFault::Malformed { line: line as u64 }
                } else if let Some(rows) = number("lignes-en-erreur-") {
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

type CardEntry = (CardError, &'static str, fn(&Messages) -> &'static str);

/// Each card refusal: its `?erreur=` slug and its message, in one table.
const CARD_ERRORS: [CardEntry; 15] = [
    (CardError::Expired, "carte-expiree", |m| m.err_card_expired),
    (CardError::NotYetValid, "carte-pas-encore-valide", |m| {
        m.err_card_not_yet_valid
    }),
    (CardError::Untrusted, "carte-non-reconnue", |m| {
        m.err_card_untrusted
    }),
    (CardError::Revoked, "carte-revoquee", |m| m.err_card_revoked),
    (
        CardError::RevocationUnknown,
        "carte-revocation-inconnue",
        |m| m.err_card_revocation_unknown,
    ),
    (
        CardError::NotForAuthentication,
        "carte-pas-authentification",
        |m| m.err_card_not_for_auth,
    ),
    (CardError::UnknownHolder, "carte-porteur-inconnu", |m| {
        m.err_card_unknown_holder
    }),
    (CardError::BadSignature, "carte-signature-invalide", |m| {
        m.err_card_bad_signature
    }),
    (CardError::Malformed, "carte-illisible", |m| {
        m.err_card_malformed
    }),
    (CardError::Challenge, "carte-defi-expire", |m| {
        m.err_card_challenge
    }),
    (CardError::LinkExpired, "carte-liaison-expiree", |m| {
        m.err_card_link_expired
    }),
    (CardError::OtherAccount, "carte-autre-compte", |m| {
        m.err_card_other_account
    }),
    (CardError::RppsMismatch, "carte-rpps-different", |m| {
        m.err_rpps_mismatch
    }),
    (CardError::Unavailable, "carte-indisponible", |m| {
        m.err_card_unavailable
    }),
    (CardError::NoCertificate, "carte-absente", |m| {
        m.err_card_no_certificate
    }),
];

impl CardError {
    fn entry(self) -> &'static CardEntry {
        // The table lists every variant (a test checks it); the first entry is never used.
        CARD_ERRORS
            .iter()
            .find(|(e, _, _)| *e == self)
            .unwrap_or(&CARD_ERRORS[0])
    }

    pub fn slug(self) -> &'static str {
        self.entry().1
    }

    pub fn message(self, m: &Messages) -> &'static str {
        (self.entry().2)(m)
    }

    fn from_slug(slug: &str) -> Option<Self> {
        CARD_ERRORS
            .iter()
            .find(|(_, s, _)| *s == slug)
            .map(|(e, _, _)| *e)
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
    CodeWrong {
        attempts_left: i32,
    },
    CodeExpired,
    CodeTooManyAttempts,
    CodeResendTooSoon {
        seconds: i64,
    },
    CodeTooManySends,
    CodeStepExpired,
    CodeNotSent,
    AccountLinkExpired,
    WeakPassword(PasswordWeakness),
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

impl ErrorCode {
    /// The value carried in `?erreur=` after a form post.
    pub fn slug(&self) -> String {
        match self {
            ErrorCode::InvalidCredentials => "identifiants".into(),
            ErrorCode::Locked { minutes } => format!("verrouille-{minutes}"),
            ErrorCode::AddressThrottled => "trop-de-tentatives".into(),
            ErrorCode::AccountDisabled => "compte-desactive".into(),
            ErrorCode::AccountLocked => "compte-verrouille".into(),
            ErrorCode::AccountPending => "compte-non-active".into(),
            ErrorCode::Csrf => "formulaire-expire".into(),
            ErrorCode::NotSignedIn => "non-connecte".into(),
            ErrorCode::SessionExpired => "session-expiree".into(),
            ErrorCode::Forbidden => "acces-refuse".into(),
            ErrorCode::NotFound => "introuvable".into(),
            ErrorCode::InvalidInput => "saisie-invalide".into(),
            ErrorCode::Card(c) => c.slug().into(),
            ErrorCode::Psc(p) => p.slug().into(),
            ErrorCode::OtherIdentity => "compte-autre-identite".into(),
            ErrorCode::IdentityNotDeclared => "compte-identite-non-declaree".into(),
            ErrorCode::CodeWrong { attempts_left } => format!("code-incorrect-{attempts_left}"),
            ErrorCode::CodeExpired => "code-expire".into(),
            ErrorCode::CodeTooManyAttempts => "code-trop-d-essais".into(),
            ErrorCode::CodeResendTooSoon { seconds } => format!("code-renvoi-{seconds}"),
            ErrorCode::CodeTooManySends => "code-trop-d-envois".into(),
            ErrorCode::CodeStepExpired => "connexion-expiree".into(),
            ErrorCode::CodeNotSent => "code-non-envoye".into(),
            ErrorCode::AccountLinkExpired => "lien-expire".into(),
            ErrorCode::WeakPassword(w) => format!("mot-de-passe-{}", w.slug()),
            ErrorCode::InvalidField(f) => format!("invalide-{}", f.slug()),
            ErrorCode::Duplicate(f) => format!("deja-utilise-{}", f.slug()),
            ErrorCode::ReauthRequired => "confirmation-requise".into(),
            ErrorCode::StaleVersion => "modifie-entre-temps".into(),
            ErrorCode::EstablishmentOutsideRegion => "etablissement-autre-region".into(),
            ErrorCode::OwnAccount => "propre-compte".into(),
            ErrorCode::TiqrExpired => "tiqr-expire".into(),
            ErrorCode::TiqrWrongCode { attempts_left } => {
                format!("tiqr-code-incorrect-{attempts_left}")
            }
            ErrorCode::TiqrBlocked => "tiqr-bloque".into(),
            ErrorCode::TiqrUnknown => "tiqr-inconnu".into(),
            ErrorCode::Import(f) => f.slug(),
            ErrorCode::Internal { reference } => format!("technique-{reference}"),
        }
    }

    pub fn from_slug(slug: &str) -> Option<Self> {
        Some(match slug {
            "identifiants" => ErrorCode::InvalidCredentials,
            "trop-de-tentatives" => ErrorCode::AddressThrottled,
            "compte-desactive" => ErrorCode::AccountDisabled,
            "compte-verrouille" => ErrorCode::AccountLocked,
            "compte-non-active" => ErrorCode::AccountPending,
            "formulaire-expire" => ErrorCode::Csrf,
            "non-connecte" => ErrorCode::NotSignedIn,
            "session-expiree" => ErrorCode::SessionExpired,
            "acces-refuse" => ErrorCode::Forbidden,
            "introuvable" => ErrorCode::NotFound,
            "saisie-invalide" => ErrorCode::InvalidInput,
            "code-expire" => ErrorCode::CodeExpired,
            "code-trop-d-essais" => ErrorCode::CodeTooManyAttempts,
            "code-trop-d-envois" => ErrorCode::CodeTooManySends,
            "connexion-expiree" => ErrorCode::CodeStepExpired,
            "code-non-envoye" => ErrorCode::CodeNotSent,
            "lien-expire" => ErrorCode::AccountLinkExpired,
            "confirmation-requise" => ErrorCode::ReauthRequired,
            "modifie-entre-temps" => ErrorCode::StaleVersion,
            "etablissement-autre-region" => ErrorCode::EstablishmentOutsideRegion,
            "propre-compte" => ErrorCode::OwnAccount,
            "tiqr-expire" => ErrorCode::TiqrExpired,
            "tiqr-bloque" => ErrorCode::TiqrBlocked,
            "tiqr-inconnu" => ErrorCode::TiqrUnknown,
            "compte-autre-identite" => ErrorCode::OtherIdentity,
            "compte-identite-non-declaree" => ErrorCode::IdentityNotDeclared,
            other => {
                if let Some(f) = ImportFault::from_slug(other) {
                    return Some(ErrorCode::Import(f));
                }
                if let Some(p) = PscError::from_slug(other) {
                    return Some(ErrorCode::Psc(p));
                }
                if let Some(n) = other.strip_prefix("tiqr-code-incorrect-") {
                    return Some(ErrorCode::TiqrWrongCode {
                        attempts_left: n.parse().ok().filter(|n| (1..=9).contains(n))?,
                    });
                }
                if let Some(f) = other.strip_prefix("invalide-") {
                    return Field::from_slug(f).map(ErrorCode::InvalidField);
                }
                if let Some(f) = other.strip_prefix("deja-utilise-") {
                    return Field::from_slug(f).map(ErrorCode::Duplicate);
                }
                if let Some(n) = other.strip_prefix("code-incorrect-") {
                    return Some(ErrorCode::CodeWrong {
                        attempts_left: n.parse().ok().filter(|n| (1..=10).contains(n))?,
                    });
                }
                if let Some(n) = other.strip_prefix("code-renvoi-") {
                    return Some(ErrorCode::CodeResendTooSoon {
                        seconds: n.parse().ok().filter(|n| (1..=3600).contains(n))?,
                    });
                }
                if let Some(w) = other.strip_prefix("mot-de-passe-") {
                    return PasswordWeakness::from_slug(w).map(ErrorCode::WeakPassword);
                }
                if let Some(c) = CardError::from_slug(other) {
                    return Some(ErrorCode::Card(c));
                }
                if let Some(m) = other.strip_prefix("verrouille-") {
                    ErrorCode::Locked {
                        minutes: m.parse().ok().filter(|m| (1..=1440).contains(m))?,
                    }
                } else if let Some(r) = other.strip_prefix("technique-") {
                    // Only echo references shaped like ours into the page.
                    if r.len() != 8 || !r.bytes().all(|b| b.is_ascii_hexdigit()) {
                        return None;
                    }
                    ErrorCode::Internal {
                        reference: r.to_string(),
                    }
                } else {
                    return None;
                }
            }
        })
    }

    /// The HTTP status of a page that shows this error.
    pub fn http_status(&self) -> u16 {
        match self {
            ErrorCode::NotSignedIn | ErrorCode::SessionExpired | ErrorCode::InvalidCredentials => {
                401
            }
            ErrorCode::Forbidden
            | ErrorCode::Csrf
            | ErrorCode::AccountDisabled
            | ErrorCode::AccountLocked
            | ErrorCode::AccountPending => 403,
            ErrorCode::NotFound => 404,
            ErrorCode::Locked { .. } | ErrorCode::AddressThrottled => 429,
            ErrorCode::InvalidInput => 400,
            ErrorCode::Card(CardError::LinkExpired | CardError::Challenge) => 410,
            ErrorCode::Card(CardError::Unavailable) => 404,
            ErrorCode::Card(CardError::RevocationUnknown) => 503,
            ErrorCode::Card(CardError::OtherAccount | CardError::RppsMismatch) => 409,
            ErrorCode::Card(_) => 403,
            ErrorCode::Psc(PscError::Unavailable) => 503,
            ErrorCode::Psc(PscError::LinkExpired) => 410,
            ErrorCode::Psc(PscError::Disabled) => 404,
            ErrorCode::Psc(_) => 403,
            ErrorCode::OtherIdentity | ErrorCode::IdentityNotDeclared => 409,
            ErrorCode::CodeWrong { .. } | ErrorCode::CodeExpired | ErrorCode::CodeNotSent => 401,
            ErrorCode::CodeTooManyAttempts
            | ErrorCode::CodeResendTooSoon { .. }
            | ErrorCode::CodeTooManySends => 429,
            ErrorCode::CodeStepExpired | ErrorCode::AccountLinkExpired => 410,
            ErrorCode::WeakPassword(_)
            | ErrorCode::InvalidField(_)
            | ErrorCode::EstablishmentOutsideRegion => 400,
            ErrorCode::Duplicate(_) | ErrorCode::StaleVersion => 409,
            ErrorCode::ReauthRequired
            | ErrorCode::TiqrWrongCode { .. }
            | ErrorCode::TiqrUnknown => 401,
            ErrorCode::TiqrExpired => 410,
            ErrorCode::TiqrBlocked => 403,
            ErrorCode::OwnAccount => 403,
            ErrorCode::Import(ImportFault::TooLarge { .. }) => 413,
            ErrorCode::Import(ImportFault::RowsInError { .. }) => 409,
            ErrorCode::Import(_) => 400,
            ErrorCode::Internal { .. } => 500,
        }
    }

    /// The user-facing message.
    pub fn message(&self, lang: Lang) -> String {
        let m = lang.messages();
        match self {
            ErrorCode::InvalidCredentials => m.err_invalid_credentials.into(),
            ErrorCode::Locked { minutes } => {
                let unit = if *minutes == 1 { m.minute } else { m.minutes };
                m.err_locked
                    .replace("{duration}", &format!("{minutes} {unit}"))
            }
            ErrorCode::AddressThrottled => m.err_address_throttled.into(),
            ErrorCode::AccountDisabled => m.err_account_disabled.into(),
            ErrorCode::AccountLocked => m.err_account_locked.into(),
            ErrorCode::AccountPending => m.err_account_pending.into(),
            ErrorCode::Csrf => m.err_csrf.into(),
            ErrorCode::NotSignedIn => m.err_not_signed_in.into(),
            ErrorCode::SessionExpired => m.session_expired.into(),
            ErrorCode::Forbidden => m.err_forbidden.into(),
            ErrorCode::NotFound => m.err_not_found.into(),
            ErrorCode::InvalidInput => m.err_invalid_input.into(),
            ErrorCode::Card(c) => c.message(m).into(),
            ErrorCode::Psc(p) => p.message(m).into(),
            ErrorCode::OtherIdentity => m.err_other_identity.into(),
            ErrorCode::IdentityNotDeclared => m.err_identity_not_declared.into(),
            ErrorCode::CodeWrong { attempts_left } => {
                m.err_code_wrong.replace("{n}", &attempts_left.to_string())
            }
            ErrorCode::CodeExpired => m.err_code_expired.into(),
            ErrorCode::CodeTooManyAttempts => m.err_code_too_many.into(),
            ErrorCode::CodeResendTooSoon { seconds } => {
                m.err_code_resend_soon.replace("{n}", &seconds.to_string())
            }
            ErrorCode::CodeTooManySends => m.err_code_too_many_sends.into(),
            ErrorCode::CodeStepExpired => m.err_code_step_expired.into(),
            ErrorCode::CodeNotSent => m.err_code_not_sent.into(),
            ErrorCode::AccountLinkExpired => m.err_link_expired.into(),
            ErrorCode::WeakPassword(w) => w.message(m).into(),
            ErrorCode::InvalidField(f) => m.err_invalid_field.replace("{field}", f.label(m)),
            ErrorCode::Duplicate(f) => m.err_duplicate.replace("{field}", f.label(m)),
            ErrorCode::ReauthRequired => m.err_reauth_required.into(),
            ErrorCode::StaleVersion => m.err_stale_version.into(),
            ErrorCode::EstablishmentOutsideRegion => m.err_establishment_outside_region.into(),
            ErrorCode::OwnAccount => m.err_own_account.into(),
            ErrorCode::TiqrExpired => m.err_tiqr_expired.into(),
            ErrorCode::TiqrWrongCode { attempts_left } => m
                .err_tiqr_wrong_code
                .replace("{n}", &attempts_left.to_string()),
            ErrorCode::TiqrBlocked => m.err_tiqr_blocked.into(),
            ErrorCode::TiqrUnknown => m.err_tiqr_unknown.into(),
            ErrorCode::Import(f) => f.message(m),
            ErrorCode::Internal { reference } => {
                format!("{} {} : {reference}", m.err_internal, m.err_reference)
            }
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

    #[test]
    fn slugs_round_trip() {
        for code in [
            ErrorCode::InvalidCredentials,
            ErrorCode::Locked { minutes: 15 },
            ErrorCode::AddressThrottled,
            ErrorCode::Csrf,
            ErrorCode::SessionExpired,
            ErrorCode::Internal {
                reference: "0a1b2c3d".into(),
            },
        ] {
            assert_eq!(ErrorCode::from_slug(&code.slug()), Some(code));
        }
        for code in [
            ErrorCode::CodeWrong { attempts_left: 2 },
            ErrorCode::CodeResendTooSoon { seconds: 42 },
            ErrorCode::CodeTooManyAttempts,
            ErrorCode::AccountLinkExpired,
            ErrorCode::WeakPassword(PasswordWeakness::Common),
            ErrorCode::StaleVersion,
            ErrorCode::ReauthRequired,
            ErrorCode::TiqrWrongCode { attempts_left: 3 },
            ErrorCode::TiqrBlocked,
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
        ] {
            assert_eq!(ErrorCode::from_slug(&code.slug()), Some(code));
        }
        assert_eq!(ErrorCode::from_slug("import-colonne-en-double-<b>"), None);
        for (field, ..) in FIELDS {
            for code in [ErrorCode::InvalidField(field), ErrorCode::Duplicate(field)] {
                assert_eq!(ErrorCode::from_slug(&code.slug()), Some(code));
            }
        }
        for (psc, _, _) in PSC_ERRORS {
            let code = ErrorCode::Psc(psc);
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
        for (card, _, _) in CARD_ERRORS {
            let code = ErrorCode::Card(card);
            assert_eq!(ErrorCode::from_slug(&code.slug()), Some(code));
        }
        assert_eq!(ErrorCode::from_slug("technique-<script>"), None);
        assert_eq!(ErrorCode::from_slug("verrouille-99999"), None);
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
    use super::{CardError, ErrorCode, ImportFault, PscError};
    use domain::Error;
    use domain::accounts::UserStatus;
    use domain::auth::card::Refusal;
    use domain::auth::otp::CodeError;
    use domain::import::ImportError;
    use domain::password_policy::Weakness;

    fn import_fault(e: ImportError) -> ImportFault {
        match e {
            ImportError::TooLarge { max_bytes } => ImportFault::TooLarge {
                mib: max_bytes.div_ceil(1024 * 1024),
            },
            ImportError::TooManyRows { max_rows } => ImportFault::TooManyRows { max: max_rows },
            ImportError::Empty => ImportFault::Empty,
            ImportError::UnsupportedEncoding => ImportFault::Encoding,
            ImportError::Malformed { line, .. } => ImportFault::Malformed { line },
            ImportError::MissingColumns(c) => {
                ImportFault::MissingColumns(c.into_iter().map(str::to_string).collect())
            }
            ImportError::DuplicateColumn(c) => ImportFault::DuplicateColumn(c.to_string()),
            ImportError::RowsInError { rows, .. } => ImportFault::RowsInError { rows },
        }
    }

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
                Error::Locked { until } => {
                    // Rounded up: "14 minutes" for a lock of 14 min 59 s would mislead.
                    let seconds = (until - time::OffsetDateTime::now_utc()).whole_seconds();
                    let minutes = ((seconds + 59) / 60).clamp(1, 1440);
                    ErrorCode::Locked { minutes }
                }
                Error::AddressThrottled { .. } => ErrorCode::AddressThrottled,
                Error::AccountUnavailable(UserStatus::Disabled) => ErrorCode::AccountDisabled,
                Error::AccountUnavailable(UserStatus::Locked) => ErrorCode::AccountLocked,
                Error::AccountUnavailable(_) => ErrorCode::AccountPending,
                Error::InvalidInput { field, .. } => super::Field::from_domain(field)
                    .map_or(ErrorCode::InvalidInput, ErrorCode::InvalidField),
                Error::Conflict(constraint) => super::Field::from_domain(&constraint).map_or_else(
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
                Error::Import(e) => ErrorCode::Import(import_fault(e)),
                Error::NotFound => ErrorCode::NotFound,
                Error::NoSession => ErrorCode::NotSignedIn,
                Error::Forbidden => ErrorCode::Forbidden,
                Error::CardRefused(r) => ErrorCode::Card(match r {
                    Refusal::Malformed => CardError::Malformed,
                    Refusal::Expired => CardError::Expired,
                    Refusal::NotYetValid => CardError::NotYetValid,
                    Refusal::Untrusted => CardError::Untrusted,
                    Refusal::Revoked => CardError::Revoked,
                    Refusal::RevocationUnknown => CardError::RevocationUnknown,
                    Refusal::NotForAuthentication => CardError::NotForAuthentication,
                    Refusal::UnknownHolder => CardError::UnknownHolder,
                    Refusal::BadSignature => CardError::BadSignature,
                }),
                Error::CardChallengeInvalid => ErrorCode::Card(CardError::Challenge),
                Error::CardLinkExpired => ErrorCode::Card(CardError::LinkExpired),
                Error::CardOfAnotherAccount => ErrorCode::Card(CardError::OtherAccount),
                Error::RppsMismatch => ErrorCode::Card(CardError::RppsMismatch),
                Error::AccountLinkedToOtherIdentity => ErrorCode::OtherIdentity,
                Error::IdentityNotDeclared => ErrorCode::IdentityNotDeclared,
                Error::PscLinkExpired => ErrorCode::Psc(PscError::LinkExpired),
                Error::PscState(_) => ErrorCode::Psc(PscError::State),
                Error::PscRefused("access_denied") => ErrorCode::Psc(PscError::Cancelled),
                Error::PscRefused("provider_unavailable") => ErrorCode::Psc(PscError::Unavailable),
                Error::PscRefused("subject_name_id_missing" | "subject_name_id_invalid") => {
                    ErrorCode::Psc(PscError::NoIdentity)
                }
                Error::PscRefused(
                    "id_token_invalid" | "userinfo_invalid" | "token_refused" | "issuer_mismatch",
                ) => ErrorCode::Psc(PscError::TokenInvalid),
                Error::PscRefused(_) => ErrorCode::Psc(PscError::Refused),
                Error::PscLevelTooWeak => ErrorCode::Psc(PscError::LevelTooWeak),
                Error::Code(c) => match c {
                    CodeError::StepExpired => ErrorCode::CodeStepExpired,
                    CodeError::NoCodeSent => ErrorCode::CodeNotSent,
                    CodeError::Wrong { attempts_left } => ErrorCode::CodeWrong { attempts_left },
                    CodeError::Expired => ErrorCode::CodeExpired,
                    CodeError::TooManyAttempts => ErrorCode::CodeTooManyAttempts,
                    CodeError::ResendTooSoon { seconds } => {
                        ErrorCode::CodeResendTooSoon { seconds }
                    }
                    CodeError::TooManySends => ErrorCode::CodeTooManySends,
                },
                Error::AccountLinkExpired => ErrorCode::AccountLinkExpired,
                Error::WeakPassword(w) => ErrorCode::WeakPassword(match w {
                    Weakness::TooShort => super::PasswordWeakness::TooShort,
                    Weakness::TooLong => super::PasswordWeakness::TooLong,
                    Weakness::Common => super::PasswordWeakness::Common,
                    Weakness::ContainsUsername => super::PasswordWeakness::ContainsUsername,
                    Weakness::Mismatch => super::PasswordWeakness::Mismatch,
                }),
                other => ErrorCode::internal(other),
            }
        }
    }
}
