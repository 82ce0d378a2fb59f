//! Issue 16, point 3: CDR lists page back with links.prev (page[before])
//! over the pages links.next went through, and `/totals` answers the
//! list's filters with the same count the CDRs give, in both APIs.

use super::{customer, CU, OP};
use serde_json::Value as Json;
use store::cdr::TerminationCdr;

fn ids(b: &Json) -> Vec<String> {
    b["data"].as_array().unwrap().iter().map(|d| d["id"].as_str().unwrap().to_owned()).collect()
}

#[tokio::test]
async fn cdr_pages_go_back_and_totals_match_the_rows() {
    for app in super::spawn_apps().await {
        let be = app.backend;
        let c = customer(&app, "Acme", serde_json::json!({})).await;
        let cid: i64 = c.parse().unwrap();
        let t0 = domain::time::parse("2026-11-01 00:00:00").unwrap();
        // 95 CDRs over three hours, five to each start time (ties at page edges).
        let rows: Vec<_> = (0..95)
            .map(|i| TerminationCdr {
                customer_id: Some(if i % 5 == 0 { cid + 1 } else { cid }),
                gateway_id: Some(1 + i % 2),
                time_start: t0 + 17 * 60_000 + (i / 5) * 9 * 60_000,
                time_connect: (i % 3 != 0).then_some(t0),
                duration: if i % 3 != 0 { 60 + i } else { 0 },
                dst_number_in: Some(format!("3706{i:04}")),
                success: i % 3 != 0,
                ..TerminationCdr::default()
            })
            .collect();
        app.store.append_cdrs(&rows).await.unwrap();
        let window = "filter[time_start_gteq]=2026-11-01%2000:30:00&filter[time_start_lteq]=2026-11-01%2002:45:00";

        let mut url = format!("{}{OP}/termination_cdrs?{window}&page[size]=7", app.origin);
        let mut pages = Vec::new();
        loop {
            let (s, b) = app.get_url(&url).await;
            assert_eq!(s, 200, "{be}: {b}");
            assert_eq!(b["links"]["prev"].is_string(), !pages.is_empty(), "{be}: prev on every page but the first");
            pages.push(ids(&b));
            match b["links"]["next"].as_str() {
                Some(n) => url = n.to_owned(),
                None => break,
            }
        }
        let mut back = vec![pages.last().unwrap().clone()];
        loop {
            let (s, b) = app.get_url(&url).await;
            assert_eq!(s, 200, "{be}: {b}");
            assert_eq!(ids(&b), *back.last().unwrap());
            match b["links"]["prev"].as_str() {
                Some(p) => {
                    let (_, prev) = app.get_url(p).await;
                    assert!(prev["links"]["next"].is_string(), "{be}: a previous page leads on");
                    back.push(ids(&prev));
                    url = p.to_owned();
                }
                None => break,
            }
        }
        back.reverse();
        assert_eq!(back, pages, "{be}: Previous retraces Next");

        let seen = pages.concat().len() as u64;
        let (s, b) = app.get(&format!("{OP}/termination_cdrs/totals?{window}")).await;
        assert_eq!(s, 200, "{be}: {b}");
        let m = &b["meta"];
        assert_eq!(m["calls"], seen, "{be}: totals count the rows the list pages through");
        let in_window: Vec<_> =
            rows.iter().filter(|r| r.time_start >= t0 + 30 * 60_000 && r.time_start <= t0 + 2 * 3_600_000 + 45 * 60_000).collect();
        assert_eq!(m["calls"], in_window.len(), "{be}");
        let answered = in_window.iter().filter(|r| r.time_connect.is_some()).count();
        let seconds: i64 = in_window.iter().map(|r| r.duration).sum();
        assert_eq!((m["answered"].as_u64(), m["seconds"].as_i64()), (Some(answered as u64), Some(seconds)), "{be}");
        assert_eq!(m["capped"], false);
        let asr = (answered as f64 * 1000.0 / in_window.len() as f64).round() / 10.0;
        assert_eq!(m["asr"].as_f64(), Some(asr), "{be}");

        // A filter the rollup cannot answer is counted from the rows.
        let (_, b) =
            app.get(&format!("{OP}/termination_cdrs/totals?{window}&filter[dst_number_in_cont]=1&filter[termination_gateway.id]=2")).await;
        let want = in_window.iter().filter(|r| r.dst_number_in.as_deref().unwrap().contains('1') && r.gateway_id == Some(2)).count();
        assert_eq!(b["meta"]["calls"], want, "{be}: {b}");

        // The customer API answers for its own CDRs only.
        let (user, pass) = app.customer_credential(&c).await;
        let me = app.as_user(&user, &pass);
        let (s, b) = me.get(&format!("{CU}/termination_cdrs/totals?{window}")).await;
        assert_eq!(s, 200, "{be}: {b}");
        assert_eq!(b["meta"]["calls"], in_window.iter().filter(|r| r.customer_id == Some(cid)).count(), "{be}");

        // Bad input: a clear 400 each.
        for bad in [
            format!("{OP}/termination_cdrs/totals"),
            format!("{OP}/termination_cdrs/totals?{window}&page[size]=5"),
            format!("{OP}/termination_cdrs/totals?{window}&filter[nope]=1"),
            format!("{OP}/termination_cdrs?{window}&page[before]=x.y"),
            format!("{OP}/termination_cdrs?{window}&page[before]=5.1&page[after]=5.1"),
            format!("{OP}/termination_cdrs?{window}&page[before]=5.1&sort=dst_number_in"),
        ] {
            let (s, b) = app.get(&bad).await;
            assert_eq!(s, 400, "{be}: {bad}: {b}");
            assert!(b["errors"][0]["detail"].is_string(), "{be}: {bad}");
        }
        let (s, _) = app.get(&format!("{OP}/customers/totals")).await;
        assert_eq!(s, 404, "{be}: only CDR lists have totals");
    }
}
