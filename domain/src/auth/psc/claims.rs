//! What Pro Santé Connect says about the professional, read from the verified claims (the ID
//! token's, with userinfo filling in): pure, so that it is tested with any claim set.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::ids::{Finess, NationalId};
use crate::sessions::PscFacts;
use model::psc::PscFailure;

/// The professional as PSC describes them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PscIdentity {
    /// `SubjectNameID`: IdNat_PS.
    pub national_id: NationalId,
    pub given_name: String,
    pub family_name: String,
    /// FINESS numbers (site and legal entity) of the activities in `SubjectRefPro`, valid ones
    /// only, without duplicates.
    pub declared_finess: Vec<Finess>,
}

impl PscIdentity {
    pub fn display_name(&self) -> String {
        format!("{} {}", self.given_name, self.family_name)
            .trim()
            .to_string()
    }
}

/// A verified PSC sign-in: the identity and how it was made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PscLogin {
    pub identity: PscIdentity,
    /// `authMode`: `CARD`, or the e-CPS app's value.
    pub auth_mode: Option<String>,
    /// `acr`: `eidas1`…`eidas3`.
    pub acr: Option<String>,
    /// PSC's session id (`sid`) and subject (`sub`): what its back-channel logout names.
    pub sid: Option<String>,
    pub sub: Option<String>,
}

fn text(claims: &Value, name: &str, max: usize) -> Option<String> {
    claims
        .get(name)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.chars().take(max).collect())
}

impl PscLogin {
    /// Reads the verified claims (userinfo merged over the ID token's). `SubjectNameID` is the
    /// key; `preferred_username` carries the same value at PSC and is not trusted instead of it.
    pub fn from_claims(claims: &Value) -> Result<Self, PscFailure> {
        let raw = text(claims, "SubjectNameID", 128).ok_or(PscFailure::SubjectNameIdMissing)?;
        let national_id = NationalId::parse(&raw).map_err(|_| PscFailure::SubjectNameIdInvalid)?;
        let mut declared_finess: Vec<Finess> = Vec::new();
        let exercices = claims
            .get("SubjectRefPro")
            .and_then(|r| r.get("exercices"))
            .and_then(Value::as_array);
        for exercice in exercices.into_iter().flatten() {
            let activities = exercice.get("activities").and_then(Value::as_array);
            for activity in activities.into_iter().flatten() {
                for key in ["numeroFinessSite", "numeroFinessetablissementJuridique"] {
                    if let Some(Ok(f)) =
                        activity.get(key).and_then(Value::as_str).map(Finess::parse)
                        && !declared_finess.contains(&f)
                    {
                        declared_finess.push(f);
                    }
                }
            }
        }
        Ok(PscLogin {
            identity: PscIdentity {
                national_id,
                given_name: text(claims, "given_name", 100).unwrap_or_default(),
                family_name: text(claims, "family_name", 100).unwrap_or_default(),
                declared_finess,
            },
            auth_mode: text(claims, "authMode", 32),
            acr: text(claims, "acr", 64),
            sid: text(claims, "sid", 255),
            sub: text(claims, "sub", 255),
        })
    }

    pub(crate) fn facts(&self) -> PscFacts {
        PscFacts {
            auth_mode: self.auth_mode.clone(),
            acr: self.acr.clone(),
            sid: self.sid.clone(),
            sub: self.sub.clone(),
            declared_finess: self
                .identity
                .declared_finess
                .iter()
                .map(|f| f.as_str().to_string())
                .collect(),
        }
    }
}
