//! Server functions of the admin console's pages (all GET, they change nothing; the changes are
//! form posts to the HTTP edge). Each one builds the `Actor` from the session and lets the domain
//! authorise and scope the query: nothing here trusts what the page sends.

use leptos::prelude::*;
use leptos::server_fn::codec::GetUrl;
use model::account::UserStatus;
use model::audit::Outcome;
use serde::{Deserialize, Serialize};

use crate::error::ErrorCode;

/// A choice in a `<select>`: value and label.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Choice {
    pub value: String,
    pub label: String,
}

/// What the console's navigation offers this actor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Console {
    pub can_create_users: bool,
    pub can_manage_establishments: bool,
    pub can_read_audit: bool,
    pub can_import: bool,
    /// National administrators load the national directory.
    pub can_load_directory: bool,
    /// Regional and national administrators write the news.
    pub can_manage_news: bool,
    /// Regional and national administrators see the inactive accounts and keep them active.
    pub can_keep_active: bool,
    /// The regions the actor works on (a select appears when there are several).
    pub regions: Vec<Choice>,
    pub csrf: String,
}

/// A news item in the console: its fields as the form edits them, and its rendering.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewsItemView {
    pub id: String,
    /// Empty: national.
    pub region: String,
    pub title: String,
    pub body: String,
    /// The text rendered (safe HTML, the domain's).
    pub html: String,
    pub important: bool,
    /// `2026-12-04`, as a date input takes it.
    pub starts_on: String,
    pub ends_on: String,
    /// `Du 04/12/2026 au 31/12/2026`, as shown.
    pub starts_on_shown: String,
    pub ends_on_shown: Option<String>,
    pub published: bool,
    pub version: i32,
    pub author: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewsListData {
    pub console: Console,
    pub items: Vec<NewsItemView>,
    /// The regions the actor writes for; `can_national`: national items too.
    pub regions: Vec<Choice>,
    pub can_national: bool,
    /// Today in Paris (`2026-12-04`): the form's first day.
    pub today: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewsItemData {
    pub console: Console,
    pub item: NewsItemView,
    pub regions: Vec<Choice>,
    pub can_national: bool,
}

/// An extraction waiting in the directory's folder.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InboxFileView {
    pub name: String,
    pub kind: model::directory::DirectoryFile,
    pub megabytes: String,
}

/// One load of the national directory, as the console shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DirectoryLoadView {
    pub id: String,
    pub kind: model::directory::DirectoryFile,
    pub file_name: String,
    pub file_date: Option<String>,
    /// `running`, `done`, `unchanged`, `refused`, `failed`.
    pub state: String,
    pub started: String,
    pub by: String,
    /// While running: how much of the file is read, in percent.
    pub percent: u8,
    pub lines: u64,
    pub rows: u64,
    pub people: u64,
    pub bad_lines: u64,
    pub added: u64,
    pub removed: u64,
    pub changed: u64,
    /// The first bad lines, with why.
    pub samples: Vec<(u64, model::directory::LineProblem)>,
    pub refusal: Option<model::directory::DirectoryError>,
    /// A technical failure (the database went away…): its reference is in the logs.
    pub failed: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AbsentView {
    pub id: String,
    pub name: String,
    pub username: String,
    pub rpps: String,
    pub region: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DirectoryLoadsData {
    pub console: Console,
    pub folder: String,
    pub files: Vec<InboxFileView>,
    pub loads: Vec<DirectoryLoadView>,
    pub running: bool,
    /// Accounts whose RPPS the directory does not have (`None`: no directory loaded), and how
    /// many there are in all.
    pub absent: Option<(Vec<AbsentView>, i64)>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserRowView {
    pub id: String,
    pub username: String,
    pub name: String,
    pub email: String,
    pub rpps: String,
    pub region: String,
    pub status: UserStatus,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserListData {
    pub console: Console,
    /// The bulk actions the actor may apply to a selection (the form's `action`).
    pub bulk_actions: Vec<String>,
    pub rows: Vec<UserRowView>,
    pub next: Option<String>,
    pub establishments: Vec<Choice>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NamedItem {
    pub id: String,
    pub label: String,
    pub detail: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditRowView {
    pub id: i64,
    pub at: String,
    pub actor: String,
    pub role: String,
    pub action: String,
    pub outcome: Outcome,
    pub target: String,
    pub target_type: String,
    pub target_id: String,
    pub region: String,
    pub ip: String,
    pub user_agent: String,
    pub details: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserDetailData {
    pub console: Console,
    pub id: String,
    pub username: String,
    pub email: String,
    pub family_name: String,
    pub given_name: String,
    pub rpps: String,
    pub declared_national_id: String,
    pub region: String,
    pub region_name: String,
    pub status: UserStatus,
    pub locked_until: Option<String>,
    pub created_at: String,
    pub version: i32,
    /// The actions (`authz::Action::name`) the actor may take on this account.
    pub allowed: Vec<String>,
    pub memberships: Vec<NamedItem>,
    /// Establishments of the account's region it is not a member of.
    pub attachable: Vec<Choice>,
    pub roles: Vec<NamedItem>,
    /// Roles the actor may grant that the account does not have.
    pub grantable: Vec<Choice>,
    pub cards: Vec<NamedItem>,
    /// Pro Santé Connect identities: id = national identifier, detail = linked on · last used.
    pub psc: Vec<NamedItem>,
    /// Passkeys: id, name, added on · last used.
    pub passkeys: Vec<NamedItem>,
    pub sessions: Vec<NamedItem>,
    pub recent: Vec<AuditRowView>,
    pub all_regions: Vec<Choice>,
    /// TIQR enrollments (when TIQR is enabled), revoked ones included.
    pub tiqr: Option<Vec<crate::tiqr_api::TiqrEnrollmentView>>,
    /// An enrollment the desk started for this account in this browser.
    pub tiqr_pending: Option<crate::tiqr_api::QrView>,
    /// What the national directory says of the account's RPPS (`None`: no RPPS or no directory).
    pub directory: Option<DirectoryPersonView>,
    pub directory_exception: String,
}

/// The national directory's entry of an account's RPPS.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DirectoryPersonView {
    /// The directory does not have the RPPS (left it since, or never in it).
    pub absent: bool,
    pub name: String,
    /// Its name differs from the account's (compared as the verification does).
    pub name_differs: bool,
    /// Profession, savoir-faire, site (FINESS, city), one line each.
    pub activities: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewUserData {
    pub console: Console,
    pub establishments: Vec<Choice>,
    /// The date of the national directory's professionals in place (`03/12/2026`); `None`
    /// while none is loaded (RPPS and names are not verified then).
    pub directory_since: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EstablishmentRowView {
    pub finess: String,
    pub name: String,
    pub city: String,
    pub region: String,
    pub active: bool,
    pub members: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EstablishmentListData {
    pub console: Console,
    pub rows: Vec<EstablishmentRowView>,
    pub next: Option<String>,
    /// A FINESS file is loaded: new numbers are checked against it.
    pub finess_loaded: bool,
    /// The number looked up (`?finess=`) and what the FINESS file says of it.
    pub prefill: Option<FinessPrefill>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FinessPrefill {
    pub finess: String,
    /// `false`: the FINESS file does not have it (or no file is loaded).
    pub found: bool,
    pub name: String,
    pub city: String,
    pub region: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EstablishmentDetailData {
    pub console: Console,
    pub establishment: EstablishmentRowView,
    pub can_manage: bool,
    pub members: Vec<MemberView>,
}

/// A member of an establishment, as its page lists them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberView {
    pub id: String,
    pub name: String,
    pub username: String,
    pub status: UserStatus,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditListData {
    pub console: Console,
    pub rows: Vec<AuditRowView>,
    pub next: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReauthData {
    pub username: String,
    /// The password confirms for this account's roles (otherwise: sign in again, strongly).
    pub password_accepted: bool,
    /// The session was opened with a TIQR phone added recently: the page says why it asks.
    pub new_phone: bool,
    pub csrf: String,
}

#[cfg(feature = "ssr")]
pub mod server {
    use std::sync::Arc;

    use domain::accounts::AdminRole;
    use domain::admin::{Action, Actor};
    use domain::audit::Row;

    use super::*;
    use crate::api::server::context;
    use crate::state::{RequestContext, Services, Viewer};

    /// Whoever asks: the signed-in user with their roles. Nobody signed in is refused here,
    /// before any query: anyone can send such requests, and each would cost a query and a
    /// permanent audit row (issue 14, M-2).
    pub async fn actor(ctx: &RequestContext, services: &Services) -> Result<Actor, ErrorCode> {
        match &ctx.viewer {
            Viewer::SignedIn(s) => {
                let mut conn = services
                    .portal
                    .pool
                    .acquire()
                    .await
                    .map_err(domain::Error::from)?;
                Ok(Actor::load(
                    &mut conn,
                    s.user_id,
                    s.username.as_str(),
                    s.authenticated_at,
                    services.settings.admin_reauth,
                    ctx.now,
                )
                .await?)
            }
            Viewer::Weak(..) => Err(ErrorCode::StrongerSignInRequired),
            Viewer::Expired => Err(ErrorCode::SessionExpired),
            Viewer::Anonymous => Err(ErrorCode::NotSignedIn),
        }
    }

    /// The regions `actor` writes news for, and whether national items too.
    pub async fn news_regions(
        services: &Services,
        actor: &Actor,
    ) -> Result<(Vec<Choice>, bool), ErrorCode> {
        let Some(scope) = actor.scope(Action::ManageNews) else {
            return Ok((Vec::new(), false));
        };
        let regions = domain::accounts::regions(&services.portal.pool).await?;
        Ok((
            regions
                .into_iter()
                .filter(|r| scope.contains(&r.code))
                .map(|r| Choice {
                    label: r.name,
                    value: r.code,
                })
                .collect(),
            scope == domain::admin::Scope::All,
        ))
    }

    pub fn news_item_view(item: domain::news::Item) -> NewsItemView {
        NewsItemView {
            id: item.id.to_string(),
            region: item.region_code.clone().unwrap_or_default(),
            html: item.html(),
            title: item.title,
            body: item.body,
            important: item.important,
            starts_on: item.starts_on.to_string(),
            ends_on: item.ends_on.map(|d| d.to_string()).unwrap_or_default(),
            starts_on_shown: crate::api::server::day(item.starts_on),
            ends_on_shown: item.ends_on.map(crate::api::server::day),
            published: item.published_at.is_some(),
            version: item.version,
            author: item.author_label,
        }
    }

    /// The request, the actor, the console's navigation, and every region (read once per
    /// request: the navigation and the account page both need them).
    pub async fn console_context() -> Result<
        (
            RequestContext,
            Arc<Services>,
            Actor,
            Console,
            Vec<domain::accounts::Region>,
        ),
        ErrorCode,
    > {
        let (ctx, services) = context().await?;
        let actor = actor(&ctx, &services).await?;
        let names = domain::accounts::regions(&services.portal.pool)
            .await
            .map_err(ErrorCode::from)?;
        let scope = actor.regions();
        let regions = names
            .iter()
            .filter(|r| scope.contains(&r.code))
            .map(|r| Choice {
                value: r.code.clone(),
                label: r.name.clone(),
            })
            .collect();
        let console = Console {
            can_create_users: actor.scope(Action::CreateUser).is_some(),
            can_manage_establishments: actor.scope(Action::ManageEstablishments).is_some(),
            can_read_audit: actor.scope(Action::ViewAudit).is_some(),
            can_import: actor.scope(Action::ImportUsers).is_some(),
            can_load_directory: actor.scope(Action::LoadDirectory).is_some(),
            can_manage_news: actor.scope(Action::ManageNews).is_some(),
            can_keep_active: actor.scope(Action::KeepActive).is_some(),
            regions,
            csrf: ctx.csrf_token.clone(),
        };
        Ok((ctx, services, actor, console, names))
    }

    pub use crate::api::server::datetime;

    /// The search of the accounts' list from its query fields (the list's page and the bulk
    /// action's form send the same).
    pub fn user_filter(
        q: &str,
        status: &str,
        finess: &str,
        role: &str,
        region: &str,
        after: &str,
    ) -> Result<domain::admin::users::UserFilter, ErrorCode> {
        Ok(domain::admin::users::UserFilter {
            query: q.chars().take(200).collect(),
            status: domain::accounts::UserStatus::parse(status),
            establishment: match given(finess) {
                Some(f) => Some(
                    domain::ids::Finess::parse(&f)
                        .map_err(|_| ErrorCode::InvalidField(crate::error::Field::Finess))?,
                ),
                None => None,
            },
            role: AdminRole::parse(role),
            region: given(region),
            after: given(after),
        })
    }

    /// The bulk actions `actor` holds the permission of somewhere, by name (each account is
    /// authorised again when it is acted on); the export (`export`) last, for everyone.
    pub fn bulk_actions(actor: &domain::admin::Actor) -> Vec<String> {
        use domain::admin::bulk::BulkAction;
        BulkAction::NAMES
            .into_iter()
            .filter(|name| {
                BulkAction::permission_of(name).is_some_and(|p| actor.scope(p).is_some())
            })
            .chain(["export"])
            .map(String::from)
            .collect()
    }

    pub fn role(r: AdminRole) -> String {
        r.as_str().into()
    }

    pub fn audit_row(r: Row) -> AuditRowView {
        AuditRowView {
            id: r.id,
            at: datetime(r.occurred_at),
            actor: r.actor_label,
            role: r.actor_role.unwrap_or_default(),
            action: r.action,
            outcome: r.outcome,
            target: r.target_label.unwrap_or_default(),
            target_type: r.target_type.unwrap_or_default(),
            target_id: r.target_id.unwrap_or_default(),
            region: r.region_code.unwrap_or_default(),
            ip: r.ip.unwrap_or_default(),
            user_agent: r.user_agent.unwrap_or_default(),
            details: serde_json::to_string_pretty(&r.details).unwrap_or_default(),
        }
    }

    pub fn establishment_choice(e: domain::accounts::Establishment) -> Choice {
        Choice {
            label: format!("{} — {} ({})", e.name, e.city, e.finess),
            value: e.finess.into(),
        }
    }

    /// An optional text parameter: empty means "not given".
    pub fn given(s: &str) -> Option<String> {
        let s = s.trim();
        (!s.is_empty()).then(|| s.to_string())
    }
}

#[server(prefix = "/api/admin", endpoint = "users", input = GetUrl)]
pub async fn get_users(
    q: String,
    status: String,
    finess: String,
    role: String,
    region: String,
    after: String,
) -> Result<UserListData, ErrorCode> {
    use domain::admin::users;
    let (ctx, services, actor, console, _) = server::console_context().await?;
    let filter = server::user_filter(&q, &status, &finess, &role, &region, &after)?;
    let page = users::search(&services.portal, &actor, &filter, ctx.call()).await?;
    let establishments =
        domain::admin::establishments::choices(&services.portal, actor.regions().regions()).await?;
    let bulk_actions = server::bulk_actions(&actor);
    Ok(UserListData {
        console,
        bulk_actions,
        rows: page
            .rows
            .into_iter()
            .map(|r| UserRowView {
                id: r.id.to_string(),
                username: r.username.into(),
                name: format!("{} {}", r.family_name.to_uppercase(), r.given_name),
                email: r.email.into(),
                rpps: r.rpps.map(String::from).unwrap_or_default(),
                region: r.region_code.into(),
                status: r.status,
            })
            .collect(),
        next: page.next,
        establishments: establishments
            .into_iter()
            .map(server::establishment_choice)
            .collect(),
    })
}

#[server(prefix = "/api/admin", endpoint = "user", input = GetUrl)]
pub async fn get_user(id: String) -> Result<UserDetailData, ErrorCode> {
    use domain::accounts::AdminRole;
    use domain::admin::Action;
    use domain::admin::users;
    let (ctx, services, actor, console, regions) = server::console_context().await?;
    let id = uuid::Uuid::parse_str(&id).map_err(|_| ErrorCode::NotFound)?;
    let now = ctx.now;
    let d = users::detail(&services.portal, &actor, id, ctx.call()).await?;
    let allowed = d.allowed(&actor);
    let tiqr = match &services.tiqr {
        Some(_) => Some(
            domain::admin::tiqr::enrollments(&services.portal, &actor, id, ctx.call())
                .await?
                .into_iter()
                .map(|e| crate::tiqr_api::server::enrollment_view(e, now))
                .collect(),
        ),
        None => None,
    };
    let tiqr_pending = match &services.tiqr {
        Some(_) => crate::tiqr_api::server::pending(&services, &ctx, id).await?,
        None => None,
    };
    let region_name = regions
        .iter()
        .find(|r| d.user.region_code == r.code.as_str())
        .map(|r| r.name.clone())
        .unwrap_or_default();
    let region_list = [d.user.region_code.to_string()];
    let attachable = domain::admin::establishments::choices(&services.portal, Some(&region_list))
        .await?
        .into_iter()
        .filter(|e| !d.memberships.iter().any(|m| m.id == e.id))
        .map(server::establishment_choice)
        .collect();
    let grantable = [
        AdminRole::Support,
        AdminRole::RegionalAdmin,
        AdminRole::NationalAdmin,
    ]
    .into_iter()
    .filter(|r| allowed.contains(&Action::GrantRole(*r)) && !d.roles.iter().any(|g| g.role == *r))
    .map(|r| Choice {
        value: server::role(r),
        label: server::role(r),
    })
    .collect();
    let directory = d.directory.clone().map(|said| match said {
        None => DirectoryPersonView {
            absent: true,
            name: String::new(),
            name_differs: false,
            activities: Vec::new(),
        },
        Some(said) => DirectoryPersonView {
            absent: false,
            name_differs: !said.names_match(&d.user.family_name, &d.user.given_name),
            name: format!("{} {}", said.family_name, said.given_name),
            activities: said
                .activities
                .into_iter()
                .map(|a| {
                    let what = [a.profession, a.specialty]
                        .into_iter()
                        .filter(|s| !s.is_empty())
                        .collect::<Vec<_>>()
                        .join(", ");
                    let site = a
                        .site_finess
                        .map(|f| format!("{} (FINESS {f})", a.site_name))
                        .unwrap_or(a.site_name);
                    format!("{what} — {site}, {} {}", a.postal_code, a.city)
                })
                .collect(),
        },
    });
    Ok(UserDetailData {
        directory,
        directory_exception: d.directory_exception.clone().unwrap_or_default(),
        console,
        id: d.user.id.to_string(),
        username: d.user.username.to_string(),
        email: d.user.email.to_string(),
        family_name: d.user.family_name.clone(),
        given_name: d.user.given_name.clone(),
        rpps: d.user.rpps.as_ref().map(String::from).unwrap_or_default(),
        declared_national_id: d
            .user
            .declared_national_id
            .as_ref()
            .map(String::from)
            .unwrap_or_default(),
        region: d.user.region_code.to_string(),
        region_name,
        status: d.user.status,
        locked_until: d.locked_until.map(server::datetime),
        created_at: server::datetime(d.user.created_at),
        version: d.user.version,
        allowed: allowed.iter().map(|a| a.name().to_string()).collect(),
        memberships: d
            .memberships
            .into_iter()
            .map(|e| NamedItem {
                id: e.finess.to_string(),
                label: e.name,
                detail: format!("{} — FINESS {}", e.city, e.finess),
            })
            .collect(),
        attachable,
        roles: d
            .roles
            .into_iter()
            .map(|g| NamedItem {
                id: server::role(g.role),
                label: server::role(g.role),
                detail: g.region_code.map(String::from).unwrap_or_default(),
            })
            .collect(),
        grantable,
        cards: d
            .cards
            .into_iter()
            .map(|c| NamedItem {
                id: c.id.to_string(),
                label: format!("{} {} — {}", c.card_type, c.serial, c.holder_name),
                detail: crate::api::server::date(c.not_after),
            })
            .collect(),
        psc: d
            .psc
            .into_iter()
            .map(|p| NamedItem {
                label: format!("{} — {}", p.display_name(), p.national_id),
                detail: format!(
                    "{} {} · {} {}",
                    ctx.lang.messages().card.card_linked_on,
                    crate::api::server::date(p.linked_at),
                    ctx.lang.messages().card.card_last_used,
                    p.last_used_at
                        .map(crate::api::server::date)
                        .unwrap_or_else(|| ctx.lang.messages().card.card_never.into())
                ),
                id: p.national_id.into(),
            })
            .collect(),
        passkeys: d
            .passkeys
            .into_iter()
            .map(|p| NamedItem {
                id: p.id.to_string(),
                label: p.name,
                detail: format!(
                    "{} {} · {} {}",
                    ctx.lang.messages().passkey.created_on,
                    crate::api::server::date(p.created_at),
                    ctx.lang.messages().passkey.last_used,
                    p.last_used_at
                        .map(crate::api::server::date)
                        .unwrap_or_else(|| ctx.lang.messages().card.card_never.into())
                ),
            })
            .collect(),
        sessions: d
            .sessions
            .into_iter()
            .map(|s| NamedItem {
                id: s.auth_method.as_str().to_string(),
                label: format!(
                    "{} — {}",
                    server::datetime(s.created_at),
                    s.auth_method.as_str()
                ),
                detail: format!(
                    "{} · {}",
                    s.ip.unwrap_or_default(),
                    s.user_agent
                        .unwrap_or_default()
                        .chars()
                        .take(80)
                        .collect::<String>()
                ),
            })
            .collect(),
        recent: d.recent.into_iter().map(server::audit_row).collect(),
        tiqr,
        tiqr_pending,
        all_regions: regions
            .into_iter()
            .map(|r| Choice {
                value: r.code,
                label: r.name,
            })
            .collect(),
    })
}

#[server(prefix = "/api/admin", endpoint = "new-user", input = GetUrl)]
pub async fn get_new_user() -> Result<NewUserData, ErrorCode> {
    let (ctx, services, actor, console, _) = server::console_context().await?;
    let scope = domain::admin::users::creation_scope(&services.portal, &actor, ctx.call()).await?;
    let establishments = domain::admin::establishments::choices(&services.portal, scope.regions())
        .await?
        .into_iter()
        .map(server::establishment_choice)
        .collect();
    let directory_since = domain::directory::verify::in_place_since(&services.portal.pool)
        .await?
        .map(crate::api::server::date);
    Ok(NewUserData {
        console,
        establishments,
        directory_since,
    })
}

/// The console's news: the items the actor writes (drafts included) and the form of a new one.
#[server(prefix = "/api/admin", endpoint = "news", input = GetUrl)]
pub async fn get_news_list() -> Result<NewsListData, ErrorCode> {
    let (ctx, services, actor, console, _) = server::console_context().await?;
    let items = domain::admin::news::list(&services.portal, &actor, ctx.call()).await?;
    let (regions, can_national) = server::news_regions(&services, &actor).await?;
    Ok(NewsListData {
        console,
        items: items.into_iter().map(server::news_item_view).collect(),
        regions,
        can_national,
        today: domain::mail::messages::paris_date(ctx.now).to_string(),
    })
}

/// One news item: its preview and its edit form.
#[server(prefix = "/api/admin", endpoint = "news-item", input = GetUrl)]
pub async fn get_news_item(id: String) -> Result<NewsItemData, ErrorCode> {
    let (ctx, services, actor, console, _) = server::console_context().await?;
    let id = uuid::Uuid::parse_str(&id).map_err(|_| ErrorCode::NotFound)?;
    let item = domain::admin::news::get(&services.portal, &actor, id, ctx.call()).await?;
    let (regions, can_national) = server::news_regions(&services, &actor).await?;
    Ok(NewsItemData {
        console,
        item: server::news_item_view(item),
        regions,
        can_national,
    })
}

/// The national directory's page: the folder's extractions, the loads, the accounts it does not
/// know. National administrators only.
#[server(prefix = "/api/admin", endpoint = "directory", input = GetUrl)]
pub async fn get_directory_loads() -> Result<DirectoryLoadsData, ErrorCode> {
    let (ctx, services, actor, console, _) = server::console_context().await?;
    let pool = &services.portal.pool;
    let overview = domain::admin::directory::overview(pool, &actor, ctx.call()).await?;
    let folder = &services.settings.directory_inbox;
    let files = domain::directory::inbox::list(folder)?
        .into_iter()
        .map(|f| InboxFileView {
            name: f.name,
            kind: f.kind,
            megabytes: format!("{:.1}", f.bytes as f64 / 1_048_576.0),
        })
        .collect();
    let loads: Vec<DirectoryLoadView> = overview
        .loads
        .into_iter()
        .map(|l| {
            let samples = l.report["bad_lines"]
                .as_array()
                .map(|lines| {
                    lines
                        .iter()
                        .take(20)
                        .filter_map(|v| {
                            let line = v["line"].as_u64()?;
                            let problem = serde_json::from_value(v.clone()).ok()?;
                            Some((line, problem))
                        })
                        .collect()
                })
                .unwrap_or_default();
            DirectoryLoadView {
                id: l.id.to_string(),
                kind: l.kind,
                file_date: l.file_date.map(crate::api::server::date),
                started: crate::api::server::datetime(l.started_at),
                by: l.actor_label,
                percent: (l.bytes_read.min(l.file_bytes) * 100)
                    .checked_div(l.file_bytes)
                    .unwrap_or(0) as u8,
                lines: l.lines_read,
                rows: l.rows,
                people: l.people,
                bad_lines: l.bad_lines,
                added: l.added,
                removed: l.removed,
                changed: l.changed,
                samples,
                refusal: serde_json::from_value(l.report["refusal"].clone()).ok(),
                failed: l.state == "failed",
                file_name: l.file_name,
                state: l.state,
            }
        })
        .collect();
    Ok(DirectoryLoadsData {
        console,
        folder: folder.display().to_string(),
        files,
        running: loads.iter().any(|l| l.state == "running"),
        loads,
        absent: overview.absent.map(|(rows, total)| {
            (
                rows.into_iter()
                    .map(|a| AbsentView {
                        id: a.user_id.to_string(),
                        name: format!("{} {}", a.family_name, a.given_name),
                        username: a.username,
                        rpps: a.rpps,
                        region: a.region_code,
                    })
                    .collect(),
                total,
            )
        }),
    })
}

#[server(prefix = "/api/admin", endpoint = "establishments", input = GetUrl)]
pub async fn get_establishments(
    q: String,
    after: String,
    finess: String,
) -> Result<EstablishmentListData, ErrorCode> {
    let (ctx, services, actor, console, _) = server::console_context().await?;
    // The FINESS file is public data: whoever may open this page may look a number up in it.
    let mut conn = services
        .portal
        .pool
        .acquire()
        .await
        .map_err(domain::Error::from)?;
    let finess_loaded = domain::directory::verify::finess_loaded(&mut conn).await?;
    let prefill = match domain::ids::Finess::parse(&finess) {
        Ok(number) => {
            let entry = domain::directory::verify::finess_entry(&mut conn, &number)
                .await?
                .flatten();
            Some(FinessPrefill {
                finess: number.to_string(),
                found: entry.is_some(),
                name: entry.as_ref().map(|e| e.name.clone()).unwrap_or_default(),
                city: entry.as_ref().map(|e| e.city.clone()).unwrap_or_default(),
                region: entry
                    .and_then(|e| e.region_code)
                    .or_else(|| number.region().map(String::from))
                    .unwrap_or_default(),
            })
        }
        Err(_) => None,
    };
    drop(conn);
    let page = domain::admin::establishments::list(
        &services.portal,
        &actor,
        &q.chars().take(200).collect::<String>(),
        None,
        server::given(&after).as_deref(),
        ctx.call(),
    )
    .await?;
    Ok(EstablishmentListData {
        console,
        rows: page
            .rows
            .into_iter()
            .map(|e| EstablishmentRowView {
                finess: e.finess.into(),
                name: e.name,
                city: e.city,
                region: e.region_code.into(),
                active: e.active,
                members: e.members,
            })
            .collect(),
        next: page.next,
        finess_loaded,
        prefill,
    })
}

#[server(prefix = "/api/admin", endpoint = "establishment", input = GetUrl)]
pub async fn get_establishment(finess: String) -> Result<EstablishmentDetailData, ErrorCode> {
    use domain::admin::{Action, authorize};
    let (ctx, services, actor, console, _) = server::console_context().await?;
    let finess = domain::ids::Finess::parse(&finess).map_err(|_| ErrorCode::NotFound)?;
    let d = domain::admin::establishments::detail(&services.portal, &actor, &finess, ctx.call())
        .await?;
    let e = d.establishment;
    Ok(EstablishmentDetailData {
        console,
        can_manage: authorize(
            &actor,
            Action::ManageEstablishments,
            Some(e.region_code.as_str()),
        )
        .is_ok(),
        establishment: EstablishmentRowView {
            finess: e.finess.into(),
            name: e.name,
            city: e.city,
            region: e.region_code.into(),
            active: e.active,
            members: e.members,
        },
        members: d
            .members
            .into_iter()
            .map(|m| MemberView {
                id: m.id.to_string(),
                name: format!("{} {}", m.family_name.to_uppercase(), m.given_name),
                username: m.username.into(),
                status: m.status,
            })
            .collect(),
    })
}

/// The audit viewer's filters, as the page's GET form sends them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditQuery {
    #[serde(default)]
    pub du: String,
    #[serde(default)]
    pub au: String,
    #[serde(default)]
    pub acteur: String,
    #[serde(default)]
    pub cible: String,
    #[serde(default)]
    pub action: String,
    #[serde(default)]
    pub resultat: String,
    #[serde(default)]
    pub region: String,
    #[serde(default)]
    pub apres: String,
}

#[cfg(feature = "ssr")]
impl AuditQuery {
    /// The domain's filter. Dates are days (`2026-11-23`, Paris time); `au` includes its day.
    pub fn filter(&self) -> Result<domain::admin::audit_view::AuditFilter, ErrorCode> {
        use domain::audit::Outcome;
        use server::given;
        let day = |s: &str, end: bool| -> Result<Option<time::OffsetDateTime>, ErrorCode> {
            let Some(s) = given(s) else { return Ok(None) };
            let format = time::macros::format_description!("[year]-[month]-[day]");
            let date = time::Date::parse(&s, format)
                .map_err(|_| ErrorCode::InvalidField(crate::error::Field::Date))?;
            let date = if end {
                date.next_day().unwrap_or(date)
            } else {
                date
            };
            // Midnight in Paris is 23:00 or 22:00 UTC the day before: one hour early at worst in
            // summer, which a filter by day can bear.
            Ok(Some(
                date.midnight().assume_utc() - time::Duration::hours(1),
            ))
        };
        Ok(domain::admin::audit_view::AuditFilter {
            from: day(&self.du, false)?,
            to: day(&self.au, true)?,
            actor: given(&self.acteur),
            target: given(&self.cible),
            action: given(&self.action),
            outcome: match self.resultat.as_str() {
                "success" => Some(Outcome::Success),
                "failure" => Some(Outcome::Failure),
                "denied" => Some(Outcome::Denied),
                _ => None,
            },
            region: given(&self.region),
            after: given(&self.apres),
        })
    }
}

#[server(prefix = "/api/admin", endpoint = "audit", input = GetUrl)]
pub async fn get_audit(query: AuditQuery) -> Result<AuditListData, ErrorCode> {
    let (ctx, services, actor, console, _) = server::console_context().await?;
    let page =
        domain::admin::audit_view::search(&services.portal, &actor, &query.filter()?, ctx.call())
            .await?;
    Ok(AuditListData {
        console,
        rows: page.rows.into_iter().map(server::audit_row).collect(),
        next: page.next,
    })
}

#[server(prefix = "/api/admin", endpoint = "audit-row", input = GetUrl)]
pub async fn get_audit_row(id: i64) -> Result<AuditRowView, ErrorCode> {
    let (ctx, services) = crate::api::server::context().await?;
    let actor = server::actor(&ctx, &services).await?;
    let row = domain::admin::audit_view::row(&services.portal, &actor, id, ctx.call()).await?;
    Ok(server::audit_row(row))
}

#[server(prefix = "/api/admin", endpoint = "reauth", input = GetUrl)]
pub async fn get_reauth() -> Result<ReauthData, ErrorCode> {
    let (ctx, services) = crate::api::server::context().await?;
    let session = crate::api::server::signed_in(&ctx)?;
    Ok(ReauthData {
        username: session.username.to_string(),
        password_accepted: services
            .portal
            .sign_in_policy
            .accepts_password(&session.roles),
        // Signed in with a phone added recently (no strong authentication in this session).
        new_phone: session.authenticated_at.is_none(),
        csrf: ctx.csrf_token.clone(),
    })
}

/// The console's inactive accounts: dormant, or warned and about to be.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InactiveData {
    pub console: Console,
    /// `[policy] inactive_days` (0: the rule is off).
    pub inactive_days: u32,
    pub rows: Vec<InactiveView>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InactiveView {
    pub id: String,
    pub name: String,
    pub username: String,
    pub region: String,
    pub status: UserStatus,
    /// Empty: never signed in.
    pub last_sign_in: String,
    pub inactive_since: String,
    pub warned: String,
    /// Empty once dormant.
    pub dormant_on: String,
}

#[server(prefix = "/api/admin", endpoint = "inactive", input = GetUrl)]
pub async fn get_inactive(region: String) -> Result<InactiveData, ErrorCode> {
    let (ctx, services, actor, console, _) = server::console_context().await?;
    let region = Some(region.as_str()).filter(|r| !r.is_empty());
    let rows = domain::admin::dormant::list(&services.portal, &actor, region, ctx.call()).await?;
    let day = crate::api::server::date;
    Ok(InactiveData {
        console,
        inactive_days: services
            .portal
            .dormancy
            .inactive_after
            .map_or(0, |d| u32::try_from(d.whole_days()).unwrap_or(u32::MAX)),
        rows: rows
            .into_iter()
            .map(|r| InactiveView {
                id: r.id.to_string(),
                name: format!("{} {}", r.given_name, r.family_name),
                username: r.username.to_string(),
                region: r.region_code.to_string(),
                status: r.status,
                last_sign_in: r.last_sign_in_at.map(day).unwrap_or_default(),
                inactive_since: day(r.inactive_since),
                warned: r.warned_at.map(day).unwrap_or_default(),
                dormant_on: r.dormant_on.map(day).unwrap_or_default(),
            })
            .collect(),
    })
}

/// A bulk action's page: what it does to how many accounts, then its progress and failures.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BulkJobData {
    pub console: Console,
    pub id: String,
    /// The action's name (`domain::admin::bulk::BulkAction::NAMES`).
    pub action: String,
    /// The establishment of a membership action, named.
    pub establishment: Option<String>,
    pub total: i64,
    pub done: i64,
    /// `prepared`, `running`, `stalled` or `done`.
    pub state: String,
    /// The first accounts of the selection: (name, username).
    pub sample: Vec<(String, String)>,
    /// The accounts the action failed on: (name, username, the error's slug).
    pub failures: Vec<(String, String, String)>,
}

#[server(prefix = "/api/admin", endpoint = "bulk", input = GetUrl)]
pub async fn get_bulk_job(id: String) -> Result<BulkJobData, ErrorCode> {
    use domain::admin::bulk::{self, JobState};
    let (ctx, services, actor, console, _) = server::console_context().await?;
    let id = uuid::Uuid::parse_str(&id).map_err(|_| ErrorCode::NotFound)?;
    let job = bulk::job(&services.portal, &actor, id, ctx.now).await?;
    Ok(BulkJobData {
        console,
        id: job.id.to_string(),
        action: job.action.name().into(),
        establishment: job.establishment.map(|name| match job.action.finess() {
            Some(f) => format!("{name} ({f})"),
            None => name,
        }),
        total: job.total,
        done: job.done,
        state: match job.state {
            JobState::Prepared => "prepared",
            JobState::Running => "running",
            JobState::Stalled => "stalled",
            JobState::Done => "done",
        }
        .into(),
        sample: job
            .sample
            .into_iter()
            .map(|n| (n.name, n.username.to_string()))
            .collect(),
        failures: job
            .failures
            .into_iter()
            .map(|(n, slug)| (n.name, n.username.to_string(), slug))
            .collect(),
    })
}
