//! Identifiers that parse once: past the edge, code takes these types and never re-validates.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Why an identifier was refused; the web edge turns each into a French message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    #[error("wrong length or characters")]
    Shape,
    #[error("check digit does not match")]
    CheckDigit,
    /// A FINESS number whose department is not in the region it is given.
    #[error("the department is in another region")]
    OtherRegion,
}

/// Luhn sum over ASCII digits, the check digit included (valid when the sum is a multiple of 10).
fn luhn_valid(digits: &[u8]) -> bool {
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, d)| {
            let d = u32::from(d - b'0');
            if i % 2 == 1 {
                let twice = d * 2;
                if twice > 9 { twice - 9 } else { twice }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

/// The Luhn check digit to append to `digits`.
pub fn luhn_check_digit(digits: &str) -> Option<char> {
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    (b'0'..=b'9')
        .map(char::from)
        .find(|c| luhn_valid(format!("{digits}{c}").as_bytes()))
}

/// FINESS number of an establishment: 9 characters, a department (two digits, or 2A/2B for
/// Corsica), six digits, and a Luhn check digit over the first eight.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Finess(String);

impl Finess {
    pub fn parse(input: &str) -> Result<Self, IdError> {
        let s = input.trim().to_ascii_uppercase();
        let b = s.as_bytes();
        if b.len() != 9 {
            return Err(IdError::Shape);
        }
        let corsica = matches!(&b[..2], b"2A" | b"2B");
        if !(corsica || b[..2].iter().all(u8::is_ascii_digit))
            || !b[2..].iter().all(u8::is_ascii_digit)
        {
            return Err(IdError::Shape);
        }
        // Corsican numbers keep the pre-1976 department code "20" for the check digit.
        let mut digits = b.to_vec();
        if corsica {
            digits[1] = b'0';
        }
        if luhn_valid(&digits) {
            Ok(Self(s))
        } else {
            Err(IdError::CheckDigit)
        }
    }
}

impl Finess {
    /// The region of the FINESS number's department (its first two characters; overseas, "97"
    /// and the department's last digit, written 97d… or 970d…). `None` for a department of no
    /// region served here (Saint-Pierre-et-Miquelon, the Pacific).
    pub fn region(&self) -> Option<RegionCode> {
        let b = self.0.as_bytes();
        let code = match (b[0], b[1]) {
            (b'2', b'A' | b'B') | (b'2', b'0') => "FR-COR",
            (b'9', b'7') => {
                let d = if b[2] == b'0' { b[3] } else { b[2] };
                match d {
                    // Saint-Barthélemy (977) and Saint-Martin (978) depend on the ARS of Guadeloupe.
                    b'1' | b'7' | b'8' => "FR-GP",
                    b'2' => "FR-MQ",
                    b'3' => "FR-GF",
                    b'4' => "FR-RE",
                    b'6' => "FR-YT",
                    _ => return None,
                }
            }
            _ => {
                let dept = std::str::from_utf8(&b[..2]).ok()?;
                DEPARTMENT_REGIONS
                    .iter()
                    .find(|(_, depts)| depts.contains(&dept))?
                    .0
            }
        };
        Some(RegionCode(code.to_string()))
    }

    /// Ok when the number's department is in `region` (an establishment is registered in its own
    /// region only: another region's administrator must not take its number first).
    pub fn check_region(&self, region: &RegionCode) -> Result<(), IdError> {
        if self.region().as_ref() == Some(region) {
            Ok(())
        } else {
            Err(IdError::OtherRegion)
        }
    }
}

/// Metropolitan departments by region (since 2016).
const DEPARTMENT_REGIONS: [(&str, &[&str]); 12] = [
    (
        "FR-ARA",
        &[
            "01", "03", "07", "15", "26", "38", "42", "43", "63", "69", "73", "74",
        ],
    ),
    ("FR-BFC", &["21", "25", "39", "58", "70", "71", "89", "90"]),
    ("FR-BRE", &["22", "29", "35", "56"]),
    ("FR-CVL", &["18", "28", "36", "37", "41", "45"]),
    (
        "FR-GES",
        &["08", "10", "51", "52", "54", "55", "57", "67", "68", "88"],
    ),
    ("FR-HDF", &["02", "59", "60", "62", "80"]),
    ("FR-IDF", &["75", "77", "78", "91", "92", "93", "94", "95"]),
    ("FR-NOR", &["14", "27", "50", "61", "76"]),
    (
        "FR-NAQ",
        &[
            "16", "17", "19", "23", "24", "33", "40", "47", "64", "79", "86", "87",
        ],
    ),
    (
        "FR-OCC",
        &[
            "09", "11", "12", "30", "31", "32", "34", "46", "48", "65", "66", "81", "82",
        ],
    ),
    ("FR-PDL", &["44", "49", "53", "72", "85"]),
    ("FR-PAC", &["04", "05", "06", "13", "83", "84"]),
];

/// RPPS number of a health professional: 11 digits, the last a Luhn check digit.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Rpps(String);

impl Rpps {
    pub fn parse(input: &str) -> Result<Self, IdError> {
        let s: String = input.chars().filter(|c| !c.is_whitespace()).collect();
        if s.len() != 11 || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(IdError::Shape);
        }
        if luhn_valid(s.as_bytes()) {
            Ok(Self(s))
        } else {
            Err(IdError::CheckDigit)
        }
    }
}

/// A sign-in identifier: lowercase letters, digits, `.`, `_`, `-`; 3 to 64 characters, starting and
/// ending with a letter or digit. Compared case-insensitively (stored lowercased).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Username(String);

impl Username {
    pub fn parse(input: &str) -> Result<Self, IdError> {
        let s = input.trim().to_lowercase();
        let b = s.as_bytes();
        let inner_ok = b
            .iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || b"._-".contains(c));
        let ends_ok =
            |c: Option<&u8>| c.is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
        if (3..=64).contains(&b.len()) && inner_ok && ends_ok(b.first()) && ends_ok(b.last()) {
            Ok(Self(s))
        } else {
            Err(IdError::Shape)
        }
    }
}

/// An e-mail address, checked for the shape a mail server will accept (one `@`, a dotted domain,
/// no spaces); deliverability is proven by the activation e-mail, not by a regex.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Email(String);

impl Email {
    pub fn parse(input: &str) -> Result<Self, IdError> {
        let s = input.trim();
        let (local, domain) = s.split_once('@').ok_or(IdError::Shape)?;
        let valid = !local.is_empty()
            && local.len() <= 64
            && s.len() <= 254
            && !domain.contains('@')
            && domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains("..")
            && !s.chars().any(|c| {
                c.is_whitespace() || c.is_control() || matches!(c, '<' | '>' | ',' | ';' | '"')
            });
        if valid {
            // The domain is case-insensitive; the local part is kept as given.
            Ok(Self(format!("{local}@{}", domain.to_lowercase())))
        } else {
            Err(IdError::Shape)
        }
    }
}

/// ISO 3166-2 code of one of the 18 French regions.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct RegionCode(String);

pub const REGION_CODES: [&str; 18] = [
    "FR-ARA", "FR-BFC", "FR-BRE", "FR-CVL", "FR-COR", "FR-GES", "FR-HDF", "FR-IDF", "FR-NOR",
    "FR-NAQ", "FR-OCC", "FR-PDL", "FR-PAC", "FR-GP", "FR-MQ", "FR-GF", "FR-RE", "FR-YT",
];

impl RegionCode {
    pub fn parse(input: &str) -> Result<Self, IdError> {
        let s = input.trim().to_ascii_uppercase();
        if REGION_CODES.contains(&s.as_str()) {
            Ok(Self(s))
        } else {
            Err(IdError::Shape)
        }
    }
}

/// The national identifier of a health professional (`IdNat_PS`), as carried by the CN of a CPx
/// card's authentication certificate and by Pro Santé Connect's `SubjectNameID`: the key that links
/// a card or a PSC identity to an account.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct NationalId(String);

/// What a national identifier is made of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NationalIdKind {
    /// `8` + RPPS: the normal case for professionals.
    Rpps(Rpps),
    /// `0` + ADELI (9 characters): the legacy case.
    Adeli(String),
    /// `1`, `3`, `4`, `5` or `6` + structure identifier + `/` + internal identifier: cards bound to a
    /// structure (3 = FINESS, 4 = SIREN, 5 = SIRET).
    Structure {
        kind: char,
        structure: String,
        internal: String,
    },
}

impl NationalId {
    pub fn parse(input: &str) -> Result<Self, IdError> {
        let s = input.trim();
        Self::kind_of(s)?;
        Ok(Self(s.to_string()))
    }

    fn kind_of(s: &str) -> Result<NationalIdKind, IdError> {
        let mut chars = s.chars();
        let rest = chars.as_str().get(1..).ok_or(IdError::Shape)?;
        match chars.next() {
            Some('8') => {
                Ok(NationalIdKind::Rpps(Rpps::parse(rest).map_err(|e| {
                    if rest.len() == 11 { e } else { IdError::Shape }
                })?))
            }
            Some('0') if rest.len() == 9 && rest.bytes().all(|b| b.is_ascii_alphanumeric()) => {
                Ok(NationalIdKind::Adeli(rest.to_string()))
            }
            Some(kind @ ('1' | '3' | '4' | '5' | '6')) => {
                let (structure, internal) = rest.split_once('/').ok_or(IdError::Shape)?;
                let ok = |p: &str| {
                    !p.is_empty() && p.len() <= 32 && p.bytes().all(|b| b.is_ascii_alphanumeric())
                };
                if ok(structure) && ok(internal) {
                    Ok(NationalIdKind::Structure {
                        kind,
                        structure: structure.to_string(),
                        internal: internal.to_string(),
                    })
                } else {
                    Err(IdError::Shape)
                }
            }
            _ => Err(IdError::Shape),
        }
    }

    pub fn kind(&self) -> NationalIdKind {
        // Constructed only through `parse`, so this cannot fail; fall back to the legacy shape.
        Self::kind_of(&self.0).unwrap_or(NationalIdKind::Adeli(String::new()))
    }
}

macro_rules! string_newtype_impls {
    ($($t:ident),*) => {$(
        impl $t {
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
        impl TryFrom<String> for $t {
            type Error = IdError;
            fn try_from(s: String) -> Result<Self, IdError> {
                Self::parse(&s)
            }
        }
        impl From<$t> for String {
            fn from(v: $t) -> String {
                v.0
            }
        }
        impl From<&$t> for String {
            fn from(v: &$t) -> String {
                v.0.clone()
            }
        }
        impl PartialEq<str> for $t {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }
        impl PartialEq<&str> for $t {
            fn eq(&self, other: &&str) -> bool {
                self.0 == *other
            }
        }
        impl AsRef<str> for $t {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
    )*};
}
string_newtype_impls!(Finess, Rpps, Username, Email, RegionCode, NationalId);

/// Stored as `text`, read back through `parse`: a row carries the parsed type, and a value that
/// does not parse (the schema's CHECK constraints make it impossible) fails the query instead of
/// travelling on unchecked.
#[cfg(feature = "sqlx")]
macro_rules! stored_as_text {
    ($($t:ident),*) => {$(
        impl sqlx::Type<sqlx::Postgres> for $t {
            fn type_info() -> sqlx::postgres::PgTypeInfo {
                <String as sqlx::Type<sqlx::Postgres>>::type_info()
            }
            fn compatible(ty: &sqlx::postgres::PgTypeInfo) -> bool {
                <String as sqlx::Type<sqlx::Postgres>>::compatible(ty)
            }
        }
        impl sqlx::postgres::PgHasArrayType for $t {
            fn array_type_info() -> sqlx::postgres::PgTypeInfo {
                <String as sqlx::postgres::PgHasArrayType>::array_type_info()
            }
        }
        impl<'r> sqlx::Decode<'r, sqlx::Postgres> for $t {
            fn decode(
                value: sqlx::postgres::PgValueRef<'r>,
            ) -> Result<Self, sqlx::error::BoxDynError> {
                let text = <&str as sqlx::Decode<sqlx::Postgres>>::decode(value)?;
                Ok(Self::parse(text)?)
            }
        }
        impl sqlx::Encode<'_, sqlx::Postgres> for $t {
            fn encode_by_ref(
                &self,
                buf: &mut sqlx::postgres::PgArgumentBuffer,
            ) -> Result<sqlx::encode::IsNull, sqlx::error::BoxDynError> {
                <&str as sqlx::Encode<sqlx::Postgres>>::encode_by_ref(&self.0.as_str(), buf)
            }
        }
    )*};
}
#[cfg(feature = "sqlx")]
stored_as_text!(Finess, Rpps, Username, Email, RegionCode, NationalId);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn real_finess_numbers_are_accepted() {
        // Assistance Publique – Hôpitaux de Paris, Hospices Civils de Lyon, AP-HM (legal entities).
        for n in ["750712184", "690781810", "130786049"] {
            assert_eq!(
                Finess::parse(n).map(|f| f.to_string()),
                Ok(n.to_string()),
                "{n}"
            );
        }
    }

    #[test]
    fn finess_with_a_wrong_check_digit_or_shape_is_refused() {
        assert_eq!(Finess::parse("750712185"), Err(IdError::CheckDigit));
        assert_eq!(Finess::parse("690781811"), Err(IdError::CheckDigit));
        assert_eq!(Finess::parse("75071218"), Err(IdError::Shape));
        assert_eq!(Finess::parse("7507121840"), Err(IdError::Shape));
        assert_eq!(Finess::parse("2C0000000"), Err(IdError::Shape));
        assert_eq!(Finess::parse("75O712184"), Err(IdError::Shape));
    }

    #[test]
    fn corsican_finess_uses_department_20_for_the_check_digit() {
        let digit = luhn_check_digit("20000001")
            .map(String::from)
            .unwrap_or_default();
        let number = format!("2A000001{digit}");
        assert!(Finess::parse(&number).is_ok());
        assert!(Finess::parse(&number.to_lowercase()).is_ok());
        assert!(Finess::parse(&format!("2B000001{digit}")).is_ok());
    }

    #[test]
    fn rpps_check_digit() {
        let body = "1000123456";
        let digit = luhn_check_digit(body).map(String::from).unwrap_or_default();
        assert!(Rpps::parse(&format!("{body}{digit}")).is_ok());
        let wrong = (digit.parse::<u8>().unwrap_or(0) + 1) % 10;
        assert_eq!(
            Rpps::parse(&format!("{body}{wrong}")),
            Err(IdError::CheckDigit)
        );
        assert_eq!(Rpps::parse("1000123456"), Err(IdError::Shape));
        assert_eq!(Rpps::parse("1000123456a"), Err(IdError::Shape));
        assert!(Rpps::parse("10001 234 56").is_err());
    }

    #[test]
    fn usernames_are_normalised_and_bounded() {
        assert_eq!(
            Username::parse(" Dr.Martin ").map(String::from),
            Ok("dr.martin".into())
        );
        assert!(Username::parse("ab").is_err());
        assert!(Username::parse(".martin").is_err());
        assert!(Username::parse("martin ou 1=1").is_err());
        assert!(Username::parse("hélène").is_err());
    }

    #[test]
    fn emails() {
        assert_eq!(
            Email::parse("Helene.Leclerc@CHU-Lyon.FR").map(String::from),
            Ok("Helene.Leclerc@chu-lyon.fr".into())
        );
        for bad in [
            "", "a", "a@b", "a@@b.fr", "a b@c.fr", "@c.fr", "a@.fr", "a@c..fr",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn national_identifiers() {
        let rpps = format!(
            "1000012345{}",
            luhn_check_digit("1000012345").unwrap_or('0')
        );
        let id = NationalId::parse(&format!("8{rpps}")).unwrap();
        assert_eq!(id.kind(), NationalIdKind::Rpps(Rpps::parse(&rpps).unwrap()));
        // The shape of the test cards' identifiers (RPPS starting with 99700).
        let body = "9970007512";
        let test_card = format!("8{body}{}", luhn_check_digit(body).unwrap_or('0'));
        assert!(NationalId::parse(&test_card).is_ok(), "{test_card}");
        assert!(
            matches!(NationalId::parse("0751234567").unwrap().kind(), NationalIdKind::Adeli(a) if a == "751234567")
        );
        assert!(matches!(
            NationalId::parse("3760021832/000000018").unwrap().kind(),
            NationalIdKind::Structure { kind: '3', ref structure, ref internal } if structure == "760021832" && internal == "000000018"
        ));
        assert_eq!(
            NationalId::parse(&format!("8{}", &rpps[..10])),
            Err(IdError::Shape)
        );
        let wrong = format!("8{}{}", &rpps[..10], (rpps.as_bytes()[10] - b'0' + 1) % 10);
        assert_eq!(NationalId::parse(&wrong), Err(IdError::CheckDigit));
        for bad in ["", "8", "9123", "3760021832", "3/1", "0abc", "2123/45"] {
            assert!(NationalId::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn regions() {
        assert!(RegionCode::parse("fr-idf").is_ok());
        assert!(RegionCode::parse("FR-XX").is_err());
    }

    // Hardening (issue 14, L-4): a FINESS number belongs to its department's region.
    #[test]
    fn finess_numbers_belong_to_their_departments_region() {
        let f = |body: &str| {
            let digit = if body.starts_with("2A") || body.starts_with("2B") {
                luhn_check_digit(&format!("20{}", &body[2..])).unwrap()
            } else {
                luhn_check_digit(body).unwrap()
            };
            Finess::parse(&format!("{body}{digit}")).unwrap()
        };
        let region = |body: &str| f(body).region().map(|r| r.to_string());
        assert_eq!(region("75071218").as_deref(), Some("FR-IDF"));
        assert_eq!(region("69078181").as_deref(), Some("FR-ARA"));
        assert_eq!(region("13078604").as_deref(), Some("FR-PAC"));
        assert_eq!(region("2A000001").as_deref(), Some("FR-COR"));
        assert_eq!(region("2B000001").as_deref(), Some("FR-COR"));
        assert_eq!(region("97010022").as_deref(), Some("FR-GP"));
        assert_eq!(region("97021120").as_deref(), Some("FR-MQ"));
        assert_eq!(region("97030202").as_deref(), Some("FR-GF"));
        assert_eq!(region("97042103").as_deref(), Some("FR-RE"));
        assert_eq!(region("97600001").as_deref(), Some("FR-YT"));
        assert_eq!(region("97500001"), None);
        assert_eq!(region("98000001"), None);
        let idf = RegionCode::parse("FR-IDF").unwrap();
        assert_eq!(f("75071218").check_region(&idf), Ok(()));
        assert_eq!(f("69078181").check_region(&idf), Err(IdError::OtherRegion));
        assert_eq!(f("97500001").check_region(&idf), Err(IdError::OtherRegion));
        // Every metropolitan department has exactly one region.
        let mut all: Vec<&str> = DEPARTMENT_REGIONS
            .iter()
            .flat_map(|(_, d)| d.iter().copied())
            .collect();
        all.sort_unstable();
        let n = all.len();
        all.dedup();
        assert_eq!(all.len(), n);
        assert_eq!(n, 94);
    }
}
