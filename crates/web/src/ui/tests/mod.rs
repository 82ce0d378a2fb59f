//! HTTP-level tests of the UIs without a browser: the real router on a
//! random port over a fresh SQLite store, driven with plain requests
//! (redirects not followed, cookies carried by hand).

mod access;
mod bulk;
mod picker;

use crate::{App, WebConfig};
use access::{the_policy_answers_every_resource_method_field_and_actor, the_uis_offer_exactly_what_the_api_allows};
use bulk::{
    a_customer_acts_in_bulk_only_on_its_own_records, bulk_changes_are_confirmed_then_applied_record_by_record,
    lists_and_pages_say_what_is_empty_or_wrong,
};
use picker::pickers_rank_scope_and_refuse_bad_input;
use reqwest::redirect::Policy;
use reqwest::StatusCode;
use store::testing::TestDb;

struct Server {
    origin: String,
    http: reqwest::Client,
    store: store::Store,
    _db: std::sync::Arc<TestDb>,
}

/// A browser-ish session: cookies and the page's CSRF token.
#[derive(Default, Clone)]
struct Session {
    cookies: Vec<(String, String)>,
    csrf: String,
}

impl Session {
    fn header(&self) -> String {
        self.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ")
    }

    fn take(&mut self, resp: &reqwest::Response) {
        for v in resp.headers().get_all(reqwest::header::SET_COOKIE) {
            let s = v.to_str().unwrap();
            let (kv, _) = s.split_once(';').unwrap_or((s, ""));
            let (k, val) = kv.split_once('=').unwrap();
            self.cookies.retain(|(x, _)| x != k);
            if !val.is_empty() && !s.contains("Max-Age=0") {
                self.cookies.push((k.to_owned(), val.to_owned()));
            }
        }
    }
}

fn csrf_of(html: &str) -> Option<String> {
    let i = html.find("name=\"_csrf\" value=\"")? + "name=\"_csrf\" value=\"".len();
    Some(html[i..].split('"').next()?.to_owned())
}

/// The UI over a fresh store on every backend here: SQLite always,
/// PostgreSQL when `SWITCHBOARD_TEST_POSTGRES_URL` is set (as in CI).
async fn servers() -> Vec<Server> {
    let mut out = Vec::new();
    for (_, store, db) in store::testing::stores().await {
        out.push(serve(store, db).await);
    }
    out
}

/// The test functions: each case once per backend.
mod run {
    macro_rules! on_every_backend {
        ($($case:ident),* $(,)?) => {$(
            #[tokio::test]
            async fn $case() {
                for srv in super::servers().await {
                    super::$case(srv).await;
                }
            }
        )*};
    }

    on_every_backend!(
        pages_need_a_signed_in_operator,
        sign_in_sets_a_strict_cookie_and_sign_out_ends_it,
        sign_in_form_needs_its_token_and_guessers_back_off,
        posts_need_the_csrf_token_and_our_origin,
        values_are_escaped_and_errors_sit_beside_their_field,
        a_customer_session_sees_only_its_own_pages,
        customer_users_sign_in_to_their_own_ui_and_out_again,
        the_domain_settings_decide_what_a_customer_may_do,
        logins_are_managed_from_the_ui,
        ring_groups_take_ordered_members_and_numbers_ring_them,
        the_policy_answers_every_resource_method_field_and_actor,
        the_uis_offer_exactly_what_the_api_allows,
        pickers_rank_scope_and_refuse_bad_input,
        bulk_changes_are_confirmed_then_applied_record_by_record,
        lists_and_pages_say_what_is_empty_or_wrong,
        a_customer_acts_in_bulk_only_on_its_own_records
    );
}

async fn serve(store: store::Store, db: TestDb) -> Server {
    store.bootstrap_operator(Some(("op".into(), "op-secret".into()))).await.unwrap();
    let app = App::new(store.clone(), WebConfig::default()).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let origin = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(crate::serve(listener, app, std::future::pending()));
    let http = reqwest::Client::builder().redirect(Policy::none()).build().unwrap();
    Server { origin, http, store, _db: std::sync::Arc::new(db) }
}

impl Server {
    /// The same server, asked from another local address (loopback answers
    /// the whole 127/8 on Linux).
    fn at_address(&self, ip: &str) -> Server {
        let ip: std::net::IpAddr = ip.parse().unwrap();
        let http = reqwest::Client::builder().redirect(Policy::none()).local_address(ip).build().unwrap();
        Server { origin: self.origin.clone(), http, store: self.store.clone(), _db: self._db.clone() }
    }

    async fn get(&self, s: &mut Session, path: &str) -> (StatusCode, String, Option<String>) {
        let r = self.http.get(format!("{}{path}", self.origin)).header("cookie", s.header()).send().await.unwrap();
        s.take(&r);
        let status = r.status();
        let loc = r.headers().get("location").map(|v| v.to_str().unwrap().to_owned());
        let body = r.text().await.unwrap();
        if let Some(t) = csrf_of(&body) {
            s.csrf = t;
        }
        (status, body, loc)
    }

    async fn post(&self, s: &mut Session, path: &str, form: &[(&str, &str)]) -> (StatusCode, String, Option<String>) {
        self.post_from(s, path, form, None).await
    }

    async fn post_from(
        &self,
        s: &mut Session,
        path: &str,
        form: &[(&str, &str)],
        origin: Option<&str>,
    ) -> (StatusCode, String, Option<String>) {
        let mut req = self.http.post(format!("{}{path}", self.origin)).header("cookie", s.header()).form(form);
        if let Some(o) = origin {
            req = req.header("origin", o);
        }
        let r = req.send().await.unwrap();
        s.take(&r);
        let status = r.status();
        let loc = r.headers().get("location").map(|v| v.to_str().unwrap().to_owned());
        (status, r.text().await.unwrap(), loc)
    }

    async fn sign_in(&self, user: &str, pass: &str) -> (Session, StatusCode, String) {
        let mut s = Session::default();
        let (st, _, _) = self.get(&mut s, "/ui/login?next=/ui/numbers").await;
        assert_eq!(st, StatusCode::OK);
        let csrf = s.csrf.clone();
        let (st, body, _) =
            self.post(&mut s, "/ui/login", &[("_csrf", &csrf), ("username", user), ("password", pass), ("next", "/ui/numbers")]).await;
        (s, st, body)
    }

    async fn operator(&self) -> Session {
        let (mut s, st, _) = self.sign_in("op", "op-secret").await;
        assert_eq!(st, StatusCode::SEE_OTHER);
        self.get(&mut s, "/ui/customers").await;
        s
    }
}

async fn pages_need_a_signed_in_operator(srv: Server) {
    let mut anon = Session::default();
    let (st, _, loc) = srv.get(&mut anon, "/").await;
    assert!(st.is_redirection());
    assert_eq!(loc.as_deref(), Some("/ui/customers"));
    for path in ["/ui/customers", "/ui/numbers/1", "/ui/settings", "/ui/audit-log", "/ui/customers.csv"] {
        let (st, _, loc) = srv.get(&mut anon, path).await;
        assert_eq!(st, StatusCode::SEE_OTHER, "{path}");
        assert!(loc.unwrap().starts_with("/ui/login?next=%2Fui%2F"), "{path}");
    }
    let (st, _, loc) = srv.post(&mut anon, "/ui/customers", &[("name", "x")]).await;
    assert_eq!(st, StatusCode::SEE_OTHER);
    assert!(loc.unwrap().starts_with("/ui/login"));
    // Assets are public, and cacheable.
    let (st, css, _) = srv.get(&mut anon, "/ui/assets/app.css").await;
    assert_eq!(st, StatusCode::OK);
    assert!(css.contains(":focus-visible"));
    assert_eq!(srv.get(&mut anon, "/ui/assets/nope.js").await.0, StatusCode::NOT_FOUND);
}

async fn sign_in_sets_a_strict_cookie_and_sign_out_ends_it(srv: Server) {
    let (_, st, body) = srv.sign_in("op", "wrong").await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
    assert!(body.contains("Wrong username or password"));

    let mut s = Session::default();
    srv.get(&mut s, "/ui/login").await;
    let r = srv
        .http
        .post(format!("{}/ui/login", srv.origin))
        .header("cookie", s.header())
        .form(&[("_csrf", s.csrf.as_str()), ("username", "op"), ("password", "op-secret")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let set: Vec<String> = r.headers().get_all("set-cookie").iter().map(|v| v.to_str().unwrap().to_owned()).collect();
    let cookie = set.iter().find(|c| c.starts_with("sb_operator=")).expect("session cookie");
    for attr in ["HttpOnly", "SameSite=Strict", "Path=/ui"] {
        assert!(cookie.contains(attr), "{cookie}");
    }

    let mut s = srv.operator().await;
    let (st, body, _) = srv.get(&mut s, "/ui/customers").await;
    assert_eq!(st, StatusCode::OK);
    for tab in ["Customers", "Available Numbers", "SIP Accounts", "Incoming Trunks", "Incoming Trunk CDRs", "Termination CDRs"] {
        assert!(body.contains(&format!(">{tab}</a>")), "{tab}");
    }
    let old = s.clone();
    let csrf = s.csrf.clone();
    let (st, _, _) = srv.post(&mut s, "/ui/logout", &[("_csrf", &csrf)]).await;
    assert_eq!(st, StatusCode::SEE_OTHER);
    let (st, _, _) = srv.get(&mut old.clone(), "/ui/customers").await;
    assert_eq!(st, StatusCode::SEE_OTHER, "a signed-out token stays dead");
}

async fn sign_in_form_needs_its_token_and_guessers_back_off(srv: Server) {
    let mut s = Session::default();
    let (st, body, _) = srv.post(&mut s, "/ui/login", &[("username", "op"), ("password", "op-secret")]).await;
    assert_eq!(st, StatusCode::FORBIDDEN, "no double-submit token");
    assert!(body.contains("expired"));
    // Issue 15: a guesser at 127.0.0.2 gets three tries, then waits...
    let guesser = srv.at_address("127.0.0.2");
    for _ in 0..3 {
        assert_eq!(guesser.sign_in("op", "guess").await.1, StatusCode::UNAUTHORIZED);
    }
    for _ in 0..10 {
        assert_eq!(guesser.sign_in("op", "guess").await.1, StatusCode::TOO_MANY_REQUESTS);
    }
    let (_, st, body) = guesser.sign_in("op", "op-secret").await;
    assert_eq!(st, StatusCode::TOO_MANY_REQUESTS, "even with the right password, from there");
    assert!(body.contains("Too many failed sign-ins"));
    // ...while the operator, elsewhere, signs in at once.
    let t = std::time::Instant::now();
    assert_eq!(srv.sign_in("op", "op-secret").await.1, StatusCode::SEE_OTHER);
    assert!(t.elapsed() < std::time::Duration::from_secs(1));
    let q = store::ListQuery { limit: 1000, ..store::ListQuery::default() };
    let log = srv.store.list(&domain::schema::AUDIT_LOG, store::Scope::Operator, &q).await.unwrap().records;
    let backoffs = log.iter().filter(|r| r.get("action").as_str() == Some("login_backoff")).count();
    assert!(backoffs >= 1, "the back-off is audited");
}

async fn posts_need_the_csrf_token_and_our_origin(srv: Server) {
    let mut s = srv.operator().await;
    let (st, _, _) = srv.post(&mut s, "/ui/customers", &[("name", "NoToken")]).await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    let csrf = s.csrf.clone();
    let (st, _, _) = srv.post(&mut s, "/ui/customers", &[("_csrf", "forged"), ("name", "Forged")]).await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    let (st, _, _) = srv.post_from(&mut s, "/ui/customers", &[("_csrf", &csrf), ("name", "X")], Some("https://evil.example")).await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    let n = srv.store.count(&domain::schema::CUSTOMERS, store::Scope::Operator, &store::ListQuery::default()).await.unwrap();
    assert_eq!(n, 0, "nothing was created");
    let (st, _, loc) = srv.post_from(&mut s, "/ui/customers", &[("_csrf", &csrf), ("name", "Acme")], Some(&srv.origin.clone())).await;
    assert_eq!(st, StatusCode::SEE_OTHER);
    assert_eq!(loc.as_deref(), Some("/ui/customers/1?done=saved"));
}

async fn values_are_escaped_and_errors_sit_beside_their_field(srv: Server) {
    let mut s = srv.operator().await;
    let csrf = s.csrf.clone();
    let evil = "<script>alert('x')</script>";
    let (st, _, _) = srv.post(&mut s, "/ui/customers", &[("_csrf", &csrf), ("name", evil), ("language", "EN")]).await;
    assert_eq!(st, StatusCode::SEE_OTHER);
    let (_, body, _) = srv.get(&mut s, "/ui/customers?filter%5Bname_cont%5D=%3Cscript").await;
    assert!(!body.contains(evil));
    assert!(body.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"));

    let (st, body, _) = srv
        .post(&mut s, "/ui/sip-accounts", &[("_csrf", &csrf), ("username", "a b"), ("internal_caller_id", "12345"), ("rel:customer", "1")])
        .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body.contains("id=\"in-internal_caller_id-error\">Internal Caller ID must be 1 to 4 digits</p>"), "{body}");
    assert!(body.contains("aria-invalid=\"true\" aria-describedby=\"in-username-error\""));
    assert!(body.contains("value=\"12345\""), "what was typed stays");

    // Bad query strings are a page, never a panic.
    let (st, body, _) = srv.get(&mut s, "/ui/customers?sort=nope").await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "a 4xx, with the list's page around the message");
    assert!(body.contains("nope is not a valid sort criteria"));
    let (st, _, _) = srv.get(&mut s, "/ui/customers/abc").await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let (st, _, _) = srv.get(&mut s, "/ui/nope").await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let (st, body, _) = srv.get(&mut s, "/ui/termination-cdrs?filter%5Btime_start_gteq%5D=yesterday").await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    assert!(body.contains("expected YYYY-MM-DD hh:mm:ss"));
}

async fn a_customer_session_sees_only_its_own_pages(srv: Server) {
    let mut op = srv.operator().await;
    let csrf = op.csrf.clone();
    for name in ["Alpha", "Beta"] {
        srv.post(&mut op, "/ui/customers", &[("_csrf", &csrf), ("name", name), ("language", "EN")]).await;
    }
    for (number, customer) in [("3701000001", "1"), ("3701000002", "2")] {
        let (st, _, _) = srv
            .post(&mut op, "/ui/numbers", &[("_csrf", &csrf), ("number", number), ("enabled", "true"), ("rel:customer", customer)])
            .await;
        assert_eq!(st, StatusCode::SEE_OTHER);
    }
    // OPEN UI: a link through the session endpoint, then the customer cookie.
    let (st, _, loc) = srv.post(&mut op, "/ui/customers/1/open", &[("_csrf", &csrf)]).await;
    assert_eq!(st, StatusCode::SEE_OTHER);
    let link = loc.unwrap();
    assert!(link.starts_with("/api/rest/public/operator/auth?token="), "{link}");
    let mut cust = Session::default();
    let (st, _, loc) = srv.get(&mut cust, &link).await;
    assert!(st.is_redirection());
    assert_eq!(loc.as_deref(), Some("/customer/"));
    assert!(cust.cookies.iter().any(|(k, _)| k == "sb_session"));

    let (st, body, _) = srv.get(&mut cust, "/customer/numbers").await;
    assert_eq!(st, StatusCode::OK);
    assert!(body.contains("3701000001") && !body.contains("3701000002"));
    assert!(!body.contains("Customer ID"), "no customer columns in the customer's own UI");
    assert_eq!(srv.get(&mut cust, "/customer/numbers/2").await.0, StatusCode::NOT_FOUND, "another customer's number");
    assert_eq!(srv.get(&mut cust, "/customer/customers").await.0, StatusCode::NOT_FOUND, "not a customer tab");
    assert_eq!(srv.get(&mut cust, "/customer/audit-log").await.0, StatusCode::NOT_FOUND);
    let (_, csv, _) = srv.get(&mut cust, "/customer/numbers.csv").await;
    assert!(csv.contains("3701000001") && !csv.contains("3701000002"));
    // Operator pages do not take the customer's cookie.
    for path in ["/ui/customers", "/ui/numbers/2", "/ui/settings"] {
        let (st, _, loc) = srv.get(&mut cust, path).await;
        assert_eq!(st, StatusCode::SEE_OTHER, "{path}");
        assert!(loc.unwrap().starts_with("/ui/login"));
    }
    // A number of another customer cannot be edited by id either.
    let ccsrf = cust.csrf.clone();
    let (st, _, _) = srv.post(&mut cust, "/customer/numbers/2", &[("_csrf", &ccsrf), ("forward_number", "1")]).await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    // The impersonation is in the audit log.
    let (_, body, _) = srv.get(&mut op, "/ui/audit-log?filter%5Baction%5D=open_ui").await;
    assert!(body.contains("customer_admin_sessions"), "{body}");
}

/// The customer of a fresh store, made through the store as the operator.
async fn customer(srv: &Server, name: &str) -> i64 {
    let input = store::Input::default().with(&domain::schema::CUSTOMERS, "name", name);
    srv.store.create(&domain::schema::CUSTOMERS, &store::Actor::system(), input).await.unwrap().id()
}

async fn set(srv: &Server, name: &str, v: impl Into<domain::Value>) {
    let input = store::Input::default().with(&domain::schema::DOMAIN_SETTINGS, name, v);
    srv.store.update(&domain::schema::DOMAIN_SETTINGS, &store::Actor::system(), 1, input).await.unwrap();
}

async fn customer_users_sign_in_to_their_own_ui_and_out_again(srv: Server) {
    let c = customer(&srv, "Gamma").await;
    let user = store::Input::default()
        .with(&domain::schema::CUSTOMER_USERS, "username", "gamma-admin")
        .with(&domain::schema::CUSTOMER_USERS, "password", "gamma-pass")
        .with_rel(&domain::schema::CUSTOMER_USERS, "customer", store::RelInput::To("customers", c));
    srv.store.create(&domain::schema::CUSTOMER_USERS, &store::Actor::system(), user).await.unwrap();

    let mut s = Session::default();
    let (st, _, _) = srv.get(&mut s, "/customer/numbers").await;
    assert_eq!(st, StatusCode::UNAUTHORIZED, "no session: a page that links to the sign-in");
    srv.get(&mut s, "/customer/login").await;
    let csrf = s.csrf.clone();
    let (st, body, _) = srv.post(&mut s, "/customer/login", &[("_csrf", &csrf), ("username", "gamma-admin"), ("password", "nope")]).await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
    assert!(body.contains("Wrong username or password"));
    // An operator login is not a customer login.
    srv.get(&mut s, "/customer/login").await;
    let csrf = s.csrf.clone();
    let (st, _, _) = srv.post(&mut s, "/customer/login", &[("_csrf", &csrf), ("username", "op"), ("password", "op-secret")]).await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
    srv.get(&mut s, "/customer/login").await;
    let csrf = s.csrf.clone();
    let (st, _, loc) =
        srv.post(&mut s, "/customer/login", &[("_csrf", &csrf), ("username", "gamma-admin"), ("password", "gamma-pass")]).await;
    assert_eq!(st, StatusCode::SEE_OTHER);
    assert_eq!(loc.as_deref(), Some("/customer/numbers"));
    let (st, body, _) = srv.get(&mut s, "/customer/numbers").await;
    assert_eq!(st, StatusCode::OK);
    assert!(body.contains("Gamma"));
    let old = s.clone();
    let csrf = s.csrf.clone();
    let (st, _, loc) = srv.post(&mut s, "/customer/logout", &[("_csrf", &csrf)]).await;
    assert_eq!(st, StatusCode::SEE_OTHER);
    assert_eq!(loc.as_deref(), Some("/customer/login"));
    assert_eq!(srv.get(&mut old.clone(), "/customer/numbers").await.0, StatusCode::UNAUTHORIZED, "the session ended, not just the cookie");
}

/// Opens customer `c`'s UI the way OPEN UI does; the customer's session.
async fn open_ui(srv: &Server, op: &mut Session, c: i64) -> Session {
    let csrf = op.csrf.clone();
    let (_, _, loc) = srv.post(op, &format!("/ui/customers/{c}/open"), &[("_csrf", &csrf)]).await;
    let mut cust = Session::default();
    srv.get(&mut cust, &loc.unwrap()).await;
    srv.get(&mut cust, "/customer/numbers").await;
    cust
}

async fn the_domain_settings_decide_what_a_customer_may_do(srv: Server) {
    let c = customer(&srv, "Delta").await;
    let mut op = srv.operator().await;
    let mut cust = open_ui(&srv, &mut op, c).await;

    // Numbers: listed, but added only where the domain allows it.
    let (_, body, _) = srv.get(&mut cust, "/customer/numbers").await;
    assert!(!body.contains("/customer/numbers/new"));
    let csrf = cust.csrf.clone();
    let (st, _, _) = srv.post(&mut cust, "/customer/numbers", &[("_csrf", &csrf), ("number", "3705000001")]).await;
    // Refused as the API refuses it: no create the customer could not complete.
    assert_eq!(st, StatusCode::FORBIDDEN, "the number field is not the customer's to set");
    set(&srv, "customers_may_add_numbers", true).await;
    let (_, body, _) = srv.get(&mut cust, "/customer/numbers").await;
    assert!(body.contains("/customer/numbers/new"));
    let (st, _, _) = srv.post(&mut cust, "/customer/numbers", &[("_csrf", &csrf), ("number", "3705000001")]).await;
    assert_eq!(st, StatusCode::SEE_OTHER);
    let (_, body, _) = srv.get(&mut cust, "/customer/numbers/1").await;
    assert!(body.contains(">Delete</a>"), "a number the customer added itself");

    // Gateways: closed by default; when opened, only the listed fields.
    let (_, body, _) = srv.get(&mut cust, "/customer/termination-gateways").await;
    assert!(!body.contains("/customer/termination-gateways/new"));
    let (st, _, _) = srv.post(&mut cust, "/customer/termination-gateways", &[("_csrf", &csrf), ("name", "gw"), ("host", "10.0.0.1")]).await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    set(&srv, "customers_may_manage_termination_gateways", true).await;
    set(&srv, "customer_termination_fields", "name,host").await;
    let (st, body, _) = srv.get(&mut cust, "/customer/termination-gateways/new").await;
    assert_eq!(st, StatusCode::OK);
    assert!(body.contains("id=\"in-name\"") && body.contains("id=\"in-host\""));
    assert!(!body.contains("id=\"in-port\"") && !body.contains("in-authorization_password"), "fields the domain keeps to the operator");
    let (st, _, _) = srv
        .post(&mut cust, "/customer/termination-gateways", &[("_csrf", &csrf), ("name", "gw"), ("host", "10.0.0.1"), ("port", "9999")])
        .await;
    assert_eq!(st, StatusCode::SEE_OTHER);
    let gw = srv.store.get(&domain::schema::GATEWAYS, store::Scope::Customer(c), 1).await.unwrap();
    assert_eq!(gw.get("port"), &domain::Value::Int(5060), "a field outside the form is not taken");

    // The operator's system numbers are not the customer's to edit.
    let input = store::Input::default()
        .with(&domain::schema::DID_NUMBERS, "number", "3705000002")
        .with(&domain::schema::DID_NUMBERS, "external_id", 77i64)
        .with_rel(&domain::schema::DID_NUMBERS, "customer", store::RelInput::To("customers", c));
    let did = srv.store.create(&domain::schema::DID_NUMBERS, &store::Actor::system(), input).await.unwrap().id();
    let (_, body, _) = srv.get(&mut cust, &format!("/customer/numbers/{did}")).await;
    assert!(!body.contains("/edit\"") && !body.contains(">Delete</a>"));
    assert_eq!(srv.get(&mut cust, &format!("/customer/numbers/{did}/edit")).await.0, StatusCode::FORBIDDEN);
}

async fn logins_are_managed_from_the_ui(srv: Server) {
    let mut op = srv.operator().await;
    let csrf = op.csrf.clone();
    // A second operator user, who can then sign in.
    let (st, _, _) =
        srv.post(&mut op, "/ui/operator-users", &[("_csrf", &csrf), ("username", "ops2"), ("password", "second-secret")]).await;
    assert_eq!(st, StatusCode::SEE_OTHER);
    assert_eq!(srv.sign_in("ops2", "second-secret").await.1, StatusCode::SEE_OTHER);
    // Its password changes from the edit form; left empty, it stays.
    let (st, _, _) = srv.post(&mut op, "/ui/operator-users/2", &[("_csrf", &csrf), ("username", "ops2"), ("password", "")]).await;
    assert_eq!(st, StatusCode::SEE_OTHER);
    let (mut ops2, st, _) = srv.sign_in("ops2", "second-secret").await;
    assert_eq!(st, StatusCode::SEE_OTHER);
    assert_eq!(srv.get(&mut ops2, "/ui/customers").await.0, StatusCode::OK);
    let (st, _, _) =
        srv.post(&mut op, "/ui/operator-users/2", &[("_csrf", &csrf), ("username", "ops2"), ("password", "third-secret")]).await;
    assert_eq!(st, StatusCode::SEE_OTHER);
    assert_eq!(srv.get(&mut ops2, "/ui/customers").await.0, StatusCode::SEE_OTHER, "a new password ends the old sessions");
    assert_eq!(srv.sign_in("ops2", "second-secret").await.1, StatusCode::UNAUTHORIZED);
    assert_eq!(srv.sign_in("ops2", "third-secret").await.1, StatusCode::SEE_OTHER);

    // An API credential: its generated secret is shown once, and works.
    let (st, body, _) =
        srv.post(&mut op, "/ui/api-credentials", &[("_csrf", &csrf), ("username", "billing"), ("name", "Billing export")]).await;
    assert_eq!(st, StatusCode::CREATED);
    let i = body.find("Secret: ").expect("the secret, once") + "Secret: ".len();
    let secret = body[i..].split(' ').next().unwrap().to_owned();
    let r = srv
        .http
        .get(format!("{}/api/rest/public/operator/customers", srv.origin))
        .basic_auth("billing", Some(&secret))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let (_, body, _) = srv.get(&mut op, "/ui/api-credentials/2").await;
    assert!(!body.contains(&secret), "never shown again");

    // The last operator user cannot be deleted: a clear refusal, not a crash.
    srv.post(&mut op, "/ui/operator-users/2/delete", &[("_csrf", &csrf)]).await;
    let (st, body, _) = srv.post(&mut op, "/ui/operator-users/1/delete", &[("_csrf", &csrf)]).await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body.contains("the last operator user cannot be deleted"));
    // Nor the last operator API credential (issue 15): the way in stays.
    assert_eq!(srv.post(&mut op, "/ui/api-credentials/2/delete", &[("_csrf", &csrf)]).await.0, StatusCode::SEE_OTHER);
    let (st, body, _) = srv.post(&mut op, "/ui/api-credentials/1/delete", &[("_csrf", &csrf)]).await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body.contains("the last operator API credential cannot be deleted"));
    let r = srv
        .http
        .get(format!("{}/api/rest/public/operator/customers", srv.origin))
        .basic_auth("op", Some("op-secret"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
}

async fn ring_groups_take_ordered_members_and_numbers_ring_them(srv: Server) {
    let (a, b) = (customer(&srv, "Epsilon").await, customer(&srv, "Zeta").await);
    let mut op = srv.operator().await;
    let csrf = op.csrf.clone();
    for (user, ext, c) in [("eps-1", "11", a), ("eps-2", "12", a), ("zeta-1", "11", b)] {
        let c = c.to_string();
        let (st, body, _) = srv
            .post(&mut op, "/ui/sip-accounts", &[("_csrf", &csrf), ("username", user), ("internal_caller_id", ext), ("rel:customer", &c)])
            .await;
        assert_eq!(st, StatusCode::SEE_OTHER, "{body}");
    }
    let (_, form, _) = srv.get(&mut op, "/ui/ring-groups/new").await;
    assert!(form.contains("value=\"simultaneous\" selected") && form.contains("value=\"20\""), "defaults pre-filled");
    assert!(form.contains("data-picker=\"/ui/pick/sip_device_routes\"") && !form.contains("eps-2"), "a picker, not every account");
    let a_id = a.to_string();
    let (st, body, _) = srv
        .post(&mut op, "/ui/ring-groups", &[("_csrf", &csrf), ("name", "Sales"), ("rel:members", "2, 1"), ("rel:customer", &a_id)])
        .await;
    assert_eq!(st, StatusCode::SEE_OTHER, "{body}");
    let (_, list, _) = srv.get(&mut op, "/ui/ring-groups").await;
    assert!(
        list.contains("<td data-label=\"Members\"><a href=\"/ui/sip-accounts/2\">eps-2</a>, <a href=\"/ui/sip-accounts/1\">eps-1</a></td>"),
        "members by name with links, in ring order"
    );
    // Another customer's account is not a member, and says so beside the field.
    let (st, body, _) = srv.post(&mut op, "/ui/ring-groups/1", &[("_csrf", &csrf), ("name", "Sales"), ("rel:members", "1, 3")]).await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body.contains("id=\"in-rel-members-error\">Members sip_device_routes 3 does not exist"), "{body}");
    let (st, body, _) = srv.post(&mut op, "/ui/ring-groups/1", &[("_csrf", &csrf), ("name", "Sales"), ("rel:members", "1, x")]).await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body.contains("needs ids separated by commas"));

    // A number rings the group: the destination offers both kinds.
    let (st, _, _) =
        srv.post(&mut op, "/ui/numbers", &[("_csrf", &csrf), ("number", "3706100001"), ("enabled", "true"), ("rel:customer", &a_id)]).await;
    assert_eq!(st, StatusCode::SEE_OTHER);
    let (_, form, _) = srv.get(&mut op, "/ui/numbers/1/edit").await;
    assert!(form.contains("data-picker=\"/ui/pick/sip_device_routes,ring_groups\"") && form.contains("data-picker-typed"), "both kinds");
    let (st, _, _) = srv
        .post(
            &mut op,
            "/ui/numbers/1",
            &[("_csrf", &csrf), ("number", "3706100001"), ("enabled", "true"), ("rel:destination", "ring_groups:1")],
        )
        .await;
    assert_eq!(st, StatusCode::SEE_OTHER);
    let (_, show, _) = srv.get(&mut op, "/ui/numbers/1").await;
    assert!(show.contains("<a href=\"/ui/ring-groups/1\">Sales (#1)</a>"), "{show}");
    let (_, form, _) = srv.get(&mut op, "/ui/numbers/1/edit").await;
    assert!(form.contains("value=\"ring_groups:1\"") && form.contains("Sales"), "the destination, labelled");

    // The customer manages its own groups, with its own accounts only.
    let mut cust = open_ui(&srv, &mut op, a).await;
    let (_, body, _) = srv.get(&mut cust, "/customer/ring-groups").await;
    assert!(body.contains("Sales") && body.contains("/customer/ring-groups/new"));
    let (_, form, _) = srv.get(&mut cust, "/customer/ring-groups/new").await;
    assert!(form.contains("data-picker=\"/customer/pick/sip_device_routes\""), "{form}");
    let (_, picks, _) = srv.get(&mut cust, "/customer/pick/sip_device_routes").await;
    assert!(picks.contains("eps-1") && !picks.contains("zeta-1"), "never another customer's accounts: {picks}");
    let ccsrf = cust.csrf.clone();
    let (st, _, _) = srv.post(&mut cust, "/customer/ring-groups", &[("_csrf", &ccsrf), ("name", "Support"), ("rel:members", "1")]).await;
    assert_eq!(st, StatusCode::SEE_OTHER);
    let (st, _, _) = srv.post(&mut cust, "/customer/ring-groups", &[("_csrf", &ccsrf), ("name", "Sneaky"), ("rel:members", "3")]).await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);

    // External numbers: one input, in ring order; a bad one is named beside it.
    let (_, form, _) = srv.get(&mut cust, "/customer/ring-groups/1/edit").await;
    assert!(form.contains("name=\"external_numbers\"") && form.contains("Phone numbers in ring order"), "{form}");
    let numbers = [("_csrf", ccsrf.as_str()), ("name", "Sales"), ("external_numbers", "+4930123456, 37060000001")];
    let (st, body, _) = srv.post(&mut cust, "/customer/ring-groups/1", &numbers).await;
    assert_eq!(st, StatusCode::SEE_OTHER, "{body}");
    let (_, list, _) = srv.get(&mut cust, "/customer/ring-groups").await;
    assert!(list.contains("<td data-label=\"External numbers\">4930123456, 37060000001</td>"), "{list}");
    let bad = [("_csrf", ccsrf.as_str()), ("name", "Sales"), ("external_numbers", "4930123456 49x")];
    let (st, body, _) = srv.post(&mut cust, "/customer/ring-groups/1", &bad).await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body.contains("id=\"in-external_numbers-error\">External numbers entry 2 is not a phone number"), "{body}");
    // Emptied, the list is cleared.
    let cleared = [("_csrf", ccsrf.as_str()), ("name", "Sales"), ("external_numbers", "")];
    let (st, _, _) = srv.post(&mut cust, "/customer/ring-groups/1", &cleared).await;
    assert_eq!(st, StatusCode::SEE_OTHER);
    let (_, list, _) = srv.get(&mut cust, "/customer/ring-groups").await;
    assert!(!list.contains("4930123456"), "{list}");
}
