//! The relationship pickers' search over HTTP, on every backend: ranking
//! (exact id, then prefix, then substring), the viewer's reach (a customer
//! never gets another customer's records, but does get shared gateways),
//! the operator's narrowing to one customer, and clear 4xx answers. Plus
//! the latency at 100,000 SIP accounts (ignored by default: run with
//! `--ignored --nocapture` to measure).

use super::{customer, open_ui, Server, Session};
use crate::ui::i18n::Lang;
use crate::ui::picker::PICKER_MESSAGES;
use domain::schema;
use reqwest::StatusCode;
use serde_json::Value as Json;
use store::{Actor, Input, RelInput};

async fn sip(srv: &Server, user: &str, c: i64) -> i64 {
    let i = Input::default().with(&schema::SIP_ACCOUNTS, "username", user).with_rel(
        &schema::SIP_ACCOUNTS,
        "customer",
        RelInput::To("customers", c),
    );
    srv.store.create(&schema::SIP_ACCOUNTS, &Actor::system(), i).await.unwrap().id()
}

async fn gateway(srv: &Server, name: &str, c: Option<i64>) -> i64 {
    let mut i = Input::default().with(&schema::GATEWAYS, "name", name).with(&schema::GATEWAYS, "host", "192.0.2.1");
    if let Some(c) = c {
        i = i.with_rel(&schema::GATEWAYS, "customer", RelInput::To("customers", c));
    }
    srv.store.create(&schema::GATEWAYS, &Actor::system(), i).await.unwrap().id()
}

/// The status and the (type, id, label) of each hit.
async fn pick(srv: &Server, s: &mut Session, path: &str) -> (StatusCode, Vec<(String, i64, String)>, Json) {
    let (st, body, _) = srv.get(s, path).await;
    let json: Json = serde_json::from_str(&body).unwrap_or(Json::Null);
    let hits = json
        .as_array()
        .map(|a| {
            a.iter()
                .map(|h| (h["type"].as_str().unwrap().to_owned(), h["id"].as_i64().unwrap(), h["label"].as_str().unwrap().to_owned()))
                .collect()
        })
        .unwrap_or_default();
    (st, hits, json)
}

fn sorted<'a>(l: &[&'a str]) -> Vec<&'a str> {
    let mut l = l.to_vec();
    l.sort_unstable();
    l
}

fn labels(hits: &[(String, i64, String)]) -> Vec<&str> {
    hits.iter().map(|h| h.2.as_str()).collect()
}

pub(super) async fn pickers_rank_scope_and_refuse_bad_input(srv: Server) {
    let (a, b) = (customer(&srv, "Alpha Org").await, customer(&srv, "Beta Org").await);
    let mut ids = Vec::new();
    for user in ["xalpha-1", "alpha-2", "Alpha-3", "alpha-1", "zz-alpha"] {
        ids.push(sip(&srv, user, a).await);
    }
    let secret = sip(&srv, "alpha-of-beta", b).await;
    let shared = gateway(&srv, "gw-shared", None).await;
    let own_gw = gateway(&srv, "gw-alpha", Some(a)).await;
    let other_gw = gateway(&srv, "gw-beta", Some(b)).await;
    let mut op = srv.operator().await;

    // Prefix (in label order) before substrings; a prefix in another case
    // ranks before the other substrings.
    let (st, hits, _) = pick(&srv, &mut op, "/ui/pick/sip_device_routes?q=alpha").await;
    assert_eq!(st, StatusCode::OK);
    let got = labels(&hits);
    assert_eq!(got.len(), 6, "{hits:?}");
    assert_eq!(sorted(&got[..4]), ["Alpha-3", "alpha-1", "alpha-2", "alpha-of-beta"], "prefixes first: {hits:?}");
    assert_eq!(got[4..], ["xalpha-1", "zz-alpha"], "then substrings: {hits:?}");
    // An exact id comes first, whatever its name.
    let (_, hits, json) = pick(&srv, &mut op, &format!("/ui/pick/sip_device_routes?q={}", ids[4])).await;
    assert_eq!(hits[0], ("sip_device_routes".into(), ids[4], "zz-alpha".into()), "{json}");
    assert!(json[0]["detail"].as_str().unwrap().contains(&format!("#{}", ids[4])), "{json}");
    // Narrowed to a customer (an operator form after its customer is chosen).
    let (_, hits, _) = pick(&srv, &mut op, &format!("/ui/pick/sip_device_routes?q=alpha&customer={b}")).await;
    assert_eq!(labels(&hits), ["alpha-of-beta"]);
    let (_, hits, _) = pick(&srv, &mut op, &format!("/ui/pick/termination_gateways?customer={a}")).await;
    assert_eq!(labels(&hits), ["gw-alpha", "gw-shared"], "own and shared gateways, not B's");
    // Several types at once, and labels of given values in the given order.
    let (_, hits, _) = pick(&srv, &mut op, "/ui/pick/sip_device_routes,ring_groups?q=zz").await;
    assert_eq!(labels(&hits), ["zz-alpha"]);
    let (_, hits, _) = pick(&srv, &mut op, &format!("/ui/pick/sip_device_routes?values={},{}", ids[2], ids[0])).await;
    assert_eq!(labels(&hits), ["Alpha-3", "xalpha-1"]);
    // At most 20 hits.
    for i in 0..25 {
        sip(&srv, &format!("bulk-{i:02}"), a).await;
    }
    let (_, hits, _) = pick(&srv, &mut op, "/ui/pick/sip_device_routes?q=bulk").await;
    assert_eq!(hits.len(), 20);
    assert_eq!(hits[0].2, "bulk-00");

    // Bad input: clear JSON:API errors.
    for (path, want) in [
        ("/ui/pick/nothing?q=a", StatusCode::NOT_FOUND),
        ("/ui/pick/sip_device_routes,nothing?q=a", StatusCode::NOT_FOUND),
        ("/ui/pick/sip_device_routes?customer=x", StatusCode::BAD_REQUEST),
        ("/ui/pick/sip_device_routes?customer=-1", StatusCode::BAD_REQUEST),
        ("/ui/pick/sip_device_routes?values=1,abc", StatusCode::BAD_REQUEST),
        ("/ui/pick/sip_device_routes?values=ring_groups:1", StatusCode::BAD_REQUEST),
    ] {
        let (st, _, json) = pick(&srv, &mut op, path).await;
        assert_eq!(st, want, "{path}: {json}");
        assert!(json["errors"][0]["detail"].is_string(), "{path}: {json}");
    }
    let long = "a".repeat(101);
    let (st, _, json) = pick(&srv, &mut op, &format!("/ui/pick/sip_device_routes?q={long}")).await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{json}");

    // A customer: only its own records, by name, by id or by value; the
    // shared gateway it may route to, never B's.
    let mut cust = open_ui(&srv, &mut op, a).await;
    let (st, hits, _) = pick(&srv, &mut cust, "/customer/pick/sip_device_routes?q=alpha").await;
    assert_eq!(st, StatusCode::OK);
    let got = labels(&hits);
    assert_eq!(sorted(&got[..3]), ["Alpha-3", "alpha-1", "alpha-2"], "{hits:?}");
    assert_eq!(got[3..], ["xalpha-1", "zz-alpha"], "{hits:?}");
    for path in [
        format!("/customer/pick/sip_device_routes?q={secret}"),
        format!("/customer/pick/sip_device_routes?values={secret}"),
        format!("/customer/pick/sip_device_routes?q=of-beta&customer={b}"),
        "/customer/pick/termination_gateways?q=gw-beta".to_owned(),
        format!("/customer/pick/termination_gateways?values={other_gw}"),
    ] {
        let (st, hits, _) = pick(&srv, &mut cust, &path).await;
        assert_eq!(st, StatusCode::OK, "{path}");
        // (An id also matches names that contain its digits: bulk-06.)
        assert!(hits.iter().all(|h| h.1 != secret && h.1 != other_gw && !h.2.contains("beta")), "{path}: {hits:?}");
    }
    let (_, hits, _) = pick(&srv, &mut cust, "/customer/pick/termination_gateways").await;
    let mut got: Vec<i64> = hits.iter().map(|h| h.1).collect();
    got.sort_unstable();
    assert_eq!(got, [shared, own_gw]);
    // A type a customer does not see at all is no type for it.
    let (st, _, _) = pick(&srv, &mut cust, "/customer/pick/operator_users?q=op").await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    // Without a session: no answer.
    let (st, _, _) = pick(&srv, &mut Session::default(), "/customer/pick/sip_device_routes?q=alpha").await;
    assert!(st.is_client_error(), "{st}");
}

#[test]
fn picker_texts_are_translated() {
    for lang in [Lang::Ru, Lang::Lt] {
        let missing: Vec<&&str> = PICKER_MESSAGES.iter().filter(|m| lang.t(m) == **m).collect();
        assert!(missing.is_empty(), "{lang:?} lacks {missing:?}");
    }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

/// p50/p99 of the pick endpoint at 100,000 SIP accounts on SQLite.
#[tokio::test]
#[ignore = "a measurement: seeds 100,000 SIP accounts"]
async fn pick_latency_at_100k_sip_accounts() {
    let (store, db) = store::testing::sqlite().await;
    let srv = super::serve(store, db).await;
    let c = customer(&srv, "Big Co").await;
    let other = customer(&srv, "Other Co").await;
    let t = std::time::Instant::now();
    store::testing::bulk_sip_accounts(&srv.store, c, "user-", 1, 90_000).await.unwrap();
    store::testing::bulk_sip_accounts(&srv.store, other, "user-", 90_001, 100_000).await.unwrap();
    println!("seeded 100,000 SIP accounts in {:?}", t.elapsed());
    let mut op = srv.operator().await;
    let mut cust = open_ui(&srv, &mut op, c).await;
    type Case = (&'static str, bool, fn(usize) -> String);
    let cases: [Case; 5] = [
        ("operator prefix", false, |i| format!("user-0{:03}", i % 1000)),
        ("operator contains (rare)", false, |i| format!("{:05}7", i % 10_000)),
        ("operator contains (absent)", false, |i| format!("nobody{i}")),
        ("customer prefix", true, |i| format!("user-0{:03}", i % 1000)),
        ("customer contains (rare)", true, |i| format!("{:05}3", i % 10_000)),
    ];
    for (name, as_customer, q) in cases {
        let (s, base) = if as_customer { (&mut cust, "/customer") } else { (&mut op, "/ui") };
        let mut times = Vec::new();
        for i in 0..200 {
            let path = format!("{base}/pick/sip_device_routes?q={}", q(i * 37));
            let t = std::time::Instant::now();
            let (st, _, _) = srv.get(s, &path).await;
            times.push(t.elapsed().as_secs_f64() * 1000.0);
            assert_eq!(st, StatusCode::OK, "{path}");
        }
        times.sort_by(f64::total_cmp);
        println!("{name}: p50 {:.2} ms, p99 {:.2} ms", percentile(&times, 0.5), percentile(&times, 0.99));
    }
}
