//! The Pro Santé Connect relying party: OpenID Connect with `openidconnect` (reqwest + rustls).
//! The rules (state storage, identity mapping, linking, logout) are in `domain::auth::psc`; this
//! module speaks the protocol:
//!
//! - the provider's metadata, from PSC's NON-standard discovery path
//!   (`<issuer>/.well-known/wallet-openid-configuration`, fetched here and checked to name the
//!   configured issuer) or from endpoints configured one by one; kept a few minutes;
//! - the authorization request: code flow, PKCE S256, state, nonce, `scope=openid scope_all`,
//!   `acr_values`;
//! - the token request with `client_secret_basic`, `client_secret_post` or `private_key_jwt` (the
//!   crate has no client assertions: we sign one and add it as extra parameters);
//! - the ID token (signature from the JWKS, issuer, audience, expiry, nonce) and userinfo, as
//!   JSON or as a signed JWT (`application/jwt`), whose `sub` must be the ID token's;
//! - back-channel logout tokens (signature, issuer, audience, event, no nonce).

use secrecy::ExposeSecret;
use std::time::{Duration as StdDuration, Instant};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use openidconnect::core::{
    CoreAuthPrompt, CoreAuthenticationFlow, CoreClient, CoreGenderClaim, CoreJsonWebKey,
    CoreJsonWebKeySet, CoreJwsSigningAlgorithm, CoreProviderMetadata, CoreRsaPrivateSigningKey,
};
use openidconnect::{
    AccessToken, AdditionalClaims, AuthType, AuthUrl, AuthenticationContextClass,
    AuthorizationCode, ClientId, ClientSecret, CsrfToken, EndpointNotSet, EndpointSet, IssuerUrl,
    JsonWebKey, JsonWebKeySetUrl, Nonce, OAuth2TokenResponse, PkceCodeChallenge, PkceCodeVerifier,
    PrivateSigningKey, RedirectUrl, Scope, TokenResponse, TokenUrl, UserInfoUrl, reqwest,
};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use tokio::sync::Mutex;

use crate::config::{Config, PscClientAuth};
use crate::error::CliError;

/// How long discovered metadata and keys are kept before being fetched again.
const METADATA_TTL: StdDuration = StdDuration::from_secs(300);

const BACKCHANNEL_EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";

pub use model::psc::{PscFailure, PscLogoutRefusal};

/// The endpoints and keys of the provider.
#[derive(Debug, Clone)]
struct Provider {
    authorization: AuthUrl,
    token: TokenUrl,
    userinfo: UserInfoUrl,
    jwks: CoreJsonWebKeySet,
    /// RP-initiated logout (`end_session_endpoint` of the discovery document), when advertised.
    end_session: Option<openidconnect::url::Url>,
}

enum ClientAuth {
    Basic(ClientSecret),
    Post(ClientSecret),
    PrivateKeyJwt(Box<CoreRsaPrivateSigningKey>),
}

/// The relying party, built once at start-up; the provider's metadata is fetched lazily.
pub struct PscClient {
    issuer: IssuerUrl,
    discovery_url: String,
    overrides: Overrides,
    client_id: ClientId,
    auth: ClientAuth,
    redirect: RedirectUrl,
    acr_values: Vec<String>,
    http: reqwest::Client,
    cache: Mutex<Option<(Instant, Provider)>>,
}

impl std::fmt::Debug for PscClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PscClient")
            .field("issuer", &self.issuer.as_str())
            .field("client_id", &self.client_id.as_str())
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone, Default)]
struct Overrides {
    authorization: Option<String>,
    token: Option<String>,
    userinfo: Option<String>,
    jwks: Option<String>,
    /// Not needed to sign in: it does not count towards `complete`.
    end_session: Option<String>,
}

impl Overrides {
    fn complete(&self) -> bool {
        self.authorization.is_some()
            && self.token.is_some()
            && self.userinfo.is_some()
            && self.jwks.is_some()
    }
}

/// Claims beyond the standard ones (`SubjectNameID`, `SubjectRefPro`, `authMode`, `acr`…), kept
/// as they come: the domain reads them.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct RawClaims {
    #[serde(flatten)]
    pub claims: Map<String, Value>,
}
impl AdditionalClaims for RawClaims {}

/// An authorization request to send the browser to.
#[derive(Debug)]
pub struct Authorization {
    pub url: String,
    pub state: String,
    pub flow: domain::auth::psc::Flow,
}

type Configured = CoreClient<
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointSet,
    EndpointSet,
>;

fn usage(e: impl std::fmt::Display) -> CliError {
    CliError::Usage(format!("[psc] {e}"))
}

impl PscClient {
    /// The `iss` parameter of an authorization response (RFC 9207), when the provider sends one,
    /// must name the configured issuer: a response minted by another provider (mix-up) is refused.
    pub fn sent_by_our_issuer(&self, iss: Option<&str>) -> bool {
        iss.is_none_or(|iss| iss == self.issuer.as_str())
    }

    /// From `[psc]`; `None` when PSC is off.
    pub fn from_config(config: &Config) -> Result<Option<Self>, CliError> {
        let c = &config.psc;
        if !c.enabled {
            return Ok(None);
        }
        if c.client_id.trim().is_empty() {
            return Err(usage("client_id is required"));
        }
        let issuer = IssuerUrl::new(c.issuer.trim().to_string()).map_err(usage)?;
        let secret = || -> Result<ClientSecret, CliError> {
            let value = match (&c.client_secret, &c.client_secret_file) {
                (Some(s), _) => s.expose_secret().to_string(),
                (None, Some(path)) => crate::keys::read_private_to_string(path)
                    .map_err(|e| usage(e.to_string()))?
                    .trim()
                    .to_string(),
                (None, None) => {
                    return Err(usage("client_secret or client_secret_file is required"));
                }
            };
            Ok(ClientSecret::new(value))
        };
        let auth = match c.client_auth {
            PscClientAuth::Basic => ClientAuth::Basic(secret()?),
            PscClientAuth::Post => ClientAuth::Post(secret()?),
            PscClientAuth::PrivateKeyJwt => {
                let path = c
                    .private_key_file
                    .as_ref()
                    .ok_or_else(|| usage("private_key_jwt needs private_key_file"))?;
                let pem =
                    crate::keys::read_private_to_string(path).map_err(|e| usage(e.to_string()))?;
                let key = CoreRsaPrivateSigningKey::from_pem(&pem, None).map_err(|e| {
                    usage(format!(
                        "{}: {e} (an RSA key in PKCS#1 PEM, `BEGIN RSA PRIVATE KEY`)",
                        path.display()
                    ))
                })?;
                ClientAuth::PrivateKeyJwt(Box::new(key))
            }
        };
        let http = reqwest::Client::builder()
            // Never follow a redirect from the provider's endpoints somewhere else.
            .redirect(reqwest::redirect::Policy::none())
            .timeout(StdDuration::from_secs(c.timeout_seconds.clamp(1, 60)))
            .build()
            .map_err(usage)?;
        let discovery_url = c.discovery_url.clone().unwrap_or_else(|| {
            format!(
                "{}/.well-known/wallet-openid-configuration",
                c.issuer.trim().trim_end_matches('/')
            )
        });
        Ok(Some(Self {
            issuer,
            discovery_url,
            overrides: Overrides {
                authorization: c.authorization_endpoint.clone(),
                token: c.token_endpoint.clone(),
                userinfo: c.userinfo_endpoint.clone(),
                jwks: c.jwks_uri.clone(),
                end_session: c.end_session_endpoint.clone(),
            },
            client_id: ClientId::new(c.client_id.trim().to_string()),
            auth,
            redirect: RedirectUrl::new(config.psc_redirect_uri()).map_err(usage)?,
            acr_values: c
                .acr_values
                .split_whitespace()
                .map(str::to_string)
                .collect(),
            http,
            cache: Mutex::new(None),
        }))
    }

    async fn provider(&self) -> Result<Provider, PscFailure> {
        let mut cache = self.cache.lock().await;
        if let Some((at, p)) = cache.as_ref()
            && at.elapsed() < METADATA_TTL
        {
            return Ok(p.clone());
        }
        let provider = self.fetch_provider().await?;
        *cache = Some((Instant::now(), provider.clone()));
        Ok(provider)
    }

    async fn fetch_provider(&self) -> Result<Provider, PscFailure> {
        let unavailable = |e: &dyn std::fmt::Display, what: &str| {
            tracing::warn!("PSC {what}: {e}");
            PscFailure::ProviderUnavailable
        };
        let o = &self.overrides;
        let (auth, token, userinfo, jwks, end_session) = if o.complete() {
            (
                o.authorization.clone().unwrap_or_default(),
                o.token.clone().unwrap_or_default(),
                o.userinfo.clone().unwrap_or_default(),
                o.jwks.clone().unwrap_or_default(),
                o.end_session
                    .as_deref()
                    .and_then(|u| openidconnect::url::Url::parse(u).ok()),
            )
        } else {
            let body = self
                .http
                .get(&self.discovery_url)
                .send()
                .await
                .and_then(reqwest::Response::error_for_status)
                .map_err(|e| unavailable(&e, "discovery"))?
                .bytes()
                .await
                .map_err(|e| unavailable(&e, "discovery"))?;
            let metadata: CoreProviderMetadata =
                serde_json::from_slice(&body).map_err(|e| unavailable(&e, "discovery document"))?;
            // Not in openidconnect's core metadata (RP-Initiated Logout is an extension).
            let end_session = o
                .end_session
                .clone()
                .or_else(|| {
                    serde_json::from_slice::<Value>(&body)
                        .ok()
                        .and_then(|d| d.get("end_session_endpoint")?.as_str().map(str::to_string))
                })
                .and_then(|u| openidconnect::url::Url::parse(&u).ok());
            if metadata.issuer() != &self.issuer {
                tracing::warn!(
                    "PSC discovery names issuer {} instead of {}",
                    metadata.issuer().as_str(),
                    self.issuer.as_str()
                );
                return Err(PscFailure::IssuerMismatch);
            }
            (
                o.authorization
                    .clone()
                    .unwrap_or_else(|| metadata.authorization_endpoint().to_string()),
                o.token
                    .clone()
                    .or_else(|| metadata.token_endpoint().map(|u| u.to_string()))
                    .unwrap_or_default(),
                o.userinfo
                    .clone()
                    .or_else(|| metadata.userinfo_endpoint().map(|u| u.to_string()))
                    .unwrap_or_default(),
                o.jwks
                    .clone()
                    .unwrap_or_else(|| metadata.jwks_uri().to_string()),
                end_session,
            )
        };
        let bad = |e: &dyn std::fmt::Display| unavailable(e, "endpoint");
        let jwks_url = JsonWebKeySetUrl::new(jwks).map_err(|e| bad(&e))?;
        let keys = CoreJsonWebKeySet::fetch_async(&jwks_url, &self.http)
            .await
            .map_err(|e| unavailable(&e, "JWKS"))?;
        Ok(Provider {
            authorization: AuthUrl::new(auth).map_err(|e| bad(&e))?,
            token: TokenUrl::new(token).map_err(|e| bad(&e))?,
            userinfo: UserInfoUrl::new(userinfo).map_err(|e| bad(&e))?,
            jwks: keys,
            end_session,
        })
    }

    fn client(&self, p: &Provider) -> Configured {
        let client = CoreClient::new(self.client_id.clone(), self.issuer.clone(), p.jwks.clone())
            .set_auth_uri(p.authorization.clone())
            .set_token_uri(p.token.clone())
            .set_user_info_url(p.userinfo.clone())
            .set_redirect_uri(self.redirect.clone());
        match &self.auth {
            ClientAuth::Basic(secret) => client
                .set_client_secret(secret.clone())
                .set_auth_type(AuthType::BasicAuth),
            ClientAuth::Post(secret) => client
                .set_client_secret(secret.clone())
                .set_auth_type(AuthType::RequestBody),
            // No secret: the client id goes in the body, next to the assertion.
            ClientAuth::PrivateKeyJwt(_) => client.set_auth_type(AuthType::RequestBody),
        }
    }

    /// A new authorization request: fresh state, nonce and PKCE verifier. `fresh_login` asks PSC
    /// to authenticate again whatever its single sign-on session (`prompt=login`, `max_age=0`):
    /// after a local sign-out in this browser, the next person at a shared workstation must not
    /// be signed into the previous professional's account by PSC's cookie.
    pub async fn authorize(&self, fresh_login: bool) -> Result<Authorization, PscFailure> {
        let provider = self.provider().await?;
        let client = self.client(&provider);
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let state = domain::auth::psc::random_value();
        let nonce = domain::auth::psc::random_value();
        let (state_for_url, nonce_for_url) = (state.clone(), nonce.clone());
        let mut request = client
            .authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                move || CsrfToken::new(state_for_url),
                move || Nonce::new(nonce_for_url),
            )
            .add_scope(Scope::new("scope_all".into()))
            .set_pkce_challenge(challenge);
        for acr in &self.acr_values {
            request = request.add_auth_context_value(AuthenticationContextClass::new(acr.clone()));
        }
        if fresh_login {
            request = request
                .add_prompt(CoreAuthPrompt::Login)
                .set_max_age(StdDuration::ZERO);
        }
        let (url, _, _) = request.url();
        Ok(Authorization {
            url: url.to_string(),
            state,
            flow: domain::auth::psc::Flow {
                nonce,
                pkce_verifier: verifier.secret().clone(),
            },
        })
    }

    /// Where to send the browser to end its PSC session too (OpenID Connect RP-Initiated Logout,
    /// identified by `client_id`: PSC asks the professional to confirm), coming back to
    /// `post_logout_redirect` (registered at PSC). `None` when PSC advertises no such endpoint.
    pub async fn end_session_url(
        &self,
        post_logout_redirect: &str,
    ) -> Result<Option<String>, PscFailure> {
        let provider = self.provider().await?;
        Ok(provider.end_session.map(|mut url| {
            url.query_pairs_mut()
                .append_pair("client_id", self.client_id.as_str())
                .append_pair("post_logout_redirect_uri", post_logout_redirect)
                .append_pair("ui_locales", "fr");
            url.to_string()
        }))
    }

    /// `private_key_jwt` (RFC 7523): a short-lived assertion signed with the client's key, for the
    /// token endpoint.
    fn client_assertion(
        &self,
        key: &CoreRsaPrivateSigningKey,
        audience: &str,
    ) -> Result<String, PscFailure> {
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let header = serde_json::json!({ "alg": "RS256", "typ": "JWT" });
        let claims = serde_json::json!({
            "iss": self.client_id.as_str(),
            "sub": self.client_id.as_str(),
            "aud": audience,
            "jti": domain::auth::psc::random_value(),
            "iat": now,
            "exp": now + 60,
        });
        let signing_input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let signature = key
            .sign(
                &CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
                signing_input.as_bytes(),
            )
            .map_err(|e| {
                tracing::error!("PSC client assertion: {e}");
                PscFailure::TokenRefused
            })?;
        Ok(format!(
            "{signing_input}.{}",
            URL_SAFE_NO_PAD.encode(signature)
        ))
    }

    /// The callback's code → verified claims (ID token's, overlaid with userinfo's).
    pub async fn finish(
        &self,
        code: &str,
        flow: &domain::auth::psc::Flow,
    ) -> Result<Value, PscFailure> {
        let provider = self.provider().await?;
        let client = self.client(&provider);
        let mut request = client
            .exchange_code(AuthorizationCode::new(code.to_string()))
            .set_pkce_verifier(PkceCodeVerifier::new(flow.pkce_verifier.clone()));
        if let ClientAuth::PrivateKeyJwt(key) = &self.auth {
            request = request
                .add_extra_param(
                    "client_assertion_type",
                    "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                )
                .add_extra_param(
                    "client_assertion",
                    self.client_assertion(key, provider.token.as_str())?,
                );
        }
        let response = request.request_async(&self.http).await.map_err(|e| {
            tracing::warn!("PSC token request: {e:?}");
            match e {
                openidconnect::RequestTokenError::ServerResponse(_) => PscFailure::TokenRefused,
                _ => PscFailure::ProviderUnavailable,
            }
        })?;
        let id_token = response.id_token().ok_or(PscFailure::IdTokenInvalid)?;
        let verified = id_token
            .claims(&client.id_token_verifier(), &Nonce::new(flow.nonce.clone()))
            .map_err(|e| {
                tracing::warn!("PSC ID token refused: {e}");
                PscFailure::IdTokenInvalid
            })?;
        let subject = verified.subject().clone();
        let acr = verified.auth_context_ref().map(|a| a.to_string());
        // The signature and claims were verified just above: its other claims (`sid`, `authMode`…)
        // are read from the same token.
        let mut claims = jwt_payload(&id_token.to_string()).ok_or(PscFailure::IdTokenInvalid)?;
        if let Some(acr) = acr {
            claims.insert("acr".into(), Value::String(acr));
        }
        let userinfo = client
            .user_info(
                AccessToken::new(response.access_token().secret().clone()),
                Some(subject),
            )
            .request_async::<RawClaims, _, CoreGenderClaim>(&self.http)
            .await
            .map_err(|e| {
                tracing::warn!("PSC userinfo: {e:?}");
                match e {
                    openidconnect::UserInfoError::ClaimsVerification(_)
                    | openidconnect::UserInfoError::Parse(_) => PscFailure::UserinfoInvalid,
                    _ => PscFailure::ProviderUnavailable,
                }
            })?;
        if let Ok(Value::Object(extra)) = serde_json::to_value(&userinfo) {
            overlay_userinfo(&mut claims, extra);
        }
        Ok(Value::Object(claims))
    }

    /// A back-channel logout token's claims once its signature (JWKS), issuer, audience, event
    /// and the absence of nonce are checked; the reason otherwise.
    pub async fn verify_logout_token(
        &self,
        token: &str,
    ) -> Result<domain::auth::psc::LogoutToken, PscLogoutRefusal> {
        let provider = self
            .provider()
            .await
            .map_err(|_| PscLogoutRefusal::ProviderUnavailable)?;
        let mut parts = token.split('.');
        let (Some(h), Some(p), Some(s), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(PscLogoutRefusal::Malformed);
        };
        let header: Value = URL_SAFE_NO_PAD
            .decode(h)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .ok_or(PscLogoutRefusal::Malformed)?;
        let alg: CoreJwsSigningAlgorithm = header
            .get("alg")
            .cloned()
            .and_then(|a| serde_json::from_value(a).ok())
            .ok_or(PscLogoutRefusal::Malformed)?;
        if !matches!(
            alg,
            CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256
                | CoreJwsSigningAlgorithm::RsaSsaPssSha256
                | CoreJwsSigningAlgorithm::EcdsaP256Sha256
        ) {
            return Err(PscLogoutRefusal::AlgorithmNotAllowed);
        }
        let kid = header.get("kid").and_then(Value::as_str);
        let signature = URL_SAFE_NO_PAD
            .decode(s)
            .map_err(|_| PscLogoutRefusal::Malformed)?;
        let message = format!("{h}.{p}");
        let verified = provider
            .jwks
            .keys()
            .iter()
            .filter(|k: &&CoreJsonWebKey| {
                kid.is_none_or(|kid| k.key_id().is_some_and(|i| i.as_str() == kid))
            })
            .any(|k| {
                k.verify_signature(&alg, message.as_bytes(), &signature)
                    .is_ok()
            });
        if !verified {
            return Err(PscLogoutRefusal::BadSignature);
        }
        let claims = jwt_payload(token).ok_or(PscLogoutRefusal::Malformed)?;
        if claims.get("iss").and_then(Value::as_str) != Some(self.issuer.as_str()) {
            return Err(PscLogoutRefusal::WrongIssuer);
        }
        let audience_ok = match claims.get("aud") {
            Some(Value::String(a)) => a == self.client_id.as_str(),
            Some(Value::Array(list)) => list
                .iter()
                .any(|a| a.as_str() == Some(self.client_id.as_str())),
            _ => false,
        };
        if !audience_ok {
            return Err(PscLogoutRefusal::WrongAudience);
        }
        if claims.contains_key("nonce") {
            return Err(PscLogoutRefusal::NoncePresent);
        }
        if !claims
            .get("events")
            .and_then(Value::as_object)
            .is_some_and(|e| e.contains_key(BACKCHANNEL_EVENT))
        {
            return Err(PscLogoutRefusal::NotALogoutEvent);
        }
        if let Some(exp) = claims.get("exp").and_then(Value::as_i64)
            && exp < time::OffsetDateTime::now_utc().unix_timestamp()
        {
            return Err(PscLogoutRefusal::Expired);
        }
        let iat = claims
            .get("iat")
            .and_then(Value::as_i64)
            .and_then(|t| time::OffsetDateTime::from_unix_timestamp(t).ok())
            .ok_or(PscLogoutRefusal::NoIat)?;
        let jti = claims
            .get("jti")
            .and_then(Value::as_str)
            .filter(|j| !j.is_empty() && j.len() <= 255)
            .ok_or(PscLogoutRefusal::NoJti)?;
        let text = |name: &str| {
            claims
                .get(name)
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty() && s.len() <= 255)
                .map(str::to_string)
        };
        Ok(domain::auth::psc::LogoutToken {
            jti: jti.to_string(),
            iat,
            sid: text("sid"),
            sub: text("sub"),
        })
    }
}

/// The payload of a compact JWS, as JSON (no verification: callers verified it).
/// The ID token's claims overlaid with userinfo's. What describes the token itself never comes
/// from userinfo; what describes the authentication (its level, its means, its time) is the
/// signed ID token's when it says it — userinfo only fills it in when the token is silent (PSC may
/// give `authMode` in userinfo alone), so the minimum level is checked on the authentication.
fn overlay_userinfo(claims: &mut Map<String, Value>, userinfo: Map<String, Value>) {
    for (k, v) in userinfo {
        match k.as_str() {
            "iss" | "aud" | "exp" | "iat" | "nonce" | "sid" | "azp" | "at_hash" => {}
            "acr" | "amr" | "authMode" | "auth_time" => {
                claims.entry(k).or_insert(v);
            }
            _ => {
                claims.insert(k, v);
            }
        }
    }
}

fn jwt_payload(jwt: &str) -> Option<Map<String, Value>> {
    let payload = jwt.split('.').nth(1)?;
    let bytes = URL_SAFE_NO_PAD.decode(payload).ok()?;
    match serde_json::from_slice(&bytes).ok()? {
        Value::Object(m) => Some(m),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::collections::BTreeMap;
    use std::path::{Path, PathBuf};

    /// The test provider of the end-to-end tests (oidc-provider configured like PSC), started in
    /// a folder of its own and stopped when dropped.
    struct Provider {
        dir: PathBuf,
        issuer: String,
    }

    fn script() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/psc-provider.sh")
    }

    impl Provider {
        fn start(name: &str) -> Self {
            Self::start_with(name, &[])
        }

        fn start_with(name: &str, env: &[(&str, &Path)]) -> Self {
            let dir =
                std::env::temp_dir().join(format!("psc-provider-{name}-{}", std::process::id()));
            let status = std::process::Command::new("bash")
                .arg(script())
                .arg("start")
                .arg(&dir)
                .env(
                    "PSC_REDIRECT_URIS",
                    "http://127.0.0.1:3999/connexion/psc/retour",
                )
                .envs(env.iter().copied())
                .status()
                .expect("bash scripts/psc-provider.sh start (needs scripts/install-tools.sh)");
            assert!(status.success(), "the test provider did not start");
            let env = std::fs::read_to_string(dir.join("env")).unwrap();
            let issuer = env
                .lines()
                .find_map(|l| l.strip_prefix("PSC_ISSUER="))
                .unwrap()
                .to_string();
            Self { dir, issuer }
        }
    }

    impl Drop for Provider {
        fn drop(&mut self) {
            let _ = std::process::Command::new("bash")
                .arg(script())
                .arg("stop")
                .arg(&self.dir)
                .status();
        }
    }

    fn config(issuer: &str, client_id: &str, client_auth: PscClientAuth) -> Config {
        let mut c = Config {
            public_url: "http://127.0.0.1:3999".into(),
            ..Config::default()
        };
        c.psc.enabled = true;
        c.psc.issuer = issuer.into();
        c.psc.client_id = client_id.into();
        c.psc.client_secret = Some(secrecy::SecretString::from("passerelle-secret"));
        c.psc.client_auth = client_auth;
        c
    }

    /// Plays the professional's browser on PSC's page: follows the authorization request, signs
    /// `identifier` in with `means`, and returns the callback's query (`code`, `state`…).
    async fn sign_in_at_provider(
        url: &str,
        identifier: &str,
        means: &str,
    ) -> BTreeMap<String, String> {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let mut cookies: BTreeMap<String, String> = BTreeMap::new();
        let mut next = url.to_string();
        let mut form: Option<Vec<(&str, &str)>> = None;
        for _ in 0..10 {
            let target = openidconnect::url::Url::parse(&next).unwrap();
            if target.path() == "/connexion/psc/retour" {
                return target.query_pairs().into_owned().collect();
            }
            let jar = cookies
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join("; ");
            let request = match form.take() {
                Some(f) => http.post(&next).form(&f),
                None => http.get(&next),
            };
            let response = request.header("cookie", jar).send().await.unwrap();
            for c in response.headers().get_all("set-cookie") {
                let c = c.to_str().unwrap();
                let pair = c.split(';').next().unwrap();
                if let Some((k, v)) = pair.split_once('=') {
                    cookies.insert(k.trim().to_string(), v.to_string());
                }
            }
            let status = response.status();
            if status.is_redirection() {
                let location = response.headers()["location"].to_str().unwrap();
                next = target.join(location).unwrap().to_string();
            } else {
                assert_eq!(status, 200, "{next}");
                assert!(target.path().starts_with("/interaction/"), "{next}");
                form = Some(vec![
                    ("identifiant", identifier),
                    ("moyen", means),
                    ("action", "connexion"),
                ]);
            }
        }
        panic!("no callback after 10 steps");
    }

    #[tokio::test]
    async fn userinfo_as_json_with_the_real_provider_and_a_code_is_single_use() {
        let provider = Provider::start("json");
        let client = PscClient::from_config(&config(
            &provider.issuer,
            "passerelle",
            PscClientAuth::Basic,
        ))
        .unwrap()
        .unwrap();
        let request = client.authorize(false).await.unwrap();
        assert!(
            request.url.starts_with("http://localhost:"),
            "PSC's wallet host"
        );
        for part in [
            "scope=openid+scope_all",
            "code_challenge_method=S256",
            "acr_values=eidas1",
        ] {
            assert!(request.url.contains(part), "{part} in {}", request.url);
        }
        let callback = sign_in_at_provider(&request.url, "810000345677", "MOBILE").await;
        assert_eq!(callback["state"], request.state);
        // RFC 9207: the provider names itself in its answer; another name would be a mix-up.
        assert_eq!(callback.get("iss"), Some(&provider.issuer));
        assert!(client.sent_by_our_issuer(callback.get("iss").map(String::as_str)));
        assert!(client.sent_by_our_issuer(None));
        assert!(!client.sent_by_our_issuer(Some(
            "https://fournisseur-tiers.example/auth/realms/esante-wallet"
        )));
        let claims = client
            .finish(&callback["code"], &request.flow)
            .await
            .unwrap();
        let login = domain::auth::psc::PscLogin::from_claims(&claims).unwrap();
        assert_eq!(login.identity.national_id.as_str(), "810000345677");
        assert_eq!(login.identity.family_name, "Leclerc");
        assert_eq!(login.auth_mode.as_deref(), Some("MOBILE"));
        assert_eq!(login.acr.as_deref(), Some("eidas2"));
        assert!(login.sid.is_some(), "the ID token's sid");
        assert_eq!(
            login
                .identity
                .declared_finess
                .iter()
                .map(|f| f.as_str())
                .collect::<Vec<_>>(),
            ["690781810"]
        );
        // The same code again: the provider refuses it.
        assert_eq!(
            client.finish(&callback["code"], &request.flow).await,
            Err(PscFailure::TokenRefused)
        );
    }

    #[tokio::test]
    async fn client_secret_post_and_a_wrong_issuer_in_discovery() {
        let provider = Provider::start("post");
        let client = PscClient::from_config(&config(
            &provider.issuer,
            "passerelle-post",
            PscClientAuth::Post,
        ))
        .unwrap()
        .unwrap();
        let request = client.authorize(false).await.unwrap();
        let callback = sign_in_at_provider(&request.url, "810000123454", "CARD").await;
        let claims = client
            .finish(&callback["code"], &request.flow)
            .await
            .unwrap();
        assert_eq!(claims["SubjectNameID"], "810000123454");
        assert_eq!(claims["authMode"], "CARD");

        // Discovery found at a configured URL, but naming another issuer: refused.
        let mut c = config(
            &format!("{}-autre", provider.issuer),
            "passerelle",
            PscClientAuth::Basic,
        );
        c.psc.discovery_url = Some(format!(
            "{}/.well-known/wallet-openid-configuration",
            provider.issuer
        ));
        let client = PscClient::from_config(&c).unwrap().unwrap();
        assert_eq!(
            client.authorize(false).await.err(),
            Some(PscFailure::IssuerMismatch)
        );
    }

    #[tokio::test]
    async fn private_key_jwt_with_the_real_provider() {
        use rsa::pkcs1::{EncodeRsaPrivateKey, LineEnding};
        use rsa::traits::PublicKeyParts;
        // The client's key pair: the private half for Passerelle (PKCS#1 PEM, as documented), the
        // public half registered at the provider as a JWKS.
        let dir = std::env::temp_dir().join(format!("psc-pkjwt-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let key = rsa::RsaPrivateKey::new(&mut rand::thread_rng(), 2048).unwrap();
        let key_file = dir.join("client.key");
        std::fs::write(
            &key_file,
            key.to_pkcs1_pem(LineEnding::LF).unwrap().as_bytes(),
        )
        .unwrap();
        // A private key readable by others is refused at start.
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(0o600)).unwrap();
        }
        let jwks = serde_json::json!({ "keys": [{
            "kty": "RSA",
            "use": "sig",
            "alg": "RS256",
            "n": URL_SAFE_NO_PAD.encode(key.n().to_bytes_be()),
            "e": URL_SAFE_NO_PAD.encode(key.e().to_bytes_be()),
        }] });
        let jwks_file = dir.join("client.jwks.json");
        std::fs::write(&jwks_file, jwks.to_string()).unwrap();

        let provider = Provider::start_with("pkjwt", &[("PSC_CLIENT_JWKS_FILE", &jwks_file)]);
        let mut c = config(
            &provider.issuer,
            "passerelle-pkjwt",
            PscClientAuth::PrivateKeyJwt,
        );
        c.psc.client_secret = None;
        c.psc.private_key_file = Some(key_file);
        let client = PscClient::from_config(&c).unwrap().unwrap();
        let request = client.authorize(false).await.unwrap();
        let callback = sign_in_at_provider(&request.url, "810000123454", "CARD").await;
        let claims = client
            .finish(&callback["code"], &request.flow)
            .await
            .unwrap();
        assert_eq!(claims["SubjectNameID"], "810000123454");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn userinfo_cannot_raise_the_level_of_the_authentication() {
        let mut claims = Map::new();
        claims.insert("acr".into(), json!("eidas1"));
        claims.insert("authMode".into(), json!("MOBILE"));
        claims.insert("sid".into(), json!("s1"));
        let Value::Object(userinfo) = json!({
            "acr": "eidas3", "authMode": "CARD", "sid": "other", "amr": ["pin"],
            "SubjectNameID": "810000123454"
        }) else {
            panic!("an object")
        };
        overlay_userinfo(&mut claims, userinfo);
        assert_eq!(claims["acr"], "eidas1");
        assert_eq!(claims["authMode"], "MOBILE");
        assert_eq!(claims["sid"], "s1");
        // Silent in the token: userinfo fills in.
        assert_eq!(claims["amr"], json!(["pin"]));
        assert_eq!(claims["SubjectNameID"], "810000123454");
    }

    #[test]
    fn payload_of_a_compact_jws() {
        let p = URL_SAFE_NO_PAD.encode(r#"{"sid":"s1","authMode":"CARD"}"#);
        let m = jwt_payload(&format!("e30.{p}.sig")).unwrap();
        assert_eq!(m["sid"], "s1");
        assert!(jwt_payload("nope").is_none());
    }
}
