//! Bulk actions and the empty and error states in a real browser (issue
//! 16, points 4 and 7): 100 of a customer's 120 numbers disabled through
//! "select all matching" with one audit entry each, a bulk delete with a
//! refused record named, the export of exactly the ticked rows, and the
//! messages of an empty list, a filter without a match, a bad sort, an
//! unknown page and a missing record. Headless Chromium through
//! chromedriver, against the real server over a fresh SQLite store.

// Not every test file uses every command of the client.
#[allow(dead_code)]
#[path = "support/ui.rs"]
mod ui;
#[allow(dead_code)]
#[path = "support/webdriver.rs"]
mod webdriver;

use domain::schema;
use serde_json::json;
use store::{Input, ListQuery, RelInput, Scope, Store};
use ui::create;
use webdriver::Browser;

/// 120 numbers of one customer (100 starting 370610, 20 starting 370620),
/// and three gateways, the second used by a route.
async fn seed(s: &Store) -> Vec<i64> {
    let c = create(s, &schema::CUSTOMERS, Input::default().with(&schema::CUSTOMERS, "name", "Bulk Co")).await;
    for n in 0..120 {
        let number = if n < 100 { format!("370610{n:05}") } else { format!("370620{n:05}") };
        let i = Input::default().with(&schema::DID_NUMBERS, "number", number).with_rel(
            &schema::DID_NUMBERS,
            "customer",
            RelInput::To("customers", c),
        );
        create(s, &schema::DID_NUMBERS, i).await;
    }
    let mut gws = Vec::new();
    for name in ["gw-free-1", "gw-in-use", "gw-free-2"] {
        let i = Input::default().with(&schema::GATEWAYS, "name", name).with(&schema::GATEWAYS, "host", "198.51.100.7").with_rel(
            &schema::GATEWAYS,
            "customer",
            RelInput::To("customers", c),
        );
        gws.push(create(s, &schema::GATEWAYS, i).await);
    }
    let route = Input::default()
        .with(&schema::ROUTES, "name", "rt-1")
        .with_rel(&schema::ROUTES, "gateway", RelInput::To("termination_gateways", gws[1]))
        .with_rel(&schema::ROUTES, "customer", RelInput::To("customers", c));
    create(s, &schema::ROUTES, route).await;
    gws
}

async fn audit_entries(s: &Store) -> u64 {
    let q = ListQuery { count: true, limit: 1, ..ListQuery::default() };
    s.list(&schema::AUDIT_LOG, Scope::Operator, &q).await.unwrap().total.unwrap()
}

/// The numbers, (number, enabled).
async fn numbers(s: &Store) -> Vec<(String, bool)> {
    let q = ListQuery { limit: 1000, ..ListQuery::default() };
    let page = s.list(&schema::DID_NUMBERS, Scope::Operator, &q).await.unwrap();
    page.records.iter().map(|r| (r.get("number").as_str().unwrap().to_owned(), r.get("enabled").as_bool().unwrap())).collect()
}

#[tokio::test]
async fn bulk_actions_and_empty_and_error_states() {
    let (store, db) = ui::store().await;
    let gws = seed(&store).await;
    let srv = ui::serve(store.clone(), db).await;
    let o = &srv.origin;
    let Some(b) = Browser::start().await else { return };
    ui::sign_in(&b, o).await;
    b.exec("document.cookie = 'sb_tz=UTC; Path=/'", json!([])).await;

    // Filter to 100 of the 120, select all matching, disable.
    b.goto(&format!("{o}/ui/numbers")).await;
    b.fill("#f-number_start", "370610").await;
    b.click_to_load("form.filters button[type=submit]").await;
    assert!(b.text("label[for=bulk-all]").await.contains("Select all 100 matching"));
    let shown = b.count("table tbody input[type=checkbox][form=bulk]").await;
    assert!(shown > 0 && shown < 100, "one page of rows ({shown}), not all 100");
    let label = b.exec("return document.querySelector('tbody input[form=bulk]').getAttribute('aria-label')", json!([])).await;
    assert_eq!(label.as_str(), Some("Select 37061000000"));
    let before = audit_entries(&store).await;
    b.click("#bulk-all").await;
    b.exec("document.getElementById('bulk-action').value = 'disable'", json!([])).await;
    b.screenshot("bulk-numbers-1366").await;
    b.click_to_load("form.bulk button[type=submit]").await;
    assert_eq!(b.text("main h1").await, "Disable 100 available numbers?");
    assert!(b.text("main .bulk-names").await.contains("37061000000, 37061000001"), "names the first few");
    assert_eq!(audit_entries(&store).await, before, "nothing changes before Confirm");
    b.screenshot("bulk-confirm-1366").await;
    let t = std::time::Instant::now();
    b.click_to_load("main form button.primary").await;
    eprintln!("bulk disable of 100 numbers, Confirm to result page: {} ms", t.elapsed().as_millis());
    assert!(b.text("main .notice").await.starts_with("Disabled 100 available numbers"), "{}", b.text("main .notice").await);
    assert_eq!(audit_entries(&store).await, before + 100, "one audit entry per disabled number");
    let all = numbers(&store).await;
    assert_eq!(all.len(), 120);
    for (number, enabled) in &all {
        assert_eq!(*enabled, !number.starts_with("370610"), "{number}");
    }

    // Export selection: a CSV of exactly the ticked rows, as the list's own export.
    b.goto(&format!("{o}/ui/numbers?filter%5Bnumber_start%5D=370620")).await;
    b.exec("const boxes = document.querySelectorAll('tbody input[form=bulk]'); boxes[0].click(); boxes[2].click();", json!([])).await;
    let visible = "return document.querySelector('#bulk-value').checkVisibility()";
    assert_eq!(b.exec(visible, json!([])).await, false, "the edit's value only for Edit");
    b.exec("const a = document.getElementById('bulk-action'); a.value = 'edit'; a.dispatchEvent(new Event('change'));", json!([])).await;
    assert_eq!(b.exec(visible, json!([])).await, true);
    b.exec("document.getElementById('bulk-action').value = 'export'", json!([])).await;
    let csv = b
        .exec_async(
            "const done = arguments[arguments.length - 1];\
             const f = document.getElementById('bulk');\
             fetch(f.getAttribute('action'), { method: 'POST', body: new URLSearchParams(new FormData(f)) }).then(r => r.text()).then(done);",
            json!([]),
        )
        .await;
    let csv = csv.as_str().unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 3, "a header and the two ticked rows: {csv}");
    assert!(lines[0].starts_with("id,number"), "{csv}");
    assert!(lines[1].contains("37062000100") && lines[2].contains("37062000102"), "{csv}");

    // Bulk delete: the gateway in use is refused by name, the rest go.
    b.goto(&format!("{o}/ui/termination-gateways")).await;
    b.click("thead input[data-bulk-page]").await;
    let ticked = b.exec("return [...document.querySelectorAll('tbody input[form=bulk]')].filter(c => c.checked).length", json!([])).await;
    assert_eq!(ticked, json!(3), "the header box ticks the page");
    b.exec("document.getElementById('bulk-action').value = 'delete'", json!([])).await;
    b.click_to_load("form.bulk button[type=submit]").await;
    assert_eq!(b.text("main h1").await, "Delete 3 termination gateways?");
    b.click_to_load("main form button.danger").await;
    let notice = b.text("main .notice").await;
    assert!(notice.contains("Deleted 2 termination gateways; 1 refused:"), "{notice}");
    assert!(notice.contains("gw-in-use: termination gateway"), "{notice}");
    let left = store.list(&schema::GATEWAYS, Scope::Operator, &ListQuery::default()).await.unwrap().records;
    assert_eq!(left.iter().map(|r| r.id()).collect::<Vec<_>>(), [gws[1]]);

    // Empty and error states.
    b.goto(&format!("{o}/ui/ring-groups")).await;
    assert!(b.text("td.empty").await.contains("No ring groups yet"));
    assert_eq!(b.count("td.empty a[href='/ui/ring-groups/new']").await, 1, "offers Create");
    b.goto(&format!("{o}/ui/numbers?filter%5Bnumber_start%5D=4420")).await;
    assert!(b.text("td.empty").await.contains("No available numbers match these filters"));
    assert_eq!(b.count("td.empty a[href='/ui/numbers']").await, 1, "offers Reset");
    b.goto(&format!("{o}/ui/numbers?sort=colour")).await;
    assert!(b.text("main .alert").await.contains("This sort cannot be used: colour is not a valid sort criteria"));
    b.goto(&format!("{o}/ui/no-such-tab")).await;
    assert!(b.text("main .alert").await.contains("No such page."));
    b.goto(&format!("{o}/ui/termination-gateways/{}", gws[0])).await;
    assert_eq!(b.text("main .alert").await, format!("Termination gateway #{} does not exist.", gws[0]));
    b.quit().await;
}
