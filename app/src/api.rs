//! Server functions the pages read their data from. All are GET (they change nothing): every
//! change goes through a form post to the HTTP edge, which checks the CSRF token.

use leptos::prelude::*;
use leptos::server_fn::codec::GetUrl;
use model::code::Delivery;
use model::sign_in::Method;
use model::tiqr::PhoneState;
use serde::{Deserialize, Serialize};

use crate::error::ErrorCode;

/// The cookie holding the pending one-time card link (set by the edge, read by the linking page).
pub const CARD_LINK_COOKIE: &str = "passerelle_card_link";
/// The cookie holding the pending e-mail code step of a password sign-in.
pub const SIGN_IN_STEP_COOKIE: &str = "passerelle_sign_in_step";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegionView {
    pub code: String,
    pub name: String,
    pub agency_name: String,
    pub agency_url: String,
    pub support_email: String,
    pub support_phone: String,
    pub support_hours: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserView {
    pub username: String,
    pub given_name: String,
    pub family_name: String,
    pub region_code: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EstablishmentView {
    pub finess: String,
    pub name: String,
    pub city: String,
    pub region_code: String,
}

/// What every page's frame needs: who is signed in, and the form token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShellData {
    /// Signed in (a session too weak for its roles included: it may sign out).
    pub user: Option<UserView>,
    /// `30/06/2027`: the session is accepted for its roles only during the transition of the
    /// sign-in policy (password with the e-mailed code); every page says until when.
    pub transition_until: Option<String>,
    /// The user holds an administration role: the header links to the console.
    pub admin: bool,
    /// The demo's e-mails are readable in the browser: the footer links to them.
    pub demo_mails: bool,
    pub csrf: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignInData {
    /// The region chosen at the last visit (a cookie), when no `?region=` is given.
    pub remembered_region: String,
    pub regions: Vec<RegionView>,
    pub password_mode: bool,
    /// Card sign-in, when the deployment offers it.
    pub card: Option<CardModeView>,
    /// Pro Santé Connect, when the deployment offers it.
    pub psc: bool,
    /// Passkeys, when the portal's public address allows them (a domain name).
    pub passkeys: bool,
    pub csrf: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CardModeView {
    /// The local agent's base URL (`http://127.0.0.1:24231`).
    pub agent_url: String,
    /// A card host behind a TLS terminator is configured.
    pub tls: bool,
}

/// The e-mail code step, as its page shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CodeStepData {
    pub masked_email: String,
    /// `none`, `sent`, `pending`, `delayed` (the mail server failed; retried) or `abandoned`.
    pub delivery: Delivery,
    pub csrf: String,
}

/// An activation or reset link, as the password page shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PasswordLinkData {
    pub activation: bool,
    pub username: String,
    pub csrf: String,
}

/// The card or PSC identity waiting to be linked, as the linking page shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingLinkData {
    /// `Card` or `Psc`: the identity waiting to be linked (the same page for both).
    pub means: Method,
    /// For PSC: the national identifier (`SubjectNameID`).
    pub national_id: String,
    pub holder_name: String,
    pub card_type: String,
    pub serial: String,
    pub not_after: String,
    pub csrf: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CardView {
    pub id: String,
    pub card_type: String,
    pub serial: String,
    pub holder_name: String,
    pub not_after: String,
    pub linked_at: String,
    pub renewal: bool,
    pub last_used_at: Option<String>,
}

/// A Pro Santé Connect identity linked to the holder's account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PscView {
    pub national_id: String,
    pub name: String,
    pub linked_at: String,
    pub last_used_at: Option<String>,
}

/// A phone enrolled for the TIQR app (not revoked).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PhoneView {
    pub id: String,
    pub name: String,
    /// `Active` or `Blocked` (only confirmed, unrevoked phones are listed).
    pub state: PhoneState,
    pub created_at: String,
    pub last_used_at: Option<String>,
}

/// "Mes moyens de connexion": everything that signs the holder in without the password.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignInMeansData {
    pub user: UserView,
    pub cards: Vec<CardView>,
    pub psc: Vec<PscView>,
    pub phones: Vec<PhoneView>,
    pub passkeys: Vec<PasskeyView>,
    /// The deployment offers TIQR: the page links to adding a phone.
    pub tiqr_enabled: bool,
    /// The portal offers passkeys: the page has the form that adds one.
    pub passkeys_enabled: bool,
    /// Adding a passkey asks for the password (the sign-in is not recent).
    pub passkey_password_needed: bool,
    pub csrf: String,
}

/// « Mes connexions »: the holder's open sessions (the current one first) and last sign-ins.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActivityData {
    pub sessions: Vec<OpenSessionView>,
    pub sign_ins: Vec<SignInView>,
    pub csrf: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpenSessionView {
    /// What the form names it by (never the token).
    pub reference: String,
    pub method: Method,
    pub started: String,
    pub last_seen: String,
    pub place: model::activity::Place,
    pub browser: Option<String>,
    pub current: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignInView {
    pub at: String,
    pub method: Option<Method>,
    pub succeeded: bool,
    pub place: model::activity::Place,
    pub browser: Option<String>,
}

/// One of the holder's passkeys.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PasskeyView {
    pub id: String,
    pub name: String,
    pub created_at: String,
    pub last_used_at: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChooserData {
    pub user: UserView,
    pub establishments: Vec<EstablishmentView>,
    pub current: Option<String>,
    /// FINESS numbers Pro Santé Connect declared for the professional at sign-in.
    pub declared: Vec<String>,
    pub csrf: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DashboardData {
    /// The news of the establishment's region (and the national ones).
    pub news: Vec<NewsView>,
    pub user: UserView,
    pub establishment: EstablishmentView,
    pub region_name: String,
    pub is_current: bool,
    pub several: bool,
    pub auth_method: Method,
    /// For a PSC sign-in: PSC's `authMode` and `acr` (`CARD · eidas3`).
    pub auth_detail: Option<String>,
    pub csrf: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NoEstablishmentData {
    pub user: UserView,
    pub region: RegionView,
}

#[cfg(feature = "ssr")]
pub(crate) mod server {
    use std::sync::Arc;

    use domain::accounts::{self, Establishment, Region};
    use domain::sessions::Session;

    use super::*;
    use crate::state::{RequestContext, Services, Viewer, request_context, services};

    pub fn internal(e: impl std::fmt::Display) -> ErrorCode {
        ErrorCode::internal(e)
    }

    pub async fn context() -> Result<(RequestContext, Arc<Services>), ErrorCode> {
        let ctx = request_context()
            .await
            .ok_or_else(|| internal("no request context"))?;
        let services = services().ok_or_else(|| internal("no application state"))?;
        Ok((ctx, services))
    }

    pub fn signed_in(ctx: &RequestContext) -> Result<&Session, ErrorCode> {
        match &ctx.viewer {
            Viewer::SignedIn(s) => Ok(s),
            Viewer::Weak(..) => Err(ErrorCode::StrongerSignInRequired),
            Viewer::Expired => Err(ErrorCode::SessionExpired),
            Viewer::Anonymous => Err(ErrorCode::NotSignedIn),
        }
    }

    pub fn user_view(s: &Session) -> UserView {
        UserView {
            username: s.username.to_string(),
            given_name: s.given_name.clone(),
            family_name: s.family_name.clone(),
            region_code: s.region_code.to_string(),
        }
    }

    pub fn establishment_view(e: Establishment) -> EstablishmentView {
        EstablishmentView {
            finess: e.finess.into(),
            name: e.name,
            city: e.city,
            region_code: e.region_code.into(),
        }
    }

    pub fn region_view(r: Region) -> RegionView {
        RegionView {
            code: r.code,
            name: r.name,
            agency_name: r.agency_name,
            agency_url: r.agency_url,
            support_email: r.support_email,
            support_phone: r.support_phone,
            support_hours: r.support_hours,
        }
    }

    /// A request cookie's value (server functions read the pending card link this way).
    pub async fn cookie(name: &str) -> Option<String> {
        let jar: axum_extra::extract::cookie::CookieJar = leptos_axum::extract().await.ok()?;
        jar.get(name).map(|c| c.value().to_string())
    }

    /// `23/11/2026 14:05` in Paris time (the desk reads local times; the CSV export is in UTC).
    pub fn datetime(t: time::OffsetDateTime) -> String {
        // One French-time rule for the pages and the e-mails.
        domain::mail::messages::paris_datetime(t)
    }

    pub fn news_view(item: domain::news::Item) -> NewsView {
        NewsView {
            id: item.id.to_string(),
            html: item.html(),
            title: item.title,
            important: item.important,
            national: item.region_code.is_none(),
            starts_on: day(item.starts_on),
            ends_on: item.ends_on.map(day),
        }
    }

    /// A day as French users write it (`23/11/2029`).
    pub fn day(d: time::Date) -> String {
        format!("{:02}/{:02}/{}", d.day(), u8::from(d.month()), d.year())
    }

    /// Remembers the visitor's region for a year (a preference, not a secret: `SameSite=Lax`,
    /// readable by no script).
    pub fn remember_region(code: &str, secure: bool) {
        let Some(response) = use_context::<leptos_axum::ResponseOptions>() else {
            return;
        };
        let cookie = format!(
            "{REGION_COOKIE}={code}; Path=/; Max-Age=31536000; SameSite=Lax; HttpOnly{}",
            if secure { "; Secure" } else { "" }
        );
        if let Ok(value) = http::HeaderValue::from_str(&cookie) {
            response.append_header(http::header::SET_COOKIE, value);
        }
    }

    /// Dates as French users write them (`23/11/2029`).
    pub fn date(t: time::OffsetDateTime) -> String {
        format!("{:02}/{:02}/{}", t.day(), u8::from(t.month()), t.year())
    }

    pub async fn my_establishments(
        services: &Services,
        session: &Session,
    ) -> Result<Vec<Establishment>, ErrorCode> {
        let mut conn = services
            .portal
            .pool
            .acquire()
            .await
            .map_err(domain::Error::from)?;
        accounts::establishments_of(&mut conn, session.user_id)
            .await
            .map_err(ErrorCode::from)
    }
}

#[server(prefix = "/api", endpoint = "shell", input = GetUrl)]
pub async fn get_shell() -> Result<ShellData, ErrorCode> {
    let (ctx, services) = server::context().await?;
    // The session carries its account's roles (read with it on every request).
    let admin = ctx.viewer.session().is_some_and(|s| !s.roles.is_empty());
    let transition_until = ctx.viewer.session().and_then(|s| {
        match services
            .portal
            .sign_in_policy
            .judge(&s.roles, s.auth_method, ctx.now)
        {
            domain::sign_in_policy::Strength::Transition { until } => {
                Some(server::date(until - time::Duration::days(1)))
            }
            _ => None,
        }
    });
    Ok(ShellData {
        admin,
        transition_until,
        user: ctx
            .viewer
            .session()
            .or(ctx.viewer.weak().map(|(s, _)| s))
            .map(server::user_view),
        demo_mails: services.settings.demo_mail_folder.is_some(),
        csrf: ctx.csrf_token.clone(),
    })
}

/// A news item as the sign-in page and the dashboards show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewsView {
    pub id: String,
    pub title: String,
    /// The text rendered by the domain from the Markdown subset: safe HTML, nothing of the
    /// author's becomes markup.
    pub html: String,
    pub important: bool,
    pub national: bool,
    /// `04/12/2026`.
    pub starts_on: String,
    pub ends_on: Option<String>,
}

/// The cookie that remembers the region a visitor chose on the sign-in page (its news and desk).
pub const REGION_COOKIE: &str = "passerelle_region";

/// The news the sign-in page shows for `region` (its own and the national ones; the national
/// ones only without a region), and the region remembered for the next visit.
#[server(prefix = "/api", endpoint = "actualites", input = GetUrl)]
pub async fn get_sign_in_news(region: String) -> Result<Vec<NewsView>, ErrorCode> {
    let (ctx, services) = server::context().await?;
    let region = domain::ids::RegionCode::parse(&region).ok();
    if let Some(code) = &region {
        server::remember_region(code.as_str(), services.settings.secure_cookies);
    }
    let items = domain::news::shown(
        &services.portal.pool,
        region.as_ref().map(domain::ids::RegionCode::as_str),
        ctx.now,
    )
    .await?;
    Ok(items.into_iter().map(server::news_view).collect())
}

/// One establishment of the public directory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DirectoryEntryView {
    pub finess: String,
    pub name: String,
    pub street: String,
    pub postal_code: String,
    pub city: String,
    pub category: String,
    pub on_passerelle: bool,
    pub region: Option<RegionView>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DirectoryData {
    pub entries: Vec<DirectoryEntryView>,
    /// More establishments match than are shown: the search should be narrowed.
    pub more: bool,
}

/// The public directory's search (no sign-in; an empty query finds nothing).
#[server(prefix = "/api", endpoint = "annuaire", input = GetUrl)]
pub async fn get_directory(q: String) -> Result<DirectoryData, ErrorCode> {
    let (_, services) = server::context().await?;
    let query: String = q.chars().take(200).collect();
    let (found, more) =
        domain::directory::search::establishments(&services.portal.pool, &query).await?;
    Ok(DirectoryData {
        entries: found
            .into_iter()
            .map(|f| DirectoryEntryView {
                finess: f.finess,
                name: f.name,
                street: f.street,
                postal_code: f.postal_code,
                city: f.city,
                category: f.category,
                on_passerelle: f.on_passerelle,
                region: f.region.map(server::region_view),
            })
            .collect(),
        more,
    })
}

#[server(prefix = "/api", endpoint = "sign-in", input = GetUrl)]
pub async fn get_sign_in() -> Result<SignInData, ErrorCode> {
    use crate::state::SignInMode;
    let (ctx, services) = server::context().await?;
    let regions = domain::accounts::regions(&services.portal.pool)
        .await
        .map_err(ErrorCode::from)?;
    let remembered_region = server::cookie(REGION_COOKIE)
        .await
        .filter(|c| domain::ids::RegionCode::parse(c).is_ok())
        .unwrap_or_default();
    Ok(SignInData {
        remembered_region,
        regions: regions.into_iter().map(server::region_view).collect(),
        password_mode: services
            .settings
            .sign_in_modes
            .contains(&SignInMode::Password),
        card: services.card.as_ref().map(|c| CardModeView {
            agent_url: c.agent_url.clone(),
            tls: c.tls.is_some(),
        }),
        psc: services.settings.sign_in_modes.contains(&SignInMode::Psc),
        passkeys: services.passkeys.is_some(),
        csrf: ctx.csrf_token,
    })
}

#[server(prefix = "/api", endpoint = "pending-link", input = GetUrl)]
pub async fn get_pending_link() -> Result<PendingLinkData, ErrorCode> {
    use domain::auth::linking::{self, Pending};
    let (ctx, services) = server::context().await?;
    let token = server::cookie(CARD_LINK_COOKIE)
        .await
        .ok_or(ErrorCode::from(domain::Error::CardLinkExpired))?;
    let pending = linking::pending(
        &services.portal,
        services.card.as_ref().map(|c| &c.trust),
        &token,
        domain::auth::card::Browser::of_secret(&ctx.csrf_token),
        ctx.now,
    )
    .await?;
    Ok(match pending {
        Pending::Card { identity, .. } => PendingLinkData {
            means: Method::Card,
            national_id: identity.national_id.as_str().to_string(),
            holder_name: identity.holder_name,
            card_type: identity.card_type.as_str().to_string(),
            serial: identity.serial,
            not_after: server::date(identity.not_after),
            csrf: ctx.csrf_token.clone(),
        },
        Pending::Psc(login) => PendingLinkData {
            means: Method::Psc,
            national_id: login.identity.national_id.as_str().to_string(),
            holder_name: login.identity.display_name(),
            card_type: login.auth_mode.unwrap_or_default(),
            serial: String::new(),
            not_after: String::new(),
            csrf: ctx.csrf_token.clone(),
        },
    })
}

#[server(prefix = "/api", endpoint = "code-step", input = GetUrl)]
pub async fn get_code_step() -> Result<CodeStepData, ErrorCode> {
    use domain::auth::otp;
    let (ctx, services) = server::context().await?;
    let token = server::cookie(SIGN_IN_STEP_COOKIE)
        .await
        .ok_or(ErrorCode::Code(crate::error::CodeError::StepExpired))?;
    let view = otp::view(&services.portal, &token, ctx.now).await?;
    Ok(CodeStepData {
        masked_email: view.masked_email,
        delivery: view.delivery,
        csrf: ctx.csrf_token.clone(),
    })
}

#[server(prefix = "/api", endpoint = "password-link", input = GetUrl)]
pub async fn get_password_link(token: String) -> Result<PasswordLinkData, ErrorCode> {
    let (ctx, services) = server::context().await?;
    let info = domain::auth::account_links::link_info(&services.portal, &token, ctx.now).await?;
    Ok(PasswordLinkData {
        activation: info.activation,
        username: info.username.into(),
        csrf: ctx.csrf_token.clone(),
    })
}

/// The page a session too weak for its account's roles reaches: what would do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StrengthenData {
    pub accepted: Vec<Method>,
    pub csrf: String,
}

#[server(prefix = "/api", endpoint = "strengthen", input = GetUrl)]
pub async fn get_strengthen() -> Result<StrengthenData, ErrorCode> {
    let (ctx, services) = server::context().await?;
    let accepted = match (ctx.viewer.weak(), ctx.viewer.session()) {
        (Some((_, accepted)), _) => accepted.to_vec(),
        (None, Some(s)) => services
            .portal
            .sign_in_policy
            .accepted(&s.roles)
            .unwrap_or_default(),
        (None, None) => return Err(ErrorCode::NotSignedIn),
    };
    Ok(StrengthenData {
        accepted,
        csrf: ctx.csrf_token.clone(),
    })
}

#[server(prefix = "/api", endpoint = "my-activity", input = GetUrl)]
pub async fn get_my_activity() -> Result<ActivityData, ErrorCode> {
    use model::activity::{Place, browser_of};
    let (ctx, services) = server::context().await?;
    let session = server::signed_in(&ctx)?;
    let mut conn = services
        .portal
        .pool
        .acquire()
        .await
        .map_err(domain::Error::from)?;
    let sessions =
        domain::auth::activity::sessions(&mut conn, session, services.portal.sessions, ctx.now)
            .await?;
    let sign_ins = domain::auth::activity::sign_ins(&mut conn, session.user_id).await?;
    Ok(ActivityData {
        sessions: sessions
            .into_iter()
            .map(|s| OpenSessionView {
                reference: s.reference,
                method: s.auth_method,
                started: server::datetime(s.created_at),
                last_seen: server::datetime(s.last_seen_at),
                place: Place::of(s.ip.as_deref()),
                browser: browser_of(s.user_agent.as_deref()),
                current: s.current,
            })
            .collect(),
        sign_ins: sign_ins
            .into_iter()
            .map(|r| SignInView {
                at: server::datetime(r.at),
                method: r.method,
                succeeded: r.succeeded,
                place: Place::of(r.ip.as_deref()),
                browser: browser_of(r.user_agent.as_deref()),
            })
            .collect(),
        csrf: ctx.csrf_token.clone(),
    })
}

#[server(prefix = "/api", endpoint = "sign-in-means", input = GetUrl)]
pub async fn get_sign_in_means() -> Result<SignInMeansData, ErrorCode> {
    use domain::auth::tiqr::enrollment::TiqrState;
    let (ctx, services) = server::context().await?;
    let session = server::signed_in(&ctx)?;
    let mut conn = services
        .portal
        .pool
        .acquire()
        .await
        .map_err(domain::Error::from)?;
    let means = domain::auth::means::of_user(&mut conn, session.user_id).await?;
    Ok(SignInMeansData {
        user: server::user_view(session),
        cards: means
            .cards
            .into_iter()
            .map(|c| CardView {
                id: c.id.to_string(),
                card_type: c.card_type,
                serial: c.serial,
                holder_name: c.holder_name,
                not_after: server::date(c.not_after),
                linked_at: server::date(c.linked_at),
                renewal: c.linked_via == "renewal",
                last_used_at: c.last_used_at.map(server::date),
            })
            .collect(),
        psc: means
            .psc
            .into_iter()
            .map(|p| PscView {
                name: p.display_name(),
                national_id: p.national_id.into(),
                linked_at: server::date(p.linked_at),
                last_used_at: p.last_used_at.map(server::date),
            })
            .collect(),
        phones: means
            .phones
            .into_iter()
            .map(|e| PhoneView {
                id: e.id.to_string(),
                name: e.name,
                state: if e.state == TiqrState::Blocked {
                    PhoneState::Blocked
                } else {
                    PhoneState::Active
                },
                created_at: server::date(e.created_at),
                last_used_at: e.last_used_at.map(server::date),
            })
            .collect(),
        passkeys: means
            .passkeys
            .into_iter()
            .map(|p| PasskeyView {
                id: p.id.to_string(),
                name: p.name,
                created_at: server::date(p.created_at),
                last_used_at: p.last_used_at.map(server::date),
            })
            .collect(),
        tiqr_enabled: services.tiqr.is_some(),
        passkeys_enabled: services.passkeys.is_some(),
        passkey_password_needed: domain::auth::passkey::password_needed(session, ctx.now),
        csrf: ctx.csrf_token.clone(),
    })
}

#[server(prefix = "/api", endpoint = "chooser", input = GetUrl)]
pub async fn get_chooser() -> Result<ChooserData, ErrorCode> {
    let (ctx, services) = server::context().await?;
    let session = server::signed_in(&ctx)?;
    let establishments = server::my_establishments(&services, session).await?;
    let current = session
        .establishment_id
        .and_then(|id| establishments.iter().find(|e| e.id == id))
        .map(|e| e.finess.to_string());
    Ok(ChooserData {
        user: server::user_view(session),
        establishments: establishments
            .into_iter()
            .map(server::establishment_view)
            .collect(),
        current,
        declared: session.declared_finess.clone(),
        csrf: ctx.csrf_token.clone(),
    })
}

#[server(prefix = "/api", endpoint = "dashboard", input = GetUrl)]
pub async fn get_dashboard(finess: String) -> Result<DashboardData, ErrorCode> {
    let (ctx, services) = server::context().await?;
    let session = server::signed_in(&ctx)?;
    let establishments = server::my_establishments(&services, session).await?;
    let several = establishments.len() > 1;
    // Membership is the authorisation: another establishment's page is "not found", not "forbidden",
    // so that FINESS numbers cannot be probed.
    let Some(establishment) = establishments
        .into_iter()
        .find(|e| e.finess == finess.as_str())
    else {
        return Err(ErrorCode::NotFound);
    };
    let region =
        domain::accounts::region(&services.portal.pool, establishment.region_code.as_str())
            .await
            .map_err(ErrorCode::from)?;
    let news = domain::news::shown(
        &services.portal.pool,
        Some(establishment.region_code.as_str()),
        ctx.now,
    )
    .await?
    .into_iter()
    .map(server::news_view)
    .collect();
    Ok(DashboardData {
        news,
        user: server::user_view(session),
        is_current: session.establishment_id == Some(establishment.id),
        establishment: server::establishment_view(establishment),
        region_name: region.map(|r| r.name).unwrap_or_default(),
        several,
        auth_method: session.auth_method,
        auth_detail: (session.auth_method == Method::Psc).then(|| {
            [session.auth_mode.clone(), session.acr.clone()]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(" · ")
        }),
        csrf: ctx.csrf_token.clone(),
    })
}

#[server(prefix = "/api", endpoint = "no-establishment", input = GetUrl)]
pub async fn get_no_establishment() -> Result<NoEstablishmentData, ErrorCode> {
    let (ctx, services) = server::context().await?;
    let session = server::signed_in(&ctx)?;
    let region = domain::accounts::region(&services.portal.pool, session.region_code.as_str())
        .await
        .map_err(ErrorCode::from)?
        .ok_or(ErrorCode::NotFound)?;
    Ok(NoEstablishmentData {
        user: server::user_view(session),
        region: server::region_view(region),
    })
}
