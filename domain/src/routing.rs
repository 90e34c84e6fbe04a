//! Where a professional lands after signing in, and the choice of establishment.

use serde::{Deserialize, Serialize};
use serde_json::json;
use sqlx::PgPool;

use crate::accounts::{self, Establishment};
use crate::audit::{self, Event, Outcome};
use crate::call::Call;
use crate::error::{Error, Result};
use crate::ids::Finess;
use crate::sessions::{self, Session};

/// The page after sign-in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Landing {
    /// Exactly one establishment: straight to its dashboard.
    Dashboard { finess: Finess },
    /// Several: the chooser.
    Chooser,
    /// None: the page with the region's support contact.
    NoEstablishment,
    /// None, but the user works for a support desk or an administration: the console.
    Console,
}

impl Landing {
    pub fn for_establishments(establishments: &[Establishment], administrator: bool) -> Self {
        match establishments {
            [] if administrator => Landing::Console,
            [] => Landing::NoEstablishment,
            [only] => Landing::Dashboard {
                finess: only.finess.clone(),
            },
            _ => Landing::Chooser,
        }
    }
}

/// The user switches to (or picks) one of their establishments; audited in the same transaction.
pub async fn choose_establishment(
    pool: &PgPool,
    session: &Session,
    finess: &Finess,
    call: Call<'_>,
) -> Result<Establishment> {
    let mut tx = pool.begin().await?;
    let mine = accounts::establishments_of(&mut tx, session.user_id).await?;
    let Some(chosen) = mine.into_iter().find(|e| e.finess == finess.as_str()) else {
        audit::record(
            &mut tx,
            Event::new(
                audit::Action::SessionEstablishmentChoose,
                Outcome::Denied,
                &session.username,
            )
            .actor(session.user_id)
            .target("establishment", finess.as_str(), finess.as_str())
            .region(&session.region_code),
            call,
        )
        .await?;
        tx.commit().await?;
        return Err(Error::Forbidden);
    };
    sessions::set_establishment(&mut tx, session, chosen.id).await?;
    audit::record(
        &mut tx,
        Event::new(
            audit::Action::SessionEstablishmentChoose,
            Outcome::Success,
            &session.username,
        )
        .actor(session.user_id)
        .target("establishment", &chosen.finess, &chosen.name)
        .region(&chosen.region_code)
        .details(json!({ "previous": session.establishment_id.map(|id| id.to_string()) })),
        call,
    )
    .await?;
    tx.commit().await?;
    Ok(chosen)
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    fn est(finess: &str) -> Establishment {
        Establishment {
            id: Uuid::nil(),
            finess: Finess::parse(finess).unwrap(),
            name: "E".into(),
            city: String::new(),
            region_code: crate::ids::RegionCode::parse("FR-IDF").unwrap(),
        }
    }

    #[test]
    fn zero_one_several() {
        assert_eq!(
            Landing::for_establishments(&[], false),
            Landing::NoEstablishment
        );
        assert_eq!(Landing::for_establishments(&[], true), Landing::Console);
        assert_eq!(
            Landing::for_establishments(&[est("750712184")], true),
            Landing::Dashboard {
                finess: Finess::parse("750712184").unwrap()
            }
        );
        assert_eq!(
            Landing::for_establishments(&[est("750712184"), est("690781810")], false),
            Landing::Chooser
        );
    }
}
