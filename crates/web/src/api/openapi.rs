//! The OpenAPI 3 document of both APIs, generated from the resource schema
//! so it cannot drift from what the handlers accept.

use super::{Ctx, JsonApi};
use axum::response::{IntoResponse, Response};
use domain::access::{Method, Scope};
use domain::schema::{Kind, Mode, Resource, RESOURCES};
use serde_json::{json, Map, Value as Json};

fn attr_schema(kind: Kind) -> Json {
    match kind {
        Kind::Int { min, max } => json!({ "type": "integer", "format": "int64", "minimum": min, "maximum": max }),
        Kind::IntOf(v) => json!({ "type": "integer", "enum": v }),
        Kind::Seconds { min, max } => json!({ "type": "integer", "format": "int64", "minimum": 0, "maximum": max,
            "description": format!("seconds; 0 turns it off, otherwise at least {min}") }),
        Kind::Bool => json!({ "type": "boolean" }),
        Kind::Enum(v) => json!({ "type": "string", "enum": v }),
        Kind::Digits { min, max } => json!({ "type": "string", "pattern": format!("^[0-9]{{{min},{max}}}$") }),
        Kind::Time => json!({ "type": "string", "format": "date-time" }),
        Kind::Json => json!({ "type": "object" }),
        Kind::Codecs => json!({ "type": "array", "items": { "type": "string", "enum": domain::codec::CODECS } }),
        Kind::PhoneNumbers { max } => json!({ "type": "array", "maxItems": max, "uniqueItems": true,
            "items": { "type": "string", "pattern": "^\\+?[0-9]{1,15}$" } }),
        Kind::Prefixes { max } => json!({ "type": "array", "maxItems": max, "uniqueItems": true,
            "items": { "type": "string", "pattern": "^\\+?[0-9]{1,15}$" } }),
        Kind::Sources { max } => json!({ "type": "array", "maxItems": max, "uniqueItems": true,
            "items": { "type": "string", "description": "an IPv4/IPv6 address or CIDR range" } }),
        k if k.is_list() => json!({ "type": "array", "items": { "type": "string" } }),
        Kind::Text { max } => json!({ "type": "string", "maxLength": max }),
        Kind::Secret => json!({ "type": "string", "format": "password", "maxLength": 128 }),
        Kind::RewriteRule => json!({ "type": "string", "description": "regular expression; \\1..\\9 in the result refer to its groups" }),
        _ => json!({ "type": "string" }),
    }
}

fn resource_schema(res: &Resource, scope: Scope) -> Json {
    let mut props = Map::new();
    let mut required = Vec::new();
    for f in res.fields.iter().skip(1) {
        let mut s = attr_schema(f.kind);
        if f.nullable {
            s["nullable"] = json!(true);
        }
        match f.mode {
            Mode::ReadOnly => s["readOnly"] = json!(true),
            Mode::Hashed => s["writeOnly"] = json!(true),
            _ => {}
        }
        if !scope.may_ever_set(res, f.name) && f.mode != Mode::ReadOnly {
            s["readOnly"] = json!(true);
        }
        if f.required {
            required.push(f.name);
        }
        props.insert(f.name.into(), s);
    }
    let mut rels = Map::new();
    for r in res.rels {
        let linkage = json!({ "type": "object", "nullable": !r.required && !r.many,
            "properties": { "type": { "type": "string", "enum": r.targets }, "id": { "type": "string" } } });
        let data = if r.many { json!({ "type": "array", "items": linkage }) } else { linkage };
        rels.insert(r.name.into(), json!({ "type": "object", "properties": { "data": data } }));
    }
    json!({
        "type": "object",
        "properties": {
            "id": { "type": "string" },
            "type": { "type": "string", "enum": [res.kind] },
            "attributes": { "type": "object", "properties": props, "required": required },
            "relationships": { "type": "object", "properties": rels },
        }
    })
}

fn doc_of(name: &str) -> Json {
    json!({ "type": "object", "properties": { "data": { "$ref": format!("#/components/schemas/{name}") } } })
}

fn body(name: &str) -> Json {
    json!({ "required": true, "content": { "application/vnd.api+json": { "schema": doc_of(name) } } })
}

fn ok(name: &str, list: bool) -> Json {
    let schema = if list {
        json!({ "type": "object", "properties": { "data": { "type": "array", "items": { "$ref": format!("#/components/schemas/{name}") } } } })
    } else {
        doc_of(name)
    };
    json!({ "content": { "application/vnd.api+json": { "schema": schema } } })
}

pub fn build(scope: Scope, server: &str) -> Json {
    let customer = scope.is_customer();
    let mut paths = Map::new();
    let mut schemas = Map::new();
    let errors = json!({ "$ref": "#/components/responses/Error" });
    for res in RESOURCES.iter().copied() {
        if !scope.sees(res) {
            continue;
        }
        let offers = |m| scope.offers(res, m);
        schemas.insert(res.kind.into(), resource_schema(res, scope));
        let tag = json!([res.kind]);
        let mut params = vec![
            json!({ "name": "sort", "in": "query", "schema": { "type": "string" }, "description": "comma-separated attributes, `-` for descending" }),
            json!({ "name": "page[number]", "in": "query", "schema": { "type": "integer", "minimum": 1 } }),
            json!({ "name": "page[size]", "in": "query", "schema": { "type": "integer", "minimum": 1, "maximum": 100 } }),
            json!({ "name": "include", "in": "query", "schema": { "type": "string" } }),
            json!({ "name": format!("fields[{}]", res.kind), "in": "query", "schema": { "type": "string" } }),
        ];
        if res.cdr {
            params.push(json!({ "name": "filter[time_start_gteq]", "in": "query", "required": true, "schema": { "type": "string", "example": "2026-01-01 00:00:00" } }));
            params.push(json!({ "name": "page[after]", "in": "query", "schema": { "type": "string" }, "description": "keyset cursor from links.next" }));
        }
        for f in res.fields.iter().filter(|f| super::params::queryable(f)) {
            if !(res.cdr && f.name == "time_start") {
                params.push(json!({ "name": format!("filter[{}]", f.name), "in": "query", "schema": { "type": "string" } }));
            }
        }
        for r in res.rels.iter().filter(|r| !r.many) {
            params.push(json!({ "name": format!("filter[{}.id]", r.name), "in": "query", "schema": { "type": "string" } }));
        }
        let mut coll = Map::new();
        if res.kind == "domain_settings" {
            coll.insert("get".into(), json!({ "tags": tag, "responses": { "200": ok(res.kind, false), "4XX": errors } }));
            if offers(Method::Update) {
                coll.insert(
                    "patch".into(),
                    json!({ "tags": tag, "requestBody": body(res.kind), "responses": { "200": ok(res.kind, false), "4XX": errors } }),
                );
            }
            paths.insert(format!("/{}", res.kind), Json::Object(coll));
            continue;
        }
        coll.insert("get".into(), json!({ "tags": tag, "parameters": params, "responses": { "200": ok(res.kind, true), "4XX": errors } }));
        if offers(Method::Create) {
            coll.insert(
                "post".into(),
                json!({ "tags": tag, "requestBody": body(res.kind), "responses": { "201": ok(res.kind, false), "4XX": errors } }),
            );
        }
        paths.insert(format!("/{}", res.kind), Json::Object(coll));
        paths.insert(
            format!("/{}.csv", res.kind),
            json!({ "get": { "tags": tag, "summary": "the filtered list as CSV", "responses": { "200": { "content": { "text/csv": {} } }, "4XX": errors } } }),
        );
        let id = json!([{ "name": "id", "in": "path", "required": true, "schema": { "type": "string" } }]);
        let mut item = Map::new();
        item.insert("get".into(), json!({ "tags": tag, "parameters": id, "responses": { "200": ok(res.kind, false), "4XX": errors } }));
        if offers(Method::Update) {
            item.insert("patch".into(), json!({ "tags": tag, "parameters": id, "requestBody": body(res.kind), "responses": { "200": ok(res.kind, false), "4XX": errors } }));
        }
        if offers(Method::Delete) {
            item.insert(
                "delete".into(),
                json!({ "tags": tag, "parameters": id, "responses": { "204": { "description": "deleted" }, "4XX": errors } }),
            );
        }
        paths.insert(format!("/{}/{{id}}", res.kind), Json::Object(item));
    }
    if !customer {
        for kind in ["sessions", "customer_admin_sessions"] {
            paths.insert(
                format!("/{kind}"),
                json!({ "post": { "tags": ["sessions"], "summary": "a one-time link that opens the customer's UI signed in",
                    "responses": { "201": { "content": { "application/vnd.api+json": {} } }, "4XX": errors } } }),
            );
        }
    }
    paths.insert(format!("/{}", super::route_tests::KIND), route_test_path(customer, &errors));
    json!({
        "openapi": "3.0.3",
        "info": {
            "title": if customer { "Switchboard customer API" } else { "Switchboard operator API" },
            "version": env!("CARGO_PKG_VERSION"),
            "description": "JSON:API, wire-compatible with the phone.systems Operator API.",
        },
        "servers": [{ "url": server }],
        "security": [{ "basic": [] }],
        "paths": paths,
        "components": {
            "securitySchemes": { "basic": { "type": "http", "scheme": "basic" } },
            "schemas": schemas,
            "responses": { "Error": { "description": "JSON:API error document", "content": { "application/vnd.api+json": { "schema": {
                "type": "object", "properties": { "errors": { "type": "array", "items": { "type": "object", "properties": {
                    "title": { "type": "string" }, "detail": { "type": "string" }, "code": { "type": "string" }, "status": { "type": "string" },
                    "source": { "type": "object" } } } } } } } } } },
        },
    })
}

/// `POST /termination_route_tests`: written by hand, it is no stored resource.
fn route_test_path(customer: bool, errors: &Json) -> Json {
    let kind = super::route_tests::KIND;
    let number = json!({ "type": "string", "pattern": "^[0-9+*#]{0,64}$" });
    let customer_rel = json!({ "type": "object", "properties": { "data": { "type": "object",
        "properties": { "type": { "type": "string", "enum": ["customers"] }, "id": { "type": "string" } } } } });
    let request = json!({ "type": "object", "properties": { "data": { "type": "object", "required": ["type", "attributes"], "properties": {
        "type": { "type": "string", "enum": [kind] },
        "attributes": { "type": "object", "required": ["src_number", "dst_number"],
            "properties": { "src_number": number, "dst_number": number } },
        "relationships": { "type": "object", "required": if customer { json!([]) } else { json!(["customer"]) },
            "properties": { "customer": customer_rel } },
    } } } });
    let attempt = json!({ "type": "object", "properties": {
        "position": { "type": "integer", "minimum": 1 },
        "route_id": { "type": "string" }, "route_name": { "type": "string" },
        "gateway_id": { "type": "string" }, "gateway_name": { "type": "string" },
        "shared_gateway": { "type": "boolean" },
        "host": { "type": "string", "nullable": true }, "port": { "type": "integer", "nullable": true },
        "network_protocol": { "type": "string", "nullable": true }, "transport_protocol": { "type": "string", "nullable": true },
        "src_number_out": { "type": "string" }, "dst_number_out": { "type": "string" },
    } });
    let response = json!({ "type": "object", "properties": { "data": { "type": "object", "properties": {
        "type": { "type": "string", "enum": [kind] }, "id": { "type": "string" },
        "attributes": { "type": "object", "properties": {
            "src_number": { "type": "string" }, "dst_number": { "type": "string" },
            "trm_mode": { "type": "string", "enum": domain::schema::TRM_MODES },
            "attempts": { "type": "array", "items": attempt } } },
        "relationships": { "type": "object", "properties": { "customer": customer_rel } },
    } } } });
    let summary = if customer {
        "the routes and gateways one of your calls would try, in order, with rewritten numbers; no call is made"
    } else {
        "the routes and gateways a customer's call would try, in order, with rewritten numbers; no call is made"
    };
    json!({ "post": { "tags": [kind], "summary": summary,
        "requestBody": { "required": true, "content": { "application/vnd.api+json": { "schema": request } } },
        "responses": { "200": { "content": { "application/vnd.api+json": { "schema": response } } }, "4XX": errors } } })
}

pub async fn document(ctx: Ctx) -> Response {
    JsonApi(build(ctx.scope(), &ctx.base)).into_response()
}
