//! Issue 15, point 3 (logins): failed logins back off per (address,
//! login), and per login only by a small capped delay, so an attacker
//! elsewhere cannot lock the owner out. Real HTTP from two local addresses
//! (127.0.0.2 the attacker's, 127.0.0.1 the owner's).

use super::{customer, CU, OP};
use crate::support::spawn_apps;
use serde_json::{json, Value as Json};
use std::time::{Duration, Instant};

/// The detail of an audit entry (its `after`, as a document or a string of one).
fn detail(entry: &Json) -> Json {
    let after = &entry["attributes"]["after"];
    after.as_str().map_or_else(|| after.clone(), |s| serde_json::from_str(s).unwrap_or(Json::Null))
}

/// The finding replayed: an attacker's many bad attempts on a valid
/// credential used to lock it for 5 minutes for everyone, the first
/// operator's included. Now the attacker's address waits, the owner's does not.
#[tokio::test]
async fn an_attackers_failures_do_not_lock_the_owner_out() {
    for app in spawn_apps().await {
        let be = app.backend;
        let c = customer(&app, "A", json!({})).await;
        let (user, secret) = app.customer_credential(&c).await;
        for (login, right, path) in
            [(user.as_str(), secret.as_str(), format!("{CU}/customers")), ("op", "op-secret", format!("{OP}/customers"))]
        {
            let attacker = app.at_address("127.0.0.2").as_user(login, "wrong-guess");
            let mut answers = Vec::new();
            for _ in 0..12 {
                answers.push(attacker.get(&path).await.0);
            }
            // A few tries are free (typos), then the address waits, unchecked.
            assert_eq!(answers[..3], [401, 401, 401], "{be} {login}: {answers:?}");
            assert!(answers[3..].iter().all(|&s| s == 429), "{be} {login}: {answers:?}");
            let r = attacker.client.get(format!("{}{path}", app.origin)).basic_auth(login, Some("wrong-guess")).send().await.unwrap();
            assert_eq!(r.status(), 429);
            let wait: u64 = r.headers()["retry-after"].to_str().unwrap().parse().unwrap();
            assert!((1..=2).contains(&wait), "{be}: Retry-After {wait}");
            // Even the right secret waits from there...
            assert_eq!(app.at_address("127.0.0.2").as_user(login, right).get(&path).await.0, 429, "{be} {login}");
            // ...but the owner, elsewhere, gets in at once.
            let t = Instant::now();
            let (s, b) = app.at_address("127.0.0.1").as_user(login, right).get(&path).await;
            assert_eq!(s, 200, "{be} {login}: {b}");
            assert!(t.elapsed() < Duration::from_secs(1), "{be} {login}: no delay for 3 failures");
        }
        // The back-off is in the audit log, against the credential attacked.
        let (_, b) = app.get(&format!("{OP}/audit_log_entries?filter[action]=login_backoff")).await;
        let entries: Vec<Json> = b["data"].as_array().unwrap().iter().map(detail).collect();
        assert!(entries.iter().any(|d| d["address"] == "127.0.0.2" && d["scope"] == "address"), "{be}: {entries:?}");
    }
}

/// A distributed guess: three failures from each of several addresses. Each
/// address then waits, and every attempt on the login is slowed; the owner,
/// from an address that never failed, is delayed by the cap at most.
#[tokio::test]
async fn a_distributed_guess_only_delays_the_owner_by_seconds() {
    for app in spawn_apps().await {
        let be = app.backend;
        let path = format!("{OP}/customers");
        for host in 2..=5 {
            let attacker = app.at_address(&format!("127.0.0.{host}")).as_user("op", "wrong-guess");
            for _ in 0..3 {
                assert_eq!(attacker.get(&path).await.0, 401, "{be}: 127.0.0.{host}");
            }
            assert_eq!(attacker.get(&path).await.0, 429, "{be}: 127.0.0.{host} waits");
        }
        // 12 failures on "op": past the 10 free ones, attempts are delayed.
        let t = Instant::now();
        assert_eq!(app.at_address("127.0.0.6").as_user("op", "wrong-again").get(&path).await.0, 401, "{be}");
        assert!(t.elapsed() >= Duration::from_millis(900), "{be}: a fresh address is slowed too ({:?})", t.elapsed());
        let t = Instant::now();
        let (s, b) = app.at_address("127.0.0.1").get(&path).await;
        assert_eq!(s, 200, "{be}: {b}");
        assert!(t.elapsed() <= Duration::from_secs(3), "{be}: the owner waited {:?}", t.elapsed());
        // Another login is not slowed at all.
        let c = customer(&app, "B", json!({})).await;
        let (user, secret) = app.customer_credential(&c).await;
        let t = Instant::now();
        assert_eq!(app.at_address("127.0.0.6").as_user(&user, &secret).get(&format!("{CU}/customers")).await.0, 200);
        assert!(t.elapsed() < Duration::from_secs(1), "{be}");
        let (_, b) = app.get(&format!("{OP}/audit_log_entries?filter[action]=login_backoff")).await;
        assert!(b["data"].as_array().unwrap().iter().map(detail).any(|d| d["scope"] == "login" && d["username"] == "op"), "{be}: {b}");
    }
}
