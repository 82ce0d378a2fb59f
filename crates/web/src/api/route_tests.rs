//! The route test: which termination routes and gateways a call from a
//! customer would try, in order, with the numbers each gateway would get.
//! No call is made and nothing is stored. `POST /termination_route_tests`
//! in both APIs; a customer may only test its own calls. Selection is the
//! SIP plane's own code (`domain::routing`) over the rows that can match.

use super::error::{ApiError, ApiResult};
use super::{Ctx, JsonApi};
use axum::body::Bytes;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use domain::access::Scope;
use domain::routing::{Attempt, RouteTable};
use domain::schema;
use serde_json::{json, Value as Json};

pub const KIND: &str = "termination_route_tests";
/// Longest number accepted (E.164 is 15 digits; room for prefixes and tech prefixes).
const MAX_NUMBER: usize = 64;

/// What the request asks: numbers as dialled and, for the operator, whose call.
struct TestInput {
    src: String,
    dst: String,
    customer: Option<i64>,
}

/// Digits and the dial-pad symbols a phone can send; `dst` may not be empty.
fn number(attrs: &Json, name: &str, may_be_empty: bool) -> Result<String, ApiError> {
    let v = match attrs.get(name) {
        None | Some(Json::Null) => return Err(ApiError::invalid(name, "can't be blank", false)),
        Some(Json::String(s)) => s.clone(),
        Some(Json::Number(n)) if n.is_u64() => n.to_string(),
        Some(_) => return Err(ApiError::invalid(name, "must be a string of digits", false)),
    };
    if v.is_empty() && !may_be_empty {
        return Err(ApiError::invalid(name, "can't be blank", false));
    }
    if v.len() > MAX_NUMBER {
        return Err(ApiError::invalid(name, &format!("is too long (maximum is {MAX_NUMBER} characters)"), false));
    }
    if !v.bytes().all(|b| b.is_ascii_digit() || matches!(b, b'+' | b'*' | b'#')) {
        return Err(ApiError::invalid(name, "may only contain digits, +, * and #", false));
    }
    Ok(v)
}

fn parse(body: &[u8]) -> ApiResult<TestInput> {
    let data = super::document::request_data(body)?;
    let members = super::document::members;
    let obj = members(&data, Some(&["type", "attributes", "relationships"]), "/data")?;
    if let Some(a) = obj.get("attributes") {
        members(a, Some(&["src_number", "dst_number"]), "/data/attributes")?;
    }
    if let Some(r) = obj.get("relationships") {
        if let Some(c) = members(r, Some(&["customer"]), "/data/relationships")?.get("customer") {
            let linkage = members(c, Some(&["data"]), "/data/relationships/customer")?.get("data").ok_or_else(|| {
                ApiError::bad_request("relationships.customer needs a data member.").pointer("/data/relationships/customer")
            })?;
            if !linkage.is_null() {
                members(linkage, Some(&["type", "id"]), "/data/relationships/customer/data")?;
            }
        }
    }
    if data.get("type").and_then(Json::as_str) != Some(KIND) {
        return Err(ApiError::new(StatusCode::CONFLICT, "Type mismatch", format!("data.type must be {KIND}."))
            .code("409")
            .pointer("/data/type"));
    }
    let attrs = data.get("attributes").cloned().unwrap_or(Json::Null);
    let customer = match data.pointer("/relationships/customer/data") {
        None | Some(Json::Null) => None,
        Some(linkage) => {
            let id = match linkage.get("id") {
                Some(Json::String(s)) => s.parse::<i64>().ok(),
                Some(Json::Number(n)) => n.as_i64(),
                _ => None,
            };
            let typed = linkage.get("type").and_then(Json::as_str) == Some("customers");
            match id.filter(|_| typed) {
                Some(id) => Some(id),
                None => return Err(ApiError::invalid("customer", "must be {\"type\":\"customers\",\"id\":…}", true)),
            }
        }
    };
    let (src, dst) = (number(&attrs, "src_number", true), number(&attrs, "dst_number", false));
    match (src, dst) {
        (Ok(src), Ok(dst)) => Ok(TestInput { src, dst, customer }),
        (Err(mut a), Err(b)) => {
            a.more.push(b);
            Err(a)
        }
        (Err(e), _) | (_, Err(e)) => Err(e),
    }
}

/// Same wording as the store for a relationship to a record the caller
/// cannot see: a customer never learns whether another customer exists.
fn no_such_customer(id: i64) -> ApiError {
    ApiError::invalid("customer", &format!("customers {id} does not exist"), true)
}

fn attempt_json(position: usize, a: &Attempt, scope: Scope) -> Json {
    let g = &a.gateway;
    // A customer does not see the operator's shared gateways in its API;
    // the route test names them but keeps where they are to the operator.
    let hidden = !scope.sees_gateway_address(g.customer_id);
    let reveal = |v: Json| if hidden { Json::Null } else { v };
    json!({
        "position": position,
        "route_id": a.route_id.to_string(),
        "route_name": a.route_name,
        "gateway_id": g.id.to_string(),
        "gateway_name": g.name,
        "shared_gateway": g.customer_id.is_none(),
        "host": reveal(json!(g.host)),
        "port": reveal(json!(g.port)),
        "network_protocol": reveal(json!(g.network_protocol)),
        "transport_protocol": reveal(json!(g.transport_protocol)),
        "src_number_out": a.src_number_out,
        "dst_number_out": a.dst_number_out,
    })
}

pub async fn run(ctx: Ctx, body: Bytes) -> ApiResult<Response> {
    let input = parse(&body)?;
    // Another customer's routes are as unknown as a missing customer.
    let customer = match ctx.scope().owner(&schema::ROUTES, input.customer) {
        Ok(Some(c)) => c,
        Ok(None) => return Err(ApiError::invalid("customer", "must exist", true)),
        Err(_) => return Err(no_such_customer(input.customer.unwrap_or_default())),
    };
    let config = ctx.app.store().route_candidates(customer, &input.dst).await?;
    let Some(&mode) = config.modes.get(&customer) else { return Err(no_such_customer(customer)) };
    let table = RouteTable::build(config.routes, config.gateways, config.default_route_id);
    for w in table.warnings() {
        tracing::warn!(warning = %w, "termination routing");
    }
    let attempts: Vec<Json> =
        table.plan(customer, mode, &input.src, &input.dst).iter().enumerate().map(|(i, a)| attempt_json(i + 1, a, ctx.scope())).collect();
    let id = store::auth::random_token(16);
    let doc = json!({ "data": {
        "type": KIND,
        "id": id,
        "attributes": {
            "src_number": input.src,
            "dst_number": input.dst,
            "trm_mode": mode.as_str(),
            "attempts": attempts,
        },
        "relationships": { "customer": { "data": { "type": "customers", "id": customer.to_string() } } },
    } });
    Ok((StatusCode::OK, JsonApi(doc)).into_response())
}
