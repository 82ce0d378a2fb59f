//! Switchboard's HTTP surface: the JSON:API operator API (wire-compatible
//! with the phone.systems Operator API), the customer-scoped API of the same
//! shapes, CSV export, customer sessions, the OpenAPI document, and the
//! server-rendered operator and customer web UIs.

mod api;
mod ui;

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex, RwLock};
use store::Store;
use tokio::net::TcpListener;

/// Settings of the HTTP surface.
#[derive(Debug, Clone, Default)]
pub struct WebConfig {
    /// The public base URL (`https://pbx.example.com`) used in links and
    /// session URIs; without it, the request's Host header is used.
    pub public_url: Option<String>,
}

/// Shared state of every request.
#[derive(Clone)]
pub struct App {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    config: WebConfig,
    session_key: Vec<u8>,
    logins: RwLock<HashMap<String, api::CachedLogin>>,
    /// The store's change feed, read before the login cache is trusted.
    changes: Mutex<tokio::sync::broadcast::Receiver<store::Change>>,
    /// Failed logins of the API and both UIs, for their back-off.
    backoff: Mutex<api::Backoff>,
    /// Operator UI sessions signed out before they expired: token id to
    /// expiry (epoch seconds). In memory: a restart forgets them, and the
    /// tokens last hours, not days.
    revoked: Mutex<HashMap<String, i64>>,
}

impl App {
    pub async fn new(store: Store, config: WebConfig) -> Result<App, store::Error> {
        let session_key = store.server_secret("session_key").await?.into_bytes();
        let changes = Mutex::new(store.subscribe());
        Ok(App {
            inner: Arc::new(Inner {
                store,
                config,
                session_key,
                logins: RwLock::new(HashMap::new()),
                changes,
                backoff: Mutex::new(api::Backoff::default()),
                revoked: Mutex::new(HashMap::new()),
            }),
        })
    }

    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    /// The access policy of `scope`: a customer's reads the domain settings now.
    pub(crate) async fn policy(&self, scope: store::Scope) -> Result<domain::Policy, store::Error> {
        if !scope.is_customer() {
            return Ok(domain::Policy::operator());
        }
        let settings = self.store().settings().await?;
        Ok(domain::Policy::new(scope, domain::access::Openings::from_settings(|n| settings.get(n))))
    }
}

/// The whole HTTP application.
pub fn router(app: App) -> axum::Router {
    api::routes().merge(ui::routes()).with_state(app)
}

/// Serves on an already-bound listener until `shutdown` resolves, then
/// finishes in-flight requests. Each request knows its peer's address
/// (login back-off is kept per address).
pub async fn serve(listener: TcpListener, app: App, shutdown: impl Future<Output = ()> + Send + 'static) -> std::io::Result<()> {
    let service = router(app).into_make_service_with_connect_info::<std::net::SocketAddr>();
    axum::serve(listener, service).with_graceful_shutdown(shutdown).await
}
