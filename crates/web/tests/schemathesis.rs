//! schemathesis against the served OpenAPI documents: the real HTTP server
//! on a random port over a fresh SQLite store, the operator's first API
//! credential and a customer's, every operation (but those that would
//! change or delete the caller's own credential), with stateful links,
//! about two and a quarter minutes in all.
//!
//! Fails on any 5xx, any response that breaks its schema or answers an
//! undocumented status or content type, any schema-valid request answered
//! 400 (the document allowed what the API does not take), any
//! schema-violating request taken (negative_data_rejection: the API takes
//! what the document does not say), and unless the
//! generated bodies really created records of every resource (counted in
//! the audit log). What schemathesis may meet for a valid request is in
//! `tests/schemathesis/schemathesis.toml`.
//!
//! schemathesis comes from PyPI (`.ci/run` installs it in a venv under
//! `~/.cache/switchboard/`); without it the test skips, unless
//! `SWITCHBOARD_REQUIRE_TOOLS` is set.

use domain::access::Method;
use domain::schema::RESOURCES;
use std::path::{Path, PathBuf};
use std::process::Command;
use store::{Cond, ListQuery, Op, Scope};

const OPERATOR: (&str, &str) = ("op", "op-secret-Schemathesis-1");
const CUSTOMER_ID: i64 = 777;
const CUSTOMER: (&str, &str) = ("cust777", "cust-secret-Schemathesis-1");

/// The schemathesis executable: `SWITCHBOARD_SCHEMATHESIS`, the venv
/// `.ci/run` makes, or one on the PATH.
fn schemathesis() -> Option<PathBuf> {
    let venv = std::env::var_os("HOME").map(|h| Path::new(&h).join(".cache/switchboard/schemathesis/bin/schemathesis"));
    let candidates =
        std::env::var_os("SWITCHBOARD_SCHEMATHESIS").map(PathBuf::from).into_iter().chain(venv).chain([PathBuf::from("schemathesis")]);
    for c in candidates {
        if Command::new(&c).arg("--version").output().is_ok_and(|o| o.status.success()) {
            return Some(c);
        }
    }
    assert!(
        std::env::var_os("SWITCHBOARD_REQUIRE_TOOLS").is_none(),
        "schemathesis is required (python3 -m venv ~/.cache/switchboard/schemathesis && ~/.cache/switchboard/schemathesis/bin/pip install schemathesis)"
    );
    eprintln!("note: schemathesis is not installed; the OpenAPI conformance run is skipped");
    None
}

/// Runs schemathesis against one API's document for `secs` seconds; true
/// when every check passed.
#[allow(clippy::too_many_arguments)]
fn run(
    bin: &Path,
    origin: &str,
    base: &str,
    document: &str,
    (user, password): (&str, &str),
    phases: &str,
    secs: u32,
    excluded: &[&str],
) -> bool {
    let config = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/schemathesis/schemathesis.toml");
    // Its caches go to a directory of this run, not the crate's.
    let work = std::env::temp_dir().join(format!("sb-schemathesis-{}", std::process::id()));
    std::fs::create_dir_all(&work).unwrap();
    let mut cmd = Command::new("timeout");
    cmd.current_dir(&work);
    // schemathesis keeps its own time; the outer bound is for a hang.
    cmd.arg((secs + 60).to_string()).arg(bin).arg("--config-file").arg(&config).arg("run");
    // schemathesis gets the document as read with the credential (see
    // `document`); the config's credential is only for the operations.
    let doc = work.join("openapi.json");
    std::fs::write(&doc, document).unwrap();
    cmd.arg(&doc)
        .args(["--url", &format!("{origin}{base}")])
        .env("SB_SCHEMATHESIS_USER", user)
        .env("SB_SCHEMATHESIS_PASSWORD", password)
        .args(["--max-time", &secs.to_string(), "--phases", phases])
        .args([
            "--checks",
            "not_a_server_error,response_schema_conformance,status_code_conformance,content_type_conformance,positive_data_acceptance,negative_data_rejection",
        ])
        // One worker: CPython 3.11's parser is not thread-safe under
        // hypothesis ("AST constructor recursion depth mismatch").
        .args(["--workers", "1", "--no-color", "--generation-database", "none", "--warnings", "off"]);
    for op in excluded {
        cmd.args(["--exclude-operation-id", op]);
    }
    let out = cmd.output().expect("run schemathesis");
    let _ = std::fs::remove_dir_all(&work);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let summary = stdout.lines().rev().take(25).collect::<Vec<_>>().into_iter().rev().collect::<Vec<_>>().join("\n");
    eprintln!("schemathesis {base} ({phases}):\n{summary}");
    if !out.status.success() {
        eprintln!("{stdout}{}", String::from_utf8_lossy(&out.stderr));
    }
    out.status.success()
}

/// The served document of one API, read with its credential (it is no
/// public page).
async fn document(origin: &str, base: &str, (user, password): (&str, &str)) -> String {
    let r = reqwest::Client::new().get(format!("{origin}{base}/openapi.json")).basic_auth(user, Some(password)).send().await.unwrap();
    assert_eq!(r.status(), 200);
    r.text().await.unwrap()
}

/// How many `action` entries the audit log holds for `kind`, made through the API.
async fn audited(store: &store::Store, kind: &str, action: &str) -> u64 {
    let st = domain::schema::Storage::Text;
    let q = ListQuery {
        conds: vec![
            Cond { column: "resource_type", st, op: Op::Eq, values: vec![kind.into()] },
            Cond { column: "action", st, op: Op::Eq, values: vec![action.into()] },
            Cond { column: "actor_type", st, op: Op::Eq, values: vec!["api_credential".into()] },
        ],
        ..ListQuery::default()
    };
    store.count(&domain::schema::AUDIT_LOG, Scope::Operator, &q).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_served_openapi_documents_are_what_the_api_does() {
    let Some(bin) = schemathesis() else { return };
    let (store, _db) = store::testing::sqlite().await;
    store.bootstrap_operator(Some((OPERATOR.0.into(), OPERATOR.1.into()))).await.unwrap();
    let app = web::App::new(store.clone(), web::WebConfig::default()).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let origin = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(web::serve(listener, app, std::future::pending()));

    // A customer and its credential, for the customer API's run.
    let client = reqwest::Client::new();
    let post = |path: &str, body: serde_json::Value| {
        client
            .post(format!("{origin}/api/rest/public/operator/{path}"))
            .basic_auth(OPERATOR.0, Some(OPERATOR.1))
            .header("content-type", "application/vnd.api+json")
            .body(body.to_string())
            .send()
    };
    let r = post(
        "customers",
        serde_json::json!({ "data": { "type": "customers", "id": CUSTOMER_ID.to_string(), "attributes": { "name": "Schemathesis" } } }),
    );
    assert_eq!(r.await.unwrap().status(), 201);
    let r = post(
        "api_credentials",
        serde_json::json!({ "data": { "type": "api_credentials",
        "attributes": { "username": CUSTOMER.0, "secret": CUSTOMER.1 },
        "relationships": { "customer": { "data": { "type": "customers", "id": CUSTOMER_ID.to_string() } } } } }),
    );
    assert_eq!(r.await.unwrap().status(), 201);

    // The customer API first: the operator's run may delete any customer.
    let all = "examples,coverage,fuzzing,stateful";
    let (o, b) = (origin.clone(), bin.clone());
    let doc = document(&origin, "/api/rest/public/customer", CUSTOMER).await;
    let customer = tokio::task::spawn_blocking(move || run(&b, &o, "/api/rest/public/customer", &doc, CUSTOMER, all, 35, &[]));
    assert!(customer.await.unwrap(), "schemathesis found the customer API unlike its document (output above)");

    // The caller's own credential stays: its update and delete are left
    // out. Stateful runs on its own budget: it is what chains a created
    // customer into the creates that need one.
    let keep = ["update_api_credentials", "delete_api_credentials"];
    for (phases, secs) in [("examples,coverage,fuzzing", 55), ("stateful", 45)] {
        let (o, b) = (origin.clone(), bin.clone());
        let doc = document(&origin, "/api/rest/public/operator", OPERATOR).await;
        let operator = tokio::task::spawn_blocking(move || run(&b, &o, "/api/rest/public/operator", &doc, OPERATOR, phases, secs, &keep));
        assert!(operator.await.unwrap(), "schemathesis found the operator API unlike its document (output above)");
    }

    // Valid generated bodies were taken: every resource the operator may
    // create was created by them at least once.
    let mut missing = Vec::new();
    for res in RESOURCES.iter().copied().filter(|r| Scope::Operator.offers(r, Method::Create) && r.kind != "domain_settings") {
        let n = audited(&store, res.kind, "create").await;
        eprintln!("{}: {n} created by schemathesis", res.kind);
        if n == 0 {
            missing.push(res.kind);
        }
    }
    assert!(missing.is_empty(), "no schemathesis body was accepted by POST /{missing:?}");
    assert!(audited(&store, "domain_settings", "update").await > 0, "no schemathesis body was accepted by PATCH /domain_settings");
    let mut updates = 0;
    for res in RESOURCES.iter().copied().filter(|r| Scope::Operator.offers(r, Method::Update) && r.kind != "domain_settings") {
        updates += audited(&store, res.kind, "update").await;
    }
    assert!(updates > 0, "no schemathesis body was accepted by any PATCH");
}
