//! The OpenAPI 3 document of both APIs, generated from the resource schema
//! so it cannot drift from what the handlers accept: per resource a
//! response object (no attribute is required, as sparse fieldsets may drop
//! any), a create and an update body (only what this scope may write, the
//! required attributes and relationships of a create), the query
//! parameters a list takes, and links that feed created ids onward.

mod values;

use super::{Ctx, JsonApi};
use axum::response::{IntoResponse, Response};
use domain::access::{Method, Scope};
use domain::schema::{self, Default, Mode, Resource, RESOURCES};
use serde_json::{json, Map, Value as Json};

const JSON_API: &str = "application/vnd.api+json";

fn schema_ref(name: &str) -> Json {
    json!({ "$ref": format!("#/components/schemas/{name}") })
}

/// A resource id in a request: the decimal digits of a positive 64-bit
/// integer (a JSON number is accepted too).
fn id_in() -> Json {
    json!({ "anyOf": [{ "type": "string", "pattern": format!("^\\s*{}\\s*$", values::i64_digits()) }, { "type": "integer", "minimum": 1, "maximum": i64::MAX }],
        "description": "a positive 64-bit integer, as a string or a number" })
}

/// A resource object as answered.
fn resource_schema(res: &Resource) -> Json {
    let mut props = Map::new();
    for f in res.fields.iter().skip(1) {
        let generated = f.default == Default::Generated;
        if f.mode == Mode::Hashed && !generated {
            continue;
        }
        let mut s = values::response(f.kind);
        if f.nullable && s.get("type").is_some() {
            s["nullable"] = json!(true);
        }
        if f.mode == Mode::ReadOnly {
            s["readOnly"] = json!(true);
        }
        if f.mode == Mode::Hashed {
            s["description"] = json!("answered once, in the response that created it; stored only as a hash");
        }
        props.insert(f.name.into(), s);
    }
    let mut rels = Map::new();
    for r in res.rels {
        let linkage = json!({ "type": "object", "required": ["type", "id"],
            "properties": { "type": { "type": "string", "enum": r.targets }, "id": { "type": "string" } } });
        let data = if r.many {
            json!({ "type": "array", "items": linkage })
        } else {
            let mut l = linkage;
            l["nullable"] = json!(true);
            l
        };
        rels.insert(
            r.name.into(),
            json!({ "type": "object", "required": ["links", "data"], "properties": {
                "links": { "type": "object", "properties": { "self": { "type": "string" }, "related": { "type": "string" } } },
                "data": data } }),
        );
    }
    json!({
        "type": "object",
        "required": ["id", "type", "links"],
        "properties": {
            "id": { "type": "string" },
            "type": { "type": "string", "enum": [res.kind] },
            "links": { "type": "object", "required": ["self"], "properties": { "self": { "type": "string" } } },
            // Sparse fieldsets (`fields[TYPE]`) may leave out any member.
            "attributes": { "type": "object", "properties": props },
            "relationships": { "type": "object", "properties": rels },
        }
    })
}

/// The `data` of a POST (`creating`) or PATCH body: what this scope may
/// write, nothing else (an unknown member is a 400).
fn request_schema(res: &Resource, scope: Scope, creating: bool) -> Json {
    let mut props = Map::new();
    let mut required = Vec::new();
    for f in res.fields.iter().skip(1) {
        if !f.writable(creating) || !scope.may_ever_set(res, f.name) {
            continue;
        }
        let mut s = values::request(f.kind);
        if f.nullable {
            s["nullable"] = json!(true);
        }
        if f.mode == Mode::Hashed {
            s["writeOnly"] = json!(true);
        }
        if creating && f.required {
            required.push(f.name);
        }
        props.insert(f.name.into(), s);
    }
    let mut rels = Map::new();
    let mut rels_required = Vec::new();
    for r in res.rels {
        if !(creating || r.updatable) || !scope.may_ever_set(res, r.name) {
            continue;
        }
        let types: Vec<&str> = r.targets.iter().copied().chain(r.aliases.iter().map(|(a, _)| *a)).collect();
        let linkage = json!({ "type": "object", "required": ["type", "id"], "additionalProperties": false,
            "properties": { "type": { "type": "string", "enum": types }, "id": id_in() } });
        let data = if r.many {
            json!({ "type": "array", "items": linkage, "uniqueItems": true, "maxItems": schema::RING_GROUP_MAX_MEMBERS,
                "description": "the whole list, in order; each once" })
        } else {
            let mut l = linkage;
            if !r.required {
                l["nullable"] = json!(true);
            }
            l
        };
        // A customer's records are its own: it need not name itself.
        let implied = scope.is_customer() && r.name == "customer";
        if creating && r.required && !implied {
            rels_required.push(r.name);
        }
        rels.insert(
            r.name.into(),
            json!({ "type": "object", "required": ["data"], "additionalProperties": false, "properties": { "data": data } }),
        );
    }
    let mut data_props = Map::new();
    data_props.insert("type".into(), json!({ "type": "string", "enum": [res.kind] }));
    if res.kind == "domain_settings" {
        data_props.insert("id".into(), json!({ "type": "string", "enum": ["1"] }));
    } else if !creating {
        let mut id = id_in();
        id["description"] = json!("the id in the path (another is a 409); null is the same as leaving it out");
        id["nullable"] = json!(true);
        data_props.insert("id".into(), id);
    } else if res.client_ids && !scope.is_customer() {
        let mut id = id_in();
        id["description"] = json!("an id of the client's choosing (a taken one is a 409); without it the server picks one");
        id["nullable"] = json!(true);
        data_props.insert("id".into(), id);
    }
    // JSON:API lets a resource object carry these; they are not read.
    data_props.insert("links".into(), json!({ "type": "object" }));
    data_props.insert("meta".into(), json!({ "type": "object" }));
    let mut data_required = vec!["type"];
    if !props.is_empty() {
        let mut attrs = json!({ "type": "object", "additionalProperties": false, "properties": props });
        if !required.is_empty() {
            attrs["required"] = json!(required);
            data_required.push("attributes");
        }
        data_props.insert("attributes".into(), attrs);
    }
    if !rels.is_empty() {
        let mut r = json!({ "type": "object", "additionalProperties": false, "properties": rels });
        if !rels_required.is_empty() {
            r["required"] = json!(rels_required);
            data_required.push("relationships");
        }
        data_props.insert("relationships".into(), r);
    }
    json!({ "type": "object", "required": data_required, "additionalProperties": false, "properties": data_props })
}

/// A request document: `data`, and the top-level `meta` and `jsonapi`
/// JSON:API allows (not read); any other member is a 400.
fn document_schema(data: Json) -> Json {
    json!({ "type": "object", "required": ["data"], "additionalProperties": false,
        "properties": { "data": data, "meta": { "type": "object" }, "jsonapi": { "type": "object" } } })
}

fn body(name: &str) -> Json {
    json!({ "required": true, "content": { JSON_API: { "schema": document_schema(schema_ref(name)) } } })
}

/// The settings' request body, with an example: every attribute is
/// optional and several are checked against each other, so a client (and a
/// generator such as schemathesis) gets one change that is always taken.
fn settings_body(name: &str) -> Json {
    let mut b = body(name);
    b["content"][JSON_API]["example"] =
        json!({ "data": { "type": "domain_settings", "id": "1", "attributes": { "media_timeout": 60, "nat_keepalive": 30 } } });
    b
}

/// A document answered with one resource (or a list of them), and the
/// resources `include` may add.
fn ok(res: &Resource, scope: Scope, list: bool, description: &str) -> Json {
    let data = if list { json!({ "type": "array", "items": schema_ref(res.kind) }) } else { schema_ref(res.kind) };
    let included: Vec<Json> = included_types(res, scope).into_iter().map(schema_ref).collect();
    let mut props = json!({ "data": data, "meta": { "type": "object" } });
    if !included.is_empty() {
        props["included"] = json!({ "type": "array", "items": { "anyOf": included } });
    }
    if list {
        props["links"] = json!({ "type": "object", "properties": {
            "first": { "type": "string" }, "prev": { "type": "string" }, "next": { "type": "string" }, "last": { "type": "string" } } });
    }
    json!({ "description": description, "content": { JSON_API: { "schema": { "type": "object", "required": ["data"], "properties": props } } } })
}

/// The types `include` can bring in for `res` in this scope.
fn included_types(res: &Resource, scope: Scope) -> Vec<&'static str> {
    let mut types: Vec<&str> =
        res.rels.iter().flat_map(|r| r.targets.iter().copied()).filter(|t| schema::resource(t).is_some_and(|x| scope.sees(x))).collect();
    types.sort_unstable();
    types.dedup();
    types
}

fn query(name: &str, schema: Json) -> Json {
    json!({ "name": name, "in": "query", "schema": schema })
}

/// `include` and `fields[TYPE]`: every request that answers resources takes them.
fn shape_params(res: &Resource, scope: Scope) -> Vec<Json> {
    let mut out = Vec::new();
    let rels: Vec<&str> = res.rels.iter().map(|r| r.name).collect();
    if !rels.is_empty() {
        out.push(query("include", values::name_list(&rels, false)));
    }
    let mut types = vec![res.kind];
    types.extend(included_types(res, scope).into_iter().filter(|t| *t != res.kind));
    for t in types {
        let target = schema::resource(t).expect("known type");
        let names: Vec<&str> = target
            .fields
            .iter()
            .skip(1)
            .filter(|f| f.mode != Mode::Hashed || f.default == Default::Generated)
            .map(|f| f.name)
            .chain(target.rels.iter().map(|r| r.name))
            .collect();
        let mut p = query(&format!("fields[{t}]"), values::name_list(&names, false));
        p["description"] = json!("sparse fieldset: only these attributes and relationships of this type");
        out.push(p);
    }
    out
}

/// The query parameters of a list: sort, page, filters, include, fields.
fn list_params(res: &Resource, scope: Scope) -> Vec<Json> {
    let sortable: Vec<&str> = res.fields.iter().filter(|f| super::params::sortable(f)).map(|f| f.name).collect();
    let mut params = vec![
        query("sort", values::name_list(&sortable, true)),
        query("page[number]", json!({ "type": "integer", "minimum": 1, "maximum": super::params::MAX_PAGE_NUMBER })),
        query("page[size]", json!({ "type": "integer", "minimum": 1, "maximum": super::params::MAX_PAGE_SIZE })),
    ];
    params[0]["description"] = json!("comma-separated attributes, `-` for descending");
    params.extend(shape_params(res, scope));
    if res.cdr {
        let mut p = query("filter[time_start_gteq]", values::filter(schema::Kind::Time));
        p["required"] = json!(true);
        params.push(p);
    }
    for f in res.fields.iter().filter(|f| super::params::queryable(f)) {
        if !(res.cdr && f.name == "time_start") {
            params.push(query(&format!("filter[{}]", f.name), values::filter(f.kind)));
        }
    }
    for r in res.rels.iter().filter(|r| !r.many) {
        params.push(query(&format!("filter[{}.id]", r.name), values::filter(schema::Kind::Int { min: 1, max: i64::MAX })));
    }
    params
}

fn op_id(verb: &str, res: &Resource) -> String {
    format!("{verb}_{}", res.kind)
}

/// Links from a created (or read) record to what can use its id: its own
/// read, update and delete, and the creates of resources that refer to it.
fn links(res: &Resource, scope: Scope, item_ops: &[&str]) -> Json {
    let mut out = Map::new();
    for verb in item_ops {
        let mut link = json!({ "operationId": op_id(verb, res), "parameters": { "path.id": "$response.body#/data/id" } });
        if *verb == "update" {
            // A PATCH body names the record of its path.
            link["requestBody"] = json!({ "data": { "type": res.kind, "id": "$response.body#/data/id" } });
        }
        out.insert(format!("{verb}_it"), link);
    }
    for other in RESOURCES.iter().copied().filter(|o| scope.sees(o) && scope.offers(o, Method::Create) && o.kind != "domain_settings") {
        for r in other.rels.iter().filter(|r| r.targets.contains(&res.kind) && scope.may_ever_set(other, r.name)) {
            let linkage = json!({ "type": res.kind, "id": "$response.body#/data/id" });
            let data = if r.many { json!([linkage]) } else { linkage };
            out.insert(
                format!("create_{}_with_{}", other.kind, r.name),
                json!({ "operationId": op_id("create", other),
                    "requestBody": { "data": { "type": other.kind, "relationships": { r.name: { "data": data } } } } }),
            );
        }
    }
    Json::Object(out)
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
        schemas.insert(res.kind.into(), resource_schema(res));
        let tag = json!([res.kind]);
        let mut coll = Map::new();
        if res.kind == "domain_settings" {
            coll.insert(
                "get".into(),
                json!({ "tags": tag, "operationId": op_id("show", res), "parameters": shape_params(res, scope),
                    "responses": { "200": ok(res, scope, false, "the settings"), "4XX": errors } }),
            );
            if offers(Method::Update) {
                schemas.insert(format!("{}_update", res.kind), request_schema(res, scope, false));
                coll.insert(
                    "patch".into(),
                    json!({ "tags": tag, "operationId": op_id("update", res), "parameters": shape_params(res, scope),
                        "requestBody": settings_body(&format!("{}_update", res.kind)),
                        "responses": { "200": ok(res, scope, false, "the settings as changed"), "4XX": errors } }),
                );
            }
            paths.insert(format!("/{}", res.kind), Json::Object(coll));
            continue;
        }
        let mut item_ops = vec!["show"];
        if offers(Method::Update) {
            item_ops.push("update");
        }
        if offers(Method::Delete) {
            item_ops.push("delete");
        }
        let mut listed = ok(res, scope, true, "one page of the list");
        if !res.cdr {
            listed["content"][JSON_API]["schema"]["properties"]["meta"] = json!({ "type": "object", "properties": {
                "record_count": { "type": "integer" }, "page_count": { "type": "integer" } } });
        }
        let mut list = json!({ "tags": tag, "operationId": op_id("list", res), "parameters": list_params(res, scope),
            "responses": { "200": listed, "4XX": errors } });
        if res.cdr {
            list["description"] = json!("Sorted by -time_start unless asked otherwise. Page on with links.next and back with links.prev (page[after] and page[before], keyset cursors; they need a sort by time_start or id).");
        }
        coll.insert("get".into(), list);
        if offers(Method::Create) {
            schemas.insert(format!("{}_create", res.kind), request_schema(res, scope, true));
            let mut created = ok(res, scope, false, "created");
            created["links"] = links(res, scope, &item_ops);
            coll.insert(
                "post".into(),
                json!({ "tags": tag, "operationId": op_id("create", res), "parameters": shape_params(res, scope),
                    "requestBody": body(&format!("{}_create", res.kind)), "responses": { "201": created, "4XX": errors } }),
            );
        }
        paths.insert(format!("/{}", res.kind), Json::Object(coll));
        if res.cdr {
            paths.insert(format!("/{}/totals", res.kind), totals_path(res, scope, &errors));
        }
        let mut csv_params: Vec<Json> = list_params(res, scope);
        csv_params.retain(|p| !p["name"].as_str().is_some_and(|n| n.starts_with("page[") || n.starts_with("fields[") || n == "include"));
        paths.insert(
            format!("/{}.csv", res.kind),
            json!({ "get": { "tags": tag, "operationId": op_id("export", res), "summary": "the filtered list as CSV", "parameters": csv_params,
                "responses": { "200": { "description": "CSV, a header line first", "content": { "text/csv": { "schema": { "type": "string" } } } }, "4XX": errors } } }),
        );
        let id = json!({ "name": "id", "in": "path", "required": true, "schema": { "type": "string" } });
        let mut with_id = vec![id.clone()];
        with_id.extend(shape_params(res, scope));
        let mut item = Map::new();
        let mut shown = ok(res, scope, false, "the record");
        shown["links"] = links(res, scope, &item_ops[1..]);
        item.insert(
            "get".into(),
            json!({ "tags": tag, "operationId": op_id("show", res), "parameters": with_id, "responses": { "200": shown, "4XX": errors } }),
        );
        if offers(Method::Update) {
            schemas.insert(format!("{}_update", res.kind), request_schema(res, scope, false));
            item.insert(
                "patch".into(),
                json!({ "tags": tag, "operationId": op_id("update", res), "parameters": with_id,
                    "requestBody": body(&format!("{}_update", res.kind)),
                    "responses": { "200": ok(res, scope, false, "the record as changed"), "4XX": errors } }),
            );
        }
        if offers(Method::Delete) {
            item.insert(
                "delete".into(),
                json!({ "tags": tag, "operationId": op_id("delete", res), "parameters": [id],
                    "responses": { "204": { "description": "deleted; no body" }, "4XX": errors } }),
            );
        }
        paths.insert(format!("/{}/{{id}}", res.kind), Json::Object(item));
    }
    if !customer {
        for kind in ["sessions", "customer_admin_sessions"] {
            paths.insert(format!("/{kind}"), session_path(kind, &errors));
        }
    }
    paths.insert(format!("/{}", super::route_tests::KIND), route_test_path(customer, &errors));
    json!({
        "openapi": "3.0.3",
        "info": {
            "title": if customer { "Switchboard customer API" } else { "Switchboard operator API" },
            "version": env!("CARGO_PKG_VERSION"),
            "description": "JSON:API, wire-compatible with the phone.systems Operator API. Every 4xx answers a JSON:API error document; see docs/limits.md for each refusal.",
        },
        "servers": [{ "url": server }],
        "security": [{ "basic": [] }],
        "paths": paths,
        "components": {
            "securitySchemes": { "basic": { "type": "http", "scheme": "basic" } },
            "schemas": schemas,
            "responses": { "Error": error_response() },
        },
    })
}

/// `GET /{cdrs}/totals`: the list's filters in, a meta-only document out.
fn totals_path(res: &Resource, scope: Scope, errors: &Json) -> Json {
    let mut params = list_params(res, scope);
    params.retain(|p| p["name"].as_str().is_some_and(|n| n.starts_with("filter[")));
    let num = json!({ "type": "number", "nullable": true });
    let meta = json!({ "type": "object", "required": ["calls", "answered", "asr", "acd", "seconds", "minutes", "capped", "cap"], "properties": {
        "calls": { "type": "integer" }, "answered": { "type": "integer" },
        "asr": num, "acd": num, "seconds": { "type": "integer" }, "minutes": { "type": "number" },
        "capped": { "type": "boolean", "description": "a filter the hourly rollup cannot answer was counted over the newest `cap` CDRs only: the totals are at least these" },
        "cap": { "type": "integer" } } });
    let doc = json!({ "type": "object", "required": ["meta"], "properties": { "meta": meta } });
    json!({ "get": { "tags": [res.kind], "operationId": op_id("totals", res),
        "summary": "calls, answered, ASR (%), ACD (s) and minutes of the CDRs the list's filters match",
        "parameters": params,
        "responses": { "200": { "description": "the totals", "content": { JSON_API: { "schema": doc } } }, "4XX": errors } } })
}

/// The JSON:API error document every 4xx answers.
fn error_response() -> Json {
    let error = json!({ "type": "object", "required": ["title", "detail", "status"], "properties": {
        "title": { "type": "string" }, "detail": { "type": "string" }, "code": { "type": "string" }, "status": { "type": "string" },
        "source": { "type": "object", "properties": {
            "pointer": { "type": "string", "description": "the member of the body at fault" },
            "parameter": { "type": "string", "description": "the query parameter at fault" } } } } });
    json!({ "description": "JSON:API error document", "content": { JSON_API: { "schema": {
        "type": "object", "required": ["errors"], "properties": { "errors": { "type": "array", "minItems": 1, "items": error } } } } } })
}

fn customer_linkage() -> Json {
    json!({ "type": "object", "required": ["data"], "additionalProperties": false, "properties": { "data": {
        "type": "object", "required": ["type", "id"], "additionalProperties": false, "nullable": true,
        "properties": { "type": { "type": "string", "enum": ["customers"] }, "id": id_in() } } } })
}

/// `POST /sessions` and `/customer_admin_sessions`: written by hand, no stored resource.
fn session_path(kind: &str, errors: &Json) -> Json {
    let request = document_schema(json!({ "type": "object", "required": ["type", "relationships"], "additionalProperties": false,
        "properties": {
            "type": { "type": "string", "enum": [kind] },
            "relationships": { "type": "object", "required": ["customer"], "additionalProperties": false,
                "properties": { "customer": customer_linkage() } } } }));
    let response = json!({ "type": "object", "required": ["data"], "properties": { "data": { "type": "object",
        "required": ["id", "type", "attributes"], "properties": {
            "id": { "type": "string" }, "type": { "type": "string", "enum": ["sessions"] },
            "attributes": { "type": "object", "required": ["uri"], "properties": { "uri": { "type": "string" } } } } } } });
    json!({ "post": { "tags": ["sessions"], "operationId": format!("create_{kind}"),
        "summary": "a one-time link that opens the customer's UI signed in",
        "requestBody": { "required": true, "content": { JSON_API: { "schema": request } } },
        "responses": { "201": { "description": "the link", "content": { JSON_API: { "schema": response } } }, "4XX": errors } } })
}

/// `POST /termination_route_tests`: written by hand, it is no stored resource.
fn route_test_path(customer: bool, errors: &Json) -> Json {
    let kind = super::route_tests::KIND;
    // A JSON number is taken for its digits.
    let number = |min: u32| json!({ "anyOf": [{ "type": "string", "pattern": format!("^[0-9+*#]{{{min},64}}$") }, { "type": "integer", "minimum": 0 }] });
    let request =
        document_schema(json!({ "type": "object", "required": ["type", "attributes"], "additionalProperties": false, "properties": {
        "type": { "type": "string", "enum": [kind] },
        "attributes": { "type": "object", "required": ["src_number", "dst_number"], "additionalProperties": false,
            "properties": { "src_number": number(0), "dst_number": number(1) } },
        "relationships": { "type": "object", "required": if customer { json!([]) } else { json!(["customer"]) },
            "additionalProperties": false, "properties": { "customer": customer_linkage() } },
    } }));
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
            "trm_mode": { "type": "string", "enum": schema::TRM_MODES },
            "attempts": { "type": "array", "items": attempt } } },
        "relationships": { "type": "object", "properties": { "customer": { "type": "object", "properties": { "data": { "type": "object",
            "properties": { "type": { "type": "string", "enum": ["customers"] }, "id": { "type": "string" } } } } } } },
    } } } });
    let summary = if customer {
        "the routes and gateways one of your calls would try, in order, with rewritten numbers; no call is made"
    } else {
        "the routes and gateways a customer's call would try, in order, with rewritten numbers; no call is made"
    };
    json!({ "post": { "tags": [kind], "operationId": "create_termination_route_tests", "summary": summary,
        "requestBody": { "required": true, "content": { JSON_API: { "schema": request } } },
        "responses": { "200": { "description": "the attempts in order", "content": { JSON_API: { "schema": response } } }, "4XX": errors } } })
}

pub async fn document(ctx: Ctx) -> Response {
    JsonApi(build(ctx.scope(), &ctx.base)).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_hold_what_each_scope_writes() {
        let op = build(Scope::Operator, "http://x");
        let create = &op["components"]["schemas"]["sip_device_routes_create"];
        assert_eq!(create["properties"]["attributes"]["required"], json!(["username"]));
        assert_eq!(create["properties"]["relationships"]["required"], json!(["customer"]));
        assert!(create["properties"]["attributes"]["properties"].get("is_online").is_none(), "read-only stays out of requests");
        let update = &op["components"]["schemas"]["api_credentials_update"]["properties"]["attributes"];
        assert!(update["properties"].get("username").is_none(), "create-only stays out of updates");
        assert!(update.get("required").is_none(), "nothing is required in a PATCH");
        let users = &op["components"]["schemas"]["operator_users"]["properties"]["attributes"]["properties"];
        assert!(users.get("password").is_none(), "hashed secrets are never answered");
        let answered = &op["components"]["schemas"]["customers"]["properties"]["attributes"];
        assert!(answered.get("required").is_none(), "sparse fieldsets may drop any attribute");

        // The same for every resource, whatever the schema grows.
        for res in RESOURCES.iter().copied() {
            let schemas = &op["components"]["schemas"];
            let attrs = &schemas[res.kind]["properties"]["attributes"];
            assert!(attrs.get("required").is_none(), "{}", res.kind);
            for f in res.fields.iter().filter(|f| f.mode == Mode::Hashed && f.default != Default::Generated) {
                assert!(attrs["properties"].get(f.name).is_none(), "{}.{} is never answered", res.kind, f.name);
            }
            let create = &schemas[format!("{}_create", res.kind)]["properties"]["attributes"];
            if !create.is_null() {
                let want: Vec<&str> = res.fields.iter().filter(|f| f.required).map(|f| f.name).collect();
                let got: Vec<&str> = create["required"].as_array().map_or(Vec::new(), |a| a.iter().filter_map(Json::as_str).collect());
                assert_eq!(got, want, "{}", res.kind);
                for f in res.fields.iter().filter(|f| f.mode == Mode::ReadOnly) {
                    assert!(create["properties"].get(f.name).is_none(), "{}.{} is read-only", res.kind, f.name);
                }
            }
        }

        let cust = build(Scope::Customer(1), "http://x");
        let create = &cust["components"]["schemas"]["sip_device_routes_create"];
        assert!(create["properties"]["relationships"].get("required").is_none(), "a customer's records are its own");
        assert!(cust["paths"].get("/operator_users").is_none());
    }
}
