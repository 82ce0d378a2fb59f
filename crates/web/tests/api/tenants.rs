//! Issue 15, points 4 and 5 through the API: a deleted customer's records,
//! CDRs included, are never visible to a later customer (ids are never
//! issued twice), and the operator's last user and credential stay (422).

use super::{customer, rel, CU, OP};
use crate::support::spawn_apps;
use serde_json::{json, Value as Json};
use std::collections::BTreeMap;
use store::cdr::{IncomingCdr, TerminationCdr};

fn ids(b: &Json) -> Vec<String> {
    b["data"].as_array().map_or_else(Vec::new, |d| d.iter().map(|r| r["id"].as_str().unwrap().to_owned()).collect())
}

/// The finding replayed: a customer with records of every kind and CDRs is
/// deleted, customers are created past its id (and with its id chosen: 409),
/// and each new customer's API lists nothing of the old one.
#[tokio::test]
async fn a_new_customer_sees_nothing_of_a_deleted_one() {
    for app in spawn_apps().await {
        let be = app.backend;
        let old = customer(&app, "Old", json!({})).await;
        let owned = |kind: &str, attrs: Json| json!({ "data": { "type": kind, "attributes": attrs, "relationships": { "customer": rel("customers", &old) } } });
        let (s, b) = app
            .post(&format!("{OP}/termination_gateways"), owned("termination_gateways", json!({ "name": "gw", "host": "192.0.2.1" })))
            .await;
        assert_eq!(s, 201, "{be}: {b}");
        let gw = b["data"]["id"].as_str().unwrap().to_owned();
        let mut route = owned("termination_routes", json!({ "name": "r" }));
        route["data"]["relationships"]["gateway"] = rel("termination_gateways", &gw);
        let (s, b) = app.post(&format!("{OP}/sip_device_routes"), owned("sip_device_routes", json!({ "username": "old-100" }))).await;
        assert_eq!(s, 201, "{be}: {b}");
        let acc = b["data"]["id"].as_str().unwrap().to_owned();
        let mut group = owned("ring_groups", json!({ "name": "g" }));
        group["data"]["relationships"]["members"] = json!({ "data": [{ "type": "sip_device_routes", "id": acc }] });
        for (kind, body) in [
            ("available_did_numbers", owned("available_did_numbers", json!({ "number": "441174090399" }))),
            ("termination_routes", route),
            ("ring_groups", group),
            ("customer_users", owned("customer_users", json!({ "username": "old-user", "password": "old-password-1" }))),
        ] {
            let (s, b) = app.post(&format!("{OP}/{kind}"), body).await;
            assert_eq!(s, 201, "{be} {kind}: {b}");
        }
        app.customer_credential(&old).await;
        let old_id: i64 = old.parse().unwrap();
        app.store.append_cdrs(&[IncomingCdr { customer_id: Some(old_id), time_start: 1_000, ..IncomingCdr::default() }]).await.unwrap();
        app.store
            .append_cdrs(&[TerminationCdr { customer_id: Some(old_id), time_start: 1_000, ..TerminationCdr::default() }])
            .await
            .unwrap();

        // What the old customer owned, kind by kind, as the operator sees it.
        let mut before: BTreeMap<&str, Vec<String>> = BTreeMap::new();
        for res in domain::schema::RESOURCES.iter().filter(|r| r.rel("customer").is_some()) {
            let window = if res.cdr { "&filter[time_start_gteq]=1970-01-01%2000:00:00" } else { "" };
            let (s, b) = app.get(&format!("{OP}/{}?filter[customer.id]={old}&page[size]=100{window}", res.kind)).await;
            if s == 200 {
                before.insert(res.kind, ids(&b));
            }
        }
        assert!(before.values().filter(|v| !v.is_empty()).count() >= 8, "{be}: {before:?}");
        let (s, b) = app.delete(&format!("{OP}/customers/{old}")).await;
        assert_eq!(s, 204, "{be}: {b}");

        let (s, _) = app
            .post(&format!("{OP}/customers"), json!({ "data": { "type": "customers", "id": old, "attributes": { "name": "Again" } } }))
            .await;
        assert_eq!(s, 409, "{be}: the old id is taken for good");
        let mut last = 0;
        while last <= old_id + 2 {
            let c = customer(&app, &format!("New {last}"), json!({})).await;
            last = c.parse().unwrap();
            assert_ne!(last, old_id, "{be}");
            let (user, secret) = app.customer_credential(&c).await;
            let cust = app.as_user(&user, &secret);
            for res in domain::schema::RESOURCES {
                // CDR lists take a time window: all time.
                let window = if res.cdr { "&filter[time_start_gteq]=1970-01-01%2000:00:00" } else { "" };
                let (s, b) = cust.get(&format!("{CU}/{}?page[size]=100{window}", res.kind)).await;
                assert!(s == 200 || s == 404, "{be} {}: {s} {b}", res.kind);
                if s != 200 {
                    continue;
                }
                let seen = ids(&b);
                if res.cdr {
                    assert!(seen.is_empty(), "{be}: customer {c} sees {} {seen:?}", res.kind);
                }
                let old_ones = before.get(res.kind).cloned().unwrap_or_default();
                assert!(seen.iter().all(|i| !old_ones.contains(i)), "{be}: customer {c} sees old {} {seen:?}", res.kind);
            }
            assert_eq!(cust.get(&format!("{CU}/customers/{old}")).await.0, 404, "{be}");
        }
        // The operator keeps the CDRs, under the id they were made with.
        for kind in ["incoming_trunk_cdrs", "termination_cdrs"] {
            let (_, b) = app.get(&format!("{OP}/{kind}?filter[time_start_gteq]=1970-01-01%2000:00:00")).await;
            assert_eq!(ids(&b).len(), 1, "{be} {kind}: {b}");
        }
    }
}

/// Point 5: the last operator user and the last operator API credential
/// cannot be deleted (422, a JSON:API error), whoever asks.
#[tokio::test]
async fn the_last_operator_user_and_credential_stay() {
    for app in spawn_apps().await {
        let be = app.backend;
        let (_, b) = app.get(&format!("{OP}/operator_users")).await;
        let user = ids(&b)[0].clone();
        let (s, b) = app.delete(&format!("{OP}/operator_users/{user}")).await;
        assert_eq!(s, 422, "{be}: {b}");
        assert!(b["errors"][0]["detail"].as_str().unwrap().contains("last operator user"), "{be}: {b}");

        let (_, b) = app.get(&format!("{OP}/api_credentials")).await;
        let first = ids(&b)[0].clone();
        let (s, b) = app.delete(&format!("{OP}/api_credentials/{first}")).await;
        assert_eq!(s, 422, "{be}: {b}");
        assert!(b["errors"][0]["detail"].as_str().unwrap().contains("last operator API credential"), "{be}: {b}");
        assert_eq!(b["errors"][0]["status"], "422");

        // A customer's credential does not count as the operator's way in.
        let c = customer(&app, "C", json!({})).await;
        app.customer_credential(&c).await;
        assert_eq!(app.delete(&format!("{OP}/api_credentials/{first}")).await.0, 422, "{be}");

        // With a second, the caller may delete its own; the second is then the last.
        let (s, b) = app
            .post(
                &format!("{OP}/api_credentials"),
                json!({ "data": { "type": "api_credentials", "attributes": { "username": "second" } } }),
            )
            .await;
        assert_eq!(s, 201, "{be}: {b}");
        let second = app.as_user("second", b["data"]["attributes"]["secret"].as_str().unwrap());
        let second_id = b["data"]["id"].as_str().unwrap().to_owned();
        assert_eq!(app.delete(&format!("{OP}/api_credentials/{first}")).await.0, 204, "{be}");
        assert_eq!(app.get(&format!("{OP}/customers")).await.0, 401, "{be}: the deleted credential stops at once");
        let (s, b) = second.delete(&format!("{OP}/api_credentials/{second_id}")).await;
        assert_eq!(s, 422, "{be}: {b}");
        assert_eq!(second.get(&format!("{OP}/customers")).await.0, 200, "{be}: still a way in");
    }
}
