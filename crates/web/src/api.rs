//! The REST API: one router per scope (operator, customer) over the same
//! generic handlers, driven by the resource schema.

pub(crate) mod auth;
pub(crate) mod backoff;
pub(crate) mod document;
pub(crate) mod error;
pub(crate) mod handlers;
mod openapi;
pub(crate) mod params;
mod route_tests;
pub(crate) mod sessions;
pub(crate) mod totals;

pub(crate) use auth::CachedLogin;
pub(crate) use backoff::Backoff;

use crate::App;
use axum::extract::{FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use error::{ApiError, ApiResult};
use store::{Actor, Scope};

pub const OPERATOR_BASE: &str = "/api/rest/public/operator";
pub const CUSTOMER_BASE: &str = "/api/rest/public/customer";
const JSON_API: &str = "application/vnd.api+json";

/// A JSON:API document response.
pub struct JsonApi(pub serde_json::Value);

impl IntoResponse for JsonApi {
    fn into_response(self) -> Response {
        let mut r = axum::Json(self.0).into_response();
        r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(JSON_API));
        r
    }
}

/// A JSON:API document already written as text.
pub struct JsonApiText(pub String);

impl IntoResponse for JsonApiText {
    fn into_response(self) -> Response {
        ([(header::CONTENT_TYPE, HeaderValue::from_static(JSON_API))], self.0).into_response()
    }
}

/// Which API a request came in through.
#[derive(Debug, Clone, Copy)]
struct ApiScope {
    customer: bool,
}

pub fn routes() -> Router<App> {
    Router::new().nest(OPERATOR_BASE, scoped(false)).nest(CUSTOMER_BASE, scoped(true)).route("/healthz", get(|| async { "ok" }))
}

fn scoped(customer: bool) -> Router<App> {
    let mut r = Router::new();
    if !customer {
        r = r
            .route("/sessions", post(sessions::customer_session).fallback(method_not_allowed))
            .route("/customer_admin_sessions", post(sessions::admin_session).fallback(method_not_allowed))
            .route("/auth", get(sessions::exchange).fallback(method_not_allowed));
    }
    r.route("/openapi.json", get(openapi::document))
        .route(&format!("/{}", route_tests::KIND), post(route_tests::run).fallback(method_not_allowed))
        .route("/{kind}", get(handlers::list).post(handlers::create).patch(handlers::update_singleton).fallback(method_not_allowed))
        .route("/{kind}/totals", get(totals::totals).fallback(method_not_allowed))
        .route("/{kind}/{id}", get(handlers::show).patch(handlers::update).delete(handlers::delete).fallback(method_not_allowed))
        .route("/{kind}/{id}/{rel}", get(handlers::related).fallback(method_not_allowed))
        .route("/{kind}/{id}/relationships/{rel}", get(handlers::relationship).fallback(method_not_allowed))
        .fallback(|| async { ApiError::route_not_found() })
        .layer(middleware::from_fn(negotiate))
        .layer(middleware::from_fn(trace))
        .layer(Extension(ApiScope { customer }))
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(StatusCode::METHOD_NOT_ALLOWED, "Method not allowed", "This method is not supported on this path.").code("405")
}

fn media_type_has_params(v: &str) -> bool {
    v.split_once(';').is_some_and(|(_, p)| !p.trim().is_empty())
}

/// JSON:API content negotiation: 415 for a JSON:API body type with
/// parameters (or a body that is not JSON), 406 when every JSON:API type in
/// Accept carries parameters.
async fn negotiate(req: Request, next: Next) -> Response {
    if matches!(*req.method(), Method::POST | Method::PATCH) {
        let ct = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
        let base = ct.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
        let ok = (base == JSON_API && !media_type_has_params(ct)) || base == "application/json";
        if !ok {
            return ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "Unsupported media type",
                format!("Send the body as {JSON_API} without media type parameters."),
            )
            .code("415")
            .into_response();
        }
    }
    let accepts: Vec<&str> = req
        .headers()
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|v| v.to_ascii_lowercase().starts_with(JSON_API))
        .collect();
    if !accepts.is_empty() && accepts.iter().all(|v| media_type_has_params(v)) {
        return ApiError::new(StatusCode::NOT_ACCEPTABLE, "Not acceptable", format!("Accept {JSON_API} without media type parameters."))
            .code("406")
            .into_response();
    }
    let resp = next.run(req).await;
    as_json_api_error(resp).await
}

/// A span per request; the outcome logged at debug (errors at warn by
/// their handlers).
async fn trace(req: Request, next: Next) -> Response {
    use tracing::Instrument as _;
    let span = tracing::info_span!("http", method = %req.method(), path = %req.uri().path());
    let started = std::time::Instant::now();
    async move {
        let resp = next.run(req).await;
        tracing::debug!(status = resp.status().as_u16(), micros = started.elapsed().as_micros() as u64, "answered");
        resp
    }
    .instrument(span)
    .await
}

/// Framework rejections (a path that does not decode, a body over the size
/// limit, …) arrive as plain text; clients of this API expect every 4xx to
/// be a JSON:API error document with a detail.
async fn as_json_api_error(resp: Response) -> Response {
    let status = resp.status();
    let is_json_api = resp.headers().get(header::CONTENT_TYPE).is_some_and(|v| v.as_bytes().starts_with(JSON_API.as_bytes()));
    if !(status.is_client_error() || status.is_server_error()) || is_json_api {
        return resp;
    }
    let text = axum::body::to_bytes(resp.into_body(), 4096).await.unwrap_or_default();
    let detail = String::from_utf8_lossy(&text).trim().to_owned();
    let detail =
        if detail.is_empty() || status.is_server_error() { status.canonical_reason().unwrap_or("Error").to_owned() } else { detail };
    ApiError::new(status, status.canonical_reason().unwrap_or("Error"), detail).into_response()
}

/// An authenticated request in one API scope.
pub struct Ctx {
    pub app: App,
    pub actor: Actor,
    /// Absolute base URL of this API.
    pub base: String,
}

impl Ctx {
    pub fn scope(&self) -> Scope {
        self.actor.scope
    }

    /// What this caller may write (a customer's depends on the domain settings).
    pub async fn policy(&self) -> ApiResult<domain::Policy> {
        Ok(self.app.policy(self.scope()).await?)
    }
}

/// The client's address: the socket peer (a proxy in front would need its
/// forwarded header trusted, which we do not). Unspecified without one
/// (requests handed to the router directly, in tests).
pub(crate) fn peer(parts: &Parts) -> std::net::IpAddr {
    parts.extensions.get::<axum::extract::ConnectInfo<std::net::SocketAddr>>().map_or(std::net::Ipv4Addr::UNSPECIFIED.into(), |c| c.0.ip())
}

/// The public origin: configured, or from the request.
fn origin(app: &App, parts: &Parts) -> String {
    if let Some(u) = &app.inner.config.public_url {
        return u.trim_end_matches('/').to_owned();
    }
    let host = parts.headers.get(header::HOST).and_then(|v| v.to_str().ok()).unwrap_or("localhost");
    let proto = parts.headers.get("x-forwarded-proto").and_then(|v| v.to_str().ok()).unwrap_or("http");
    format!("{proto}://{host}")
}

impl FromRequestParts<App> for Ctx {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, Self::Rejection> {
        let customer = parts.extensions.get::<ApiScope>().is_some_and(|s| s.customer);
        let actor = app.authenticate(&parts.headers, peer(parts)).await?;
        match (customer, actor.scope) {
            (false, Scope::Customer(_)) => {
                return Err(ApiError::forbidden(format!("This credential belongs to a customer: use {CUSTOMER_BASE}.")))
            }
            (true, Scope::Operator) => {
                return Err(ApiError::forbidden(format!("This credential belongs to the operator: use {OPERATOR_BASE}.")))
            }
            _ => {}
        }
        let base = format!("{}{}", origin(app, parts), if customer { CUSTOMER_BASE } else { OPERATOR_BASE });
        Ok(Ctx { app: app.clone(), actor, base })
    }
}
