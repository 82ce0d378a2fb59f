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
use axum::extract::{FromRequestParts, Query, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use base64::Engine as _;
use domain::schema;
use hmac::{Hmac, Mac};
use serde_json::json;
use sha2::Sha256;
use std::collections::HashMap;
use std::fmt::Write as _;
use store::auth::random_token;
use store::{Actor, Record, Scope};
use subtle::ConstantTimeEq;

pub const OPERATOR_COOKIE: &str = "sb_operator";
/// The double-submit cookie of the sign-in form (there is no session yet).
const LOGIN_COOKIE: &str = "sb_login";
const OPERATOR_SESSION_SECS: i64 = 8 * 3600;
pub const CSRF_FIELD: &str = "_csrf";

/// The signed-in viewer of a page: the operator, or one customer.
pub struct Viewer {
    pub app: App,
    pub actor: Actor,
    /// The customer whose UI this is.
    pub customer: Option<i64>,
    /// For a customer: the domain settings that decide what it may set.
    pub settings: Option<Record>,
    pub csrf: String,
    pub lang: Lang,
    /// `/ui` or `/customer`.
    pub base: &'static str,
    /// Shown in the header.
    pub who: String,
}

impl Viewer {
    pub fn scope(&self) -> Scope {
        self.actor.scope
    }

    pub fn is_customer(&self) -> bool {
        self.customer.is_some()
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
        let back = parts.uri.path_and_query().map_or(OPERATOR_BASE, |p| p.as_str());
        let to_login = || Redirect::to(&format!("{OPERATOR_BASE}/login?next={}", super::html::url_encode(back))).into_response();
        let token = cookie(&parts.headers, OPERATOR_COOKIE).ok_or_else(to_login)?;
        let claims = app.verify_token(&token).filter(|c| c["scope"] == "operator_ui").ok_or_else(to_login)?;
        let (Some(id), Some(name), Some(jti)) = (claims["sub"].as_i64(), claims["name"].as_str(), claims["jti"].as_str()) else {
            return Err(to_login());
        };
        if app.inner.revoked.lock().expect("revoked lock").contains_key(jti) {
            return Err(to_login());
        }
        // A deleted operator user is signed out at once.
        match app.store().operator_user(name).await {
            Ok(Some(login)) if login.id == id => {}
            Ok(_) => return Err(to_login()),
            Err(e) => {
                tracing::error!(error = %e, "store failure checking an operator session");
                return Err(StatusCode::INTERNAL_SERVER_ERROR.into_response());
            }
        }
        let actor = Actor { scope: Scope::Operator, kind: "operator_user", id: id.to_string(), name: name.to_owned() };
        Ok(Operator(Viewer {
            app: app.clone(),
            csrf: csrf_for(app, jti),
            actor,
            customer: None,
            settings: None,
            lang: Lang::En,
            base: OPERATOR_BASE,
            who: name.to_owned(),
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
        Ok(Customer(Viewer {
            app: app.clone(),
            csrf: csrf_for(app, &actor.id),
            actor,
            customer: Some(c),
            settings: Some(settings),
            lang,
            base: super::CUSTOMER_BASE,
            who,
        }))
    }
}

fn session_ended() -> Response {
    let body =
        "<h1>Signed out</h1><p>This customer session has ended or is not valid. Open the customer UI again from the operator UI.</p>";
    (StatusCode::UNAUTHORIZED, page_shell("Signed out", "", body)).into_response()
}

/// Only a local UI path may be a post-login target (no open redirect).
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if n.starts_with("/ui/") && !n.starts_with("/ui/login") && !n.contains("//") && !n.contains('\\') => n.to_owned(),
        _ => format!("{OPERATOR_BASE}/customers"),
    }
}

fn login_form(next: &str, token: &str, user: &str, error: Option<&str>) -> String {
    let mut b = String::new();
    b.push_str("<div class=\"login\"><h1>Switchboard</h1><p class=\"muted\">Operator sign-in</p>");
    if let Some(e) = error {
        let _ = write!(b, "<p class=\"alert\" role=\"alert\">{}</p>", Esc(e));
    }
    let _ = write!(
        b,
        "<form method=\"post\" action=\"{OPERATOR_BASE}/login\">\
         <input type=\"hidden\" name=\"{CSRF_FIELD}\" value=\"{}\"><input type=\"hidden\" name=\"next\" value=\"{}\">\
         <div class=\"field\"><label for=\"username\">Username</label>\
         <input id=\"username\" name=\"username\" autocomplete=\"username\" required autofocus value=\"{}\"></div>\
         <div class=\"field\"><label for=\"password\">Password</label>\
         <input id=\"password\" name=\"password\" type=\"password\" autocomplete=\"current-password\" required></div>\
         <button class=\"primary\" type=\"submit\">Sign in</button></form></div>",
        Esc(token),
        Esc(next),
        Esc(user)
    );
    b
}

fn login_response(status: StatusCode, next: &str, user: &str, error: Option<&str>) -> Response {
    let token = random_token(24);
    let mut resp = (status, page_shell("Sign in", "", &login_form(next, &token, user, error))).into_response();
    let c = format!("{LOGIN_COOKIE}={token}; Path={OPERATOR_BASE}/login; HttpOnly; SameSite=Strict; Max-Age=3600");
    if let Ok(v) = HeaderValue::from_str(&c) {
        resp.headers_mut().append(header::SET_COOKIE, v);
    }
    resp
}

pub async fn login_page(Query(q): Query<HashMap<String, String>>) -> Response {
    login_response(StatusCode::OK, &safe_next(q.get("next").map(String::as_str)), "", None)
}

pub async fn login(State(app): State<App>, headers: HeaderMap, body: Bytes) -> Response {
    let form = match FormBody::parse(&body) {
        Ok(f) => f,
        Err(r) => return r.into_response(),
    };
    let next = safe_next(form.get("next"));
    let user = form.get("username").unwrap_or("").trim().to_owned();
    let pass = form.get("password").unwrap_or("").to_owned();
    let token_ok = match (cookie(&headers, LOGIN_COOKIE), form.get(CSRF_FIELD)) {
        (Some(c), Some(f)) => same(&c, f),
        _ => false,
    };
    if !token_ok || !same_origin(&headers) {
        return login_response(StatusCode::FORBIDDEN, &next, &user, Some("The sign-in form expired; please try again."));
    }
    if user.is_empty() || pass.is_empty() {
        return login_response(StatusCode::UNPROCESSABLE_ENTITY, &next, &user, Some("Enter your username and password."));
    }
    if app.locked_out(&user) {
        return login_response(
            StatusCode::TOO_MANY_REQUESTS,
            &next,
            &user,
            Some("Too many failed sign-ins for this username; try again in a few minutes."),
        );
    }
    let login = match app.store().operator_user(&user).await {
        Ok(l) => l,
        Err(e) => {
            tracing::error!(error = %e, "store failure at sign-in");
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
    };
    let verified = match login {
        Some(l) if store::auth::verify_password(pass, l.hash.clone()).await => Some(l),
        _ => None,
    };
    let Some(login) = verified else {
        tracing::warn!(username = %user, "operator UI sign-in failed");
        app.record_failure(&user);
        return login_response(StatusCode::UNAUTHORIZED, &next, &user, Some("Wrong username or password."));
    };
    app.clear_failures(&user);
    let jti = random_token(24);
    let exp = domain::time::now_ms() / 1000 + OPERATOR_SESSION_SECS;
    let token = app.sign_token(&json!({ "sub": login.id, "name": user, "exp": exp, "jti": jti, "scope": "operator_ui" }));
    let actor = Actor { scope: Scope::Operator, kind: "operator_user", id: login.id.to_string(), name: user.clone() };
    if let Err(e) = app.store().log_event(&actor, "sign_in", "operator_users", login.id, json!({ "via": "operator_ui" })).await {
        tracing::warn!(error = %e, "could not audit a sign-in");
    }
    let secure = if app.inner.config.public_url.as_deref().is_some_and(|u| u.starts_with("https://")) { "; Secure" } else { "" };
    let mut resp = Redirect::to(&next).into_response();
    let set = [
        format!("{OPERATOR_COOKIE}={token}; Path={OPERATOR_BASE}; HttpOnly; SameSite=Strict; Max-Age={OPERATOR_SESSION_SECS}{secure}"),
        format!("{LOGIN_COOKIE}=; Path={OPERATOR_BASE}/login; HttpOnly; SameSite=Strict; Max-Age=0"),
    ];
    for c in set {
        if let Ok(v) = HeaderValue::from_str(&c) {
            resp.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    resp
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
        assert_eq!(safe_next(Some("/ui/numbers?sort=-id")), "/ui/numbers?sort=-id");
        for bad in ["https://evil.example/", "//evil.example/ui/", "/ui//evil", "/api/rest", "/ui/login", "/ui/\\evil"] {
            assert_eq!(safe_next(Some(bad)), "/ui/customers", "{bad}");
        }
        assert_eq!(safe_next(None), "/ui/customers");
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
