//! Fraud limits through both APIs: the operator sets them and the
//! customer only reads them; each is validated (422 naming the field);
//! and the caller-ID attack replayed: a customer showing another
//! customer's DID is refused, unless the operator allows any.

use super::{customer, rel, CU, OP};
use crate::support::spawn_apps;
use serde_json::json;

#[tokio::test]
async fn a_customer_cannot_show_another_customers_did_unless_allowed_any() {
    for app in spawn_apps().await {
        let be = app.backend;
        let alpha = customer(&app, "Alpha", json!({})).await;
        let beta = customer(&app, "Beta", json!({})).await;
        let did = |number: &str, owner: &str| json!({ "data": { "type": "available_did_numbers", "attributes": { "number": number }, "relationships": { "customer": rel("customers", owner) } } });
        assert_eq!(app.post(&format!("{OP}/available_did_numbers"), did("4930111", &alpha)).await.0, 201);
        assert_eq!(app.post(&format!("{OP}/available_did_numbers"), did("4930999", &beta)).await.0, 201, "Beta Support's number");
        let (user, pass) = app.customer_credential(&alpha).await;
        let me = app.as_user(&user, &pass);
        let account = |caller_id: &str| json!({ "data": { "type": "sip_device_routes", "attributes": { "username": format!("a-{caller_id}"), "external_caller_id": caller_id, "caller_id_name": "Beta Support" } } });

        // The attack: Beta's DID as Alpha's caller id.
        let before = app.snapshot().await;
        let (s, b) = me.post(&format!("{CU}/sip_device_routes"), account("4930999")).await;
        assert_eq!(s, 422, "{be}: {b}");
        assert_eq!(b["errors"][0]["source"]["pointer"], "/data/attributes/external_caller_id", "{be}: {b}");
        assert_eq!(b["errors"][0]["detail"], "external_caller_id - must be one of the customer's own DID numbers", "{be}");
        let (s, _) = me.post(&format!("{CU}/sip_device_routes"), account("15550000")).await;
        assert_eq!(s, 422, "{be}: nobody's number either");
        assert_eq!(app.snapshot().await, before, "{be}: nothing was stored");

        // Its own DID is fine (the name is free text: only the number is checked).
        let (s, b) = me.post(&format!("{CU}/sip_device_routes"), account("4930111")).await;
        assert_eq!(s, 201, "{be}: {b}");
        let id = b["data"]["id"].as_str().unwrap().to_owned();
        let set = |n: &str| json!({ "data": { "type": "sip_device_routes", "id": id, "attributes": { "external_caller_id": n } } });
        let (s, b) = me.patch(&format!("{CU}/sip_device_routes/{id}"), set("4930999")).await;
        assert_eq!((s, &b["errors"][0]["source"]["pointer"]), (422, &json!("/data/attributes/external_caller_id")), "{be}: {b}");
        // The operator is held to it too.
        assert_eq!(app.patch(&format!("{OP}/sip_device_routes/{id}"), set("4930999")).await.0, 422, "{be}");

        // Wholesale: the operator allows any, which the customer may not do itself.
        let allow = json!({ "data": { "type": "customers", "id": alpha, "attributes": { "allow_any_caller_id": true } } });
        let (s, b) = me.patch(&format!("{CU}/customers/{alpha}"), allow.clone()).await;
        assert_eq!((s, &b["errors"][0]["source"]["pointer"]), (403, &json!("/data/attributes/allow_any_caller_id")), "{be}: {b}");
        assert_eq!(app.patch(&format!("{OP}/customers/{alpha}"), allow).await.0, 200);
        let (s, b) = me.patch(&format!("{CU}/sip_device_routes/{id}"), set("4930999")).await;
        assert_eq!(s, 200, "{be}: {b}");
        assert_eq!(b["data"]["attributes"]["external_caller_id"], "4930999");
    }
}

#[tokio::test]
async fn fraud_limits_are_the_operators_validated_and_read_only_for_the_customer() {
    for app in spawn_apps().await {
        let be = app.backend;
        let c = customer(&app, "Acme", json!({})).await;
        let (s, b) = app.get(&format!("{OP}/customers/{c}")).await;
        assert_eq!(s, 200);
        let attrs = &b["data"]["attributes"];
        assert_eq!(
            (&attrs["max_cps"], &attrs["max_call_duration"], &attrs["daily_minutes_limit"]),
            (&json!(null), &json!(null), &json!(null)),
            "{be}: unlimited by default"
        );
        assert_eq!((&attrs["blocked_prefixes"], &attrs["allow_any_caller_id"]), (&json!([]), &json!(false)), "{be}");

        let patch = |attrs: serde_json::Value| json!({ "data": { "type": "customers", "id": c, "attributes": attrs } });
        let good = json!({ "max_cps": 5, "max_call_duration": 3600, "blocked_prefixes": ["+882", "4990"], "daily_minutes_limit": 600 });
        let (s, b) = app.patch(&format!("{OP}/customers/{c}"), patch(good)).await;
        assert_eq!(s, 200, "{be}: {b}");
        assert_eq!(b["data"]["attributes"]["blocked_prefixes"], json!(["882", "4990"]), "{be}: stored as digits");

        let before = app.snapshot().await;
        for (field, bad) in [
            ("max_cps", json!(-1)),
            ("max_cps", json!(10_001)),
            ("max_cps", json!("lots")),
            ("max_call_duration", json!(0)),
            ("max_call_duration", json!(86_401)),
            ("daily_minutes_limit", json!(-5)),
            ("daily_minutes_limit", json!(1.5)),
            ("blocked_prefixes", json!("882")),
            ("blocked_prefixes", json!(["88a"])),
            ("blocked_prefixes", json!([""])),
            ("blocked_prefixes", json!(["882", "882"])),
            ("allow_any_caller_id", json!("yes")),
        ] {
            let (s, b) = app.patch(&format!("{OP}/customers/{c}"), patch(json!({ field: bad }))).await;
            assert_eq!(s, 422, "{be}: {field} = {bad}: {b}");
            assert_eq!(b["errors"][0]["source"]["pointer"], format!("/data/attributes/{field}"), "{be}: {b}");
        }
        let too_many: Vec<String> = (0..201).map(|i| format!("9{i:03}")).collect();
        assert_eq!(app.patch(&format!("{OP}/customers/{c}"), patch(json!({ "blocked_prefixes": too_many }))).await.0, 422);
        assert_eq!(app.snapshot().await, before, "{be}: refused input changed nothing");

        // The customer reads its limits and sets none of them.
        let (user, pass) = app.customer_credential(&c).await;
        let me = app.as_user(&user, &pass);
        let (_, b) = me.get(&format!("{CU}/customers/{c}")).await;
        assert_eq!((&b["data"]["attributes"]["max_cps"], &b["data"]["attributes"]["daily_minutes_limit"]), (&json!(5), &json!(600)));
        for field in ["max_cps", "max_call_duration", "blocked_prefixes", "daily_minutes_limit", "allow_any_caller_id"] {
            let value = if field == "blocked_prefixes" {
                json!([])
            } else if field == "allow_any_caller_id" {
                json!(true)
            } else {
                json!(1)
            };
            let (s, b) = me.patch(&format!("{CU}/customers/{c}"), patch(json!({ field: value }))).await;
            assert_eq!(s, 403, "{be}: {field}: {b}");
        }

        // The domain-wide list.
        let settings = |v: serde_json::Value| json!({ "data": { "type": "domain_settings", "attributes": { "blocked_prefixes": v } } });
        let (s, b) = app.patch(&format!("{OP}/domain_settings"), settings(json!(["979", "+881"]))).await;
        assert_eq!((s, &b["data"]["attributes"]["blocked_prefixes"]), (200, &json!(["979", "881"])), "{be}: {b}");
        let (s, b) = app.patch(&format!("{OP}/domain_settings"), settings(json!(["9x"]))).await;
        assert_eq!((s, &b["errors"][0]["source"]["pointer"]), (422, &json!("/data/attributes/blocked_prefixes")), "{be}: {b}");

        // CSV and the audit log carry them like every attribute.
        let (_, csv) = app.get_text(&format!("{OP}/customers.csv")).await;
        let header = csv.lines().next().unwrap();
        assert!(header.contains("max_cps,max_call_duration,blocked_prefixes,daily_minutes_limit,allow_any_caller_id"), "{header}");
        assert!(csv.contains("5,3600,\"882,4990\",600,false") || csv.contains("5,3600,882;4990,600,false"), "{be}: {csv}");
        let (_, b) = app.get(&format!("{OP}/audit_log_entries?filter[resource_type]=customers&sort=-id")).await;
        let after = &b["data"][0]["attributes"]["after"];
        assert_eq!((&after["max_cps"], &after["blocked_prefixes"]), (&json!(5), &json!("882,4990")), "{be}: {b}");
    }
}
