//! The route test (`POST /termination_route_tests`): modes, ordering,
//! rewrites, the default route, bad input and tenant isolation, through
//! both APIs.

use super::{customer, rel, CU, OP};
use crate::support::{spawn_apps, TestApp};
use serde_json::{json, Value as Json};

async fn gateway(app: &TestApp, base: &str, name: &str, extra: Json, owner: Option<&str>) -> String {
    let mut attrs = json!({ "name": name, "host": format!("{name}.example.net") });
    attrs.as_object_mut().unwrap().extend(extra.as_object().cloned().unwrap_or_default());
    let mut data = json!({ "type": "termination_gateways", "attributes": attrs });
    if let Some(c) = owner {
        data["relationships"] = json!({ "customer": rel("customers", c) });
    }
    let (s, b) = app.post(&format!("{base}/termination_gateways"), json!({ "data": data })).await;
    assert_eq!(s, 201, "{b}");
    b["data"]["id"].as_str().unwrap().to_owned()
}

async fn route(app: &TestApp, base: &str, name: &str, attrs: Json, gw: &str, owner: Option<&str>) -> String {
    let mut attrs = attrs;
    attrs["name"] = json!(name);
    let mut rels = json!({ "gateway": rel("termination_gateways", gw) });
    if let Some(c) = owner {
        rels["customer"] = rel("customers", c);
    }
    let (s, b) = app
        .post(
            &format!("{base}/termination_routes"),
            json!({ "data": { "type": "termination_routes", "attributes": attrs, "relationships": rels } }),
        )
        .await;
    assert_eq!(s, 201, "{b}");
    b["data"]["id"].as_str().unwrap().to_owned()
}

fn test_doc(src: Json, dst: Json, customer: Option<&str>) -> Json {
    let mut data = json!({ "type": "termination_route_tests", "attributes": { "src_number": src, "dst_number": dst } });
    if let Some(c) = customer {
        data["relationships"] = json!({ "customer": rel("customers", c) });
    }
    json!({ "data": data })
}

fn ids(want: &[&String]) -> Vec<String> {
    want.iter().map(|s| s.to_string()).collect()
}

/// The route ids tried, in order.
async fn tried(app: &TestApp, base: &str, src: &str, dst: &str, customer: Option<&str>) -> Vec<String> {
    let (s, b) = app.post(&format!("{base}/termination_route_tests"), test_doc(json!(src), json!(dst), customer)).await;
    assert_eq!(s, 200, "{b}");
    b["data"]["attributes"]["attempts"].as_array().unwrap().iter().map(|a| a["route_id"].as_str().unwrap().to_owned()).collect()
}

async fn set_mode(app: &TestApp, c: &str, mode: &str) {
    let (s, b) = app
        .patch(&format!("{OP}/customers/{c}"), json!({ "data": { "type": "customers", "id": c, "attributes": { "trm_mode": mode } } }))
        .await;
    assert_eq!(s, 200, "{b}");
}

#[tokio::test]
async fn ordering_rewrites_and_the_default_route() {
    for app in spawn_apps().await {
        let be = app.backend;
        let c = customer(&app, "Acme", json!({ "trm_mode": "operator_customer" })).await;
        let shared = gateway(
            &app,
            OP,
            "carrier",
            json!({ "port": 5070, "transport_protocol": "TCP", "dst_rewrite_rule": "^(\\d+)$", "dst_rewrite_result": "011\\1" }),
            None,
        )
        .await;
        let own = gateway(&app, OP, "own", json!({}), Some(&c)).await;
        let all = route(&app, OP, "all", json!({}), &shared, None).await;
        let uk = route(&app, OP, "uk", json!({ "dst_prefix": "44" }), &shared, None).await;
        let london = route(&app, OP, "london", json!({ "dst_prefix": "4420", "dst_rewrite_rule": "^44(\\d+)$", "dst_rewrite_result": "0\\1", "src_rewrite_rule": "^0", "src_rewrite_result": "49" }), &shared, None).await;
        let uk_from_berlin = route(&app, OP, "uk from berlin", json!({ "dst_prefix": "44", "src_prefix": "4930" }), &shared, None).await;
        let uk_own = route(&app, OP, "uk own", json!({ "dst_prefix": "44" }), &own, Some(&c)).await;

        // Longest dst, then longest src, then the customer's before shared.
        assert_eq!(
            tried(&app, OP, "4930123", "442071234567", Some(&c)).await,
            ids(&[&london, &uk_from_berlin, &uk_own, &uk, &all]),
            "{be}"
        );
        assert_eq!(tried(&app, OP, "0301234", "4479", Some(&c)).await, ids(&[&uk_own, &uk, &all]), "{be}");
        assert_eq!(tried(&app, OP, "", "33", Some(&c)).await, ids(&[&all]), "{be}");

        // Route rewrites, then the gateway's; the gateway as the SIP side sees it.
        let (s, b) = app.post(&format!("{OP}/termination_route_tests"), test_doc(json!("0301234"), json!(442071234567u64), Some(&c))).await;
        assert_eq!(s, 200, "{be}: {b}");
        let d = &b["data"];
        assert_eq!(
            (d["type"].as_str(), d["attributes"]["trm_mode"].as_str()),
            (Some("termination_route_tests"), Some("operator_customer"))
        );
        assert_eq!(d["relationships"]["customer"]["data"]["id"], c.as_str());
        let first = &d["attributes"]["attempts"][0];
        assert_eq!(first["position"], 1);
        assert_eq!(first["route_name"], "london");
        assert_eq!(first["src_number_out"], "49301234");
        assert_eq!(first["dst_number_out"], "01102071234567");
        assert_eq!((first["gateway_id"].as_str(), first["gateway_name"].as_str()), (Some(shared.as_str()), Some("carrier")));
        assert_eq!(
            (first["host"].as_str(), first["port"].as_u64(), first["transport_protocol"].as_str()),
            (Some("carrier.example.net"), Some(5070), Some("TCP"))
        );
        assert!(first.get("authorization_password").is_none(), "credentials stay out");
        // The customer's gateway has no rewrite: the route's number goes out as is.
        let own_attempt =
            d["attributes"]["attempts"].as_array().unwrap().iter().find(|a| a["route_id"] == uk_own.as_str()).unwrap().clone();
        assert_eq!(own_attempt["dst_number_out"], "442071234567");

        // The default route comes last, whatever the mode, never twice.
        let fallback = route(&app, OP, "fallback", json!({ "dst_prefix": "999" }), &shared, None).await;
        let (s, b) = app.patch(&format!("{OP}/domain_settings"), json!({ "data": { "type": "domain_settings", "relationships": { "default_termination_route": rel("termination_routes", &fallback) } } })).await;
        assert_eq!(s, 200, "{be}: {b}");
        set_mode(&app, &c, "customer").await;
        assert_eq!(tried(&app, OP, "1", "4479", Some(&c)).await, ids(&[&uk_own, &fallback]), "{be}");
        assert_eq!(tried(&app, OP, "1", "9991", Some(&c)).await, ids(&[&fallback]), "{be}");
        set_mode(&app, &c, "system").await;
        assert_eq!(tried(&app, OP, "1", "9991", Some(&c)).await, ids(&[&fallback, &all]), "{be}");
    }
}

#[tokio::test]
async fn modes_choose_the_candidates() {
    for app in spawn_apps().await {
        let be = app.backend;
        let c = customer(&app, "Acme", json!({})).await;
        let other = customer(&app, "Other", json!({})).await;
        let shared_gw = gateway(&app, OP, "carrier", json!({}), None).await;
        let shared = route(&app, OP, "shared", json!({ "dst_prefix": "4" }), &shared_gw, None).await;
        let by_operator = route(&app, OP, "by operator", json!({ "dst_prefix": "4" }), &shared_gw, Some(&c)).await;
        route(&app, OP, "someone else's", json!({ "dst_prefix": "4" }), &shared_gw, Some(&other)).await;
        // A route the customer made itself (operator = false).
        app.patch(&format!("{OP}/domain_settings"), json!({ "data": { "type": "domain_settings", "attributes": { "customers_may_manage_termination_gateways": true, "customers_may_manage_termination_routes": true } } })).await;
        let (user, secret) = app.customer_credential(&c).await;
        let me = app.as_user(&user, &secret);
        let my_gw = gateway(&me, CU, "mine", json!({}), None).await;
        let by_customer = route(&me, CU, "by customer", json!({ "dst_prefix": "4" }), &my_gw, None).await;

        for (mode, want) in [
            ("system", vec![&shared]),
            ("customer", vec![&by_operator, &by_customer]),
            ("operator", vec![&by_operator, &shared]),
            ("operator_customer", vec![&by_operator, &by_customer, &shared]),
            ("system_customer", vec![&by_operator, &by_customer, &shared]),
        ] {
            set_mode(&app, &c, mode).await;
            assert_eq!(tried(&app, OP, "1", "44", Some(&c)).await, ids(&want), "{be}: {mode}");
            assert_eq!(tried(&me, CU, "1", "44", None).await, ids(&want), "{be}: {mode}, customer API");
        }
    }
}

#[tokio::test]
async fn tenants_stay_apart() {
    for app in spawn_apps().await {
        let be = app.backend;
        let c = customer(&app, "Acme", json!({})).await;
        let other = customer(&app, "Other", json!({})).await;
        let shared_gw = gateway(&app, OP, "carrier", json!({}), None).await;
        let other_gw = gateway(&app, OP, "theirs", json!({}), Some(&other)).await;
        let shared = route(&app, OP, "shared", json!({}), &shared_gw, None).await;
        let theirs = route(&app, OP, "theirs", json!({ "dst_prefix": "44" }), &other_gw, Some(&other)).await;
        let (user, secret) = app.customer_credential(&c).await;
        let me = app.as_user(&user, &secret);

        assert_eq!(tried(&me, CU, "1", "4412", None).await, ids(&[&shared]), "{be}");
        assert_eq!(tried(&me, CU, "1", "4412", Some(&c)).await, ids(&[&shared]), "{be}");
        assert_eq!(tried(&app, OP, "1", "4412", Some(&other)).await, ids(&[&theirs, &shared]), "{be}");
        // Asking for another customer, existing or not, answers the same.
        let unknown = "987654321";
        let (s1, b1) = me.post(&format!("{CU}/termination_route_tests"), test_doc(json!("1"), json!("44"), Some(&other))).await;
        let (s2, b2) = me.post(&format!("{CU}/termination_route_tests"), test_doc(json!("1"), json!("44"), Some(unknown))).await;
        assert_eq!((s1, s2), (422, 422), "{be}: {b1} {b2}");
        assert_eq!(b1["errors"][0]["detail"], format!("customer - customers {other} does not exist"));
        assert_eq!(b2["errors"][0]["detail"], format!("customer - customers {unknown} does not exist"));
        assert_eq!(b1["errors"][0]["source"]["pointer"], "/data/relationships/customer");
        // The operator's shared gateway is named to the customer, not located.
        let (_, b) = me.post(&format!("{CU}/termination_route_tests"), test_doc(json!("1"), json!("44"), None)).await;
        let a = &b["data"]["attributes"]["attempts"][0];
        assert_eq!(
            (a["gateway_name"].as_str(), a["shared_gateway"].as_bool(), a["host"].is_null(), a["port"].is_null()),
            (Some("carrier"), Some(true), true, true),
            "{be}: {b}"
        );
        let (_, b) = app.post(&format!("{OP}/termination_route_tests"), test_doc(json!("1"), json!("44"), Some(&c))).await;
        assert_eq!(b["data"]["attributes"]["attempts"][0]["host"], "carrier.example.net");
        let (_, doc) = me.get(&format!("{CU}/openapi.json")).await;
        assert!(doc["paths"]["/termination_route_tests"]["post"].is_object(), "{be}");
    }
}

#[tokio::test]
async fn bad_requests_are_clear() {
    for app in spawn_apps().await {
        let be = app.backend;
        let c = customer(&app, "Acme", json!({})).await;
        let url = format!("{OP}/termination_route_tests");
        let cases = [
            (test_doc(Json::Null, json!("44"), Some(&c)), 422, "src_number - can't be blank"),
            (test_doc(json!("1"), json!(""), Some(&c)), 422, "dst_number - can't be blank"),
            (test_doc(json!("1"), json!("44a"), Some(&c)), 422, "dst_number - may only contain digits, +, * and #"),
            (test_doc(json!("1"), json!("4".repeat(65)), Some(&c)), 422, "dst_number - is too long (maximum is 64 characters)"),
            (test_doc(json!(["1"]), json!("44"), Some(&c)), 422, "src_number - must be a string of digits"),
            (test_doc(json!("1"), json!("44"), None), 422, "customer - must exist"),
            (test_doc(json!("1"), json!("44"), Some("424242")), 422, "customer - customers 424242 does not exist"),
            (test_doc(json!("1"), json!("44"), Some("x")), 422, "customer - must be {\"type\":\"customers\",\"id\":…}"),
            (json!({ "data": { "type": "customers", "attributes": {} } }), 409, "data.type must be termination_route_tests."),
            (json!({ "nodata": 1 }), 400, "The request body must be a JSON:API document with a data object."),
        ];
        for (doc, status, detail) in cases {
            let (s, b) = app.post(&url, doc.clone()).await;
            assert_eq!((s, b["errors"][0]["detail"].as_str()), (status, Some(detail)), "{be}: {doc}");
        }
        let (s, b) = app.post(&url, test_doc(Json::Null, json!("x"), Some(&c))).await;
        assert_eq!((s, b["errors"].as_array().map(Vec::len)), (422, Some(2)), "{be}: both numbers reported: {b}");
        let (s, b) = app.post_raw(&url, "{not json".into()).await;
        assert_eq!(s, 400, "{be}: {b}");
        assert_eq!(app.get(&url).await.0, 405, "{be}");
        // Empty source (anonymous caller) is fine; no route is an empty list.
        let (s, b) = app.post(&url, test_doc(json!(""), json!("44"), Some(&c))).await;
        assert_eq!((s, b["data"]["attributes"]["attempts"].clone()), (200, json!([])), "{be}: {b}");
        let (_, doc) = app.get(&format!("{OP}/openapi.json")).await;
        assert!(doc["paths"]["/termination_route_tests"]["post"].is_object(), "{be}");
    }
}
