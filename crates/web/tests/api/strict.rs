//! What the OpenAPI document does not allow is refused (schemathesis'
//! negative_data_rejection): a repeated query parameter, an unknown or
//! blank name in `fields[...]`, `sort` or `include`, and members a request
//! document may not hold. Each is a 400 naming what is at fault, on both
//! backends, and changes nothing; the leniencies real clients rely on
//! (numeric ids, top-level `meta`/`jsonapi`) still work.

use super::{customer, rel, CU, OP};
use crate::support::spawn_apps;
use serde_json::{json, Value as Json};

/// (query, the parameter the error must name)
const BAD_QUERIES: &[(&str, &str)] = &[
    ("fields[customers]=name&fields[customers]=language", "fields[customers]"),
    ("include=&include=", "include"),
    ("filter[name]=a&filter[name]=b", "filter[name]"),
    ("fields[customers]=nope", "fields[customers]"),
    ("fields[customers]=name,", "fields[customers]"),
    ("fields[customers]=name,%20language", "fields[customers]"),
    ("fields[no_such_type]=name", "fields[no_such_type]"),
    ("fields[api_credentials]=secret_hash", "fields[api_credentials]"),
    ("sort=name,", "sort"),
    ("sort=%20name", "sort"),
];

#[tokio::test]
async fn repeated_or_unknown_query_names_are_400s_naming_the_parameter() {
    for app in spawn_apps().await {
        let be = app.backend;
        let c = customer(&app, "Strict", json!({})).await;
        let before = app.snapshot().await;
        for path in ["/customers?".to_owned(), format!("/customers/{c}?")] {
            // A single record takes no sort (and ignores one).
            for (query, param) in BAD_QUERIES.iter().filter(|(q, _)| path == "/customers?" || !q.starts_with("sort")) {
                let (s, b) = app.get(&format!("{OP}{path}{query}")).await;
                assert_eq!(s, 400, "{be}: {path}{query}: {b}");
                assert_eq!(b["errors"][0]["source"]["parameter"], *param, "{be}: {path}{query}: {b}");
            }
        }
        let (s, b) = app.get(&format!("{OP}/sip_device_routes?include=customer,")).await;
        assert_eq!((s, &b["errors"][0]["source"]["parameter"]), (400, &json!("include")), "{be}: {b}");
        // A refused query on a write changes nothing either.
        let body = json!({ "data": { "type": "customers", "attributes": { "name": "Never" } } });
        let (s, b) = app.post(&format!("{OP}/customers?fields[customers]=nope"), body).await;
        assert_eq!(s, 400, "{be}: {b}");
        assert_eq!(app.snapshot().await, before, "{be}: refused queries change nothing");
        // What the document lists still works.
        let (s, b) = app.get(&format!("{OP}/customers/{c}?fields[customers]=name,language&sort=")).await;
        assert_eq!(s, 200, "{be}: {b}");
        assert_eq!(b["data"]["attributes"].as_object().unwrap().len(), 2, "{be}: {b}");
    }
}

#[tokio::test]
async fn request_documents_with_members_json_api_does_not_have_are_400s() {
    for app in spawn_apps().await {
        let be = app.backend;
        let c = customer(&app, "Strict", json!({})).await;
        let cid: i64 = c.parse().unwrap();
        let (user, secret) = app.customer_credential(&c).await;
        let cust = app.as_user(&user, &secret);
        let before = app.snapshot().await;
        let route = |extra: Json| {
            let mut d = json!({ "data": { "type": "sip_device_routes", "attributes": { "username": "strict1" },
                "relationships": { "customer": rel("customers", &c) } } });
            json_merge(&mut d, extra);
            d
        };
        // (body, the pointer the error must name)
        let bad = [
            (route(json!({ "__main__": {} })), "/__main__"),
            (route(json!({ "meta": 5 })), "/meta"),
            (route(json!({ "data": { "meta": [] } })), "/data/meta"),
            (route(json!({ "data": { "relationships": { "customer": { "links": {} } } } })), "/data/relationships/customer/links"),
            (
                route(json!({ "data": { "relationships": { "customer": { "data": { "lid": "x" } } } } })),
                "/data/relationships/customer/data/lid",
            ),
            (route(json!({ "data": { "relationships": { "customer": [null] } } })), "/data/relationships/customer"),
        ];
        for (body, pointer) in &bad {
            let (s, b) = app.post(&format!("{OP}/sip_device_routes"), body.clone()).await;
            assert_eq!(s, 400, "{be}: {body}: {b}");
            assert_eq!(b["errors"][0]["source"]["pointer"], *pointer, "{be}: {body}: {b}");
            assert!(b["errors"][0]["detail"].as_str().is_some_and(|d| !d.is_empty()), "{be}: {b}");
        }
        let (s, b) = app
            .patch(
                &format!("{OP}/customers/{c}"),
                json!({ "data": { "type": "customers", "id": c, "attributes": { "name": "X" } }, "x": 1 }),
            )
            .await;
        assert_eq!(s, 400, "{be}: {b}");
        // The hand-written endpoints check the same.
        let test = |extra: Json| {
            let mut d = json!({ "data": { "type": "termination_route_tests", "attributes": { "src_number": "1", "dst_number": "2" } } });
            json_merge(&mut d, extra);
            d
        };
        for body in [
            test(json!({ "x": 1 })),
            test(json!({ "data": { "relationships": [null, null] } })),
            test(json!({ "data": { "attributes": { "dst": "3" } } })),
            test(json!({ "data": { "id": "1" } })),
        ] {
            let (s, b) = cust.post(&format!("{CU}/termination_route_tests"), body.clone()).await;
            assert_eq!(s, 400, "{be}: {body}: {b}");
        }
        // An integer attribute as text is a 422 naming it (the UI's forms
        // send text; the API's document says number).
        let (s, b) = app
            .patch(&format!("{OP}/customers/{c}"), json!({ "data": { "type": "customers", "id": c, "attributes": { "max_cps": "5" } } }))
            .await;
        assert_eq!((s, &b["errors"][0]["source"]["pointer"]), (422, &json!("/data/attributes/max_cps")), "{be}: {b}");
        let session = json!({ "data": { "type": "sessions", "relationships": { "customer": { "data": { "type": "customers", "id": cid } } } }, "x": 1 });
        let (s, b) = app.post(&format!("{OP}/sessions"), session).await;
        assert_eq!(s, 400, "{be}: {b}");
        assert_eq!(app.snapshot().await, before, "{be}: refused bodies change nothing");

        // JSON:API's own top-level members, and numeric ids, are taken.
        let mut ok = route(json!({ "meta": {}, "jsonapi": { "version": "1.0" } }));
        ok["data"]["relationships"]["customer"]["data"]["id"] = json!(cid);
        let (s, b) = app.post(&format!("{OP}/sip_device_routes"), ok).await;
        assert_eq!(s, 201, "{be}: {b}");
        let (s, b) = app
            .patch(&format!("{OP}/customers/{c}"), json!({ "data": { "type": "customers", "id": null, "attributes": { "name": "Y" } } }))
            .await;
        assert_eq!(s, 200, "{be}: {b}");
    }
}

/// Merges `extra` into `doc`, objects member by member.
fn json_merge(doc: &mut Json, extra: Json) {
    match (doc, extra) {
        (Json::Object(d), Json::Object(e)) => {
            for (k, v) in e {
                match d.get_mut(&k) {
                    Some(slot) if slot.is_object() && v.is_object() => json_merge(slot, v),
                    _ => {
                        d.insert(k, v);
                    }
                }
            }
        }
        (d, e) => *d = e,
    }
}
