//! What every browser test of the UIs begins with: a fresh SQLite store
//! with the operator login `op`, records made through the store as an
//! operator (so every rule and audit entry applies), the real server on a
//! random port, and a browser signed in as that operator.

use crate::webdriver::Browser;
use domain::schema;
use store::testing::TestDb;
use store::{Actor, Input, Scope, Store};

/// The real server over a store; the store stays reachable for checks.
pub struct Server {
    pub origin: String,
    pub store: Store,
    _db: TestDb,
}

/// A fresh SQLite store with the operator login `op` / `op-secret`.
pub async fn store() -> (Store, TestDb) {
    let (store, db) = store::testing::sqlite().await;
    store.bootstrap_operator(Some(("op".into(), "op-secret".into()))).await.unwrap();
    (store, db)
}

/// Serves the UIs and the API over `store` on a random loopback port.
pub async fn serve(store: Store, db: TestDb) -> Server {
    let app = web::App::new(store.clone(), web::WebConfig::default()).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let origin = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(web::serve(listener, app, std::future::pending()));
    Server { origin, store, _db: db }
}

pub fn op() -> Actor {
    Actor { scope: Scope::Operator, kind: "api_credential", id: "1".into(), name: "test".into() }
}

pub async fn create(s: &Store, res: &'static schema::Resource, i: Input) -> i64 {
    s.create(res, &op(), i).await.unwrap_or_else(|e| panic!("{}: {e}", res.kind)).id()
}

/// Signs the browser in to the operator UI at a laptop's size.
pub async fn sign_in(b: &Browser, origin: &str) {
    b.resize(1366, 900).await;
    b.goto(&format!("{origin}/ui/login")).await;
    b.fill("#username", "op").await;
    b.fill("#password", "op-secret").await;
    b.click_to_load("form button[type=submit]").await;
}
