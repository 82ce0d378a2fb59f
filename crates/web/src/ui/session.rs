//! Who is looking at a page. The operator signs in with an operator user's
//! password and gets a signed, HttpOnly, SameSite=Strict session cookie
//! scoped to `/ui`; the customer UI rides on the customer session cookie of
//! the API's session endpoints. Every form POST carries a CSRF token derived
//! from the session, and a cross-origin `Origin` is refused outright.

use super::html::Esc;
use super::i18n::Lang;
use super::{page_shell, OPERATOR_BASE};
use crate::api::auth::SESSION_COOKIE;
use crate::App;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, FromRequestParts, Query, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Extension;
use base64::Engine as _;
use domain::access::{Openings, Policy};
use domain::schema;
use hmac::{Hmac, Mac};
use serde_json::json;
use sha2::Sha256;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use store::auth::random_token;
use store::{Actor, Scope};
use subtle::ConstantTimeEq;

pub const OPERATOR_COOKIE: &str = "sb_operator";
/// The double-submit cookie of the sign-in form (there is no session yet).
const LOGIN_COOKIE: &str = "sb_login";
const OPERATOR_SESSION_SECS: i64 = 8 * 3600;
/// As long as a customer session opened through the API's links.
const CUSTOMER_SESSION_SECS: i64 = 12 * 3600;
pub const CSRF_FIELD: &str = "_csrf";

/// The signed-in viewer of a page: the operator, or one customer.
pub struct Viewer {
    pub app: App,
    pub actor: Actor,
    /// What the viewer may do (asked for every button, input and POST).
    pub policy: Policy,
    pub csrf: String,
    pub lang: Lang,
    /// `/ui` or `/customer`.
    pub base: &'static str,
    /// Shown in the header.
    pub who: String,
    /// Per-user UI preferences (time zone, list columns).
    pub prefs: super::prefs::Prefs,
    /// The zone times are shown and typed in.
    pub tz: super::clock::Tz,
    /// Whether the user chose `tz` (else it is the browser's, or UTC).
    pub tz_chosen: bool,
}

impl Viewer {
    pub fn scope(&self) -> Scope {
        self.actor.scope
    }

    pub fn is_customer(&self) -> bool {
        self.actor.scope.is_customer()
    }

    /// The customer whose UI this is.
    pub fn customer(&self) -> Option<i64> {
        self.actor.scope.customer()
    }

    pub fn t<'a>(&self, msgid: &'a str) -> &'a str {
        self.lang.t(msgid)
    }
}

fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|c| c.trim().strip_prefix(name).and_then(|r| r.strip_prefix('=')).map(str::to_owned))
}

/// The CSRF token of a session: a MAC of its token id, so nothing is stored.
fn csrf_for(app: &App, jti: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(&app.inner.session_key).expect("HMAC takes any key length");
    mac.update(b"csrf|");
    mac.update(jti.as_bytes());
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&mac.finalize().into_bytes()[..18])
}

/// A short digest of a password hash, carried in the session token: a new
/// password (a new hash) ends the sessions signed in with the old one.
fn fingerprint(hash: &str) -> String {
    use sha2::Digest as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&Sha256::digest(hash.as_bytes())[..12])
}

fn same(a: &str, b: &str) -> bool {
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

/// A form body as name/value pairs (repeated names kept, for checkboxes).
pub struct FormBody(pub Vec<(String, String)>);

impl FormBody {
    pub fn parse(body: &Bytes) -> Result<FormBody, Refused> {
        serde_urlencoded::from_bytes(body)
            .map(FormBody)
            .map_err(|_| Refused(StatusCode::BAD_REQUEST, "The form could not be read (bad URL encoding)."))
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    pub fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.0.iter().filter(move |(k, _)| k == name).map(|(_, v)| v.as_str())
    }
}

/// A form POST turned away before it reached any handler logic.
#[derive(Debug)]
pub struct Refused(pub StatusCode, pub &'static str);

impl IntoResponse for Refused {
    fn into_response(self) -> Response {
        (self.0, self.1).into_response()
    }
}

/// The form of a POST, refused when it comes from another origin or
/// without this session's token.
pub fn read_post(v: &Viewer, headers: &HeaderMap, body: &Bytes) -> Result<FormBody, Refused> {
    let form = FormBody::parse(body)?;
    if !same_origin(headers) {
        return Err(Refused(StatusCode::FORBIDDEN, "Cross-origin form posts are refused."));
    }
    match form.get(CSRF_FIELD) {
        Some(t) if same(t, &v.csrf) => Ok(form),
        _ => Err(Refused(StatusCode::FORBIDDEN, "The form has expired or did not come from this site; reload the page and try again.")),
    }
}

/// Browsers send `Origin` on POSTs; when present it must be this host.
fn same_origin(headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else { return true };
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok()).unwrap_or("");
    let bare = origin.split_once("://").map_or(origin, |(_, rest)| rest);
    !host.is_empty() && bare == host
}

/// A signed-in operator, or a redirect to the sign-in page.
pub struct Operator(pub Viewer);

/// A customer viewing its own UI, or a page saying the session ended.
pub struct Customer(pub Viewer);

impl FromRequestParts<App> for Operator {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, Response> {
        // After signing in, only a page (a GET) can be returned to.
        let back = if parts.method == axum::http::Method::GET {
            parts.uri.path_and_query().map_or(OPERATOR_BASE, |p| p.as_str())
        } else {
            OPERATOR_BASE
        };
        let to_login = || Redirect::to(&format!("{OPERATOR_BASE}/login?next={}", super::html::url_encode(back))).into_response();
        let token = cookie(&parts.headers, OPERATOR_COOKIE).ok_or_else(to_login)?;
        let claims = app.verify_token(&token).filter(|c| c["scope"] == "operator_ui").ok_or_else(to_login)?;
        let (Some(id), Some(name), Some(jti)) = (claims["sub"].as_i64(), claims["name"].as_str(), claims["jti"].as_str()) else {
            return Err(to_login());
        };
        if app.inner.revoked.lock().expect("revoked lock").contains_key(jti) {
            return Err(to_login());
        }
        // A deleted operator user, or one whose password changed, is signed out at once.
        match app.store().operator_user(name).await {
            Ok(Some(login)) if login.id == id && claims["pw"].as_str() == Some(&fingerprint(&login.hash)) => {}
            Ok(_) => return Err(to_login()),
            Err(e) => {
                tracing::error!(error = %e, "store failure checking an operator session");
                return Err(StatusCode::INTERNAL_SERVER_ERROR.into_response());
            }
        }
        let actor = Actor { scope: Scope::Operator, kind: "operator_user", id: id.to_string(), name: name.to_owned() };
        let prefs = super::prefs::load(app, ("operator_user", id.to_string())).await;
        let (tz, tz_chosen) = super::prefs::zone_of(&prefs, cookie(&parts.headers, super::prefs::TZ_COOKIE).as_deref());
        Ok(Operator(Viewer {
            app: app.clone(),
            csrf: csrf_for(app, jti),
            actor,
            policy: Policy::operator(),
            lang: Lang::En,
            base: OPERATOR_BASE,
            who: name.to_owned(),
            prefs,
            tz,
            tz_chosen,
        }))
    }
}

impl FromRequestParts<App> for Customer {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, Response> {
        let ended = || session_ended();
        let token = cookie(&parts.headers, SESSION_COOKIE).ok_or_else(ended)?;
        let actor = app.session_login(&token).await.map_err(|_| ended())?;
        let Scope::Customer(c) = actor.scope else { return Err(ended()) };
        let loaded = async {
            let me = app.store().get(&schema::CUSTOMERS, actor.scope, c).await?;
            let settings = app.store().settings().await?;
            Ok::<_, store::Error>((me, settings))
        };
        let (me, settings) = match loaded.await {
            Ok(x) => x,
            Err(store::Error::NotFound) => return Err(ended()),
            Err(e) => {
                tracing::error!(error = %e, "store failure loading a customer session");
                return Err(StatusCode::INTERNAL_SERVER_ERROR.into_response());
            }
        };
        let lang = Lang::from_code(me.get("language").as_str().unwrap_or("EN"));
        let who = me.get("name").as_str().unwrap_or_default().to_owned();
        // Preferences follow the person: the customer user who signed in,
        // the operator user behind a staff (OPEN UI) session, or else the
        // customer (a session opened by an API link has no user).
        let claims = app.verify_token(&token).unwrap_or_default();
        let key = match (claims["user"].as_i64(), claims["staff"].as_str()) {
            (Some(u), _) => ("customer_user", u.to_string()),
            (None, Some(staff)) if actor.kind == "operator_impersonation" && !staff.is_empty() => ("operator_user", staff.to_owned()),
            _ => ("customer", c.to_string()),
        };
        let prefs = super::prefs::load(app, key).await;
        let (tz, tz_chosen) = super::prefs::zone_of(&prefs, cookie(&parts.headers, super::prefs::TZ_COOKIE).as_deref());
        Ok(Customer(Viewer {
            app: app.clone(),
            csrf: csrf_for(app, &actor.id),
            policy: Policy::new(actor.scope, Openings::from_settings(|n| settings.get(n))),
            actor,
            lang,
            base: super::CUSTOMER_BASE,
            who,
            prefs,
            tz,
            tz_chosen,
        }))
    }
}

fn session_ended() -> Response {
    let body =
        "<h1>Signed out</h1><p>This customer session has ended or is not valid. Open the customer UI again from the operator UI.</p>";
    (StatusCode::UNAUTHORIZED, page_shell("Signed out", "", body)).into_response()
}

/// Which UI a sign-in form belongs to.
#[derive(Clone, Copy)]
struct Door {
    base: &'static str,
    heading: &'static str,
    /// Where to go after signing in, unless a safe `next` is given.
    home: &'static str,
}

const OPERATOR_DOOR: Door = Door { base: OPERATOR_BASE, heading: "Operator sign-in", home: "/ui/customers" };
const CUSTOMER_DOOR: Door = Door { base: super::CUSTOMER_BASE, heading: "Customer sign-in", home: "/customer/numbers" };

/// Only a local path of the same UI may be a post-login target (no open redirect).
fn safe_next(door: Door, next: Option<&str>) -> String {
    let prefix = format!("{}/", door.base);
    let login = format!("{}/login", door.base);
    match next {
        Some(n) if n.starts_with(&prefix) && !n.starts_with(&login) && !n.contains("//") && !n.contains('\\') => n.to_owned(),
        _ => door.home.to_owned(),
    }
}

fn login_form(door: Door, next: &str, token: &str, user: &str, error: Option<&str>) -> String {
    let mut b = String::new();
    let _ = write!(b, "<div class=\"login\"><h1>Switchboard</h1><p class=\"muted\">{}</p>", door.heading);
    if let Some(e) = error {
        let _ = write!(b, "<p class=\"alert\" role=\"alert\">{}</p>", Esc(e));
    }
    let _ = write!(
        b,
        "<form method=\"post\" action=\"{}/login\">\
         <input type=\"hidden\" name=\"{CSRF_FIELD}\" value=\"{}\"><input type=\"hidden\" name=\"next\" value=\"{}\">\
         <div class=\"field\"><label for=\"username\">Username</label>\
         <input id=\"username\" name=\"username\" autocomplete=\"username\" required autofocus value=\"{}\"></div>\
         <div class=\"field\"><label for=\"password\">Password</label>\
         <input id=\"password\" name=\"password\" type=\"password\" autocomplete=\"current-password\" required></div>\
         <button class=\"primary\" type=\"submit\">Sign in</button></form></div>",
        door.base,
        Esc(token),
        Esc(next),
        Esc(user)
    );
    b
}

fn login_response(door: Door, status: StatusCode, next: &str, user: &str, error: Option<&str>) -> Response {
    let token = random_token(24);
    let mut resp = (status, page_shell("Sign in", "", &login_form(door, next, &token, user, error))).into_response();
    let c = format!("{LOGIN_COOKIE}={token}; Path={}/login; HttpOnly; SameSite=Strict; Max-Age=3600", door.base);
    if let Ok(v) = HeaderValue::from_str(&c) {
        resp.headers_mut().append(header::SET_COOKIE, v);
    }
    resp
}

pub async fn login_page(Query(q): Query<HashMap<String, String>>) -> Response {
    login_response(OPERATOR_DOOR, StatusCode::OK, &safe_next(OPERATOR_DOOR, q.get("next").map(String::as_str)), "", None)
}

pub async fn customer_login_page(Query(q): Query<HashMap<String, String>>) -> Response {
    login_response(CUSTOMER_DOOR, StatusCode::OK, &safe_next(CUSTOMER_DOOR, q.get("next").map(String::as_str)), "", None)
}

/// A checked sign-in form: the user's login, or the page to answer.
async fn check_login(
    app: &App,
    door: Door,
    peer: IpAddr,
    headers: &HeaderMap,
    body: &Bytes,
) -> Result<(String, String, store::auth::Login), Response> {
    let form = FormBody::parse(body).map_err(IntoResponse::into_response)?;
    let next = safe_next(door, form.get("next"));
    let user = form.get("username").unwrap_or("").trim().to_owned();
    let pass = form.get("password").unwrap_or("").to_owned();
    let fail = |status, msg| login_response(door, status, &next, &user, Some(msg));
    let token_ok = match (cookie(headers, LOGIN_COOKIE), form.get(CSRF_FIELD)) {
        (Some(c), Some(f)) => same(&c, f),
        _ => false,
    };
    if !token_ok || !same_origin(headers) {
        return Err(fail(StatusCode::FORBIDDEN, "The sign-in form expired; please try again."));
    }
    if user.is_empty() || pass.is_empty() {
        return Err(fail(StatusCode::UNPROCESSABLE_ENTITY, "Enter your username and password."));
    }
    // The API's back-off; customer user names get their own keys (an
    // operator and a customer may share a name).
    let (key, kind) =
        if door.base == OPERATOR_BASE { (user.clone(), "operator_users") } else { (format!("customer_user:{user}"), "customer_users") };
    if let Err(wait) = app.admit_login(peer, &key).await {
        let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
        let msg = format!("Too many failed sign-ins for this username from this address; try again in {secs} s.");
        let mut resp = fail(StatusCode::TOO_MANY_REQUESTS, &msg);
        resp.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
        return Err(resp);
    }
    let found = if door.base == OPERATOR_BASE { app.store().operator_user(&user).await } else { app.store().customer_user(&user).await };
    let login = found.map_err(|e| {
        tracing::error!(error = %e, "store failure at sign-in");
        StatusCode::INTERNAL_SERVER_ERROR.into_response()
    })?;
    match login {
        Some(l) if store::auth::verify_password(pass, l.hash.clone()).await => {
            app.login_succeeded(peer, &key);
            Ok((next, user, l))
        }
        other => {
            tracing::warn!(username = %user, ui = door.base, "UI sign-in failed");
            app.login_failed(peer, &key, &user, kind, other.map(|l| l.id)).await;
            Err(fail(StatusCode::UNAUTHORIZED, "Wrong username or password."))
        }
    }
}

fn with_cookies(mut resp: Response, cookies: &[String]) -> Response {
    for c in cookies {
        if let Ok(v) = HeaderValue::from_str(c) {
            resp.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    resp
}

/// The client's address (the socket peer), for the login back-off.
fn peer_ip(peer: Option<Extension<ConnectInfo<SocketAddr>>>) -> IpAddr {
    peer.map_or(Ipv4Addr::UNSPECIFIED.into(), |Extension(ConnectInfo(a))| a.ip())
}

pub async fn login(State(app): State<App>, peer: Option<Extension<ConnectInfo<SocketAddr>>>, headers: HeaderMap, body: Bytes) -> Response {
    let (next, user, login) = match check_login(&app, OPERATOR_DOOR, peer_ip(peer), &headers, &body).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let jti = random_token(24);
    let exp = domain::time::now_ms() / 1000 + OPERATOR_SESSION_SECS;
    let pw = fingerprint(&login.hash);
    let token = app.sign_token(&json!({ "sub": login.id, "name": user, "exp": exp, "jti": jti, "scope": "operator_ui", "pw": pw }));
    let actor = Actor { scope: Scope::Operator, kind: "operator_user", id: login.id.to_string(), name: user.clone() };
    if let Err(e) = app.store().log_event(&actor, "sign_in", "operator_users", login.id, json!({ "via": "operator_ui" })).await {
        tracing::warn!(error = %e, "could not audit a sign-in");
    }
    let secure = if app.inner.config.public_url.as_deref().is_some_and(|u| u.starts_with("https://")) { "; Secure" } else { "" };
    with_cookies(
        Redirect::to(&next).into_response(),
        &[
            format!("{OPERATOR_COOKIE}={token}; Path={OPERATOR_BASE}; HttpOnly; SameSite=Strict; Max-Age={OPERATOR_SESSION_SECS}{secure}"),
            format!("{LOGIN_COOKIE}=; Path={OPERATOR_BASE}/login; HttpOnly; SameSite=Strict; Max-Age=0"),
        ],
    )
}

/// A customer user signs in: this becomes the customer's one live session
/// (the same session as the API's `/sessions` links, so it ends any other).
pub async fn customer_login(
    State(app): State<App>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (next, user, login) = match check_login(&app, CUSTOMER_DOOR, peer_ip(peer), &headers, &body).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let Some(customer) = login.customer_id else { return StatusCode::INTERNAL_SERVER_ERROR.into_response() };
    let jti = random_token(24);
    let exp = domain::time::now_ms() / 1000 + CUSTOMER_SESSION_SECS;
    if let Err(e) = app.store().start_customer_session(customer, &jti, exp * 1000).await {
        tracing::error!(error = %e, "could not start a customer session");
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    }
    // `user`: whose UI preferences the session reads.
    let token = app.sign_token(&json!({ "sub": customer, "exp": exp, "jti": jti, "scope": "customer_ui", "user": login.id }));
    let actor = Actor { scope: Scope::Customer(customer), kind: "customer_user", id: login.id.to_string(), name: user };
    if let Err(e) = app.store().log_event(&actor, "sign_in", "customer_users", login.id, json!({ "via": "customer_ui" })).await {
        tracing::warn!(error = %e, "could not audit a sign-in");
    }
    let secure = if app.inner.config.public_url.as_deref().is_some_and(|u| u.starts_with("https://")) { "; Secure" } else { "" };
    with_cookies(
        Redirect::to(&next).into_response(),
        &[
            // Path=/ and Lax, as the API's session cookie: the same cookie.
            format!("{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Lax; Max-Age={CUSTOMER_SESSION_SECS}{secure}"),
            format!("{LOGIN_COOKIE}=; Path={}/login; HttpOnly; SameSite=Strict; Max-Age=0", super::CUSTOMER_BASE),
        ],
    )
}

pub async fn logout(Operator(v): Operator, headers: HeaderMap, body: Bytes) -> Response {
    if let Err(r) = read_post(&v, &headers, &body) {
        return r.into_response();
    }
    if let Some(claims) = cookie(&headers, OPERATOR_COOKIE).and_then(|t| v.app.verify_token(&t)) {
        let now = domain::time::now_ms() / 1000;
        let mut revoked = v.app.inner.revoked.lock().expect("revoked lock");
        revoked.retain(|_, exp| *exp > now);
        if let (Some(jti), Some(exp)) = (claims["jti"].as_str(), claims["exp"].as_i64()) {
            revoked.insert(jti.to_owned(), exp);
        }
    }
    let mut resp = Redirect::to(&format!("{OPERATOR_BASE}/login")).into_response();
    let c = format!("{OPERATOR_COOKIE}=; Path={OPERATOR_BASE}; HttpOnly; SameSite=Strict; Max-Age=0");
    if let Ok(h) = HeaderValue::from_str(&c) {
        resp.headers_mut().append(header::SET_COOKIE, h);
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_stays_on_the_ui() {
        assert_eq!(safe_next(OPERATOR_DOOR, Some("/ui/numbers?sort=-id")), "/ui/numbers?sort=-id");
        for bad in ["https://evil.example/", "//evil.example/ui/", "/ui//evil", "/api/rest", "/ui/login", "/ui/\\evil", "/customer/numbers"]
        {
            assert_eq!(safe_next(OPERATOR_DOOR, Some(bad)), "/ui/customers", "{bad}");
        }
        assert_eq!(safe_next(OPERATOR_DOOR, None), "/ui/customers");
        assert_eq!(safe_next(CUSTOMER_DOOR, Some("/ui/customers")), "/customer/numbers");
        assert_eq!(safe_next(CUSTOMER_DOOR, Some("/customer/sip-accounts")), "/customer/sip-accounts");
    }

    #[test]
    fn origin_must_match_host() {
        let mut h = HeaderMap::new();
        h.insert(header::HOST, HeaderValue::from_static("pbx.example:8080"));
        assert!(same_origin(&h), "no Origin: a non-browser client or an old browser");
        h.insert(header::ORIGIN, HeaderValue::from_static("http://pbx.example:8080"));
        assert!(same_origin(&h));
        h.insert(header::ORIGIN, HeaderValue::from_static("https://evil.example"));
        assert!(!same_origin(&h));
    }

    #[test]
    fn reads_one_cookie_among_many() {
        let mut h = HeaderMap::new();
        h.insert(header::COOKIE, HeaderValue::from_static("a=1; sb_operator=tok.en; b=2"));
        assert_eq!(cookie(&h, OPERATOR_COOKIE).as_deref(), Some("tok.en"));
        assert_eq!(cookie(&h, "sb_login"), None);
    }
}
