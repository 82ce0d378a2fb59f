//! Both UIs at every screen size and preference, in Debian's headless
//! Chromium (skipped with a notice without it, unless
//! `SWITCHBOARD_REQUIRE_TOOLS=1`): axe-core on every tab at desktop and
//! phone width, a crawl of every link, phone cards and the tab menu, the
//! dark theme and print styles, the OPEN UI banner, and the global search.

// The shared client has commands this file does not use.
#[allow(dead_code)]
#[path = "support/webdriver.rs"]
mod webdriver;

#[path = "support/axe.rs"]
mod axe;
#[allow(dead_code)]
#[path = "support/ui.rs"]
mod ui;

use domain::schema;
use serde_json::{json, Value as Json};
use store::cdr::TerminationCdr;
use store::{Input, RelInput};
use ui::create;
use webdriver::Browser;

const CUSTOMER_USER: (&str, &str) = ("acme-user", "Acme-Secret-1");

/// A server with one record of every kind: Acme (id 1) and Beta, their
/// numbers and accounts, a ring group, a capacity group, a shared gateway
/// used by Acme's own route, Acme's own gateway, a login each, and a CDR.
async fn spawn() -> ui::Server {
    let (s, db) = ui::store().await;
    let c = &schema::CUSTOMERS;
    let acme = create(&s, c, Input::default().with(c, "name", "Acme")).await;
    let beta = create(&s, c, Input::default().with(c, "name", "Beta")).await;
    let n = &schema::DID_NUMBERS;
    for (num, cu) in [("37060000001", acme), ("37060000002", beta)] {
        create(&s, n, Input::default().with(n, "number", num).with_rel(n, "customer", RelInput::To("customers", cu))).await;
    }
    let a = &schema::SIP_ACCOUNTS;
    let mut accounts = Vec::new();
    for (user, cu) in [("acme-100", acme), ("beta-200", beta)] {
        accounts
            .push(create(&s, a, Input::default().with(a, "username", user).with_rel(a, "customer", RelInput::To("customers", cu))).await);
    }
    let r = &schema::RING_GROUPS;
    let rg = Input::default().with(r, "name", "Sales").with_rel(r, "customer", RelInput::To("customers", acme)).with_rel(
        r,
        "members",
        RelInput::Many(vec![accounts[0]]),
    );
    create(&s, r, rg).await;
    let g = &schema::CAPACITY_GROUPS;
    create(&s, g, Input::default().with(g, "name", "Pool").with(g, "capacity", 4).with_rel(g, "customer", RelInput::Many(vec![acme])))
        .await;
    let t = &schema::INCOMING_TRUNKS;
    create(&s, t, Input::default().with(t, "name", "Carrier in").with_rel(t, "customer", RelInput::To("customers", acme))).await;
    let gw = &schema::GATEWAYS;
    let shared = create(&s, gw, Input::default().with(gw, "name", "Shared carrier").with(gw, "host", "192.0.2.1")).await;
    let own = Input::default().with(gw, "name", "Acme carrier").with(gw, "host", "192.0.2.2").with_rel(
        gw,
        "customer",
        RelInput::To("customers", acme),
    );
    create(&s, gw, own).await;
    let rt = &schema::ROUTES;
    let route = Input::default().with(rt, "name", "Acme out").with_rel(rt, "customer", RelInput::To("customers", acme)).with_rel(
        rt,
        "gateway",
        RelInput::To("termination_gateways", shared),
    );
    let route = create(&s, rt, route).await;
    let cu = &schema::CUSTOMER_USERS;
    let login = Input::default().with(cu, "username", CUSTOMER_USER.0).with(cu, "password", CUSTOMER_USER.1).with_rel(
        cu,
        "customer",
        RelInput::To("customers", acme),
    );
    create(&s, cu, login).await;
    let ak = &schema::API_CREDENTIALS;
    create(&s, ak, Input::default().with(ak, "username", "acme-api").with_rel(ak, "customer", RelInput::To("customers", acme))).await;
    let now = domain::time::now_ms();
    s.append_cdrs(&[TerminationCdr {
        customer_id: Some(acme),
        sip_account_id: Some(accounts[0]),
        route_id: Some(route),
        gateway_id: Some(shared),
        time_start: now - 3_600_000,
        time_connect: Some(now - 3_598_000),
        time_end: Some(now - 3_538_000),
        duration: 60,
        global_tag: Some("gt-layout-42".into()),
        lega_disconnect_code: Some(200),
        lega_disconnect_reason: Some("BYE".into()),
        src_number_in: Some("4470001".into()),
        dst_number_in: Some("37060000099".into()),
        orig_call_id: Some("call-layout-abc".into()),
        success: true,
        ..TerminationCdr::default()
    }])
    .await
    .unwrap();
    ui::serve(s, db).await
}

async fn operator_sign_in(b: &Browser, o: &str) {
    b.goto(&format!("{o}/ui/login")).await;
    b.fill("#username", "op").await;
    b.fill("#password", "op-secret").await;
    b.click_to_load("form button[type=submit]").await;
    assert!(b.url().await.contains("/ui/customers"), "signed in as the operator");
}

/// OPEN UI for Acme, in this tab (the button's form targets a new one).
async fn open_ui(b: &Browser, o: &str) {
    b.goto(&format!("{o}/ui/customers")).await;
    b.exec("document.querySelector(\"tr[data-id='1'] form[action$='/open']\").removeAttribute('target')", json!([])).await;
    b.click_to_load("tr[data-id='1'] form[action$='/open'] button").await;
    b.wait_for("the customer UI", "return location.pathname.startsWith('/customer/') && !!document.querySelector('main h1')").await;
}

async fn customer_sign_in(b: &Browser, o: &str) {
    b.goto(&format!("{o}/customer/login")).await;
    b.fill("#username", CUSTOMER_USER.0).await;
    b.fill("#password", CUSTOMER_USER.1).await;
    b.click_to_load("form button[type=submit]").await;
    assert!(b.url().await.contains("/customer/numbers"), "signed in as the customer");
}

/// Every page of a UI worth checking: each tab's list, its new form, the
/// SHOW and edit pages of its first record, the search, and error pages.
async fn pages_of(b: &Browser, o: &str, base: &str) -> Vec<String> {
    b.goto(&format!("{o}{base}/numbers")).await;
    b.find("header nav").await;
    let tabs = b.exec("return Array.from(document.querySelectorAll('header nav a')).map(a => a.getAttribute('href'))", json!([])).await;
    let mut out = Vec::new();
    for tab in tabs.as_array().unwrap().iter().filter_map(Json::as_str) {
        out.push(tab.to_owned());
        b.goto(&format!("{o}{tab}")).await;
        b.find("main h1").await;
        let more = b
            .exec(
                "const pick = s => { const a = document.querySelector(s); return a ? a.getAttribute('href') : null; };
                 return [pick(\"a[href$='/new']\"), pick('tbody tr[data-id] td.actions a'), pick(\"tbody tr[data-id] td.actions a[href$='/edit']\")]",
                json!([]),
            )
            .await;
        out.extend(more.as_array().unwrap().iter().filter_map(Json::as_str).map(str::to_owned));
    }
    out.extend([format!("{base}/search?q=acme"), format!("{base}/no-such-tab"), format!("{base}/numbers/999999")]);
    out
}

/// axe-core: 0 violations on every page of `base`, at both widths.
async fn axe_clean(b: &Browser, o: &str, base: &str, axe_js: &str, failures: &mut Vec<String>) {
    let pages = pages_of(b, o, base).await;
    assert!(pages.len() > 10, "{pages:?}");
    for (w, h) in [(1366, 900), (390, 844)] {
        b.resize(w, h).await;
        for p in &pages {
            b.goto(&format!("{o}{p}")).await;
            b.find("main").await;
            for v in axe::violations(b, axe_js).await {
                failures.push(format!("{p} at {w}px: {v}"));
            }
        }
    }
    b.resize(1366, 900).await;
}

#[tokio::test]
async fn axe_finds_no_violation_on_any_tab_of_either_ui_at_desktop_and_phone_width() {
    let srv = spawn().await;
    let Some(b) = Browser::start().await else { return };
    let Some(axe_js) = axe::source() else { return };
    let o = &srv.origin;
    let mut failures = Vec::new();
    b.goto(&format!("{o}/ui/login")).await;
    for v in axe::violations(&b, &axe_js).await {
        failures.push(format!("/ui/login: {v}"));
    }
    operator_sign_in(&b, o).await;
    b.goto(&format!("{o}/ui/settings")).await;
    b.find("form.record").await;
    axe_clean(&b, o, "/ui", &axe_js, &mut failures).await;
    // The customer's UI as the operator opens it: the banner is checked too.
    open_ui(&b, o).await;
    axe_clean(&b, o, "/customer", &axe_js, &mut failures).await;
    // The dark theme keeps its contrast.
    b.cdp("Emulation.setEmulatedMedia", json!({ "features": [{ "name": "prefers-color-scheme", "value": "dark" }] })).await;
    for p in ["/customer/numbers", "/customer/termination-cdrs/1", "/ui/customers", "/ui/customers/1/edit"] {
        b.goto(&format!("{o}{p}")).await;
        b.find("main").await;
        for v in axe::violations(&b, &axe_js).await {
            failures.push(format!("{p} (dark): {v}"));
        }
    }
    assert!(failures.is_empty(), "axe-core violations:\n{}", failures.join("\n"));
    b.quit().await;
}

/// Fetches every same-origin link reachable from `start` (a few per path
/// pattern) with the page's cookies; answers the links that failed.
async fn crawl(b: &Browser, o: &str, start: &[String]) -> Json {
    b.exec_async(
        "const [origin, start] = [arguments[0], arguments[1]];
         const done = arguments[arguments.length - 1];
         const pattern = u => u.pathname.replace(/\\/\\d+(?=\\/|$)/g, '/{id}') + '?' + [...u.searchParams.keys()].sort().join('&');
         const per = new Map(), seen = new Set(), bad = [];
         const queue = start.map(s => [new URL(s, origin), 'start']);
         let fetched = 0;
         (async () => {
           while (queue.length && fetched < 400) {
             const [u, from] = queue.shift();
             u.hash = '';
             if (u.origin !== origin || seen.has(u.href)) continue;
             seen.add(u.href);
             const p = pattern(u), n = per.get(p) || 0;
             if (n >= 3) continue;
             per.set(p, n + 1);
             fetched++;
             const r = await fetch(u.href, { credentials: 'same-origin' });
             const landed = new URL(r.url);
             if (r.status >= 400 || (landed.pathname.endsWith('/login') && !u.pathname.endsWith('/login'))) {
               bad.push({ url: u.pathname + u.search, status: r.status, landed: landed.pathname, from });
               continue;
             }
             if (!(r.headers.get('content-type') || '').includes('text/html')) continue;
             const doc = new DOMParser().parseFromString(await r.text(), 'text/html');
             for (const a of doc.querySelectorAll('a[href]')) {
               const h = a.getAttribute('href');
               if (h.startsWith('#')) continue;
               queue.push([new URL(h, u), u.pathname + u.search]);
             }
           }
           done({ bad, fetched });
         })().catch(e => done({ bad: [{ error: String(e) }], fetched }));",
        json!([o, start]),
    )
    .await
}

#[tokio::test]
async fn no_link_in_either_ui_answers_an_error() {
    let srv = spawn().await;
    let Some(b) = Browser::start().await else { return };
    let o = &srv.origin;
    operator_sign_in(&b, o).await;
    let start =
        pages_of(&b, o, "/ui").await.into_iter().filter(|p| !p.contains("no-such-tab") && !p.contains("999999")).collect::<Vec<_>>();
    let out = crawl(&b, o, &start).await;
    assert_eq!(out["bad"], json!([]), "operator UI: {out}");
    assert!(out["fetched"].as_u64().unwrap() > 40, "the crawl reached the operator's pages: {out}");

    for how in ["OPEN UI", "customer login"] {
        if how == "OPEN UI" {
            open_ui(&b, o).await;
        } else {
            customer_sign_in(&b, o).await;
        }
        let start = pages_of(&b, o, "/customer")
            .await
            .into_iter()
            .filter(|p| !p.contains("no-such-tab") && !p.contains("999999"))
            .collect::<Vec<_>>();
        let out = crawl(&b, o, &start).await;
        assert_eq!(out["bad"], json!([]), "customer UI through {how}: {out}");
        assert!(out["fetched"].as_u64().unwrap() > 20, "{how}: {out}");
    }
    // The route's shared gateway: named, not linked (the customer cannot open it).
    b.goto(&format!("{o}/customer/termination-routes")).await;
    let row = b.text("tbody tr[data-id]").await;
    assert!(row.contains("Shared carrier"), "the gateway's name: {row}");
    assert_eq!(b.count("tbody tr[data-id] a[href*='termination-gateways']").await, 0, "no link to a gateway it cannot open");
    b.goto(&format!("{o}/customer/termination-cdrs/1")).await;
    let shown = b.text("dl.record").await;
    assert!(shown.contains("Shared carrier (#1)") && shown.contains("Acme out"), "{shown}");
    assert_eq!(b.count("dl.record a[href*='termination-gateways']").await, 0);
    assert_eq!(b.count("dl.record a[href='/customer/termination-routes/1']").await, 1, "its own route stays a link");
    b.quit().await;
}

async fn style(b: &Browser, css: &str, prop: &str) -> String {
    b.exec("return getComputedStyle(document.querySelector(arguments[0]))[arguments[1]]", json!([css, prop]))
        .await
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test]
async fn phone_cards_tab_menu_dark_theme_print_banner_and_search() {
    let srv = spawn().await;
    let Some(b) = Browser::start().await else { return };
    let o = &srv.origin;
    operator_sign_in(&b, o).await;

    // Desktop: a table with a visible header row, the tabs in view, no menu button.
    b.goto(&format!("{o}/ui/sip-accounts")).await;
    let thead_h = b.exec("return document.querySelector('thead').getBoundingClientRect().height", json!([])).await;
    assert!(thead_h.as_f64().unwrap() > 10.0, "{thead_h}");
    assert_eq!(style(&b, "details.tabs-menu > summary", "display").await, "none");
    assert_eq!(b.exec("return document.querySelector('details.tabs-menu').open", json!([])).await, true);

    // Phone: each row a card of label: value lines; the tabs behind a menu.
    b.resize(390, 844).await;
    b.goto(&format!("{o}/ui/sip-accounts")).await;
    b.find("main h1").await;
    let thead_h = b.exec("return document.querySelector('thead').getBoundingClientRect().height", json!([])).await;
    assert!(thead_h.as_f64().unwrap() <= 1.0, "the header row is hidden on a phone: {thead_h}");
    assert_eq!(style(&b, "tbody tr[data-id]", "display").await, "block");
    let label =
        b.exec("return getComputedStyle(document.querySelector('tbody tr[data-id] td[data-label]'), '::before').content", json!([])).await;
    assert_eq!(label, json!("\"SIP Account ID\""), "each cell names its column");
    let wide = b.exec("return document.documentElement.scrollWidth <= window.innerWidth", json!([])).await;
    assert_eq!(wide, true, "no sideways scrolling at 390 px");
    assert!(b.text("tbody tr[data-id] td.actions").await.contains("Edit"), "actions stay visible");
    b.screenshot("layout-operator-sip-accounts-phone").await;
    assert_eq!(b.exec("return document.querySelector('details.tabs-menu').open", json!([])).await, false, "the menu starts closed");
    let hidden = b.exec("return document.querySelector(\"header nav a[href='/ui/numbers']\").checkVisibility() ? 1 : 0", json!([])).await;
    assert_eq!(hidden, 0, "the tabs are hidden while the menu is closed");
    b.click("details.tabs-menu > summary").await;
    let shown = b.exec("return document.querySelector(\"header nav a[href='/ui/numbers']\").checkVisibility() ? 1 : 0", json!([])).await;
    assert_eq!(shown, 1, "the menu opens");
    b.screenshot("layout-operator-menu-open-phone").await;
    b.click_to_load("header nav a[href='/ui/numbers']").await;
    assert!(b.url().await.ends_with("/ui/numbers"));
    b.resize(1366, 900).await;

    // Dark: the emulated preference changes the page's colours.
    b.goto(&format!("{o}/ui/customers")).await;
    let light = style(&b, "body", "backgroundColor").await;
    let light_bg = b.exec("return getComputedStyle(document.documentElement).backgroundColor", json!([])).await;
    b.cdp("Emulation.setEmulatedMedia", json!({ "features": [{ "name": "prefers-color-scheme", "value": "dark" }] })).await;
    let dark_bg = b.exec("return getComputedStyle(document.documentElement).backgroundColor", json!([])).await;
    assert_ne!(light_bg, dark_bg, "the dark theme changes the background ({light})");
    assert_eq!(dark_bg, json!("rgb(16, 21, 29)"));
    b.screenshot("layout-operator-customers-dark").await;
    b.cdp("Emulation.setEmulatedMedia", json!({ "features": [{ "name": "prefers-color-scheme", "value": "light" }] })).await;

    // Print: a CDR's SHOW page without navigation or buttons.
    b.goto(&format!("{o}/ui/termination-cdrs/1")).await;
    assert_ne!(style(&b, "header.top", "display").await, "none");
    b.cdp("Emulation.setEmulatedMedia", json!({ "media": "print" })).await;
    assert_eq!(style(&b, "header.top", "display").await, "none", "no navigation on paper");
    assert_eq!(
        b.exec(
            "return Array.from(document.querySelectorAll('main button, .toolbar a')).filter(e => e.getClientRects().length).length",
            json!([])
        )
        .await,
        0
    );
    assert!(b.text("dl.record").await.contains("call-layout-abc"), "the record stays readable");
    b.cdp("Emulation.setEmulatedMedia", json!({ "media": "" })).await;

    // Global search: a customer, a number, an account, a CDR by call id and by global tag.
    for (q, expect) in [
        ("Acme", "/ui/customers/1"),
        ("37060000002", "/ui/numbers/2"),
        ("beta-200", "/ui/sip-accounts/2"),
        ("call-layout-abc", "/ui/termination-cdrs/1"),
        ("gt-layout-42", "/ui/termination-cdrs/1"),
    ] {
        b.goto(&format!("{o}/ui/numbers")).await;
        b.fill("header form[role=search] input[name=q]", q).await;
        b.click_to_load("header form[role=search] button").await;
        assert_eq!(b.count(&format!("main ul.hits a[href='{expect}']")).await, 1, "{q} finds {expect}");
    }
    b.goto(&format!("{o}/ui/search?q=no-such-thing")).await;
    assert_eq!(b.text("main [role=status]").await, "Nothing found.");

    // OPEN UI: the banner names the customer and the operator, with the way back.
    open_ui(&b, o).await;
    let banner = b.text(".staff-banner").await;
    assert!(banner.contains("Viewing as Acme") && banner.contains("changes are audited as you (op)"), "{banner}");
    assert_eq!(b.count(".staff-banner a[href='/ui/customers/1']").await, 1);
    // The customer's search stays in its own data.
    b.goto(&format!("{o}/customer/search?q=beta")).await;
    assert_eq!(b.count("main ul.hits a").await, 0, "never another customer's account");
    b.goto(&format!("{o}/customer/search?q=acme-100")).await;
    assert_eq!(b.count("main ul.hits a[href='/customer/sip-accounts/1']").await, 1);
    b.goto(&format!("{o}/customer/search?q=Acme")).await;
    assert_eq!(b.count("main a[href^='/customer/customers']").await, 0, "no customers list for a customer");
    // A change made there is audited as the operator.
    b.goto(&format!("{o}/customer/sip-accounts/1/edit")).await;
    b.fill("#in-caller_id_name", "Front desk").await;
    b.click_to_load("form.record button[type=submit]").await;
    b.find("[role=status]").await;
    // End: the staff session is over, and the operator is back on the customer's page.
    b.click_to_load(".staff-banner form button").await;
    assert!(b.url().await.ends_with("/ui/customers/1"), "{}", b.url().await);
    b.goto(&format!("{o}/customer/numbers")).await;
    assert_eq!(b.text("main h1").await, "Signed out", "the staff session ended");
    b.goto(&format!("{o}/ui/audit-log")).await;
    let audit = b.text("tbody").await;
    assert!(audit.contains("operator_impersonation") && audit.contains("op"), "{audit}");

    // A plain customer login has no banner.
    customer_sign_in(&b, o).await;
    assert_eq!(b.count(".staff-banner").await, 0, "no banner for the customer itself");
    b.quit().await;
}
