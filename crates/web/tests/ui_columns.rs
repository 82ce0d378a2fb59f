//! The list columns in a real browser (issue 16, points 2 and 5): the
//! termination CDR list shows its related records by name with working
//! links and fits a laptop screen, the column chooser is remembered per
//! user, the time zone switch changes every shown time and its zone label,
//! and the CDR filters narrow the list. Headless Chromium through
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
use store::cdr::TerminationCdr;
use store::{Input, RelInput, Store};
use ui::create;
use webdriver::Browser;

/// Two customers, each with a SIP account, a gateway and a route, and
/// CDRs between them at known times.
async fn seed(s: &Store) -> (i64, Vec<i64>) {
    let mut ids = Vec::new();
    for (name, user, gw, route) in [("Acme Corp", "acme-desk", "gw-north", "rt-north"), ("Beta Ltd", "beta-desk", "gw-south", "rt-south")] {
        let c = create(s, &schema::CUSTOMERS, Input::default().with(&schema::CUSTOMERS, "name", name)).await;
        let owned = |res: &'static schema::Resource, i: Input| i.with_rel(res, "customer", RelInput::To("customers", c));
        let sip =
            create(s, &schema::SIP_ACCOUNTS, owned(&schema::SIP_ACCOUNTS, Input::default().with(&schema::SIP_ACCOUNTS, "username", user)))
                .await;
        let g = create(
            s,
            &schema::GATEWAYS,
            owned(&schema::GATEWAYS, Input::default().with(&schema::GATEWAYS, "name", gw).with(&schema::GATEWAYS, "host", "198.51.100.7")),
        )
        .await;
        let r = create(
            s,
            &schema::ROUTES,
            owned(
                &schema::ROUTES,
                Input::default().with(&schema::ROUTES, "name", route).with_rel(
                    &schema::ROUTES,
                    "gateway",
                    RelInput::To("termination_gateways", g),
                ),
            ),
        )
        .await;
        let login = Input::default().with(&schema::CUSTOMER_USERS, "username", format!("{}-user", &user[..4])).with(
            &schema::CUSTOMER_USERS,
            "password",
            format!("{}-secret-1", &user[..4]),
        );
        create(s, &schema::CUSTOMER_USERS, owned(&schema::CUSTOMER_USERS, login)).await;
        ids.extend([c, sip, g, r]);
    }
    // An hour ago, in whole seconds: within the list's default window.
    let base = (domain::time::now_ms() - 3_600_000) / 1000 * 1000;
    let cdr = |k: usize, at: i64, code: i64, dur: i64, dst: &str| TerminationCdr {
        customer_id: Some(ids[k * 4]),
        sip_account_id: Some(ids[k * 4 + 1]),
        gateway_id: Some(ids[k * 4 + 2]),
        route_id: Some(ids[k * 4 + 3]),
        time_start: at,
        time_connect: (dur > 0).then_some(at + 1000),
        time_end: Some(at + 1000 + dur * 1000),
        duration: dur,
        local_tag: Some(format!("local-tag-{dst}-with-a-long-value")),
        global_tag: Some(format!("global-tag-{dst}-with-a-long-value")),
        lega_disconnect_code: Some(code),
        lega_disconnect_reason: Some(if code == 200 { "Normal call clearing".into() } else { "Busy Here".into() }),
        src_name_in: Some("Reception desk".into()),
        src_number_in: Some("4470001234".into()),
        dst_number_in: Some(dst.into()),
        dst_number_out: Some(format!("00{dst}")),
        orig_call_id: Some(format!("{dst}-a84f0c1e-5b2d-4e7a-9c3f-7d1e2b6a9f00@203.0.113.9")),
        success: code == 200,
        ..TerminationCdr::default()
    };
    s.append_cdrs(&[
        cdr(0, base, 200, 3725, "37060000001"),
        cdr(0, base - 60_000, 486, 0, "37060000002"),
        cdr(1, base - 120_000, 200, 65, "37060000003"),
    ])
    .await
    .unwrap();
    (base, ids)
}

async fn spawn() -> (ui::Server, i64, Vec<i64>) {
    let (store, db) = ui::store().await;
    let (base, ids) = seed(&store).await;
    (ui::serve(store, db).await, base, ids)
}

/// The text of every cell of a column (by header text) of the list.
async fn column(b: &Browser, header: &str) -> Vec<String> {
    let v = b
        .exec(
            "const hs = [...document.querySelectorAll('table thead th')].map(t => t.textContent.trim());\
             const i = hs.indexOf(arguments[0]); if (i < 0) return null;\
             return [...document.querySelectorAll('table tbody tr')].map(r => r.children[i] ? r.children[i].textContent.trim() : '');",
            json!([header]),
        )
        .await;
    match v {
        serde_json::Value::Array(a) => a.into_iter().map(|x| x.as_str().unwrap_or_default().to_owned()).collect(),
        _ => Vec::new(),
    }
}

async fn headers(b: &Browser) -> Vec<String> {
    let v = b.exec("return [...document.querySelectorAll('table thead th')].map(t => t.textContent.trim())", json!([])).await;
    v.as_array().unwrap().iter().map(|x| x.as_str().unwrap().to_owned()).collect()
}

#[tokio::test]
async fn termination_cdr_columns_zones_and_filters() {
    let (srv, base, ids) = spawn().await;
    let Some(b) = Browser::start().await else { return };
    let o = &srv.origin;
    ui::sign_in(&b, o).await;
    // The browser's zone is what the server uses until one is chosen: UTC here.
    b.exec("document.cookie = 'sb_tz=UTC; Path=/'", json!([])).await;

    b.goto(&format!("{o}/ui/termination-cdrs")).await;
    assert_eq!(b.count("table tbody tr").await, 3);
    let h = headers(&b).await;
    for want in [
        "Time Start",
        "Customer",
        "SIP account",
        "SRC Number In",
        "DST Number In",
        "Sent as",
        "Gateway",
        "Route",
        "Duration",
        "Code",
        "Reason",
    ] {
        assert!(h.iter().any(|x| x == want), "{want} in {h:?}");
    }
    assert!(!h.iter().any(|x| x.contains("Tag") || x.contains("Call Id")), "tags and call ids only via the chooser: {h:?}");
    assert_eq!(column(&b, "Customer").await, ["Acme Corp", "Acme Corp", "Beta Ltd"]);
    assert_eq!(column(&b, "SIP account").await, ["acme-desk", "acme-desk", "beta-desk"]);
    assert_eq!(column(&b, "Gateway").await, ["gw-north", "gw-north", "gw-south"]);
    assert_eq!(column(&b, "Route").await, ["rt-north", "rt-north", "rt-south"]);
    assert_eq!(column(&b, "Sent as").await, ["0037060000001", "0037060000002", "0037060000003"]);
    assert_eq!(column(&b, "Duration").await, ["1:02:05", "0:00", "1:05"]);
    assert_eq!(column(&b, "Code").await, ["200", "486", "200"]);
    let shown = domain::time::format_rfc3339(base)[..19].replace('T', " ");
    assert_eq!(column(&b, "Time Start").await[0], format!("{shown} UTC"));
    b.screenshot("columns-termination-cdrs-1366").await;

    // It fits the content area of a laptop screen.
    let width = b.exec("return document.querySelector('table').scrollWidth", json!([])).await.as_i64().unwrap();
    let area = b.exec("return document.querySelector('.table-wrap').clientWidth", json!([])).await.as_i64().unwrap();
    assert!(width <= 1327 && width <= area, "table {width} px in a {area} px area");

    // Every related record's link opens its page.
    for (text, path) in [
        ("Acme Corp", format!("/ui/customers/{}", ids[0])),
        ("acme-desk", format!("/ui/sip-accounts/{}", ids[1])),
        ("gw-north", format!("/ui/termination-gateways/{}", ids[2])),
        ("rt-north", format!("/ui/termination-routes/{}", ids[3])),
    ] {
        b.goto(&format!("{o}/ui/termination-cdrs")).await;
        let href = b
            .exec(
                "return [...document.querySelectorAll('table tbody a')].find(a => a.textContent === arguments[0]).getAttribute('href')",
                json!([text]),
            )
            .await;
        assert_eq!(href.as_str(), Some(path.as_str()), "{text}");
        b.goto(&format!("{o}{path}")).await;
        assert!(b.text("dl.record").await.contains(text), "{path} shows {text}");
    }

    // The SHOW page reads durations as m:ss too.
    b.goto(&format!("{o}/ui/termination-cdrs")).await;
    b.click_to_load("table tbody tr:first-child td.actions a").await;
    let record = b.text("dl.record").await;
    assert!(record.contains("1:02:05") && record.contains(&format!("{shown} UTC")), "{record}");

    // The column chooser: hide Gateway, show Global Tag; kept after a reload.
    b.goto(&format!("{o}/ui/termination-cdrs")).await;
    b.click("details.columns > summary").await;
    b.click("#col-termination_gateway").await;
    b.click("#col-global_tag").await;
    b.click_to_load("details.columns button.primary").await;
    let h = headers(&b).await;
    assert!(!h.iter().any(|x| x == "Gateway") && h.iter().any(|x| x == "Global Tag"), "{h:?}");
    b.goto(&format!("{o}/ui/termination-cdrs")).await;
    let h = headers(&b).await;
    assert!(!h.iter().any(|x| x == "Gateway") && h.iter().any(|x| x == "Global Tag"), "kept after reload: {h:?}");
    // Back to the defaults.
    b.click("details.columns > summary").await;
    b.click_to_load("details.columns button[name=reset]").await;
    let h = headers(&b).await;
    assert!(h.iter().any(|x| x == "Gateway") && !h.iter().any(|x| x == "Global Tag"), "{h:?}");

    // Time zone UTC -> Europe/Vilnius: every time moves and names its zone.
    b.goto(&format!("{o}/ui/settings")).await;
    b.exec("document.querySelector('#time_zone').value = 'Europe/Vilnius'", json!([])).await;
    b.click_to_load("form.prefs button[type=submit]").await;
    b.goto(&format!("{o}/ui/termination-cdrs")).await;
    let tz = chrono_tz::Europe::Vilnius;
    let local = chrono::TimeZone::timestamp_millis_opt(&tz, base).unwrap().format("%Y-%m-%d %H:%M:%S %Z").to_string();
    assert!(local.ends_with("EET") || local.ends_with("EEST"), "{local}");
    assert_eq!(column(&b, "Time Start").await[0], local);
    assert!(b.text("form.filters").await.contains("Europe/Vilnius"), "the filter bar names the zone");
    // The From filter is shown in that zone, and read in it: from the
    // first call's local time on, only that call is left.
    let from = b.exec("return document.querySelector('#f-time_start_gteq').value", json!([])).await;
    assert!(from.as_str().is_some_and(|f| f.len() == 19), "{from}");
    let local_input = chrono::TimeZone::timestamp_millis_opt(&tz, base).unwrap().format("%Y-%m-%dT%H:%M:%S").to_string();
    b.goto(&format!("{o}/ui/termination-cdrs?filter[time_start_gteq]={local_input}")).await;
    assert_eq!(b.count("table tbody tr").await, 1, "From is read in Europe/Vilnius");
    b.screenshot("columns-termination-cdrs-vilnius").await;

    // The CDR filters narrow the list.
    let list = |q: String| format!("{o}/ui/termination-cdrs?{q}");
    for (q, rows) in [
        ("filter[success]=false".to_owned(), 1),
        ("filter[success]=true".to_owned(), 2),
        (format!("filter[termination_gateway.id]={}", ids[6]), 1),
        (format!("filter[termination_route.id]={}", ids[3]), 2),
        (format!("filter[sip_device_route.id]={}", ids[5]), 1),
        ("filter[lega_disconnect_code]=486".to_owned(), 1),
    ] {
        b.goto(&list(q.clone())).await;
        assert_eq!(b.count("table tbody tr[data-id]").await, rows, "{q}");
    }
    // And through the filter bar's own inputs.
    b.goto(&format!("{o}/ui/termination-cdrs")).await;
    b.exec("document.querySelector('#f-success').value = 'false'", json!([])).await;
    b.click_to_load("form.filters button[type=submit]").await;
    assert_eq!(column(&b, "Code").await, ["486"]);

    // The UI's CSV export names the zone; the API's stays UTC.
    let csv = b
        .exec_async(
            "const done = arguments[arguments.length - 1];\
             fetch('/ui/termination-cdrs.csv').then(r => r.text()).then(done, e => done(String(e)));",
            json!([]),
        )
        .await;
    let csv = csv.as_str().unwrap_or_default().to_owned();
    assert!(csv.contains(&local), "the UI export shows times in the viewer's zone: {csv}");

    // Back to UTC: the times follow.
    b.goto(&format!("{o}/ui/settings")).await;
    b.exec("document.querySelector('#time_zone').value = 'UTC'", json!([])).await;
    b.click_to_load("form.prefs button[type=submit]").await;
    b.goto(&format!("{o}/ui/termination-cdrs")).await;
    assert_eq!(column(&b, "Time Start").await[0], format!("{shown} UTC"));
    // The operator's hidden column is its own: the customer still sees its defaults below.
    b.click("details.columns > summary").await;
    b.click("#col-termination_route").await;
    b.click_to_load("details.columns button.primary").await;
    assert!(!headers(&b).await.iter().any(|x| x == "Route"));

    // The customer's UI: its own calls, no customer column, and links only
    // to the pages it may open (its SIP account, gateway and route).
    b.goto(&format!("{o}/customer/login")).await;
    b.fill("#username", "acme-user").await;
    b.fill("#password", "acme-secret-1").await;
    b.click_to_load("form button[type=submit]").await;
    // No zone chosen: the browser's, which the script tells the server
    // (and reloads the page once to show).
    b.emulate_time_zone("Asia/Tokyo").await;
    b.goto(&format!("{o}/customer/termination-cdrs")).await;
    b.wait_for("times in the browser's zone", "return document.querySelector('header.top').dataset.tz === 'Asia/Tokyo'").await;
    assert_eq!(b.count("table tbody tr[data-id]").await, 2, "only Acme's calls");
    let h = headers(&b).await;
    assert!(!h.iter().any(|x| x == "Customer") && h.iter().any(|x| x == "Route"), "{h:?}");
    let links = b.exec("return [...document.querySelectorAll('table tbody a')].map(a => a.getAttribute('href'))", json!([])).await;
    for l in links.as_array().unwrap() {
        let l = l.as_str().unwrap();
        assert!(l.starts_with("/customer/"), "{l}");
    }
    assert!(links.as_array().unwrap().iter().any(|l| l == &json!(format!("/customer/termination-gateways/{}", ids[2]))), "{links}");
    assert!(column(&b, "Time Start").await[0].ends_with(" JST"), "{:?}", column(&b, "Time Start").await);
    b.goto(&format!("{o}/customer/termination-gateways/{}", ids[2])).await;
    assert!(b.text("dl.record").await.contains("gw-north"));
    b.quit().await;
}
