//! Forms in a real browser (issue 16, point 10): one submit of an empty
//! SIP account form shows every error at once (the customer relationship
//! included) with a summary whose links focus their field, and the first
//! bad field has the focus; password inputs reveal and hide; an enum
//! select offers labels and shows the chosen value's help; the delete
//! confirmation names the record and what depends on it, and deleting
//! works (or is not offered while something blocks it). Headless Chromium
//! through chromedriver, against the real server over a fresh SQLite store.

#[allow(dead_code)]
#[path = "support/axe.rs"]
mod axe;
// Not every test file uses every command of the client.
#[allow(dead_code)]
#[path = "support/ui.rs"]
mod ui;
#[allow(dead_code)]
#[path = "support/webdriver.rs"]
mod webdriver;

use domain::schema;
use serde_json::json;
use store::{Input, RelInput, Scope, Store};
use ui::create;
use webdriver::Browser;

/// A customer with a SIP account that a number rings and a ring group
/// holds, and a gateway that a route uses. Answers (account, number, gateway).
async fn seed(s: &Store) -> (i64, i64, i64) {
    let c = create(s, &schema::CUSTOMERS, Input::default().with(&schema::CUSTOMERS, "name", "Acme Corp")).await;
    let owned = |res: &'static schema::Resource, i: Input| i.with_rel(res, "customer", RelInput::To("customers", c));
    let desk =
        create(s, &schema::SIP_ACCOUNTS, owned(&schema::SIP_ACCOUNTS, Input::default().with(&schema::SIP_ACCOUNTS, "username", "desk-1")))
            .await;
    let did = Input::default().with(&schema::DID_NUMBERS, "number", "441174090316").with_rel(
        &schema::DID_NUMBERS,
        "destination",
        RelInput::To("sip_device_routes", desk),
    );
    let did = create(s, &schema::DID_NUMBERS, owned(&schema::DID_NUMBERS, did)).await;
    let rg =
        Input::default().with(&schema::RING_GROUPS, "name", "Sales").with_rel(&schema::RING_GROUPS, "members", RelInput::Many(vec![desk]));
    create(s, &schema::RING_GROUPS, owned(&schema::RING_GROUPS, rg)).await;
    let gw = Input::default().with(&schema::GATEWAYS, "name", "gw-north").with(&schema::GATEWAYS, "host", "198.51.100.7");
    let gw = create(s, &schema::GATEWAYS, gw).await;
    let route = Input::default().with(&schema::ROUTES, "name", "rt-north").with_rel(
        &schema::ROUTES,
        "gateway",
        RelInput::To("termination_gateways", gw),
    );
    create(s, &schema::ROUTES, route).await;
    let login =
        Input::default().with(&schema::CUSTOMER_USERS, "username", "acme-user").with(&schema::CUSTOMER_USERS, "password", "acme-secret-1");
    create(s, &schema::CUSTOMER_USERS, owned(&schema::CUSTOMER_USERS, login)).await;
    create(s, &schema::SIP_ACCOUNTS, owned(&schema::SIP_ACCOUNTS, Input::default().with(&schema::SIP_ACCOUNTS, "username", "desk-2")))
        .await;
    (desk, did, gw)
}

async fn spawn() -> (ui::Server, (i64, i64, i64)) {
    let (store, db) = ui::store().await;
    let ids = seed(&store).await;
    (ui::serve(store, db).await, ids)
}

async fn js(b: &Browser, script: &str) -> serde_json::Value {
    b.exec(script, json!([])).await
}

async fn axe_clean(b: &Browser, axe_js: Option<&str>, what: &str) {
    let Some(axe_js) = axe_js else { return };
    let v = axe::violations(b, axe_js).await;
    assert!(v.is_empty(), "{what}: axe-core violations: {v:?}");
}

#[tokio::test]
async fn forms_show_every_error_reveal_passwords_explain_enums_and_confirm_deletes() {
    let (srv, (desk, did, gw)) = spawn().await;
    let Some(b) = Browser::start().await else { return };
    let axe_js = axe::source();
    let o = &srv.origin;
    ui::sign_in(&b, o).await;

    // One submit: no username, a bad extension, no customer — all three at once.
    b.goto(&format!("{o}/ui/sip-accounts/new")).await;
    b.fill("#in-internal_caller_id", "12345").await;
    b.click_to_load("form.record button[type=submit]").await;
    let links =
        js(&b, "return [...document.querySelectorAll('.error-summary[role=alert] a')].map(a => [a.getAttribute('href'), a.textContent])")
            .await;
    let links: Vec<(String, String)> =
        links.as_array().unwrap().iter().map(|l| (l[0].as_str().unwrap().to_owned(), l[1].as_str().unwrap().to_owned())).collect();
    let hrefs: Vec<&str> = links.iter().map(|(h, _)| h.as_str()).collect();
    assert_eq!(hrefs, ["#in-username", "#in-internal_caller_id", "#in-rel-customer"], "{links:?}");
    assert!(links[0].1.contains("can't be blank"), "{links:?}");
    assert!(links[1].1.contains("must be 1 to 4 digits"), "{links:?}");
    assert!(links[2].1.contains("must exist"), "{links:?}");
    for (href, text) in &links {
        let id = &href[1..];
        let described = b
            .exec(
                "const el = document.getElementById(arguments[0]); if (el.getAttribute('aria-invalid') !== 'true') return null;\
                 return el.getAttribute('aria-describedby').split(' ').map(i => document.getElementById(i).textContent).join(' ')",
                json!([id]),
            )
            .await;
        let described = described.as_str().unwrap_or_else(|| panic!("{id} is not aria-invalid"));
        assert!(text.ends_with(described.trim()) || described.contains(text.as_str()), "{id}: {described:?} vs {text:?}");
    }
    assert_eq!(js(&b, "return document.activeElement.id").await, "in-username", "the first bad field has the focus");
    b.screenshot("forms-every-error").await;
    axe_clean(&b, axe_js.as_deref(), "the form with errors").await;
    // The customer is a picker: its id input is hidden, its combobox takes the focus.
    b.click(".error-summary a[href='#in-rel-customer']").await;
    assert_eq!(js(&b, "return document.activeElement.id").await, "in-rel-customer-picker");
    b.click(".error-summary a[href='#in-internal_caller_id']").await;
    assert_eq!(js(&b, "return document.activeElement.id").await, "in-internal_caller_id");
    assert_eq!(js(&b, "return document.getElementById('in-internal_caller_id').value").await, "12345", "what was typed stays");

    // The password: masked, revealed and hidden again by its button.
    let state =
        "const i = document.getElementById('in-password'), btn = document.querySelector('button.reveal[aria-controls=in-password]');\
                 return [i.type, btn.getAttribute('aria-pressed'), btn.textContent, btn.hidden]";
    assert_eq!(js(&b, state).await, json!(["password", "false", "Show password", false]));
    b.fill("#in-password", "Secret-123").await;
    b.click("button.reveal[aria-controls=in-password]").await;
    assert_eq!(js(&b, state).await, json!(["text", "true", "Hide password", false]));
    b.click("button.reveal[aria-controls=in-password]").await;
    assert_eq!(js(&b, state).await, json!(["password", "false", "Show password", false]));

    // An enum select: labels, and the help of the chosen value below it.
    b.goto(&format!("{o}/ui/ring-groups/new")).await;
    let options = js(&b, "return [...document.querySelectorAll('#in-strategy option')].map(o => o.textContent)").await;
    assert_eq!(options, json!(["Ring all at once", "Ring one after another"]));
    let help = "return document.getElementById('in-strategy-help').textContent";
    assert_eq!(js(&b, help).await, "Every member and external number rings at the same time.");
    assert_eq!(js(&b, "return document.getElementById('in-strategy').getAttribute('aria-describedby')").await, "in-strategy-help");
    b.click("#in-strategy option[value=sequential]").await;
    assert_eq!(js(&b, help).await, "Each member rings in turn, then the external numbers.");
    // A codec list says what each codec is.
    b.goto(&format!("{o}/ui/termination-gateways/new")).await;
    assert_eq!(b.count("ul.hint.codecs li").await, domain::codec::CODECS.len());
    assert!(b.text("ul.hint.codecs").await.contains("G.711 A-law"));
    let labels = js(&b, "return [...document.querySelectorAll('#in-network_protocol option')].map(o => o.textContent)").await;
    assert_eq!(labels[0], "IPv4 only", "{labels}");
    // Lists and SHOW pages say the label too.
    b.goto(&format!("{o}/ui/termination-gateways/{gw}")).await;
    let shown = b.text("dl.record").await;
    assert!(shown.contains("IPv4 only") && !shown.contains("IPv4_only"), "{shown}");

    // Delete: the SHOW page links to a confirmation that names the record and its dependants.
    b.goto(&format!("{o}/ui/sip-accounts/{desk}")).await;
    b.click_to_load("a.button.danger").await;
    assert!(b.url().await.ends_with(&format!("/ui/sip-accounts/{desk}/delete")));
    assert_eq!(b.text("h1").await, "Delete SIP account “desk-1”?");
    let main = b.text("main").await;
    assert!(main.contains("Kept, with their link to this record cleared:") && main.contains("441174090316"), "{main}");
    assert!(main.contains("Kept, with this record taken out of them:") && main.contains("Sales"), "{main}");
    b.screenshot("forms-delete-confirmation").await;
    axe_clean(&b, axe_js.as_deref(), "the delete confirmation").await;
    b.click_to_load("main form[action$='/delete'] button.danger").await;
    assert!(b.url().await.ends_with("/ui/sip-accounts?done=deleted"), "{}", b.url().await);
    assert!(matches!(srv.store.get(&schema::SIP_ACCOUNTS, Scope::Operator, desk).await, Err(store::Error::NotFound)));
    let number = srv.store.get(&schema::DID_NUMBERS, Scope::Operator, did).await.unwrap();
    assert!(number.rel_ids(&schema::DID_NUMBERS.rels[1]).is_empty(), "the number's destination was cleared, as announced");

    // Cancel goes back; something that blocks the delete means no Delete button.
    b.goto(&format!("{o}/ui/termination-gateways/{gw}/delete")).await;
    let main = b.text("main").await;
    assert!(main.contains("These prevent the delete") && main.contains("rt-north"), "{main}");
    assert_eq!(b.count("main form[action$='/delete']").await, 0);
    b.click_to_load("main .form-actions a").await;
    assert!(b.url().await.ends_with(&format!("/ui/termination-gateways/{gw}")));

    // The customer UI: the same confirmation under /customer, and its own one submit shows every error.
    b.delete_cookie("sb_operator").await;
    b.goto(&format!("{o}/customer/login")).await;
    b.fill("#username", "acme-user").await;
    b.fill("#password", "acme-secret-1").await;
    b.click_to_load("form button[type=submit]").await;
    let desk2 = desk + 1;
    b.goto(&format!("{o}/customer/sip-accounts/{desk2}")).await;
    b.click_to_load("a.button.danger").await;
    assert_eq!(b.text("h1").await, "Delete SIP account “desk-2”?");
    assert!(b.text("main").await.contains("No other record depends on it."));
    b.click_to_load("main form[action$='/delete'] button.danger").await;
    assert!(b.url().await.ends_with("/customer/sip-accounts?done=deleted"), "{}", b.url().await);
    assert!(matches!(srv.store.get(&schema::SIP_ACCOUNTS, Scope::Operator, desk2).await, Err(store::Error::NotFound)));
    b.goto(&format!("{o}/customer/sip-accounts/new")).await;
    b.fill("#in-internal_caller_id", "12345").await;
    b.click_to_load("form.record button[type=submit]").await;
    let hrefs = js(&b, "return [...document.querySelectorAll('.error-summary a')].map(a => a.getAttribute('href'))").await;
    assert_eq!(hrefs, json!(["#in-username", "#in-internal_caller_id"]));
    assert_eq!(js(&b, "return document.activeElement.id").await, "in-username");
    b.quit().await;
}
