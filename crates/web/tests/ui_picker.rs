//! The relationship pickers in a real browser (issue 16, point 1), over
//! 10,000 SIP accounts: a form's relationship is found by typing part of a
//! name and picked with the keyboard (WAI-ARIA combobox: arrow keys,
//! `aria-activedescendant`, Enter); a ring group's members keep the order
//! they are put in (with up and remove); a list filter picker narrows the
//! list; and a customer never gets another customer's records from the
//! pick endpoint. axe-core checks the form with the popup open. Headless
//! Chromium through chromedriver, against the real server over SQLite.

// Not every test file uses every command of the client.
#[allow(dead_code)]
#[path = "support/ui.rs"]
mod ui;
#[allow(dead_code)]
#[path = "support/webdriver.rs"]
mod webdriver;

#[path = "support/axe.rs"]
mod axe;

use domain::schema;
use serde_json::{json, Value as Json};
use store::{Input, ListQuery, RelInput, Scope};
use ui::create;
use webdriver::Browser;

const SUBMIT: &str = "form.record button[type=submit]";
const DOWN: &str = "\u{E015}";
const ENTER: &str = "\u{E007}";

/// Types `text` into a picker, waits for an option showing `want`, and
/// picks the first option with the keyboard.
async fn pick(b: &Browser, picker: &str, text: &str, want: &str) {
    b.fill(picker, text).await;
    let list = format!("{}-listbox", picker.trim_end_matches("-picker"));
    b.wait_for(
        &format!("an option {want} in {list}"),
        &format!("const o = document.querySelector('{list} [role=option]'); return !!o && o.textContent.includes('{want}')"),
    )
    .await;
    b.keys(picker, DOWN).await;
    let state = b
        .exec(
            "const c = document.querySelector(arguments[0]); const a = c.getAttribute('aria-activedescendant');\
             return [c.getAttribute('aria-expanded'), a, a && document.getElementById(a).getAttribute('aria-selected')]",
            json!([picker]),
        )
        .await;
    assert_eq!(state[0], "true", "{picker}: {state}");
    assert_eq!(state[1], format!("{}-0", list.trim_start_matches('#')), "{picker}: {state}");
    assert_eq!(state[2], "true", "{picker}: {state}");
    b.keys(picker, ENTER).await;
    assert_eq!(b.exec("return document.querySelector(arguments[0]).getAttribute('aria-expanded')", json!([picker])).await, "false");
}

async fn value(b: &Browser, css: &str) -> String {
    b.exec("return document.querySelector(arguments[0]).value", json!([css])).await.as_str().unwrap_or_default().to_owned()
}

#[tokio::test]
async fn pickers_search_pick_order_and_filter_over_10000_sip_accounts() {
    let (store, db) = ui::store().await;
    let acme = create(&store, &schema::CUSTOMERS, Input::default().with(&schema::CUSTOMERS, "name", "Acme Corp")).await;
    let beta = create(&store, &schema::CUSTOMERS, Input::default().with(&schema::CUSTOMERS, "name", "Beta Ltd")).await;
    store::testing::bulk_sip_accounts(&store, acme, "acme-", 1, 10_000).await.unwrap();
    let beta_sip = create(
        &store,
        &schema::SIP_ACCOUNTS,
        Input::default().with(&schema::SIP_ACCOUNTS, "username", "beta-desk").with_rel(
            &schema::SIP_ACCOUNTS,
            "customer",
            RelInput::To("customers", beta),
        ),
    )
    .await;
    let login = Input::default()
        .with(&schema::CUSTOMER_USERS, "username", "acme-user")
        .with(&schema::CUSTOMER_USERS, "password", "acme-secret-1")
        .with_rel(&schema::CUSTOMER_USERS, "customer", RelInput::To("customers", acme));
    create(&store, &schema::CUSTOMER_USERS, login).await;
    let srv = ui::serve(store.clone(), db).await;
    let o = &srv.origin;

    let Some(b) = Browser::start().await else { return };
    ui::sign_in(&b, o).await;

    // A ring group: no wall of records in the page, the customer and the
    // members picked by typing part of their names.
    b.goto(&format!("{o}/ui/ring-groups/new")).await;
    let html = b.exec("return document.documentElement.outerHTML", json!([])).await;
    let html = html.as_str().unwrap();
    assert!(!html.contains("acme-000001") && !html.contains("Acme Corp"), "no record is loaded into the form");
    assert!(html.len() < 40_000, "the form is {} bytes", html.len());
    assert_eq!(b.exec("return document.querySelector('#in-rel-members').type", json!([])).await, "hidden");
    assert_eq!(b.exec("return document.querySelector('label[for=in-rel-members-picker]') !== null", json!([])).await, true);
    b.fill("#in-name", "Sales").await;
    pick(&b, "#in-rel-customer-picker", "acm", "Acme Corp").await;
    assert_eq!(value(&b, "#in-rel-customer").await, acme.to_string());
    assert_eq!(value(&b, "#in-rel-customer-picker").await, "Acme Corp");

    // Members: by a substring, by a prefix, by another substring.
    for (text, want) in [("04242", "acme-004242"), ("acme-000777", "acme-000777"), ("9999", "acme-009999"), ("acme-000001", "acme-000001")]
    {
        pick(&b, "#in-rel-members-picker", text, want).await;
        assert_eq!(value(&b, "#in-rel-members-picker").await, "", "the input empties for the next member");
    }
    let status = b.exec("return document.querySelector('#in-rel-members-picker ~ .picker-status').textContent", json!([])).await;
    assert_eq!(status, "Results: 1", "the live region counts the options");
    let chips = || async {
        let v = b.exec("return [...document.querySelectorAll('.picker-chips li span')].map(s => s.textContent)", json!([])).await;
        v.as_array().unwrap().iter().map(|x| x.as_str().unwrap().to_owned()).collect::<Vec<_>>()
    };
    assert_eq!(chips().await, ["acme-004242", "acme-000777", "acme-009999", "acme-000001"]);
    // The popup open for axe: combobox, listbox and chips have no violation.
    if let Some(axe_js) = axe::source() {
        b.fill("#in-rel-members-picker", "acme-0001").await;
        b.wait_for("options", "return document.querySelectorAll('#in-rel-members-listbox [role=option]').length > 0").await;
        b.keys("#in-rel-members-picker", DOWN).await;
        b.screenshot("picker-ring-group-members").await;
        let found = axe::violations(&b, &axe_js).await;
        assert!(found.is_empty(), "{}", found.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"));
        b.keys("#in-rel-members-picker", "\u{E00C}").await; // Escape closes
        assert_eq!(b.exec("return document.querySelector('#in-rel-members-listbox').hidden", json!([])).await, true);
    }
    // Reorder and remove: 009999 up one, 000001 out.
    b.click(".picker-chips li:nth-child(3) button.up").await;
    b.click(".picker-chips li:nth-child(4) button.remove").await;
    assert_eq!(chips().await, ["acme-004242", "acme-009999", "acme-000777"]);
    // Bulk ids follow the numbers (the first rows of the table).
    assert_eq!(value(&b, "#in-rel-members").await, "4242, 9999, 777");
    b.click_to_load(SUBMIT).await;
    assert!(b.text("[role=status]").await.contains("Saved"), "{}", b.text("main").await);
    let groups = store.list(&schema::RING_GROUPS, Scope::Operator, &ListQuery::default()).await.unwrap().records;
    assert_eq!(groups.len(), 1);
    let rec = &groups[0];
    assert_eq!(rec.customer_id(), Some(acme));
    let got: Vec<i64> = rec.rel_ids(schema::RING_GROUPS.rel("members").unwrap()).into_iter().map(|(_, id)| id).collect();
    assert_eq!(got, [4242, 9999, 777], "the members in the order picked");
    // Its edit form shows the members by name, in order, at once.
    b.goto(&format!("{o}/ui/ring-groups/{}/edit", rec.id())).await;
    assert_eq!(chips().await, ["acme-004242", "acme-009999", "acme-000777"]);

    // A list filter picker narrows the list, and shows its choice by name.
    b.goto(&format!("{o}/ui/sip-accounts")).await;
    pick(&b, "#f-customer-id-picker", "Bet", "Beta Ltd").await;
    b.click_to_load("form.filters button[type=submit]").await;
    assert_eq!(b.count("tbody tr[data-id]").await, 1);
    assert!(b.text("tbody").await.contains("beta-desk"));
    assert!(
        b.url().await.contains(&format!("filter%5Bcustomer.id%5D={beta}"))
            || b.url().await.contains(&format!("filter[customer.id]={beta}"))
    );
    b.wait_for("the filter's name", "return document.querySelector('#f-customer-id-picker').value === 'Beta Ltd'").await;

    // A customer, over HTTP from its own session: never Beta's records.
    b.goto(&format!("{o}/customer/login")).await;
    b.fill("#username", "acme-user").await;
    b.fill("#password", "acme-secret-1").await;
    b.click_to_load("form button[type=submit]").await;
    let fetch = |path: String| {
        let b = &b;
        async move {
            b.exec_async(
                "const done = arguments[arguments.length - 1];\
                 fetch(arguments[0]).then(r => r.json().then(j => done([r.status, j]))).catch(e => done([0, String(e)]))",
                json!([path]),
            )
            .await
        }
    };
    for q in ["q=beta".to_owned(), format!("q={beta_sip}"), format!("values={beta_sip}"), format!("q=desk&customer={beta}")] {
        let r = fetch(format!("/customer/pick/sip_device_routes?{q}")).await;
        assert_eq!(r, json!([200, []]), "{q}");
    }
    let r = fetch("/customer/pick/sip_device_routes?q=acme-00000".into()).await;
    assert_eq!(r[0], 200);
    let hits = r[1].as_array().unwrap();
    assert_eq!(hits.len(), 9, "{r}");
    assert!(hits.iter().all(|h| h["label"].as_str().unwrap().starts_with("acme-00000") && h["id"] != json!(beta_sip)), "{r}");
    let r = fetch("/customer/pick/customers".into()).await;
    let ids: Vec<&Json> = r[1].as_array().map(|a| a.iter().map(|h| &h["id"]).collect()).unwrap_or_default();
    assert!(r[0] == 404 || ids == [&json!(acme)], "a customer picks at most itself: {r}");
    b.quit().await;
}
