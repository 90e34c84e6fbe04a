//! The fields of the admin forms, for "this field is invalid" and "already used" messages.

use serde::{Deserialize, Serialize};

use crate::i18n::Messages;

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
    Title,
    Body,
}

type FieldEntry = (
    Field,
    &'static str,
    &'static str,
    fn(&Messages) -> &'static str,
);

/// Each field: its slug, the domain's name for it, and its label.
pub(super) const FIELDS: [FieldEntry; 13] = [
    (Field::Username, "identifiant", "username", |m| {
        m.console.field_username
    }),
    (Field::Email, "courriel", "email", |m| m.console.field_email),
    (Field::FamilyName, "nom", "family_name", |m| {
        m.console.field_family_name
    }),
    (Field::GivenName, "prenom", "given_name", |m| {
        m.console.field_given_name
    }),
    (Field::Rpps, "rpps", "rpps", |m| m.console.field_rpps),
    (
        Field::NationalId,
        "identite-nationale",
        "declared_national_id",
        |m| m.console.field_national_id,
    ),
    (Field::Finess, "finess", "finess", |m| {
        m.console.field_finess
    }),
    (Field::Region, "region", "region", |m| {
        m.console.field_region
    }),
    (Field::Name, "nom-etablissement", "name", |m| {
        m.console.field_name
    }),
    (Field::City, "ville", "city", |m| m.console.field_city),
    (Field::Date, "date", "date", |m| m.console.field_date),
    (Field::Title, "titre", "title", |m| m.news.field_title),
    (Field::Body, "texte", "body", |m| m.news.field_body),
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

    pub(super) fn from_slug(slug: &str) -> Option<Self> {
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
