//! Who is calling: HTTP Basic with an API credential (operator or customer
//! scoped), or a signed customer session token (Bearer or cookie) from the
//! session endpoints. Verified credentials are cached briefly so a client
//! does not pay an Argon2 verification per request; failed ones back off
//! (`backoff`).

use super::backoff::{self, Verdict};
use super::error::{ApiError, ApiResult};
use crate::App;
use axum::http::{header, HeaderMap};
use base64::Engine as _;
use hmac::{Hmac, Mac};
use serde_json::{json, Value as Json};
use sha2::{Digest, Sha256};
use std::net::IpAddr;
use std::time::{Duration, Instant};
use store::{Actor, Scope};
use subtle::ConstantTimeEq;

/// How long a verified Basic credential is trusted without re-checking.
const CACHE_TTL: Duration = Duration::from_secs(60);
/// How often `last_used_at` is written per credential at most.
const TOUCH_EVERY: Duration = Duration::from_secs(60);
pub const SESSION_COOKIE: &str = "sb_session";
#[derive(Clone)]
pub(crate) struct CachedLogin {
    digest: [u8; 32],
    actor: Actor,
    verified: Instant,
    touched: Instant,
}

fn digest(user: &str, pass: &str) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(user.as_bytes());
    h.update([0]);
    h.update(pass.as_bytes());
    h.finalize().into()
}

fn basic(headers: &HeaderMap) -> Option<(String, String)> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, rest) = v.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let raw = base64::engine::general_purpose::STANDARD.decode(rest.trim()).ok()?;
    let s = String::from_utf8(raw).ok()?;
    let (u, p) = s.split_once(':')?;
    Some((u.to_owned(), p.to_owned()))
}

fn bearer_or_cookie(headers: &HeaderMap) -> Option<String> {
    if let Some(v) = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()) {
        if let Some((scheme, t)) = v.split_once(' ') {
            if scheme.eq_ignore_ascii_case("bearer") {
                return Some(t.trim().to_owned());
            }
        }
    }
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|c| c.trim().strip_prefix(SESSION_COOKIE).and_then(|r| r.strip_prefix('=')).map(str::to_owned))
}

impl App {
    /// Drops every cached login once a credential or a customer changed
    /// (deleting a customer deletes its credentials), so a revoked
    /// credential stops working at once. The store announces a change
    /// before its write returns, so the next request sees it here.
    fn forget_stale_logins(&self) {
        use tokio::sync::broadcast::error::TryRecvError;
        let mut feed = self.inner.changes.lock().expect("change feed lock");
        let mut stale = false;
        loop {
            match feed.try_recv() {
                Ok(c) => stale |= matches!(c.kind, "api_credentials" | "customers"),
                Err(TryRecvError::Lagged(_)) => stale = true,
                Err(TryRecvError::Empty | TryRecvError::Closed) => break,
            }
        }
        if stale {
            self.inner.logins.write().expect("login cache lock").clear();
        }
    }

    /// The caller, or 401 (429 while its address backs off); `peer` is
    /// the client's address.
    pub(crate) async fn authenticate(&self, headers: &HeaderMap, peer: IpAddr) -> ApiResult<Actor> {
        if let Some((user, pass)) = basic(headers) {
            return self.basic_login(peer, &user, &pass).await;
        }
        if let Some(token) = bearer_or_cookie(headers) {
            return self.session_login(&token).await;
        }
        Err(ApiError::unauthorized())
    }

    /// Before a password is checked: waits out the login's delay, or
    /// answers how long this address must wait (429, nothing checked).
    pub(crate) async fn admit_login(&self, peer: IpAddr, key: &str) -> Result<(), Duration> {
        let verdict = self.inner.backoff.lock().expect("back-off lock").check(peer, key, Instant::now());
        match verdict {
            Verdict::Wait(wait) => Err(wait),
            Verdict::Check { delay } => {
                if !delay.is_zero() {
                    tokio::time::sleep(delay).await;
                }
                Ok(())
            }
        }
    }

    /// Counts a failed login (`key` the name as the back-off keeps it,
    /// `user` as typed); a back-off that begins or grows is logged and
    /// audited against the login's record (id 0 for an unknown name).
    pub(crate) async fn login_failed(&self, peer: IpAddr, key: &str, user: &str, kind: &'static str, id: Option<i64>) {
        let events = self.inner.backoff.lock().expect("back-off lock").failed(peer, key, Instant::now());
        for e in events {
            let wait_ms = u64::try_from(e.wait.as_millis()).unwrap_or(u64::MAX);
            let address = backoff::address_key(peer).to_string();
            tracing::warn!(username = user, %address, scope = e.scope, failures = e.failures, wait_ms, "login back-off");
            let detail = json!({ "username": user, "address": address, "scope": e.scope, "failures": e.failures, "wait_ms": wait_ms });
            let actor = Actor { scope: Scope::Operator, kind: "system", id: String::new(), name: "login back-off".into() };
            if let Err(err) = self.inner.store.log_event(&actor, "login_backoff", kind, id.unwrap_or(0), detail).await {
                tracing::warn!(error = %err, "could not audit a login back-off");
            }
        }
    }

    /// A good password: its address starts afresh.
    pub(crate) fn login_succeeded(&self, peer: IpAddr, key: &str) {
        self.inner.backoff.lock().expect("back-off lock").succeeded(peer, key);
    }

    async fn basic_login(&self, peer: IpAddr, user: &str, pass: &str) -> ApiResult<Actor> {
        self.forget_stale_logins();
        let d = digest(user, pass);
        let cached = self.inner.logins.read().expect("login cache lock").get(user).cloned();
        if let Some(c) = cached {
            if bool::from(c.digest.ct_eq(&d)) && c.verified.elapsed() < CACHE_TTL {
                if c.touched.elapsed() >= TOUCH_EVERY {
                    self.touch(user, &c.actor).await;
                }
                return Ok(c.actor);
            }
        }
        self.admit_login(peer, user).await.map_err(ApiError::too_many_failures)?;
        let Some(login) = self.inner.store.api_credential(user).await? else {
            self.login_failed(peer, user, user, "api_credentials", None).await;
            return Err(ApiError::unauthorized());
        };
        if !store::auth::verify_password(pass.to_owned(), login.hash).await {
            tracing::warn!(username = user, "API authentication failed");
            self.login_failed(peer, user, user, "api_credentials", Some(login.id)).await;
            return Err(ApiError::unauthorized());
        }
        self.login_succeeded(peer, user);
        let scope = login.customer_id.map_or(Scope::Operator, Scope::Customer);
        let actor = Actor { scope, kind: "api_credential", id: login.id.to_string(), name: user.to_owned() };
        self.touch(user, &actor).await;
        let now = Instant::now();
        let entry = CachedLogin { digest: d, actor: actor.clone(), verified: now, touched: now };
        self.inner.logins.write().expect("login cache lock").insert(user.to_owned(), entry);
        Ok(actor)
    }

    async fn touch(&self, user: &str, actor: &Actor) {
        if let Ok(id) = actor.id.parse() {
            if let Err(e) = self.inner.store.touch_api_credential(id).await {
                tracing::warn!(error = %e, "could not record credential use");
            }
        }
        if let Some(c) = self.inner.logins.write().expect("login cache lock").get_mut(user) {
            c.touched = Instant::now();
        }
    }

    pub(crate) async fn session_login(&self, token: &str) -> ApiResult<Actor> {
        let claims = self.verify_token(token).ok_or_else(ApiError::unauthorized)?;
        let customer = claims["sub"].as_i64().ok_or_else(ApiError::unauthorized)?;
        let jti = claims["jti"].as_str().unwrap_or_default();
        let kind = match claims["scope"].as_str() {
            Some("customer_ui") => {
                if !self.inner.store.customer_session_live(customer, jti).await? {
                    return Err(ApiError::unauthorized());
                }
                "customer_session"
            }
            Some("customer_admin_ui") => {
                // A staff session the operator ended (the banner's End).
                if self.inner.revoked.lock().expect("revoked lock").contains_key(jti) {
                    return Err(ApiError::unauthorized());
                }
                "operator_impersonation"
            }
            _ => return Err(ApiError::unauthorized()),
        };
        // Staff access is audited as the operator who opened it.
        let name = match (kind, claims["by"].as_str()) {
            ("operator_impersonation", Some(by)) if !by.is_empty() => by.to_owned(),
            _ => format!("customer {customer}"),
        };
        Ok(Actor { scope: Scope::Customer(customer), kind, id: jti.to_owned(), name })
    }

    /// An HS256 JWT over `claims` with the store's session key.
    pub(crate) fn sign_token(&self, claims: &Json) -> String {
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let head = b64.encode(json!({ "alg": "HS256", "typ": "JWT" }).to_string());
        let body = b64.encode(claims.to_string());
        let signing_input = format!("{head}.{body}");
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.inner.session_key).expect("HMAC takes any key length");
        mac.update(signing_input.as_bytes());
        format!("{signing_input}.{}", b64.encode(mac.finalize().into_bytes()))
    }

    /// The claims of a token we signed that has not expired.
    pub(crate) fn verify_token(&self, token: &str) -> Option<Json> {
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let (signing_input, sig) = token.rsplit_once('.')?;
        let (head, body) = signing_input.split_once('.')?;
        let header: Json = serde_json::from_slice(&b64.decode(head).ok()?).ok()?;
        if header["alg"] != "HS256" {
            return None;
        }
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.inner.session_key).ok()?;
        mac.update(signing_input.as_bytes());
        mac.verify_slice(&b64.decode(sig).ok()?).ok()?;
        let claims: Json = serde_json::from_slice(&b64.decode(body).ok()?).ok()?;
        let exp = claims["exp"].as_i64()?;
        (exp * 1000 > domain::time::now_ms()).then_some(claims)
    }
}
