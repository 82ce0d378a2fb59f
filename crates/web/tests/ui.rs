//! The UIs in a real browser: Debian's headless Chromium through
//! chromedriver, against the real server on a random port over a fresh
//! SQLite store. Skipped with a notice when chromedriver is missing, unless
//! `SWITCHBOARD_REQUIRE_TOOLS=1`. Screenshots of every tab (operator and
//! customer, laptop and phone width) go to `target/ui-screenshots/`.

#[path = "support/webdriver.rs"]
mod webdriver;

use serde_json::json;
use store::cdr::{IncomingCdr, TerminationCdr};
use store::testing::TestDb;
use store::Store;
use webdriver::Browser;

struct Server {
    origin: String,
    store: Store,
    _db: TestDb,
}

async fn spawn() -> Server {
    let (store, db) = store::testing::sqlite().await;
    store.bootstrap_operator(Some(("op".into(), "op-secret".into()))).await.unwrap();
    let app = web::App::new(store.clone(), web::WebConfig::default()).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let origin = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(web::serve(listener, app, std::future::pending()));
    Server { origin, store, _db: db }
}

const SUBMIT: &str = "form.record button[type=submit]";

/// Termination and incoming CDRs for customer `c`: two recent, one three days old.
async fn seed_cdrs(store: &Store, c: i64, other: i64) {
    let now = domain::time::now_ms();
    let hour = 3600 * 1000;
    let term = |at: i64, customer: i64, src: &str, dst: &str, call: &str| TerminationCdr {
        customer_id: Some(customer),
        time_start: at,
        time_connect: Some(at + 2000),
        time_end: Some(at + 62_000),
        duration: 60,
        local_tag: Some("lt-1".into()),
        global_tag: Some(format!("gt-{call}")),
        lega_disconnect_code: Some(200),
        lega_disconnect_reason: Some("BYE".into()),
        src_name_in: Some("Reception".into()),
        src_number_in: Some(src.into()),
        dst_number_in: Some(dst.into()),
        orig_call_id: Some(call.into()),
        success: true,
        ..TerminationCdr::default()
    };
    let rows = vec![
        term(now - hour, c, "4470001", "37060000099", "call-recent-a"),
        term(now - 2 * hour, c, "4480002", "37060000098", "call-recent-b"),
        term(now - 72 * hour, c, "4470003", "37060000097", "call-old"),
        term(now - hour, other, "4470004", "37060000096", "call-other"),
    ];
    store.append_cdrs(&rows).await.unwrap();
    let inc = |at: i64, customer: i64, did: &str| IncomingCdr {
        customer_id: Some(customer),
        time_start: at,
        time_end: Some(at + 5000),
        duration: 0,
        src_number: Some("4412345".into()),
        dst_number: Some(did.into()),
        did_number: Some(did.into()),
        lega_disconnect_code: Some(480),
        lega_disconnect_reason: Some("Temporarily Unavailable".into()),
        success: false,
        ..IncomingCdr::default()
    };
    store.append_cdrs(&[inc(now - hour, c, "37060000001"), inc(now - hour, other, "37060000002")]).await.unwrap();
}

#[tokio::test]
async fn operator_and_customer_in_a_browser() {
    let srv = spawn().await;
    let Some(b) = Browser::start().await else { return };
    let o = &srv.origin;

    // Sign in: any UI page sends a stranger to the sign-in form.
    b.goto(&format!("{o}/")).await;
    b.find("#username").await;
    assert!(b.url().await.contains("/ui/login"));
    b.screenshot("operator-00-sign-in").await;
    b.fill("#username", "op").await;
    b.fill("#password", "not-it").await;
    b.click_to_load("form button[type=submit]").await;
    let alert = b.text("[role=alert]").await;
    assert!(alert.contains("Wrong username or password"), "{alert}");
    b.fill("#username", "op").await;
    b.fill("#password", "op-secret").await;
    b.click_to_load("form button[type=submit]").await;
    assert_eq!(b.text("main h1").await, "Customers");

    // A customer with the documented defaults.
    b.click_to_load("a[href='/ui/customers/new']").await;
    assert_eq!(b.exec("return document.querySelector('#in-language').value", json!([])).await, "EN");
    assert_eq!(b.exec("return document.querySelector('#in-sip_account_limit').value", json!([])).await, "");
    b.screenshot("operator-customers-create").await;
    b.fill("#in-name", "Acme").await;
    b.click_to_load(SUBMIT).await;
    assert!(b.text("[role=status]").await.contains("Saved"));
    let shown = b.text("dl.record").await;
    assert!(shown.contains("Acme") && shown.contains("EN"), "{shown}");
    // A second customer, whose data the first must never see.
    b.goto(&format!("{o}/ui/customers/new")).await;
    b.fill("#in-name", "Beta").await;
    b.click_to_load(SUBMIT).await;
    b.find("[role=status]").await;

    // Acme: one SIP account at most, and a Russian UI.
    b.goto(&format!("{o}/ui/customers/1/edit")).await;
    b.fill("#in-sip_account_limit", "1").await;
    // Fraud limits: the operator's (a bad prefix is named, then a good list).
    b.fill("#in-max_cps", "5").await;
    b.fill("#in-blocked_prefixes", "882, 9x").await;
    b.click_to_load(SUBMIT).await;
    assert!(b.text("#in-blocked_prefixes-error").await.contains("entry 2 is not a number prefix"));
    b.fill("#in-blocked_prefixes", "882, +979").await;
    b.exec("document.querySelector('#in-language').value = 'RU'", json!([])).await;
    b.click_to_load(SUBMIT).await;
    let shown = b.text("dl.record").await;
    assert!(shown.contains("RU") && shown.contains("882, 979"), "{shown}");

    // A DID, then disabled from its edit form, and flagged in the list.
    for (number, customer) in [("37060000001", "1"), ("37060000002", "2")] {
        b.goto(&format!("{o}/ui/numbers/new")).await;
        assert_eq!(b.exec("return document.querySelector('#in-enabled').checked", json!([])).await, true, "enabled by default");
        b.fill("#in-number", number).await;
        b.exec("document.querySelector('#in-rel-customer').value = arguments[0]", json!([customer])).await;
        b.click_to_load(SUBMIT).await;
        b.find("[role=status]").await;
    }
    b.goto(&format!("{o}/ui/numbers/1/edit")).await;
    b.click("#in-enabled").await;
    b.click_to_load(SUBMIT).await;
    b.goto(&format!("{o}/ui/numbers")).await;
    assert_eq!(b.count("tbody tr.flagged").await, 1);
    assert!(b.text("tr.flagged").await.contains("Disabled"));
    assert!(b.text("tr[data-id='1']").await.contains("Acme"), "the customer's name column");
    assert!(!b.text("tr[data-id='2']").await.contains("Disabled"));

    // SIP accounts: the second one for Acme is beyond its limit.
    for (user, ext) in [("acme-100", "100"), ("acme-101", "101")] {
        b.goto(&format!("{o}/ui/sip-accounts/new")).await;
        b.fill("#in-username", user).await;
        b.fill("#in-internal_caller_id", ext).await;
        b.exec("document.querySelector('#in-rel-customer').value = '1'", json!([])).await;
        b.click_to_load(SUBMIT).await;
    }
    let alert = b.text("[role=alert]").await;
    assert!(alert.contains("SIP account limit (1)"), "{alert}");
    assert_eq!(b.exec("return document.querySelector('#in-username').value", json!([])).await, "acme-101", "input kept");
    b.screenshot("operator-sip-accounts-limit-error").await;
    // A field error sits beside its field.
    b.fill("#in-internal_caller_id", "12345").await;
    b.click_to_load(SUBMIT).await;
    assert_eq!(b.text("#in-internal_caller_id-error").await, "Internal Caller ID must be 1 to 4 digits");
    // Is Online follows the registrar without a reload.
    b.goto(&format!("{o}/ui/sip-accounts")).await;
    assert!(b.text("td[data-live=online]").await.contains("Offline"));
    sqlx_presence(&srv.store, "acme-100", "Yealink T46U").await;
    b.exec("document.dispatchEvent(new Event('visibilitychange'))", json!([])).await;
    b.wait_for("live presence", "return document.querySelector('td[data-live=user_agent]').textContent === 'Yealink T46U'").await;
    assert!(b.text("td[data-live=online]").await.contains("Online"));

    // CDRs: filter within a time window, export what is shown, SHOW one.
    seed_cdrs(&srv.store, 1, 2).await;
    b.goto(&format!("{o}/ui/termination-cdrs")).await;
    assert_eq!(b.count("tbody tr[data-id]").await, 3, "the last day by default");
    b.fill("#f-src_number_in_cont", "4470").await;
    b.click_to_load("form.filters button[type=submit]").await;
    assert_eq!(b.count("tbody tr[data-id]").await, 2);
    let from = domain::time::format_rfc3339(domain::time::now_ms() - 96 * 3600 * 1000)[..19].to_owned();
    b.exec("document.querySelector('#f-time_start_gteq').value = arguments[0]", json!([from])).await;
    b.click_to_load("form.filters button[type=submit]").await;
    assert_eq!(b.count("tbody tr[data-id]").await, 3, "a wider window finds the old call");
    b.screenshot("operator-termination-cdrs-filtered").await;
    let csv = b
        .exec_async(
            "const done = arguments[arguments.length - 1];
             fetch(document.querySelector('a[download]').href).then(r => r.text()).then(done)",
            json!([]),
        )
        .await;
    let csv = csv.as_str().unwrap();
    assert_eq!(csv.lines().count(), 4, "header and the three shown rows: {csv}");
    assert!(csv.contains("call-old") && csv.contains("call-other") && !csv.contains("call-recent-b"), "{csv}");
    b.click_to_load("tbody tr[data-id] td.actions a").await;
    let detail = b.text("dl.record").await;
    assert!(detail.contains("Orig Call Id") && detail.contains("call-"), "{detail}");
    b.screenshot("operator-termination-cdrs-show").await;

    // Every operator tab, at laptop width.
    for slug in [
        "customers",
        "numbers",
        "sip-accounts",
        "ring-groups",
        "capacity-groups",
        "incoming-trunks",
        "incoming-cdrs",
        "termination-cdrs",
        "termination-gateways",
        "termination-routes",
        "settings",
        "audit-log",
        "operator-users",
        "customer-users",
        "api-credentials",
    ] {
        b.goto(&format!("{o}/ui/{slug}")).await;
        b.find("main h1").await;
        b.screenshot(&format!("operator-{slug}")).await;
        assert_accessible_and_local(&b, o).await;
        if slug != "settings" && b.count(&format!("a[href='/ui/{slug}/new']")).await > 0 {
            b.goto(&format!("{o}/ui/{slug}/new")).await;
            b.find("form.record").await;
            assert_accessible_and_local(&b, o).await;
        }
    }
    b.resize(390, 844).await;
    b.goto(&format!("{o}/ui/numbers")).await;
    b.find("main h1").await;
    b.screenshot("operator-numbers-phone").await;
    b.resize(1366, 900).await;

    // OPEN UI: the customer's UI in a new tab, signed in as that customer.
    b.goto(&format!("{o}/ui/customers")).await;
    let operator_tab = b.window().await;
    b.click("tr[data-id='1'] form[action$='/open'] button").await;
    let mut handles = b.windows().await;
    for _ in 0..50 {
        if handles.len() == 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        handles = b.windows().await;
    }
    let customer_tab = handles.iter().find(|h| **h != operator_tab).expect("a new tab").clone();
    b.switch_to(&customer_tab).await;
    b.wait_for("the customer UI", "return location.pathname.startsWith('/customer/') && !!document.querySelector('main h1')").await;
    assert_eq!(b.text("main h1").await, "Номера", "Acme's UI is in Russian");
    assert!(b.text("tbody").await.contains("37060000001"));
    assert!(!b.text("tbody").await.contains("37060000002"), "never another customer's number");
    assert!(b.text("tr.flagged").await.contains("Отключён"), "flagged in the customer UI too");
    for slug in [
        "numbers",
        "sip-accounts",
        "ring-groups",
        "incoming-trunks",
        "incoming-cdrs",
        "termination-cdrs",
        "termination-gateways",
        "termination-routes",
        "settings",
    ] {
        b.goto(&format!("{o}/customer/{slug}")).await;
        b.find("main h1").await;
        b.screenshot(&format!("customer-{slug}")).await;
        assert_accessible_and_local(&b, o).await;
    }
    b.resize(390, 844).await;
    b.goto(&format!("{o}/customer/sip-accounts")).await;
    b.find("main h1").await;
    b.screenshot("customer-sip-accounts-phone").await;
    b.resize(1366, 900).await;
    b.goto(&format!("{o}/customer/termination-cdrs")).await;
    assert_eq!(b.count("tbody tr[data-id]").await, 2, "only Acme's recent calls");
    // Another customer's records are not there, whatever the id.
    b.goto(&format!("{o}/customer/numbers/2")).await;
    assert_eq!(b.text("main h1").await, "Не найдено");
    b.goto(&format!("{o}/customer/customers")).await;
    assert_eq!(b.text("main h1").await, "Не найдено");
    // The customer creates SIP accounts itself, within its limit (full: 1 of 1).
    b.goto(&format!("{o}/customer/sip-accounts/new")).await;
    assert_eq!(b.count("#in-allow_external_calls").await, 0, "outbound permission is the operator's");
    b.fill("#in-username", "acme-by-customer").await;
    b.fill("#in-internal_caller_id", "102").await;
    b.click_to_load(SUBMIT).await;
    let alert = b.text("[role=alert]").await;
    assert!(alert.contains("Достигнут лимит SIP-аккаунтов клиента (1)"), "the store's message, translated: {alert}");
    b.fill("#in-internal_caller_id", "12345").await;
    b.click_to_load(SUBMIT).await;
    assert_eq!(b.text("#in-internal_caller_id-error").await, "Внутренний номер: должно содержать от 1 до 4 цифр");
    // The customer may switch its UI language.
    b.goto(&format!("{o}/customer/settings")).await;
    assert_eq!(b.count("form.record input:not([type=hidden]), form.record select").await, 1, "only the UI language");
    let limits = b.text("#operator-limits").await;
    assert!(limits.contains("882, 979") && limits.contains("5") && limits.contains("Без ограничения"), "shown, not offered: {limits}");
    b.exec("document.querySelector('#in-language').value = 'LT'", json!([])).await;
    b.click_to_load(SUBMIT).await;
    assert_eq!(b.text("header nav a[aria-current=page]").await, "Nustatymai");

    // With only the customer's cookie (the operator's dropped), operator
    // pages ask for a sign-in; plain HTTP with that cookie agrees.
    let session = b.cookie("sb_session").await.expect("customer session cookie");
    b.goto(&format!("{o}/ui/login")).await;
    b.delete_cookie("sb_operator").await;
    b.goto(&format!("{o}/ui/customers")).await;
    b.find("#username").await;
    assert!(b.url().await.contains("/ui/login"));
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let get = |path: &str| http.get(format!("{o}{path}")).header("cookie", format!("sb_session={session}")).send();
    assert_eq!(get("/ui/customers").await.unwrap().status(), 303);
    assert_eq!(get("/ui/numbers/2").await.unwrap().status(), 303);
    assert_eq!(get("/customer/numbers/2").await.unwrap().status(), 404);
    assert_eq!(get("/customer/numbers/1").await.unwrap().status(), 200);
    assert_eq!(get("/api/rest/public/customer/available_did_numbers/2").await.unwrap().status(), 404);
    let csv = get("/customer/incoming-cdrs.csv").await.unwrap().text().await.unwrap();
    assert!(csv.contains("37060000001") && !csv.contains("37060000002"), "{csv}");

    b.quit().await;
}

/// Capacity groups, the operator's: a group pooling two customers made
/// from its form, a third group's claim on a pooled customer refused beside
/// the input, and no such tab for the customer.
#[tokio::test]
async fn the_operator_pools_channels_in_a_capacity_group() {
    let srv = spawn().await;
    let Some(b) = Browser::start().await else { return };
    let o = &srv.origin;
    let mut ids = Vec::new();
    for name in ["Acme", "Beta"] {
        let input = store::Input::default().with(&domain::schema::CUSTOMERS, "name", name);
        ids.push(srv.store.create(&domain::schema::CUSTOMERS, &store::Actor::system(), input).await.unwrap().id());
    }
    b.goto(&format!("{o}/ui/login")).await;
    b.fill("#username", "op").await;
    b.fill("#password", "op-secret").await;
    b.click_to_load("form button[type=submit]").await;

    b.goto(&format!("{o}/ui/capacity-groups")).await;
    assert_eq!(b.text("main h1").await, "Capacity Groups");
    b.click_to_load("a[href='/ui/capacity-groups/new']").await;
    b.fill("#in-name", "Office").await;
    b.fill("#in-capacity", "2").await;
    assert_eq!(b.text("label[for=in-rel-customer-picker]").await, "Customers");
    b.exec("document.querySelector('#in-rel-customer').value = arguments[0]", json!([format!("{}, {}", ids[0], ids[1])])).await;
    b.screenshot("operator-capacity-groups-create").await;
    b.click_to_load(SUBMIT).await;
    assert!(b.text("[role=status]").await.contains("Saved"));
    let shown = b.text("dl.record").await;
    assert!(shown.contains("Office") && shown.contains("Acme") && shown.contains("Beta"), "{shown}");

    // Beta is pooled already: a second group may not take it.
    b.goto(&format!("{o}/ui/capacity-groups/new")).await;
    b.fill("#in-name", "Other").await;
    b.fill("#in-capacity", "5").await;
    b.exec("document.querySelector('#in-rel-customer').value = arguments[0]", json!([ids[1].to_string()])).await;
    b.click_to_load(SUBMIT).await;
    let error = b.text("#in-rel-customer-error").await;
    assert!(error.contains("already in capacity group"), "{error}");
    b.fill("#in-capacity", "-1").await;
    b.click_to_load(SUBMIT).await;
    assert!(!b.text("#in-capacity-error").await.is_empty(), "a negative capacity is refused beside its input");

    b.goto(&format!("{o}/ui/capacity-groups")).await;
    assert_eq!(b.count("tbody tr[data-id]").await, 1);
    let row = b.text("tbody tr[data-id]").await;
    assert!(row.contains("Office") && row.contains("Acme") && row.contains("Beta"), "{row}");
    b.screenshot("operator-capacity-groups").await;
    assert_accessible_and_local(&b, o).await;

    // The customer's UI has no such tab, and no such page.
    let (user, pass) = ("cg-cust", "Cg-Secret-1");
    let input = store::Input::default()
        .with(&domain::schema::CUSTOMER_USERS, "username", user)
        .with(&domain::schema::CUSTOMER_USERS, "password", pass)
        .with_rel(&domain::schema::CUSTOMER_USERS, "customer", store::RelInput::To("customers", ids[0]));
    srv.store.create(&domain::schema::CUSTOMER_USERS, &store::Actor::system(), input).await.unwrap();
    b.goto(&format!("{o}/customer/login")).await;
    b.fill("#username", user).await;
    b.fill("#password", pass).await;
    b.click_to_load("form button[type=submit]").await;
    assert!(b.url().await.contains("/customer/"), "signed in");
    assert!(!b.text("header nav").await.contains("Capacity"), "no capacity tab for the customer");
    b.goto(&format!("{o}/customer/capacity-groups")).await;
    assert_eq!(b.text("main h1").await, "Not found");
    b.quit().await;
}

/// Every form control has a label, every table header a scope, and the
/// page loaded nothing from another origin.
async fn assert_accessible_and_local(b: &Browser, origin: &str) {
    let unlabelled = b
        .exec(
            "return Array.from(document.querySelectorAll('input:not([type=hidden]), select, textarea'))
               .filter(e => e.labels.length === 0 && !e.getAttribute('aria-label')).map(e => e.name)",
            json!([]),
        )
        .await;
    assert_eq!(unlabelled, json!([]), "unlabelled controls on {}", b.url().await);
    let foreign = b
        .exec("return performance.getEntriesByType('resource').map(e => e.name).filter(n => !n.startsWith(arguments[0]))", json!([origin]))
        .await;
    assert_eq!(foreign, json!([]), "requests to other origins from {}", b.url().await);
    assert_eq!(b.count("th:not([scope])").await, 0, "table headers without scope");
    assert_eq!(b.count("html[lang]").await, 1);
}

/// What the registrar writes when a phone registers.
async fn sqlx_presence(store: &Store, username: &str, ua: &str) {
    let login = store.sip_login(username).await.unwrap().expect("account");
    store
        .write_bindings(&[store::presence::BindingOp::Presence { account: login.id, online: true, user_agent: Some(ua.to_owned()) }])
        .await
        .unwrap();
}
