//! CDR lists that answer questions, and the paging bar (issue 16, points 3
//! and 6), in a real browser: the totals strip above the termination CDR
//! table equals a count of the seeded CDRs (also filtered), Next /
//! Previous / First walk keyset pages and come back to the same rows,
//! rows per page switches between 25 and 100, ordinary lists count their
//! pages and jump to the last, and the sorted header is marked. Headless
//! Chromium through chromedriver, against the real server over a fresh
//! SQLite store.

// Not every test file uses every command of the client.
#[allow(dead_code)]
#[path = "support/ui.rs"]
mod ui;
#[allow(dead_code)]
#[path = "support/webdriver.rs"]
mod webdriver;

use domain::schema;
use serde_json::json;
use store::cdr::TerminationCdr;
use store::{Input, Store};
use ui::op;
use webdriver::Browser;

const SEEDED: usize = 130;

/// 130 CDRs over the last twenty hours (pairs share a start time), a third
/// unanswered, and seven from before the list's default day-long window.
async fn seed(s: &Store) -> Vec<TerminationCdr> {
    let now = domain::time::now_ms() / 1000 * 1000;
    let rows: Vec<_> = (0..SEEDED as i64)
        .map(|i| {
            let at = now - 600_000 - (i / 2) * 1_100_000;
            let answered = i % 3 != 0;
            TerminationCdr {
                time_start: at,
                time_connect: answered.then_some(at + 1000),
                time_end: Some(at + 2000 + i * 1000),
                duration: if answered { 30 + i } else { 0 },
                dst_number_in: Some(format!("3706{i:07}")),
                lega_disconnect_code: Some(if answered { 200 } else { 486 }),
                success: answered,
                ..TerminationCdr::default()
            }
        })
        .collect();
    let old: Vec<_> =
        (0..7).map(|i| TerminationCdr { time_start: now - 30 * 3_600_000 - i, duration: 5, ..TerminationCdr::default() }).collect();
    s.append_cdrs(&old).await.unwrap();
    s.append_cdrs(&rows).await.unwrap();
    for i in 0..55 {
        s.create(&schema::CUSTOMERS, &op(), Input::default().with(&schema::CUSTOMERS, "name", format!("Customer {i:02}"))).await.unwrap();
    }
    rows
}

async fn spawn() -> (ui::Server, Vec<TerminationCdr>) {
    let (store, db) = ui::store().await;
    let rows = seed(&store).await;
    (ui::serve(store, db).await, rows)
}

async fn total(b: &Browser, key: &str) -> String {
    b.text(&format!("section.totals dd[data-total='{key}']")).await
}

/// The ids of the rows shown.
async fn ids(b: &Browser) -> Vec<String> {
    let v = b.exec("return [...document.querySelectorAll('table tbody tr[data-id]')].map(r => r.dataset.id)", json!([])).await;
    v.as_array().unwrap().iter().map(|x| x.as_str().unwrap().to_owned()).collect()
}

/// Picks a page size, as a user would: app.js sends the form on change.
async fn page_size(b: &Browser, n: u64) {
    b.exec("window.__sb_old_page = true", json!([])).await;
    b.exec(
        "const s = document.querySelector('form.page-size select'); s.value = arguments[0]; s.dispatchEvent(new Event('change'));",
        json!([n.to_string()]),
    )
    .await;
    b.wait_for("the resized page", "return !window.__sb_old_page && document.readyState === 'complete'").await;
}

#[tokio::test]
async fn cdr_totals_paging_and_page_sizes() {
    let (srv, rows) = spawn().await;
    let Some(b) = Browser::start().await else { return };
    let o = &srv.origin;
    ui::sign_in(&b, o).await;

    b.goto(&format!("{o}/ui/termination-cdrs")).await;
    let answered = rows.iter().filter(|r| r.time_connect.is_some()).count();
    let seconds: i64 = rows.iter().map(|r| r.duration).sum();
    assert_eq!(total(&b, "calls").await, SEEDED.to_string(), "the strip counts the window, not the page");
    assert_eq!(total(&b, "answered").await, answered.to_string());
    assert_eq!(total(&b, "asr").await, format!("{:.1} %", answered as f64 * 100.0 / SEEDED as f64));
    assert_eq!(total(&b, "minutes").await, format!("{:.1}", seconds as f64 / 60.0));
    assert!(b.text("nav.pages .info").await.starts_with(&format!("{SEEDED} ")), "the bar's count is the totals'");

    // Keyset pages of 50: Next twice, Previous back, First home.
    let p1 = ids(&b).await;
    assert_eq!(p1.len(), 50);
    assert_eq!(b.count("nav.pages a[rel=prev]").await, 0, "no Previous on the first page");
    assert_eq!(b.count("nav.pages a[rel=next]").await, 1);
    b.click_to_load("nav.pages a[rel=next]").await;
    let p2 = ids(&b).await;
    assert_eq!(p2.len(), 50);
    assert!(p2.iter().all(|id| !p1.contains(id)), "the next page holds other rows");
    b.click_to_load("nav.pages a[rel=next]").await;
    let p3 = ids(&b).await;
    assert_eq!(p3.len(), SEEDED - 100);
    assert_eq!(b.count("nav.pages a[rel=next]").await, 0, "the last page has no Next");
    let mut all: Vec<_> = [p1.clone(), p2.clone(), p3.clone()].concat();
    all.sort();
    all.dedup();
    assert_eq!(all.len(), SEEDED, "every CDR once");
    b.click_to_load("nav.pages a[rel=prev]").await;
    assert_eq!(ids(&b).await, p2, "Previous shows the page before again");
    b.click_to_load("nav.pages a[rel=prev]").await;
    assert_eq!(ids(&b).await, p1);
    assert_eq!(b.count("nav.pages a[rel=prev]").await, 0);
    b.click_to_load("nav.pages a[rel=next]").await;
    b.click_to_load("nav.pages a[rel=next]").await;
    b.exec("window.__sb_old_page = true", json!([])).await;
    b.exec("[...document.querySelectorAll('nav.pages a')].find(a => a.textContent === 'First page').click()", json!([])).await;
    b.wait_for("the first page", "return !window.__sb_old_page && document.readyState === 'complete'").await;
    assert_eq!(ids(&b).await, p1, "First goes back to the newest");

    // Rows per page.
    page_size(&b, 25).await;
    assert_eq!(ids(&b).await, p1[..25], "25 rows, from the start");
    b.click_to_load("nav.pages a[rel=next]").await;
    assert_eq!(ids(&b).await, p1[25..50], "the size is kept by Next");
    page_size(&b, 100).await;
    assert_eq!(ids(&b).await.len(), 100);
    assert!(b.url().await.contains("page%5Bsize%5D=100") || b.url().await.contains("page[size]=100"));
    b.goto(&format!("{o}/ui/termination-cdrs?page[size]=501")).await;
    assert!(b.text("main").await.contains("is not a page size here"), "an odd size is refused clearly");

    // Filtered: the strip follows the filter.
    b.goto(&format!("{o}/ui/termination-cdrs?filter[success]=false")).await;
    assert_eq!(total(&b, "calls").await, (SEEDED - answered).to_string());
    assert_eq!(total(&b, "answered").await, "0");
    assert_eq!(ids(&b).await.len(), SEEDED - answered);

    // Sorted and sortable headers, and a header that stays in view.
    let sorted = b.exec("return document.querySelector('th[aria-sort]').textContent.trim() + '|' + document.querySelector('th[aria-sort]').getAttribute('aria-sort')", json!([])).await;
    assert_eq!(sorted, "Time Start|descending");
    let marks = b
        .exec(
            "return [...document.querySelectorAll('th.sortable a')].map(a => getComputedStyle(a, '::after').content).filter(c => c && c !== 'none').length",
            json!([]),
        )
        .await;
    assert!(marks.as_u64().unwrap() >= 5, "every sortable header shows a mark: {marks}");
    let pos = b.exec("return getComputedStyle(document.querySelector('table thead th')).position", json!([])).await;
    assert_eq!(pos, "sticky");

    // An ordinary list: counted pages, Last, and back to First.
    b.goto(&format!("{o}/ui/customers?page[size]=25")).await;
    assert_eq!(b.text("nav.pages .info").await, "Page 1 of 3 · 55 records");
    b.exec("window.__sb_old_page = true", json!([])).await;
    b.exec("[...document.querySelectorAll('nav.pages a')].find(a => a.textContent === 'Last page').click()", json!([])).await;
    b.wait_for("the last page", "return !window.__sb_old_page && document.readyState === 'complete'").await;
    assert_eq!(b.text("nav.pages .info").await, "Page 3 of 3 · 55 records");
    assert_eq!(ids(&b).await.len(), 5);
    assert_eq!(b.count("nav.pages a[rel=next]").await, 0);
    b.click_to_load("nav.pages a[rel=prev]").await;
    assert_eq!(b.text("nav.pages .info").await, "Page 2 of 3 · 55 records");
    b.quit().await;
}
