//! Black-box tests of the REST API: the real server on a random port, a
//! real HTTP client, a fresh store per test on SQLite and (when configured)
//! PostgreSQL.

#[path = "api/capacity_groups.rs"]
mod capacity_groups;
#[path = "api/cdr_totals.rs"]
mod cdr_totals;
#[path = "api/forms.rs"]
mod forms;
#[path = "api/fraud.rs"]
mod fraud;
#[path = "api/logins.rs"]
mod logins;
#[path = "api/params.rs"]
mod params;
#[path = "api/route_tests.rs"]
mod route_tests;
#[path = "api/strict.rs"]
mod strict;
mod support;
#[path = "api/tenants.rs"]
mod tenants;

use serde_json::{json, Value as Json};
use store::cdr::TerminationCdr;
use support::{spawn_apps, TestApp};

const OP: &str = "/api/rest/public/operator";
const CU: &str = "/api/rest/public/customer";

async fn customer(app: &TestApp, name: &str, extra: Json) -> String {
    let mut attrs = json!({ "name": name });
    attrs.as_object_mut().unwrap().extend(extra.as_object().cloned().unwrap_or_default());
    let (s, b) = app.post(&format!("{OP}/customers"), json!({ "data": { "type": "customers", "attributes": attrs } })).await;
    assert_eq!(s, 201, "{b}");
    b["data"]["id"].as_str().unwrap().to_owned()
}

fn rel(kind: &str, id: &str) -> Json {
    json!({ "data": { "type": kind, "id": id } })
}

#[tokio::test]
async fn every_object_through_its_life() {
    for app in spawn_apps().await {
        let be = app.backend;
        // Customers: client-chosen numeric id (as the yeti client sends), defaults.
        let (s, b) = app
            .post(
                &format!("{OP}/customers"),
                json!({ "data": { "type": "customers", "id": 339128572810u64, "attributes": { "name": "Acme", "language": "LT" } } }),
            )
            .await;
        assert_eq!(s, 201, "{be}: {b}");
        assert_eq!(b["data"]["id"], "339128572810");
        assert_eq!(b["data"]["attributes"]["capacity_limit"], Json::Null);
        assert_eq!(b["data"]["links"]["self"], format!("{}{OP}/customers/339128572810", app.origin));
        let c = "339128572810";
        let (s, _) = app
            .post(&format!("{OP}/customers"), json!({ "data": { "type": "customers", "id": c, "attributes": { "name": "Dup" } } }))
            .await;
        assert_eq!(s, 409, "{be}");

        // Numbers.
        let (s, b) = app
            .post(
                &format!("{OP}/available_did_numbers?include=customer"),
                json!({ "data": { "type": "available_did_numbers", "attributes": { "number": 441174090316u64 }, "relationships": { "customer": rel("customers", c) } } }),
            )
            .await;
        assert_eq!(s, 201, "{be}: {b}");
        assert_eq!(b["data"]["attributes"]["number"], "441174090316");
        assert_eq!(b["data"]["attributes"]["enabled"], true);
        assert_eq!(b["included"][0]["id"], c);
        let did = b["data"]["id"].as_str().unwrap().to_owned();
        let links = &b["data"]["relationships"]["customer"]["links"];
        assert_eq!(links["related"], format!("{}{OP}/available_did_numbers/{did}/customer", app.origin));
        assert_eq!(links["self"], format!("{}{OP}/available_did_numbers/{did}/relationships/customer", app.origin));

        // SIP accounts (our extension: operators may create them).
        let (s, b) = app
            .post(
                &format!("{OP}/sip_device_routes"),
                json!({ "data": { "type": "sip_device_routes", "attributes": { "username": "acme-100", "internal_caller_id": "100", "caller_id_name": "Reception" }, "relationships": { "customer": rel("customers", c) } } }),
            )
            .await;
        assert_eq!(s, 201, "{be}: {b}");
        assert_eq!(b["data"]["attributes"]["allow_external_calls"], false);
        assert_eq!(b["data"]["attributes"]["is_online"], false);
        assert_eq!(b["data"]["attributes"]["password"].as_str().unwrap().len(), 20);
        let acc = b["data"]["id"].as_str().unwrap().to_owned();

        // The number rings the account.
        let (s, b) = app
            .patch(&format!("{OP}/available_did_numbers/{did}"), json!({ "data": { "type": "available_did_numbers", "id": did, "attributes": { "enabled": "false" }, "relationships": { "destination": rel("sip_device_routes", &acc) } } }))
            .await;
        assert_eq!(s, 200, "{be}: {b}");
        assert_eq!(b["data"]["attributes"]["enabled"], false);
        assert_eq!(b["data"]["relationships"]["destination"]["data"], json!({ "type": "sip_device_routes", "id": acc }));

        // Incoming trunks: generated read-only domain in the POST response.
        let (s, b) = app
            .post(
                &format!("{OP}/incoming_trunks"),
                json!({ "data": { "type": "incoming_trunks", "attributes": { "name": "Carrier A", "codecs": ["PCMU", "g729", "telephone-event"], "destination_field": "TO_USERPART" }, "relationships": { "customer": rel("customers", c) } } }),
            )
            .await;
        assert_eq!(s, 201, "{be}: {b}");
        let trunk = b["data"]["id"].as_str().unwrap().to_owned();
        assert_eq!(b["data"]["attributes"]["domain"], format!("{trunk}.in.switchboard.local"));
        assert_eq!(b["data"]["attributes"]["codecs"], json!(["PCMU", "g729", "telephone-event"]));
        assert_eq!(b["data"]["attributes"]["transport_protocol"], "UDP");
        let (s, _) = app
            .patch(
                &format!("{OP}/incoming_trunks/{trunk}"),
                json!({ "data": { "type": "incoming_trunks", "id": trunk, "attributes": { "domain": "x.example.com" } } }),
            )
            .await;
        assert_eq!(s, 400, "{be}: domain is read-only");

        // Gateways and routes (the route's gateway sent as type "gateways", as the docs spell it).
        let (s, b) = app
            .post(
                &format!("{OP}/termination_gateways?fields[termination_gateways]=host,name,port"),
                json!({ "data": { "type": "termination_gateways", "attributes": { "name": "Upstream", "host": "sip.carrier.example", "authorization_name": "u1", "authorization_password": "p1", "dst_rewrite_rule": "^00(\\d+)$", "dst_rewrite_result": "\\1" } } }),
            )
            .await;
        assert_eq!(s, 201, "{be}: {b}");
        assert_eq!(b["data"]["attributes"], json!({ "host": "sip.carrier.example", "name": "Upstream", "port": 5060 }));
        let gw = b["data"]["id"].as_str().unwrap().to_owned();
        let (s, b) = app
            .post(
                &format!("{OP}/termination_routes?include=gateway"),
                json!({ "data": { "type": "termination_routes", "attributes": { "name": "UK", "dst_prefix": 44 }, "relationships": { "gateway": { "data": { "type": "gateways", "id": gw.parse::<i64>().unwrap() } }, "customer": rel("customers", c) } } }),
            )
            .await;
        assert_eq!(s, 201, "{be}: {b}");
        assert_eq!(b["data"]["attributes"]["dst_prefix"], "44");
        assert_eq!(b["data"]["attributes"]["operator"], true);
        assert_eq!(b["included"][0]["type"], "termination_gateways");
        let route = b["data"]["id"].as_str().unwrap().to_owned();

        // Lists: filter, sort, page, include.
        for i in 0..4 {
            customer(&app, &format!("Zeta {i}"), json!({ "capacity_limit": i })).await;
        }
        let (s, b) = app.get(&format!("{OP}/customers?filter[name_starts_with]=Zeta&sort=-capacity_limit&page[size]=3")).await;
        assert_eq!(s, 200, "{be}: {b}");
        let names: Vec<_> = b["data"].as_array().unwrap().iter().map(|d| d["attributes"]["name"].as_str().unwrap()).collect();
        assert_eq!(names, ["Zeta 3", "Zeta 2", "Zeta 1"]);
        assert_eq!(b["meta"]["record_count"], 4);
        let next = b["links"]["next"].as_str().unwrap().to_owned();
        let (_, b) = app.get_url(&next).await;
        assert_eq!(b["data"].as_array().unwrap().len(), 1);
        assert_eq!(b["data"][0]["attributes"]["name"], "Zeta 0");
        let (_, b) = app.get(&format!("{OP}/termination_routes?filter[customer.id]={c}&include=customer,gateway")).await;
        assert_eq!(b["data"].as_array().unwrap().len(), 1);
        assert_eq!(b["included"].as_array().unwrap().len(), 2);
        let (_, b) = app.get(&format!("{OP}/sip_device_routes?filter[allow_external_calls]=false&filter[internal_caller_id]=100")).await;
        assert_eq!(b["data"][0]["id"], acc);
        let (_, b) = app.get(&format!("{OP}/available_did_numbers/{did}/destination")).await;
        assert_eq!(b["data"]["attributes"]["username"], "acme-100");

        // Export: same filters, CSV.
        let (s, csv) = app.get_text(&format!("{OP}/customers.csv?filter[name_contains]=eta&sort=name")).await;
        assert_eq!(s, 200);
        let lines: Vec<_> = csv.lines().collect();
        assert_eq!(lines[0], "id,name,language,capacity_limit,sip_account_limit,trm_mode,max_cps,max_call_duration,blocked_prefixes,daily_minutes_limit,allow_any_caller_id,created_at");
        assert_eq!(lines.len(), 5, "{be}: {csv}");
        assert!(lines[1].contains(",Zeta 0,EN,0,,"));

        // Delete: a gateway in use is refused; the route first, then it goes.
        let (s, b) = app.delete(&format!("{OP}/termination_gateways/{gw}")).await;
        assert_eq!(s, 422, "{be}: {b}");
        assert_eq!(app.delete(&format!("{OP}/termination_routes/{route}")).await.0, 204);
        assert_eq!(app.delete(&format!("{OP}/termination_gateways/{gw}")).await.0, 204);
        let (s, b) = app.get(&format!("{OP}/termination_gateways/{gw}")).await;
        assert_eq!(s, 404);
        assert_eq!(b["errors"][0]["title"], "Record not found");
        assert_eq!(b["errors"][0]["detail"], format!("The record identified by {gw} could not be found."));
        // Deleting the customer takes everything it owns.
        assert_eq!(app.delete(&format!("{OP}/customers/{c}")).await.0, 204);
        assert_eq!(app.get(&format!("{OP}/sip_device_routes/{acc}")).await.0, 404);
        assert_eq!(app.get(&format!("{OP}/incoming_trunks/{trunk}")).await.0, 404);
        assert_eq!(app.get(&format!("{OP}/available_did_numbers/{did}")).await.0, 404);

        // Every change is in the audit log.
        let (_, b) = app.get(&format!("{OP}/audit_log_entries?filter[resource_type]=customers&filter[action]=delete")).await;
        assert_eq!(b["data"][0]["attributes"]["before"]["name"], "Acme");
        assert_eq!(b["data"][0]["attributes"]["actor_name"], "op");
    }
}

#[tokio::test]
async fn cdrs_need_a_window_and_page_by_keyset() {
    for app in spawn_apps().await {
        let be = app.backend;
        let c: i64 = customer(&app, "Acme", json!({})).await.parse().unwrap();
        let t0 = domain::time::parse("2026-11-01 00:00:00").unwrap();
        let rows: Vec<_> = (0..120)
            .map(|i| TerminationCdr {
                customer_id: Some(if i % 4 == 0 { c + 1 } else { c }),
                time_start: t0 + i * 60_000,
                time_end: Some(t0 + i * 60_000 + 30_000),
                duration: if i % 2 == 0 { 25 } else { 0 },
                global_tag: Some(format!("tag-{i}")),
                src_number_in: Some(format!("3706{i:05}")),
                dst_number_in: Some("441174090316".into()),
                lega_disconnect_code: Some(if i % 2 == 0 { 200 } else { 486 }),
                lega_disconnect_reason: Some(if i % 2 == 0 { "OK" } else { "Busy Here" }.into()),
                success: i % 2 == 0,
                ..TerminationCdr::default()
            })
            .collect();
        app.store.append_cdrs(&rows).await.unwrap();

        let (s, b) = app.get(&format!("{OP}/termination_cdrs")).await;
        assert_eq!(s, 400, "{be}");
        assert_eq!(b["errors"][0]["source"]["parameter"], "filter[time_start_gteq]");
        let (s, _) = app.get(&format!("{OP}/termination_cdrs?filter[time_start_gteq]=yesterday")).await;
        assert_eq!(s, 400);

        let mut url = format!("{}{OP}/termination_cdrs?filter[time_start_gteq]=2026-11-01%2000:00:00&filter[time_start_lted]=2026-11-01%2001:00:00&filter[customer.id]={c}&page[size]=20", app.origin);
        let mut seen = Vec::new();
        loop {
            let (s, b) = app.get_url(&url).await;
            assert_eq!(s, 200, "{be}: {b}");
            for d in b["data"].as_array().unwrap() {
                seen.push(d["attributes"]["time_start"].as_str().unwrap().to_owned());
            }
            assert!(b["meta"].is_null(), "no counts on CDR lists");
            match b["links"]["next"].as_str() {
                Some(n) => url = n.to_owned(),
                None => break,
            }
        }
        // Minutes 0..=60, three of every four belong to customer c.
        assert_eq!(seen.len(), 45, "{be}");
        assert!(seen.windows(2).all(|w| w[0] > w[1]), "newest first");
        assert_eq!(seen[0], "2026-11-01T00:59:00.000Z", "minute 60 belongs to the other customer");

        let (_, b) = app.get(&format!("{OP}/termination_cdrs?filter[time_start_gteq]=2026-11-01 00:00:00&filter[aleg_code]=486&filter[customer.id]={c}&sort=time_start&page[size]=2")).await;
        assert_eq!(b["data"][0]["attributes"]["lega_disconnect_reason"], "Busy Here");
        assert_eq!(b["data"][0]["attributes"]["time_start"], "2026-11-01T00:01:00.000Z");
        let id = b["data"][0]["id"].as_str().unwrap();
        let (s, b) = app.get(&format!("{OP}/termination_cdrs/{id}")).await;
        assert_eq!(s, 200);
        assert_eq!(b["data"]["attributes"]["src_number_in"], "370600001");

        let (s, csv) =
            app.get_text(&format!("{OP}/termination_cdrs.csv?filter[time_start_gteq]=2026-11-01 00:00:00&filter[success]=true")).await;
        assert_eq!(s, 200);
        assert_eq!(csv.lines().count(), 61, "{be}: header + 60 answered");
        // CDRs are read-only.
        let (s, _) = app.post(&format!("{OP}/termination_cdrs"), json!({ "data": { "type": "termination_cdrs", "attributes": {} } })).await;
        assert_eq!(s, 403);
    }
}

#[tokio::test]
async fn a_customer_sees_exactly_its_own_data() {
    for app in spawn_apps().await {
        let be = app.backend;
        let a = customer(&app, "A", json!({ "sip_account_limit": 1 })).await;
        let b_id = customer(&app, "B", json!({})).await;
        let (ua, pa) = app.customer_credential(&a).await;
        let acc_b = {
            let (s, b) = app
                .post(&format!("{OP}/sip_device_routes"), json!({ "data": { "type": "sip_device_routes", "attributes": { "username": "bee" }, "relationships": { "customer": rel("customers", &b_id) } } }))
                .await;
            assert_eq!(s, 201, "{b}");
            b["data"]["id"].as_str().unwrap().to_owned()
        };
        let me = app.as_user(&ua, &pa);

        // Lists hold only A's records; B's are 404.
        let (s, b) = me.get(&format!("{CU}/customers")).await;
        assert_eq!(s, 200, "{be}: {b}");
        assert_eq!(b["data"].as_array().unwrap().len(), 1);
        assert_eq!(b["data"][0]["id"], a);
        assert_eq!(me.get(&format!("{CU}/customers/{b_id}")).await.0, 404);
        assert_eq!(me.get(&format!("{CU}/sip_device_routes/{acc_b}")).await.0, 404);
        assert_eq!(me.delete(&format!("{CU}/sip_device_routes/{acc_b}")).await.0, 404);
        let (_, b) = me.get(&format!("{CU}/incoming_trunks")).await;
        assert_eq!(b["data"].as_array().unwrap().len(), 1, "A's default trunk only");
        // Filtering for another customer finds nothing rather than leaking.
        let (_, b) = me.get(&format!("{CU}/incoming_trunks?filter[customer.id]={b_id}")).await;
        assert_eq!(b["data"].as_array().unwrap().len(), 0);
        // Operator-only resources and the operator API are closed.
        assert_eq!(me.get(&format!("{CU}/audit_log_entries")).await.0, 404);
        assert_eq!(me.get(&format!("{CU}/domain_settings")).await.0, 404);
        assert_eq!(me.get(&format!("{OP}/customers")).await.0, 403);

        // Allowed fields only.
        let (s, _) = me
            .patch(&format!("{CU}/customers/{a}"), json!({ "data": { "type": "customers", "id": a, "attributes": { "language": "RU" } } }))
            .await;
        assert_eq!(s, 200);
        let (s, b) = me
            .patch(
                &format!("{CU}/customers/{a}"),
                json!({ "data": { "type": "customers", "id": a, "attributes": { "capacity_limit": 1000 } } }),
            )
            .await;
        assert_eq!(s, 403, "{b}");
        assert_eq!(b["errors"][0]["source"]["pointer"], "/data/attributes/capacity_limit");

        // SIP accounts: within the limit, never for someone else, never with operator-only fields.
        let new_acc =
            |user: &str| json!({ "data": { "type": "sip_device_routes", "attributes": { "username": user, "password": "Secret-123" } } });
        let (s, b) = me.post(&format!("{CU}/sip_device_routes"), new_acc("a-1")).await;
        assert_eq!(s, 201, "{be}: {b}");
        assert_eq!(b["data"]["relationships"]["customer"]["data"]["id"], a);
        let (s, b) = me.post(&format!("{CU}/sip_device_routes"), new_acc("a-2")).await;
        assert_eq!(s, 422, "{b}");
        assert!(b["errors"][0]["detail"].as_str().unwrap().contains("SIP account limit"));
        let (s, _) = me
            .post(
                &format!("{CU}/sip_device_routes"),
                json!({ "data": { "type": "sip_device_routes", "attributes": { "username": "x", "allow_external_calls": true } } }),
            )
            .await;
        assert_eq!(s, 403);
        let (s, _) = me
            .post(&format!("{CU}/sip_device_routes"), json!({ "data": { "type": "sip_device_routes", "attributes": { "username": "x" }, "relationships": { "customer": rel("customers", &b_id) } } }))
            .await;
        assert_eq!(s, 422);

        // Numbers: adding is closed until the domain settings open it.
        let num = json!({ "data": { "type": "available_did_numbers", "attributes": { "number": "37052000000" } } });
        assert_eq!(me.post(&format!("{CU}/available_did_numbers"), num.clone()).await.0, 403);
        let (s, b) = app
            .patch(
                &format!("{OP}/domain_settings"),
                json!({ "data": { "type": "domain_settings", "attributes": { "customers_may_add_numbers": true } } }),
            )
            .await;
        assert_eq!(s, 200, "{b}");
        let (s, b) = me.post(&format!("{CU}/available_did_numbers"), num).await;
        assert_eq!(s, 201, "{be}: {b}");
        assert_eq!(b["data"]["attributes"]["controlled_via_ui"], true);
        // Gateways stay closed by default.
        let gw = json!({ "data": { "type": "termination_gateways", "attributes": { "name": "mine", "host": "10.1.1.1" } } });
        assert_eq!(me.post(&format!("{CU}/termination_gateways"), gw.clone()).await.0, 403);
        app.patch(&format!("{OP}/domain_settings"), json!({ "data": { "type": "domain_settings", "attributes": { "customers_may_manage_termination_gateways": true, "customer_termination_fields": ["name", "host"] } } })).await;
        let (s, b) = me.post(&format!("{CU}/termination_gateways"), gw).await;
        assert_eq!(s, 201, "{b}");
        assert_eq!(b["data"]["attributes"]["operator"], false);
        let (s, _) = me
            .post(
                &format!("{CU}/termination_gateways"),
                json!({ "data": { "type": "termination_gateways", "attributes": { "name": "m", "host": "10.1.1.2", "port": 5080 } } }),
            )
            .await;
        assert_eq!(s, 403, "port is not among the allowed fields");
    }
}

#[tokio::test]
async fn bad_input_gets_clear_errors_and_changes_nothing() {
    for app in spawn_apps().await {
        let be = app.backend;
        let c = customer(&app, "A", json!({})).await;
        let other = customer(&app, "B", json!({})).await;
        let acc_other = app
            .post(&format!("{OP}/sip_device_routes"), json!({ "data": { "type": "sip_device_routes", "attributes": { "username": "b1" }, "relationships": { "customer": rel("customers", &other) } } }))
            .await
            .1["data"]["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let before = app.snapshot().await;
        let did =
            |attrs: Json, rels: Json| json!({ "data": { "type": "available_did_numbers", "attributes": attrs, "relationships": rels } });
        let cases: Vec<(&str, String, u16)> = vec![
            ("malformed JSON", "{\"data\": ".into(), 400),
            ("not a document", "[1,2,3]".into(), 400),
            ("wrong type", json!({ "data": { "type": "customers", "attributes": { "number": "1" } } }).to_string(), 409),
            (
                "unknown attribute",
                did(json!({ "number": "1", "colour": "red" }), json!({ "customer": rel("customers", &c) })).to_string(),
                400,
            ),
            ("number with letters", did(json!({ "number": "12ab" }), json!({ "customer": rel("customers", &c) })).to_string(), 422),
            ("number as bool", did(json!({ "number": true }), json!({ "customer": rel("customers", &c) })).to_string(), 422),
            ("overlong number", did(json!({ "number": "1".repeat(5000) }), json!({ "customer": rel("customers", &c) })).to_string(), 422),
            ("no customer", did(json!({ "number": "123" }), json!({})).to_string(), 422),
            ("unknown customer", did(json!({ "number": "123" }), json!({ "customer": rel("customers", "999999") })).to_string(), 422),
            (
                "another customer's account",
                did(
                    json!({ "number": "123" }),
                    json!({ "customer": rel("customers", &c), "destination": rel("sip_device_routes", &acc_other) }),
                )
                .to_string(),
                422,
            ),
            (
                "wrong relationship type",
                did(json!({ "number": "123" }), json!({ "customer": rel("incoming_trunks", &c) })).to_string(),
                422,
            ),
            (
                "client id",
                json!({ "data": { "type": "available_did_numbers", "id": "5", "attributes": { "number": "1" } } }).to_string(),
                403,
            ),
        ];
        for (what, body, want) in &cases {
            let (s, b) = app.post_raw(&format!("{OP}/available_did_numbers"), body.clone()).await;
            assert_eq!(s, *want, "{be}: {what}: {b}");
            assert!(b["errors"][0]["detail"].as_str().is_some_and(|d| !d.is_empty()), "{what}: every 4xx carries a detail");
        }
        let gw = |attrs: Json| json!({ "data": { "type": "termination_gateways", "attributes": attrs } });
        for (what, attrs) in [
            ("invalid regex", json!({ "name": "g", "host": "10.0.0.1", "src_rewrite_rule": "^(\\d+" })),
            (
                "result refers to a missing group",
                json!({ "name": "g", "host": "10.0.0.1", "src_rewrite_rule": "^(\\d+)$", "src_rewrite_result": "\\3" }),
            ),
            ("port 0", json!({ "name": "g", "host": "10.0.0.1", "port": 0 })),
            ("port 70000", json!({ "name": "g", "host": "10.0.0.1", "port": 70000 })),
            ("bad host", json!({ "name": "g", "host": "not a host" })),
            ("unknown codec", json!({ "name": "g", "host": "10.0.0.1", "codecs": ["PCMU", "AMR"] })),
            ("bad enum", json!({ "name": "g", "host": "10.0.0.1", "transport_protocol": "SCTP" })),
        ] {
            let (s, b) = app.post(&format!("{OP}/termination_gateways"), gw(attrs)).await;
            assert_eq!(s, 422, "{be}: {what}: {b}");
            assert!(b["errors"][0]["source"]["pointer"].as_str().unwrap().starts_with("/data/attributes/"), "{what}");
        }
        let sip = |user: &str, ext: &str| json!({ "data": { "type": "sip_device_routes", "attributes": { "username": user, "internal_caller_id": ext }, "relationships": { "customer": rel("customers", &c) } } });
        assert_eq!(app.post(&format!("{OP}/sip_device_routes"), sip("b1", "1")).await.0, 422, "duplicate username");
        assert_eq!(app.post(&format!("{OP}/sip_device_routes"), sip("a1", "12345")).await.0, 422, "5-digit extension");
        assert_eq!(app.post(&format!("{OP}/sip_device_routes"), sip("bad user", "1")).await.0, 422);
        // Nothing above left a trace.
        assert_eq!(app.snapshot().await, before, "{be}");

        // Query and path nonsense.
        for (path, want) in [
            (format!("{OP}/customers?filter[nope]=1"), 400),
            (format!("{OP}/customers?sort=password"), 400),
            (format!("{OP}/customers?page[size]=1000"), 400),
            (format!("{OP}/customers?include=gateway"), 400),
            (format!("{OP}/customers/abc"), 404),
            (format!("{OP}/customers/99999999999999999999999"), 404),
            (format!("{OP}/nonsense"), 404),
            (format!("{OP}/customers?filter[capacity_limit_gteq]=lots"), 400),
        ] {
            let (s, b) = app.get(&path).await;
            assert_eq!(s, want, "{be}: {path}: {b}");
        }
    }
}

#[tokio::test]
async fn wire_details_clients_rely_on() {
    for app in spawn_apps().await {
        let be = app.backend;
        let url = format!("{}{OP}/customers", app.origin);
        let body = json!({ "data": { "type": "customers", "attributes": { "name": "A" } } }).to_string();
        let send = |ct: &'static str, accept: Option<&'static str>| {
            let mut r = app.client.post(&url).basic_auth(&app.user, Some(&app.password)).header("content-type", ct).body(body.clone());
            if let Some(a) = accept {
                r = r.header("accept", a);
            }
            r.send()
        };
        assert_eq!(send("application/vnd.api+json; charset=utf-8", None).await.unwrap().status(), 415, "{be}");
        assert_eq!(send("text/plain", None).await.unwrap().status(), 415);
        assert_eq!(send("application/vnd.api+json", Some("application/vnd.api+json; ext=x")).await.unwrap().status(), 406);
        let r = send("application/vnd.api+json", Some("*/*")).await.unwrap();
        assert_eq!(r.status(), 201);
        assert_eq!(r.headers()["content-type"], "application/vnd.api+json");
        let id = r.json::<Json>().await.unwrap()["data"]["id"].as_str().unwrap().to_owned();
        // DELETE with a Content-Type and no body; 204 has no body bytes.
        let r = app
            .client
            .delete(format!("{url}/{id}"))
            .basic_auth(&app.user, Some(&app.password))
            .header("content-type", "application/vnd.api+json")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 204);
        assert!(r.bytes().await.unwrap().is_empty());
        // Wrong credentials: 401 with a challenge and a JSON:API body.
        let r = app.client.get(&url).basic_auth("op", Some("nope")).send().await.unwrap();
        assert_eq!(r.status(), 401);
        assert!(r.headers()["www-authenticate"].to_str().unwrap().starts_with("Basic"));
        assert!(r.json::<Json>().await.unwrap()["errors"][0]["detail"].is_string());
        assert_eq!(app.client.get(&url).send().await.unwrap().status(), 401);
        // Other verbs: 405.
        let r = app.client.put(&url).basic_auth(&app.user, Some(&app.password)).send().await.unwrap();
        assert_eq!(r.status(), 405);
        // The OpenAPI document describes both APIs.
        let (s, b) = app.get(&format!("{OP}/openapi.json")).await;
        assert_eq!(s, 200);
        assert_eq!(b["openapi"], "3.0.3");
        assert!(b["paths"]["/available_did_numbers"]["post"].is_object());
        assert!(b["paths"]["/termination_cdrs"]["get"]["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["name"] == "filter[time_start_gteq]" && p["required"] == true));
    }
}

#[tokio::test]
async fn sessions_open_the_customer_ui_once() {
    for app in spawn_apps().await {
        let be = app.backend;
        let c = customer(&app, "A", json!({})).await;
        let (s, b) = app.post(&format!("{OP}/sessions"), json!({ "data": { "type": "sessions", "relationships": { "customer": { "data": { "type": "customers", "id": c.parse::<i64>().unwrap() } } } } })).await;
        assert_eq!(s, 201, "{be}: {b}");
        assert_eq!(b["data"]["type"], "sessions");
        let uri = b["data"]["attributes"]["uri"].as_str().unwrap().to_owned();
        assert!(uri.starts_with(&format!("{}{OP}/auth?token=", app.origin)), "{uri}");
        let token = uri.split("token=").nth(1).unwrap();
        let claims: Json = {
            use base64::Engine as _;
            let body = token.split('.').nth(1).unwrap();
            serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(body).unwrap()).unwrap()
        };
        assert_eq!(claims["sub"].as_i64().unwrap().to_string(), c, "sub is the customer id, a number");
        assert!(claims["exp"].as_i64().unwrap() > 0);

        let no_redirect = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
        let r = no_redirect.get(&uri).send().await.unwrap();
        assert_eq!(r.status(), 303, "{be}");
        assert_eq!(r.headers()["location"], "/customer/");
        let cookie = r.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_owned();
        // The cookie signs the customer in to its API.
        let get_me = || no_redirect.get(format!("{}{CU}/customers", app.origin)).header("cookie", cookie.clone()).send();
        let me: Json = get_me().await.unwrap().json().await.unwrap();
        assert_eq!(me["data"][0]["id"], c);
        // The link works once.
        assert_eq!(no_redirect.get(&uri).send().await.unwrap().status(), 401);
        // A new session cancels the previous one; a staff session does not.
        let (s, b) = app
            .post(
                &format!("{OP}/customer_admin_sessions"),
                json!({ "data": { "type": "customer_admin_sessions", "relationships": { "customer": rel("customers", &c) } } }),
            )
            .await;
        assert_eq!(s, 201, "{b}");
        assert_eq!(get_me().await.unwrap().status(), 200);
        app.post(
            &format!("{OP}/sessions"),
            json!({ "data": { "type": "sessions", "relationships": { "customer": rel("customers", &c) } } }),
        )
        .await;
        assert_eq!(get_me().await.unwrap().status(), 401);
        let (s, _) = app
            .post(
                &format!("{OP}/sessions"),
                json!({ "data": { "type": "sessions", "relationships": { "customer": rel("customers", "4242") } } }),
            )
            .await;
        assert_eq!(s, 404);
        let (_, b) = app.get(&format!("{OP}/audit_log_entries?filter[action]=open_ui")).await;
        assert_eq!(b["data"].as_array().unwrap().len(), 3, "{be}: every opened session is audited");
    }
}

#[tokio::test]
async fn framework_rejections_are_json_api_errors_too() {
    for app in spawn_apps().await {
        let (s, b) = app.get(&format!("{OP}/customers/%FF%FE")).await;
        assert!(s == 400 || s == 404, "{}: {s}", app.backend);
        assert!(b["errors"][0]["detail"].is_string(), "{b}");
        let big = format!("{{\"data\":{{\"type\":\"customers\",\"attributes\":{{\"name\":\"{}\"}}}}}}", "x".repeat(3 << 20));
        let (s, b) = app.post_raw(&format!("{OP}/customers"), big).await;
        assert_eq!(s, 413, "{b}");
        assert!(b["errors"][0]["detail"].is_string(), "{b}");
    }
}

#[tokio::test]
async fn a_deleted_credential_stops_working_at_once() {
    for app in spawn_apps().await {
        let c = customer(&app, "A", json!({})).await;
        let (user, secret) = app.customer_credential(&c).await;
        let me = app.as_user(&user, &secret);
        assert_eq!(me.get(&format!("{CU}/customers")).await.0, 200, "{}", app.backend);
        // Cached now; deleting the customer (and with it the credential) ends it.
        assert_eq!(app.delete(&format!("{OP}/customers/{c}")).await.0, 204);
        assert_eq!(me.get(&format!("{CU}/customers")).await.0, 401);
    }
}

#[tokio::test]
async fn ring_groups_list_their_members_in_order_within_one_customer() {
    for app in spawn_apps().await {
        let be = app.backend;
        let a = customer(&app, "A", json!({})).await;
        let b_id = customer(&app, "B", json!({})).await;
        let account = |user: &str, c: &str| json!({ "data": { "type": "sip_device_routes", "attributes": { "username": user }, "relationships": { "customer": rel("customers", c) } } });
        let mut ids = Vec::new();
        for (user, c) in [("rg-1", &a), ("rg-2", &a), ("rg-3", &a), ("rg-b", &b_id)] {
            let (s, b) = app.post(&format!("{OP}/sip_device_routes"), account(user, c)).await;
            assert_eq!(s, 201, "{be}: {b}");
            ids.push(b["data"]["id"].as_str().unwrap().to_owned());
        }
        let members = |list: &[&String]| json!({ "data": list.iter().map(|id| json!({ "type": "sip_device_routes", "id": id })).collect::<Vec<_>>() });

        // Created with defaults; members answered in the given order.
        let (s, b) = app
            .post(
                &format!("{OP}/ring_groups?include=members"),
                json!({ "data": { "type": "ring_groups", "attributes": { "name": "Sales" },
                    "relationships": { "customer": rel("customers", &a), "members": members(&[&ids[2], &ids[0]]) } } }),
            )
            .await;
        assert_eq!(s, 201, "{be}: {b}");
        assert_eq!(b["data"]["attributes"]["strategy"], "simultaneous");
        assert_eq!(b["data"]["attributes"]["ring_timeout"], 20);
        let linkage = &b["data"]["relationships"]["members"]["data"];
        assert_eq!(linkage[0]["id"], ids[2].as_str());
        assert_eq!(linkage[1]["id"], ids[0].as_str());
        assert_eq!(b["included"].as_array().unwrap().len(), 2);
        let group = b["data"]["id"].as_str().unwrap().to_owned();

        // Another customer's account, a duplicate, a to-one shape: 422, nothing changed.
        for bad in [members(&[&ids[0], &ids[3]]), members(&[&ids[0], &ids[0]]), rel("sip_device_routes", &ids[1])] {
            let (s, b) = app
                .patch(
                    &format!("{OP}/ring_groups/{group}"),
                    json!({ "data": { "type": "ring_groups", "id": group, "relationships": { "members": bad } } }),
                )
                .await;
            assert_eq!(s, 422, "{be}: {b}");
            assert_eq!(b["errors"][0]["source"]["pointer"], "/data/relationships/members", "{b}");
        }
        let (s, b) = app.get(&format!("{OP}/ring_groups/{group}/relationships/members")).await;
        assert_eq!(s, 200);
        assert_eq!(b["data"].as_array().unwrap().len(), 2, "{be}: {b}");

        // A DID rings the group; the customer sees and edits it in its own API.
        let (s, b) = app
            .post(
                &format!("{OP}/available_did_numbers"),
                json!({ "data": { "type": "available_did_numbers", "attributes": { "number": "3725550100" },
                    "relationships": { "customer": rel("customers", &a), "destination": rel("ring_groups", &group) } } }),
            )
            .await;
        assert_eq!(s, 201, "{be}: {b}");
        let did = b["data"]["id"].as_str().unwrap().to_owned();
        let (ua, pa) = app.customer_credential(&a).await;
        let me = app.as_user(&ua, &pa);
        let (s, b) = me
            .patch(
                &format!("{CU}/ring_groups/{group}"),
                json!({ "data": { "type": "ring_groups", "id": group, "attributes": { "strategy": "sequential", "ring_timeout": 15 },
                    "relationships": { "members": members(&[&ids[0], &ids[1], &ids[2]]) } } }),
            )
            .await;
        assert_eq!(s, 200, "{be}: {b}");
        let (s, b) = me.get(&format!("{CU}/ring_groups/{group}/members")).await;
        assert_eq!(s, 200);
        let names: Vec<&str> = b["data"].as_array().unwrap().iter().map(|x| x["attributes"]["username"].as_str().unwrap()).collect();
        assert_eq!(names, ["rg-1", "rg-2", "rg-3"], "{be}");
        let (s, b) = me
            .patch(
                &format!("{CU}/ring_groups/{group}"),
                json!({ "data": { "type": "ring_groups", "id": group, "attributes": { "ring_timeout": 1 } } }),
            )
            .await;
        assert_eq!(s, 422, "{be}: {b}");
        // Customer B cannot see it, nor put its account into it.
        let (ub, pb) = app.customer_credential(&b_id).await;
        let them = app.as_user(&ub, &pb);
        assert_eq!(them.get(&format!("{CU}/ring_groups/{group}")).await.0, 404);
        let (s, _) = them
            .post(
                &format!("{CU}/ring_groups"),
                json!({ "data": { "type": "ring_groups", "attributes": { "name": "Steal" }, "relationships": { "members": members(&[&ids[0]]) } } }),
            )
            .await;
        assert_eq!(s, 422, "{be}");

        // CSV lists the members in order.
        let (s, csv) = app.get_text(&format!("{OP}/ring_groups.csv")).await;
        assert_eq!(s, 200);
        assert!(csv.lines().next().unwrap().ends_with("customer_id,members_ids"), "{csv}");
        assert!(csv.contains(&format!("{},{} {} {}", a, ids[0], ids[1], ids[2])), "{csv}");

        // Deleting a member takes it out of the group; deleting the group frees the DID.
        assert_eq!(app.delete(&format!("{OP}/sip_device_routes/{}", ids[1])).await.0, 204);
        let (_, b) = app.get(&format!("{OP}/ring_groups/{group}")).await;
        let left: Vec<&str> =
            b["data"]["relationships"]["members"]["data"].as_array().unwrap().iter().map(|x| x["id"].as_str().unwrap()).collect();
        assert_eq!(left, [ids[0].as_str(), ids[2].as_str()], "{be}");
        assert_eq!(me.delete(&format!("{CU}/ring_groups/{group}")).await.0, 204);
        let (_, b) = app.get(&format!("{OP}/available_did_numbers/{did}")).await;
        assert_eq!(b["data"]["relationships"]["destination"]["data"], Json::Null, "{be}");
    }
}

#[tokio::test]
async fn ring_groups_take_external_numbers_in_order() {
    for app in spawn_apps().await {
        let be = app.backend;
        let a = customer(&app, "A", json!({})).await;
        let group = |attrs: Json| json!({ "data": { "type": "ring_groups", "attributes": attrs, "relationships": { "customer": rel("customers", &a) } } });

        // Omitted: none. Given: in order, a leading + dropped (numbers are E.164 digits).
        let (s, b) = app.post(&format!("{OP}/ring_groups"), group(json!({ "name": "Plain" }))).await;
        assert_eq!(s, 201, "{be}: {b}");
        assert_eq!(b["data"]["attributes"]["external_numbers"], json!([]), "{be}");
        let (s, b) = app
            .post(&format!("{OP}/ring_groups"), group(json!({ "name": "Out", "external_numbers": ["+4930123456", "37060000001"] })))
            .await;
        assert_eq!(s, 201, "{be}: {b}");
        assert_eq!(b["data"]["attributes"]["external_numbers"], json!(["4930123456", "37060000001"]), "{be}");
        let id = b["data"]["id"].as_str().unwrap().to_owned();

        // Bad input: 422 pointing at the attribute, nothing changed.
        let too_many: Vec<String> = (0..51).map(|i| format!("4930{i:04}")).collect();
        for (bad, says) in [
            (json!("4930123456"), "must be an array of phone numbers"),
            (json!(["4930123456", "49-30"]), "entry 2 is not a phone number"),
            (json!(["1234567890123456"]), "entry 1 is not a phone number"),
            (json!(["+"]), "entry 1 is not a phone number"),
            (json!(["4930123456", "+4930123456"]), "entry 2 repeats an earlier number"),
            (json!(too_many), "can have at most 50 external numbers"),
            (json!(null), "can't be blank"),
        ] {
            let body = json!({ "data": { "type": "ring_groups", "id": id, "attributes": { "external_numbers": bad } } });
            let (s, b) = app.patch(&format!("{OP}/ring_groups/{id}"), body).await;
            assert_eq!(s, 422, "{be}: {bad} {b}");
            assert_eq!(b["errors"][0]["source"]["pointer"], "/data/attributes/external_numbers", "{be}: {b}");
            assert!(b["errors"][0]["detail"].as_str().unwrap().contains(says), "{be}: {bad} {b}");
        }
        let (_, b) = app.get(&format!("{OP}/ring_groups/{id}")).await;
        assert_eq!(b["data"]["attributes"]["external_numbers"], json!(["4930123456", "37060000001"]), "{be}");

        // The customer edits them in its own API; an empty list clears them.
        let (ua, pa) = app.customer_credential(&a).await;
        let me = app.as_user(&ua, &pa);
        let edit = |numbers: Json| json!({ "data": { "type": "ring_groups", "id": id, "attributes": { "external_numbers": numbers } } });
        let (s, b) = me.patch(&format!("{CU}/ring_groups/{id}"), edit(json!(["37060000001", "4930123456"]))).await;
        assert_eq!(s, 200, "{be}: {b}");
        assert_eq!(b["data"]["attributes"]["external_numbers"], json!(["37060000001", "4930123456"]), "{be}");

        // CSV: the list in one cell, in order.
        let (s, csv) = app.get_text(&format!("{OP}/ring_groups.csv")).await;
        assert_eq!(s, 200);
        assert!(csv.lines().next().unwrap().contains("external_numbers"), "{csv}");
        assert!(csv.contains("\"37060000001,4930123456\""), "{be}: {csv}");

        let (s, b) = me.patch(&format!("{CU}/ring_groups/{id}"), edit(json!([]))).await;
        assert_eq!(s, 200, "{be}: {b}");
        assert_eq!(b["data"]["attributes"]["external_numbers"], json!([]), "{be}");
    }
}

#[tokio::test]
async fn incoming_trunks_take_allowed_sources_as_addresses_and_ranges() {
    for app in spawn_apps().await {
        let be = app.backend;
        let a = customer(&app, "A", json!({})).await;
        let trunk = |attrs: Json| json!({ "data": { "type": "incoming_trunks", "attributes": attrs, "relationships": { "customer": rel("customers", &a) } } });
        let (s, b) = app.post(&format!("{OP}/incoming_trunks"), trunk(json!({ "name": "Open" }))).await;
        assert_eq!(s, 201, "{be}: {b}");
        assert_eq!(b["data"]["attributes"]["allowed_sources"], json!([]), "{be}: none given, calls from anywhere");
        // Stored canonical: host bits cleared, brackets dropped.
        let given = json!(["198.51.100.7/24", "[2001:db8::1]", "192.0.2.10"]);
        let (s, b) = app.post(&format!("{OP}/incoming_trunks"), trunk(json!({ "name": "Carrier", "allowed_sources": given }))).await;
        assert_eq!(s, 201, "{be}: {b}");
        assert_eq!(b["data"]["attributes"]["allowed_sources"], json!(["198.51.100.0/24", "2001:db8::1", "192.0.2.10"]), "{be}");
        let id = b["data"]["id"].as_str().unwrap().to_owned();

        let too_many: Vec<String> = (0..51).map(|i| format!("10.0.0.{i}")).collect();
        for (bad, says) in [
            (json!("192.0.2.10"), "must be an array"),
            (json!(["192.0.2.10", "carrier.example.com"]), "entry 2: 'carrier.example.com' is not an IP address or CIDR range"),
            (json!(["10.0.0.0/33"]), "entry 1: '10.0.0.0/33' has a prefix length outside 0..=32"),
            (json!(["192.0.2.300"]), "entry 1"),
            (json!(["192.0.2.0/24", "192.0.2.9/24"]), "entry 2 repeats an earlier one"),
            (json!(too_many), "can have at most 50 entries"),
        ] {
            let body = json!({ "data": { "type": "incoming_trunks", "id": id, "attributes": { "allowed_sources": bad } } });
            let (s, b) = app.patch(&format!("{OP}/incoming_trunks/{id}"), body).await;
            assert_eq!(s, 422, "{be}: {bad} {b}");
            assert_eq!(b["errors"][0]["source"]["pointer"], "/data/attributes/allowed_sources", "{be}: {b}");
            assert!(b["errors"][0]["detail"].as_str().unwrap().contains(says), "{be}: {bad} {b}");
        }
        let (_, b) = app.get(&format!("{OP}/incoming_trunks/{id}")).await;
        assert_eq!(b["data"]["attributes"]["allowed_sources"], json!(["198.51.100.0/24", "2001:db8::1", "192.0.2.10"]), "{be}: unchanged");

        // The customer sets them too, where the domain lets it manage trunks.
        let (ua, pa) = app.customer_credential(&a).await;
        let me = app.as_user(&ua, &pa);
        let body = json!({ "data": { "type": "incoming_trunks", "id": id, "attributes": { "allowed_sources": ["203.0.113.0/28"] } } });
        let (s, b) = me.patch(&format!("{CU}/incoming_trunks/{id}"), body).await;
        assert_eq!(s, 200, "{be}: {b}");
        assert_eq!(b["data"]["attributes"]["allowed_sources"], json!(["203.0.113.0/28"]), "{be}");
    }
}

/// Issue 14: the session timer interval is off (0) or at least RFC 4028's
/// 90 s floor; anything between is refused, naming the field.
#[tokio::test]
async fn the_session_timer_setting_is_off_or_at_least_ninety_seconds() {
    for app in spawn_apps().await {
        let be = app.backend;
        let patch = |v: Json| json!({ "data": { "type": "domain_settings", "attributes": { "session_expires": v } } });
        for bad in [json!(60), json!(89), json!(-1), json!(86_401)] {
            let (s, b) = app.patch(&format!("{OP}/domain_settings"), patch(bad.clone())).await;
            assert_eq!(s, 422, "{be}: {bad}: {b}");
            assert_eq!(b["errors"][0]["source"]["pointer"], "/data/attributes/session_expires", "{be}: {b}");
        }
        for good in [0, 90, 1800] {
            let (s, b) = app.patch(&format!("{OP}/domain_settings"), patch(json!(good))).await;
            assert_eq!(s, 200, "{be}: {good}: {b}");
            assert_eq!(b["data"]["attributes"]["session_expires"], good, "{be}");
        }
    }
}
