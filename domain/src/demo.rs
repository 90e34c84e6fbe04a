//! Demo data for the no-configuration start: a few establishments of three regions and accounts
//! covering every landing (several establishments, one, none) and the administrative roles.

use sqlx::PgPool;
use time::OffsetDateTime;

use crate::accounts::AdminRole;
use crate::error::{Error, Result};
use crate::ids::{Email, Finess, RegionCode, Rpps, Username, luhn_check_digit};
use crate::password::Passwords;
use crate::provisioning::{AccountSpec, create_account, create_establishment};

/// The password of every demo account (printed in the README and at start-up).
/// The demo account that needs the e-mail code after its password.
pub const OTP_DEMO_USER: &str = "helene.leclerc";

pub const DEMO_PASSWORD: &str = "Passerelle-Demo-2026";

/// `body` followed by its Luhn check digit.
fn with_check(body: &str) -> String {
    format!("{body}{}", luhn_check_digit(body).unwrap_or('0'))
}

/// Demo establishments: three real legal entities (their published FINESS numbers) and two
/// fictitious centres with valid check digits.
pub fn establishments() -> Vec<(String, &'static str, &'static str, &'static str)> {
    vec![
        (
            "750712184".to_string(),
            "Assistance Publique – Hôpitaux de Paris",
            "Paris",
            "FR-IDF",
        ),
        (
            with_check("75000123"),
            "Centre de santé des Batignolles",
            "Paris",
            "FR-IDF",
        ),
        (
            with_check("93000456"),
            "Maison de santé de Saint-Denis",
            "Saint-Denis",
            "FR-IDF",
        ),
        (
            "690781810".to_string(),
            "Hospices Civils de Lyon",
            "Lyon",
            "FR-ARA",
        ),
        (
            "130786049".to_string(),
            "Assistance Publique – Hôpitaux de Marseille",
            "Marseille",
            "FR-PAC",
        ),
    ]
}

struct DemoUser {
    username: &'static str,
    given: &'static str,
    family: &'static str,
    rpps_body: Option<&'static str>,
    region: &'static str,
    role: Option<AdminRole>,
    establishments: &'static [usize],
}

const USERS: &[DemoUser] = &[
    DemoUser {
        username: "dr.martin",
        given: "Claire",
        family: "Martin",
        rpps_body: Some("1000012345"),
        region: "FR-IDF",
        role: None,
        establishments: &[0, 1],
    },
    DemoUser {
        username: "inf.durand",
        given: "Paul",
        family: "Durand",
        rpps_body: Some("1000023456"),
        region: "FR-IDF",
        role: None,
        establishments: &[2],
    },
    DemoUser {
        username: "sec.petit",
        given: "Julie",
        family: "Petit",
        rpps_body: None,
        region: "FR-IDF",
        role: None,
        establishments: &[],
    },
    DemoUser {
        username: "helene.leclerc",
        given: "Hélène",
        family: "Leclerc",
        rpps_body: Some("1000034567"),
        region: "FR-ARA",
        role: None,
        establishments: &[3],
    },
    DemoUser {
        username: "support.idf",
        given: "Karim",
        family: "Benali",
        rpps_body: None,
        region: "FR-IDF",
        role: Some(AdminRole::Support),
        establishments: &[],
    },
    DemoUser {
        username: "support.ara",
        given: "Nadia",
        family: "Garnier",
        rpps_body: None,
        region: "FR-ARA",
        role: Some(AdminRole::Support),
        establishments: &[],
    },
    DemoUser {
        username: "admin.idf",
        given: "Sophie",
        family: "Moreau",
        rpps_body: None,
        region: "FR-IDF",
        role: Some(AdminRole::RegionalAdmin),
        establishments: &[],
    },
    DemoUser {
        username: "admin.national",
        given: "Marc",
        family: "Lefebvre",
        rpps_body: None,
        region: "FR-IDF",
        role: Some(AdminRole::NationalAdmin),
        establishments: &[],
    },
];

/// Seeds the demo data unless the database already has accounts. True when it seeded.
pub async fn seed(pool: &PgPool, passwords: &Passwords, now: OffsetDateTime) -> Result<bool> {
    let has_users: bool = sqlx::query_scalar!(r#"SELECT EXISTS (SELECT 1 FROM users) AS "e!""#)
        .fetch_one(pool)
        .await?;
    if has_users {
        return Ok(false);
    }
    let invalid = |field| move |reason| Error::InvalidInput { field, reason };
    let establishments = establishments();
    let mut finess = Vec::new();
    for (number, name, city, region) in &establishments {
        let f = Finess::parse(number).map_err(invalid("finess"))?;
        create_establishment(
            pool,
            &f,
            name,
            city,
            &RegionCode::parse(region).map_err(invalid("region"))?,
            "demo",
            now,
        )
        .await?;
        finess.push(f);
    }
    for u in USERS {
        let spec = AccountSpec {
            username: Username::parse(u.username).map_err(invalid("username"))?,
            email: Email::parse(&format!("{}@demo.passerelle.example", u.username))
                .map_err(invalid("email"))?,
            family_name: u.family.to_string(),
            given_name: u.given.to_string(),
            rpps: u
                .rpps_body
                .map(|b| Rpps::parse(&with_check(b)))
                .transpose()
                .map_err(invalid("rpps"))?,
            region: RegionCode::parse(u.region).map_err(invalid("region"))?,
            password: Some(DEMO_PASSWORD.to_string()),
            role: u.role,
            establishments: u
                .establishments
                .iter()
                .filter_map(|i| finess.get(*i).cloned())
                .collect(),
        };
        let id =
            create_account(pool, passwords, &spec, "demo", "http://127.0.0.1:3000", now).await?;
        if u.username == OTP_DEMO_USER {
            sqlx::query!("UPDATE users SET otp_required = true WHERE id = $1", id)
                .execute(pool)
                .await?;
        }
        if u.username == "sec.petit" {
            // No RPPS: the desk declared her card's identity (the test PKI's `cps-petit`), the
            // only one her first card sign-in may link.
            sqlx::query!(
                "UPDATE users SET declared_national_id = '899700012349' WHERE id = $1",
                id
            )
            .execute(pool)
            .await?;
        }
    }
    Ok(true)
}

/// The demo accounts that anyone reading the README could sign in to: not disabled, and whose
/// password is still [`DEMO_PASSWORD`] (an operator who created a real `admin.national` with a
/// password of their own is not counted). Their usernames, sorted.
pub async fn present(pool: &PgPool, passwords: &std::sync::Arc<Passwords>) -> Result<Vec<String>> {
    let names: Vec<String> = USERS.iter().map(|u| u.username.to_string()).collect();
    let candidates = sqlx::query!(
        r#"SELECT username, password_hash AS "password_hash!" FROM users
           WHERE (username = ANY($1) OR email LIKE '%@demo.passerelle.example')
             AND status <> 'disabled' AND password_hash IS NOT NULL
           ORDER BY username"#,
        &names
    )
    .fetch_all(pool)
    .await?;
    let mut found = Vec::new();
    for c in candidates {
        if passwords
            .verify_async(DEMO_PASSWORD, Some(&c.password_hash))
            .await?
        {
            found.push(c.username);
        }
    }
    Ok(found)
}
