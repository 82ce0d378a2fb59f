//! Customer sessions: the operator asks for a one-time link that opens a
//! customer's UI signed in (`/sessions`, which also cancels that customer's
//! previous session, and `/customer_admin_sessions`, staff access that
//! leaves the customer's own session alone). The link's short-lived signed
//! token is exchanged at `/auth` for a session cookie.

use super::auth::SESSION_COOKIE;
use super::error::{ApiError, ApiResult};
use super::{Ctx, JsonApi};
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use domain::schema;
use serde_json::{json, Value as Json};
use std::collections::HashMap;
use store::auth::random_token;
use store::Scope;

/// How long the link in `uri` may be used.
const LINK_TTL_SECS: i64 = 300;
/// How long the UI session it opens lasts.
const CUSTOMER_SESSION_SECS: i64 = 12 * 3600;
const ADMIN_SESSION_SECS: i64 = 8 * 3600;
/// Where the customer UI lives.
pub const CUSTOMER_UI_PATH: &str = "/customer/";

fn now_secs() -> i64 {
    domain::time::now_ms() / 1000
}

/// The customer named by `{"data":{"type":T,"relationships":{"customer":{"data":{"id":…}}}}}`.
fn session_customer(body: &[u8], kind: &str) -> ApiResult<i64> {
    let data = &super::document::request_data(body)?;
    let members = super::document::members;
    let rels = members(data, Some(&["type", "relationships"]), "/data")?.get("relationships");
    if let Some(c) = rels.map(|r| members(r, Some(&["customer"]), "/data/relationships")).transpose()?.and_then(|r| r.get("customer")) {
        if let Some(l) = members(c, Some(&["data"]), "/data/relationships/customer")?.get("data").filter(|l| !l.is_null()) {
            members(l, Some(&["type", "id"]), "/data/relationships/customer/data")?;
        }
    }
    if data.get("type").and_then(Json::as_str) != Some(kind) {
        return Err(ApiError::new(StatusCode::CONFLICT, "Type mismatch", format!("data.type must be {kind}."))
            .code("409")
            .pointer("/data/type"));
    }
    let id = &data["relationships"]["customer"]["data"]["id"];
    match id {
        Json::Number(n) => n.as_i64(),
        Json::String(s) => s.parse().ok(),
        _ => None,
    }
    .ok_or_else(|| ApiError::invalid("customer", "must exist", true))
}

async fn open(ctx: Ctx, body: Bytes, kind: &str, admin: bool) -> ApiResult<Response> {
    let customer = session_customer(&body, kind)?;
    let base = ctx.base.replace(super::CUSTOMER_BASE, super::OPERATOR_BASE);
    let (jti, uri) = open_link(&ctx.app, &ctx.actor, customer, admin, &base).await?;
    let doc = json!({ "data": { "id": jti, "type": "sessions", "attributes": { "uri": uri } } });
    Ok((StatusCode::CREATED, JsonApi(doc)).into_response())
}

/// Makes a one-time link (`<operator_base>/auth?token=…`) that opens the
/// customer's UI signed in, and records who asked in the audit log.
/// `admin`: staff access that leaves the customer's own session alone.
/// Returns the link's token id and the link. The operator UI's OPEN UI
/// button goes through here too.
pub(crate) async fn open_link(
    app: &crate::App,
    actor: &store::Actor,
    customer: i64,
    admin: bool,
    operator_base: &str,
) -> ApiResult<(String, String)> {
    app.store().get(&schema::CUSTOMERS, Scope::Operator, customer).await.map_err(|e| match e {
        store::Error::NotFound => ApiError::not_found(&customer.to_string()),
        other => other.into(),
    })?;
    let jti = random_token(24);
    let exp = now_secs() + LINK_TTL_SECS;
    let scope = if admin { "customer_admin_link" } else { "customer_link" };
    if !admin {
        app.store().start_customer_session(customer, &jti, exp * 1000).await?;
    }
    // Staff access carries who opened it: its changes are audited as that
    // operator; `staff`: the operator user behind it, whose UI preferences
    // (time zone, columns) the customer UI then reads.
    let staff = if admin && actor.kind == "operator_user" { actor.id.as_str() } else { "" };
    let token = app.sign_token(&json!({ "sub": customer, "exp": exp, "jti": jti, "scope": scope, "by": actor.name, "staff": staff }));
    let uri = format!("{operator_base}/auth?token={token}");
    let kind = if admin { "customer_admin_sessions" } else { "sessions" };
    app.store().log_event(actor, "open_ui", kind, customer, json!({ "customer_id": customer, "staff": admin })).await?;
    Ok((jti, uri))
}

pub async fn customer_session(ctx: Ctx, body: Bytes) -> ApiResult<Response> {
    open(ctx, body, "sessions", false).await
}

pub async fn admin_session(ctx: Ctx, body: Bytes) -> ApiResult<Response> {
    open(ctx, body, "customer_admin_sessions", true).await
}

/// Exchanges a link token for a session cookie and sends the browser to
/// the customer UI. A customer link works once.
pub async fn exchange(State(app): State<crate::App>, Query(q): Query<HashMap<String, String>>) -> ApiResult<Response> {
    let claims = q.get("token").and_then(|t| app.verify_token(t)).ok_or_else(ApiError::unauthorized)?;
    let customer = claims["sub"].as_i64().ok_or_else(ApiError::unauthorized)?;
    let (scope, ttl) = match claims["scope"].as_str() {
        Some("customer_link") => {
            let jti = claims["jti"].as_str().unwrap_or_default();
            if !app.store().customer_session_live(customer, jti).await? {
                return Err(ApiError::unauthorized());
            }
            ("customer_ui", CUSTOMER_SESSION_SECS)
        }
        Some("customer_admin_link") => ("customer_admin_ui", ADMIN_SESSION_SECS),
        _ => return Err(ApiError::unauthorized()),
    };
    let jti = random_token(24);
    let exp = now_secs() + ttl;
    if scope == "customer_ui" {
        // Replacing the live token id makes the link single-use.
        app.store().start_customer_session(customer, &jti, exp * 1000).await?;
    }
    let by = if scope == "customer_admin_ui" { claims["by"].clone() } else { Json::Null };
    let staff = claims["staff"].as_str().unwrap_or_default();
    let token = app.sign_token(&json!({ "sub": customer, "exp": exp, "jti": jti, "scope": scope, "by": by, "staff": staff }));
    let mut resp = Redirect::to(CUSTOMER_UI_PATH).into_response();
    let cookie = format!("{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Lax; Max-Age={ttl}");
    resp.headers_mut().insert(header::SET_COOKIE, HeaderValue::from_str(&cookie).map_err(|_| ApiError::internal())?);
    Ok(resp)
}
