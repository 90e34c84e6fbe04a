//! Server functions of the TIQR pages: the sign-in QR, the holder's phones and their enrollment
//! QR. The QR codes are drawn on the server (SVG), so the pages work without JavaScript.

use leptos::prelude::*;
use leptos::server_fn::codec::GetUrl;
use model::tiqr::{EnrollmentStatus, PhoneState};
use serde::{Deserialize, Serialize};

use crate::error::ErrorCode;

/// The cookie holding the enrollment QR being shown (its metadata key is a one-time secret of
/// this browser's own start; the page cannot get it back from the database, which keeps a hash).
pub const TIQR_ENROLL_COOKIE: &str = "passerelle_tiqr_enroll";

/// A QR code to show: the URL it carries and its drawing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QrView {
    pub url: String,
    pub svg: String,
    /// `Processed`: `url` is the confirmation QR's; `Finalized`, `Expired`, `Unconfirmed`:
    /// nothing to draw; `None` for sign-in.
    pub status: Option<EnrollmentStatus>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TiqrSignInData {
    pub qr: QrView,
    pub csrf: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TiqrEnrollmentView {
    pub id: String,
    pub name: String,
    pub state: PhoneState,
    pub failures: i32,
    pub created_at: String,
    pub last_used_at: Option<String>,
    /// The desk agent who enrolled it; `None`: the holder.
    pub enrolled_by: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MyTiqrData {
    pub enrollments: Vec<TiqrEnrollmentView>,
    /// The enrollment under way in this browser, if any.
    pub pending: Option<QrView>,
    /// Adding a phone asks for the password (the session's last strong authentication is not
    /// recent enough).
    pub password_needed: bool,
    pub csrf: String,
}

#[cfg(feature = "ssr")]
pub mod server {
    use domain::auth::tiqr::enrollment::Enrollment;

    use super::*;
    use crate::state::{RequestContext, Services, TiqrSetup};

    pub fn setup(services: &Services) -> Result<&TiqrSetup, ErrorCode> {
        services.tiqr.as_ref().ok_or(ErrorCode::NotFound)
    }

    /// The QR code of `url` as an SVG image with a text alternative.
    pub fn qr_svg(url: &str) -> Result<String, ErrorCode> {
        let code = qrcode::QrCode::with_error_correction_level(url.as_bytes(), qrcode::EcLevel::M)
            .map_err(crate::api::server::internal)?;
        let svg = code
            .render::<qrcode::render::svg::Color<'_>>()
            .min_dimensions(240, 240)
            .quiet_zone(true)
            .build();
        // The renderer writes an XML declaration first: not wanted inside HTML.
        let svg = svg
            .find("<svg")
            .map_or(svg.as_str(), |i| &svg[i..])
            .to_string();
        Ok(svg.replacen("<svg", "<svg role=\"img\" aria-label=\"QR code\"", 1))
    }

    /// One phone as the pages show it, at `now` (a phone past its confirmation window shows as
    /// never confirmed before the enrolling page revokes it).
    pub fn enrollment_view(e: Enrollment, now: time::OffsetDateTime) -> TiqrEnrollmentView {
        let window_open = e.created_at + domain::auth::tiqr::CONFIRMATION_LIFETIME > now;
        TiqrEnrollmentView {
            id: e.id.to_string(),
            name: e.name,
            state: PhoneState::of(e.state, e.activated_at.is_some(), window_open),
            failures: e.failures,
            created_at: crate::api::server::datetime(e.created_at),
            last_used_at: e.last_used_at.map(crate::api::server::datetime),
            enrolled_by: e.enrolled_by_username,
        }
    }

    /// The enrollment this browser has under way for `user_id`: the enrollment QR (from this
    /// browser's cookie) while the app has not posted its secret, then the confirmation QR (made
    /// afresh at each display), then only the outcome.
    pub async fn pending(
        services: &Services,
        ctx: &RequestContext,
        user_id: uuid::Uuid,
    ) -> Result<Option<QrView>, ErrorCode> {
        let browser = domain::auth::card::Browser::of_secret(&ctx.csrf_token);
        let now = ctx.now;
        let s = domain::auth::tiqr::enrollment::enrollment_status(
            &services.portal,
            browser,
            user_id,
            now,
        )
        .await?;
        let outcome = |s| QrView {
            url: String::new(),
            svg: String::new(),
            status: Some(s),
        };
        match s {
            EnrollmentStatus::Idle => Ok(None),
            EnrollmentStatus::Initialized | EnrollmentStatus::Retrieved => {
                let Some(url) = crate::api::server::cookie(TIQR_ENROLL_COOKIE).await else {
                    return Ok(None);
                };
                if !url.starts_with("tiqrenroll://") {
                    return Ok(None);
                }
                Ok(Some(QrView {
                    svg: qr_svg(&url)?,
                    url,
                    status: Some(s),
                }))
            }
            EnrollmentStatus::Processed => {
                let confirmation = domain::auth::tiqr::enrollment::confirmation_qr(
                    &services.portal,
                    &setup(services)?.service,
                    browser,
                    user_id,
                    now,
                )
                .await?;
                Ok(Some(match confirmation {
                    Some(start) => QrView {
                        svg: qr_svg(&start.url)?,
                        url: start.url,
                        status: Some(s),
                    },
                    // The window closed between the two reads.
                    None => outcome(EnrollmentStatus::Unconfirmed),
                }))
            }
            EnrollmentStatus::Finalized
            | EnrollmentStatus::Expired
            | EnrollmentStatus::Unconfirmed => Ok(Some(outcome(s))),
        }
    }
}

/// A new sign-in QR for this browser (each display replaces the previous one).
#[server(prefix = "/api", endpoint = "tiqr-sign-in", input = GetUrl)]
pub async fn get_tiqr_sign_in() -> Result<TiqrSignInData, ErrorCode> {
    let (ctx, services) = crate::api::server::context().await?;
    let setup = server::setup(&services)?;
    let start = domain::auth::tiqr::sign_in::start_sign_in(
        &services.portal,
        &setup.service,
        domain::auth::card::Browser::of_secret(&ctx.csrf_token),
        None,
        ctx.now,
    )
    .await?;
    Ok(TiqrSignInData {
        qr: QrView {
            svg: server::qr_svg(&start.url)?,
            url: start.url,
            status: None,
        },
        csrf: ctx.csrf_token.clone(),
    })
}

#[server(prefix = "/api", endpoint = "my-tiqr", input = GetUrl)]
pub async fn get_my_tiqr() -> Result<MyTiqrData, ErrorCode> {
    let (ctx, services) = crate::api::server::context().await?;
    let session = crate::api::server::signed_in(&ctx)?;
    server::setup(&services)?;
    let now = ctx.now;
    let enrollments =
        domain::auth::tiqr::enrollment::list_enrollments(&services.portal, session.user_id).await?;
    Ok(MyTiqrData {
        enrollments: enrollments
            .into_iter()
            .map(|e| server::enrollment_view(e, now))
            .collect(),
        pending: server::pending(&services, &ctx, session.user_id).await?,
        password_needed: domain::auth::tiqr::enrollment::password_needed(session, now),
        csrf: ctx.csrf_token.clone(),
    })
}
