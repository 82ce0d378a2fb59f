//! `spawn_apps()`: the real HTTP server on a random port over a fresh store,
//! once per backend, with an operator credential and a small client.

use serde_json::{json, Value as Json};
use std::collections::BTreeMap;
use store::testing::{stores, TestDb};
use store::Store;

pub struct TestApp {
    pub backend: &'static str,
    pub origin: String,
    pub client: reqwest::Client,
    pub store: Store,
    pub user: String,
    pub password: String,
    _db: std::sync::Arc<TestDb>,
}

pub async fn spawn_apps() -> Vec<TestApp> {
    let mut out = Vec::new();
    for (backend, store, db) in stores().await {
        store.bootstrap_operator(Some(("op".into(), "op-secret".into()))).await.unwrap();
        let app = web::App::new(store.clone(), web::WebConfig::default()).await.unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let origin = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(web::serve(listener, app, std::future::pending()));
        out.push(TestApp {
            backend,
            origin,
            client: reqwest::Client::new(),
            store,
            user: "op".into(),
            password: "op-secret".into(),
            _db: std::sync::Arc::new(db),
        });
    }
    out
}

impl TestApp {
    /// The same server, another credential.
    pub fn as_user(&self, user: &str, password: &str) -> TestApp {
        TestApp {
            backend: self.backend,
            origin: self.origin.clone(),
            client: self.client.clone(),
            store: self.store.clone(),
            user: user.into(),
            password: password.into(),
            _db: self._db.clone(),
        }
    }

    /// The same server and credential, from another local address
    /// (`127.0.0.2`: loopback answers the whole 127/8 on Linux).
    pub fn at_address(&self, ip: &str) -> TestApp {
        let ip: std::net::IpAddr = ip.parse().expect("an IP address");
        let mut app = self.as_user(&self.user, &self.password);
        app.client = reqwest::Client::builder().local_address(ip).build().expect("a client bound to the address");
        app
    }

    async fn send(&self, r: reqwest::RequestBuilder) -> (u16, Json) {
        let resp = r.basic_auth(&self.user, Some(&self.password)).send().await.expect("request");
        let status = resp.status().as_u16();
        let bytes = resp.bytes().await.expect("body");
        let json = if bytes.is_empty() {
            Json::Null
        } else {
            serde_json::from_slice(&bytes).unwrap_or_else(|_| Json::String(String::from_utf8_lossy(&bytes).into()))
        };
        (status, json)
    }

    pub async fn get(&self, path: &str) -> (u16, Json) {
        self.get_url(&format!("{}{path}", self.origin)).await
    }

    pub async fn get_url(&self, url: &str) -> (u16, Json) {
        self.send(self.client.get(url)).await
    }

    pub async fn get_text(&self, path: &str) -> (u16, String) {
        let r = self.client.get(format!("{}{path}", self.origin)).basic_auth(&self.user, Some(&self.password)).send().await.unwrap();
        (r.status().as_u16(), r.text().await.unwrap())
    }

    pub async fn post(&self, path: &str, body: Json) -> (u16, Json) {
        self.post_raw(path, body.to_string()).await
    }

    pub async fn post_raw(&self, path: &str, body: String) -> (u16, Json) {
        self.send(self.client.post(format!("{}{path}", self.origin)).header("content-type", "application/vnd.api+json").body(body)).await
    }

    pub async fn patch(&self, path: &str, body: Json) -> (u16, Json) {
        self.send(
            self.client.patch(format!("{}{path}", self.origin)).header("content-type", "application/vnd.api+json").body(body.to_string()),
        )
        .await
    }

    pub async fn delete(&self, path: &str) -> (u16, Json) {
        self.send(self.client.delete(format!("{}{path}", self.origin))).await
    }

    /// An API credential scoped to a customer, made through the API.
    pub async fn customer_credential(&self, customer: &str) -> (String, String) {
        let user = format!("cust-{customer}");
        let (s, b) = self
            .post(
                "/api/rest/public/operator/api_credentials",
                json!({ "data": { "type": "api_credentials", "attributes": { "username": user, "name": "test" }, "relationships": { "customer": { "data": { "type": "customers", "id": customer } } } } }),
            )
            .await;
        assert_eq!(s, 201, "{b}");
        let secret = b["data"]["attributes"]["secret"].as_str().expect("generated secret answered once").to_owned();
        (user, secret)
    }

    /// Row counts of every configuration table, to prove a refused change
    /// changed nothing.
    pub async fn snapshot(&self) -> BTreeMap<&'static str, u64> {
        let mut out = BTreeMap::new();
        for res in domain::schema::RESOURCES.iter().copied().filter(|r| !r.cdr && r.kind != "audit_log_entries") {
            let n = self.store.count(res, store::Scope::Operator, &store::ListQuery::default()).await.unwrap();
            out.insert(res.kind, n);
        }
        out
    }
}
