//! Bad paging, filters and unknown parameters on every list, in both APIs
//! and on both backends: a 400 with a JSON:API error naming the parameter,
//! never a 500, and the store unchanged; a PATCH naming another id is a 409.

use super::{customer, CU, OP};
use crate::support::spawn_apps;
use domain::schema::RESOURCES;
use serde_json::Value as Json;

/// Every list path of the operator API, with what a CDR list must carry.
fn lists() -> Vec<(String, &'static str)> {
    RESOURCES
        .iter()
        .filter(|r| r.kind != "domain_settings")
        .map(|r| {
            let window = if r.cdr { "filter[time_start_gteq]=2026-01-01%2000:00:00&" } else { "" };
            (format!("/{}?{window}", r.kind), r.kind)
        })
        .collect()
}

/// (query, the parameter the error must name)
const BAD: &[(&str, &str)] = &[
    ("page[number]=9223372036854775807", "page[number]"),
    ("page[number]=18446744073709551616", "page[number]"),
    ("page[number]=1000001", "page[number]"),
    ("page[number]=0", "page[number]"),
    ("page[number]=-1", "page[number]"),
    ("page[number]=two", "page[number]"),
    ("page[number]=1.5", "page[number]"),
    ("page[number]=", "page[number]"),
    ("page[size]=0", "page[size]"),
    ("page[size]=101", "page[size]"),
    ("page[size]=-5", "page[size]"),
    ("page[size]=9223372036854775807", "page[size]"),
    ("page[size]=lots", "page[size]"),
    ("page[offset]=10", "page[offset]"),
    ("page[after]=x.y", "page[after]"),
    ("page[after]=99999999999999999999", "page[after]"),
    ("filter[id]=99999999999999999999", "filter[id]"),
    ("filter[id]=-", "filter[id]"),
    ("filter[id]=1,,x", "filter[id]"),
    ("filter[nope]=1", "filter[nope]"),
    ("filters[id]=1", "filters[id]"),
    ("colour=red", "colour"),
    ("page=1", "page"),
    ("sort=nope", "sort"),
];

fn names_param(b: &Json, param: &str) -> bool {
    b["errors"][0]["source"]["parameter"] == param && b["errors"][0]["detail"].as_str().is_some_and(|d| !d.is_empty())
}

#[tokio::test]
async fn bad_paging_and_filters_are_400s_naming_the_parameter_on_every_list() {
    for app in spawn_apps().await {
        let be = app.backend;
        let c = customer(&app, "Paged", serde_json::json!({})).await;
        let (user, secret) = app.customer_credential(&c).await;
        let cust = app.as_user(&user, &secret);
        let before = app.snapshot().await;
        for (path, kind) in lists() {
            for (query, param) in BAD {
                let (s, b) = app.get(&format!("{OP}{path}{query}")).await;
                assert_eq!(s, 400, "{be}: {kind}?{query}: {b}");
                assert!(names_param(&b, param), "{be}: {kind}?{query} names {param}: {b}");
            }
            // In range, but past the end: an empty page, not an error.
            let (s, b) = app.get(&format!("{OP}{path}page[number]=1000000&page[size]=100")).await;
            assert_eq!(s, 200, "{be}: {kind}: {b}");
            assert_eq!(b["data"], Json::Array(vec![]), "{be}: {kind}");
        }
        // The customer API refuses the same, on the lists it has.
        for kind in ["sip_device_routes", "available_did_numbers", "incoming_trunks", "termination_gateways", "termination_routes"] {
            for (query, param) in BAD {
                let (s, b) = cust.get(&format!("{CU}/{kind}?{query}")).await;
                assert_eq!(s, 400, "{be}: customer {kind}?{query}: {b}");
                assert!(names_param(&b, param), "{be}: customer {kind}?{query}: {b}");
            }
        }
        // CSV exports take the same filters and refuse the same nonsense.
        for (path, kind) in lists() {
            let window = &path[kind.len() + 2..];
            for (query, param) in BAD.iter().filter(|(q, _)| !q.starts_with("page")) {
                let (s, text) = app.get_text(&format!("{OP}/{kind}.csv?{window}{query}")).await;
                assert_eq!(s, 400, "{be}: {kind}.csv?{query}: {text}");
                let b: Json = serde_json::from_str(&text).unwrap();
                assert!(names_param(&b, param), "{be}: {kind}.csv?{query}: {b}");
            }
        }
        assert_eq!(app.snapshot().await, before, "{be}: refused queries change nothing");
    }
}

#[tokio::test]
async fn a_patch_naming_another_id_is_a_conflict_and_changes_nothing() {
    for app in spawn_apps().await {
        let be = app.backend;
        let c = customer(&app, "Named", serde_json::json!({})).await;
        let body = |id: Json| serde_json::json!({ "data": { "type": "customers", "id": id, "attributes": { "name": "Renamed" } } });
        let (s, b) = app.patch(&format!("{OP}/customers/{c}"), body(Json::from("424242"))).await;
        assert_eq!(s, 409, "{be}: {b}");
        assert_eq!(b["errors"][0]["source"]["pointer"], "/data/id", "{be}");
        assert_eq!(app.get(&format!("{OP}/customers/{c}")).await.1["data"]["attributes"]["name"], "Named", "{be}");
        // The same id, as a string or a number, is the record of the path.
        let (s, b) = app.patch(&format!("{OP}/customers/{c}"), body(Json::from(c.parse::<i64>().unwrap()))).await;
        assert_eq!(s, 200, "{be}: {b}");
    }
}
