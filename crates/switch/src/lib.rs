//! The PBX: the SIP server of `switchboard serve`. Today the registrar
//! (phones register with their SIP account and go online); the B2BUA,
//! routing, media relay and CDR production join here as they land.

mod call;
mod capacity;
mod cdr;
mod directory;
mod inbound;
mod location;
mod registrar;
mod sdp;
mod throttle;

pub use location::{Binding, Location, MemoryLocation};
pub use registrar::RegistrarConfig;

use sip::endpoint::{Method, ServerOptions, SipServer};
use std::net::SocketAddr;
use std::sync::Arc;
use store::Store;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Bind(#[from] sip::endpoint::BindError),
    #[error(transparent)]
    Store(#[from] store::Error),
}

/// A running SIP plane.
pub struct Switch {
    udp: SocketAddr,
    tcp: SocketAddr,
    cancel: CancellationToken,
    task: JoinHandle<()>,
    location: Arc<MemoryLocation>,
    /// The write-behind of registration bindings, stopped last.
    writer: JoinHandle<()>,
    writer_cancel: CancellationToken,
    cdrs: cdr::CdrWriter,
    capacity: Arc<capacity::Capacity>,
}

impl Switch {
    /// Binds UDP and TCP on `listen` and starts answering.
    pub async fn start(store: Store, listen: SocketAddr, config: RegistrarConfig) -> Result<Switch, Error> {
        let settings = store.settings().await?;
        let realm = settings.get("sip_domain").as_str().unwrap_or("switchboard.local").to_owned();
        let cancel = CancellationToken::new();
        let mut server = SipServer::bind(listen, ServerOptions { cancel: cancel.child_token(), ..ServerOptions::default() }).await?;
        let (udp, tcp) = (server.udp_addr(), server.tcp_addr());
        let location = Arc::new(MemoryLocation::default());
        let changes = store.subscribe();
        let (bindings_tx, bindings_rx) = mpsc::unbounded_channel();
        let writer_cancel = CancellationToken::new();
        let writer = tokio::spawn(registrar::binding_writer(store.clone(), bindings_rx, writer_cancel.clone()));
        let registrar = Arc::new(registrar::Registrar::new(store.clone(), location.clone(), realm, config, bindings_tx));
        registrar.clone().watch_changes(changes, cancel.child_token());
        let accounts = registrar.load_accounts().await?;
        let restored = registrar.restore().await?;
        if restored > 0 {
            tracing::info!(restored, "registrations restored from the store");
        }
        registrar.clone().spawn_expiry(cancel.child_token());
        let cdrs = cdr::CdrWriter::start(store.clone());
        let capacity = Arc::new(capacity::Capacity::default());
        let calls = Arc::new(call::Calls {
            directory: Arc::new(directory::Directory::load(store.clone()).await?),
            capacity: capacity.clone(),
            location: location.clone(),
            cdrs: cdrs.sender(),
        });
        let mut calls_tasks = tokio::task::JoinSet::new();
        let task = tokio::spawn(async move {
            while let Some(mut req) = server.accept().await {
                let registrar = registrar.clone();
                let calls = calls.clone();
                // Reap finished ones so the set stays small.
                while calls_tasks.try_join_next().is_some() {}
                calls_tasks.spawn(async move {
                    let result = match req.method() {
                        Method::Register => registrar.register(&mut req).await,
                        Method::Invite => calls.invite(&mut req).await,
                        Method::Options => req.reply(200, "OK", &[("Allow", registrar::ALLOW)]).await,
                        Method::Ack => Ok(()),
                        _ => req.reply(501, "Not Implemented", &[("Allow", registrar::ALLOW)]).await,
                    };
                    if let Err(e) = result {
                        tracing::debug!(error = %e, "could not answer a SIP request");
                    }
                });
            }
            // Calls end (and queue their CDRs) before the CDR writer is closed.
            while calls_tasks.join_next().await.is_some() {}
            server.shutdown().await;
        });
        tracing::info!(%udp, %tcp, accounts, "SIP listening");
        Ok(Switch { udp, tcp, cancel, task, location, writer, writer_cancel, cdrs, capacity })
    }

    pub fn udp_addr(&self) -> SocketAddr {
        self.udp
    }

    pub fn tcp_addr(&self) -> SocketAddr {
        self.tcp
    }

    /// The registrations, for inspection.
    pub fn location(&self) -> &MemoryLocation {
        &self.location
    }

    /// Calls in progress, all customers.
    pub fn active_calls(&self) -> u32 {
        self.capacity.total()
    }

    /// Stops answering, closes the sockets, then writes the CDRs and
    /// registration bindings still queued.
    pub async fn shutdown(self) {
        self.cancel.cancel();
        let _ = self.task.await;
        self.cdrs.close().await;
        self.writer_cancel.cancel();
        let _ = self.writer.await;
    }
}
