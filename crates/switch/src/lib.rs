//! The PBX: the SIP plane of `switchboard serve`. [`Switch::start`] binds
//! the listeners and hands each request to its part: a REGISTER to the
//! registrar (`registrar/`, bindings in a [`Location`]), a new INVITE to
//! the calls (`calls/`: carriers' DID calls, phones' internal and outbound
//! calls, each bridged by the B2BUA), an in-dialog request to its call.
//! Phones are authenticated against their SIP accounts (`accounts/`).
//! Calls read the directory and the route table kept in memory
//! (`directory.rs`, `routing.rs`), hold a channel of their customer's
//! limit (`capacity.rs`) within the customer's fraud limits (`fraud.rs`), have their RTP relayed (`media/`) and leave CDRs
//! (`cdr/`).

mod accounts;
mod calls;
mod capacity;
mod cdr;
mod directory;
mod fraud;
mod media;
mod registrar;
mod reload;
pub mod routing;
mod server_header;

pub use registrar::location::{Binding, Location, MemoryLocation};
pub use registrar::RegistrarConfig;
pub use sip::endpoint::{ConnectionLimits, TlsListen, TlsOptions};

/// The methods we answer today.
const ALLOW: &str = "INVITE, ACK, CANCEL, BYE, PRACK, UPDATE, INFO, REGISTER, OPTIONS";

/// How calls are handled.
#[derive(Debug, Clone)]
pub struct CallSettings {
    /// A ringing call nobody answers gets 480 after this long.
    pub no_answer_timeout: std::time::Duration,
    /// UDP ports of the media relay (two pairs per call); `None` leaves
    /// media end to end.
    pub relay_ports: Option<std::ops::RangeInclusive<u16>>,
    /// This node's public address (`SWITCHBOARD_SIP_PUBLIC_ADDRESS`): in
    /// every Via, Contact and relay SDP; wins over the domain setting
    /// `sip_public_address`.
    pub public_address: Option<std::net::IpAddr>,
}

impl Default for CallSettings {
    fn default() -> Self {
        CallSettings { no_answer_timeout: std::time::Duration::from_secs(60), relay_ports: Some(20000..=29999), public_address: None }
    }
}

/// This node among those that share the store: its live calls are its own
/// to recover after a crash, dated by its heartbeat.
#[derive(Debug, Clone)]
pub struct NodeSettings {
    /// `SWITCHBOARD_NODE_ID`; by default the host's name and the SIP
    /// listener's address, stable across restarts.
    pub id: Option<String>,
    /// How often the node records that its live calls are up: after a
    /// crash they are billed up to the last such record.
    pub heartbeat: std::time::Duration,
}

impl Default for NodeSettings {
    fn default() -> Self {
        NodeSettings { id: None, heartbeat: std::time::Duration::from_secs(10) }
    }
}

/// Everything [`Switch::start`] takes; a [`RegistrarConfig`] alone means
/// default call settings.
#[derive(Debug, Clone, Default)]
pub struct SwitchConfig {
    pub registrar: RegistrarConfig,
    pub calls: CallSettings,
    /// The TLS listener and the anchors for TLS gateways.
    pub tls: sip::endpoint::TlsOptions,
    /// TCP/TLS connection limits; the idle timeout is ours to set: twice
    /// the registrar's `max_expires`, so a phone's connection outlives
    /// its registration.
    pub connections: ConnectionLimits,
    pub node: NodeSettings,
}

impl From<RegistrarConfig> for SwitchConfig {
    fn from(registrar: RegistrarConfig) -> Self {
        SwitchConfig { registrar, ..SwitchConfig::default() }
    }
}

use sip::endpoint::{Method, ServerOptions, SipServer};
use sip::message;
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
    tls: Option<SocketAddr>,
    cancel: CancellationToken,
    /// Cancelled first at shutdown: calls hang up and write their CDRs.
    calls_stop: CancellationToken,
    task: JoinHandle<()>,
    location: Arc<MemoryLocation>,
    /// The write-behind of registration bindings, stopped last.
    writer: JoinHandle<()>,
    writer_cancel: CancellationToken,
    cdrs: cdr::CdrWriter,
    capacity: Arc<capacity::Capacity>,
    media: Option<Arc<media::MediaPool>>,
}

impl Switch {
    /// Binds UDP and TCP on `listen` and starts answering.
    pub async fn start(store: Store, listen: SocketAddr, config: impl Into<SwitchConfig>) -> Result<Switch, Error> {
        let SwitchConfig { registrar: config, calls: call_settings, tls, node, mut connections } = config.into();
        connections.idle_timeout = std::time::Duration::from_secs(2 * u64::from(config.max_expires));
        let settings = store.settings().await?;
        let realm = settings.get("sip_domain").as_str().unwrap_or("switchboard.local").to_owned();
        let cancel = CancellationToken::new();
        let header = sip::endpoint::ServerHeader::default();
        // Subscribed before the read, so no change falls between them.
        let header_changes = store.subscribe();
        server_header::apply(&store, &header).await?;
        server_header::follow(store.clone(), header_changes, header.clone(), cancel.child_token());
        let options = ServerOptions { cancel: cancel.child_token(), tls, connections, server_header: header };
        let mut server = SipServer::bind(listen, options).await?;
        let (udp, tcp, tls) = (server.udp_addr(), server.tcp_addr(), server.tls_addr());
        let location = Arc::new(MemoryLocation::default());
        let (bindings_tx, bindings_rx) = mpsc::unbounded_channel();
        let writer_cancel = CancellationToken::new();
        let writer = tokio::spawn(registrar::binding_writer(store.clone(), bindings_rx, writer_cancel.clone()));
        let accounts = Arc::new(accounts::Accounts::new(store.clone(), realm, &config));
        let directory = Arc::new(directory::Directory::load(store.clone()).await?);
        let carriers = Arc::new(MemoryLocation::default());
        let registrar = Arc::new(registrar::Registrar::new(
            store.clone(),
            location.clone(),
            accounts.clone(),
            (directory.clone(), carriers.clone()),
            config,
            bindings_tx,
        ));
        let loaded = accounts.load().await?;
        let restored = registrar.restore().await?;
        if restored > 0 {
            tracing::info!(restored, "registrations restored from the store");
        }
        registrar.clone().spawn_expiry(cancel.child_token());
        let node = cdr::Node { id: node.id.unwrap_or_else(|| cdr::default_node_id(udp)), heartbeat: node.heartbeat };
        let recovered = cdr::recover(&store, &node.id).await?;
        if recovered.calls > 0 {
            tracing::warn!(calls = recovered.calls, node = %node.id, "closed calls left open by a previous run, at its last heartbeat");
        }
        // After the recovery: the calls it closed count for today too.
        let daily = Arc::new(fraud::DailyUsage::load(&store).await?);
        let cdrs = cdr::CdrWriter::start(store.clone(), node, daily.clone());
        let orphans_client = server.client();
        let capacity = Arc::new(capacity::Capacity::default());
        let dialogs = Arc::new(calls::Dialogs::default());
        let media_pool = call_settings.relay_ports.clone().map(|ports| media::MediaPool::new(listen.ip(), ports));
        let calls_stop = CancellationToken::new();
        registrar::keepalive::spawn(location.clone(), server.client(), directory.clone(), cancel.child_token());
        let calls = Arc::new(calls::Calls {
            directory,
            routes: Arc::new(routing::Routes::load(store.clone()).await?),
            resolver: calls::Resolver::default(),
            accounts,
            fraud: fraud::Fraud::new(daily),
            capacity: capacity.clone(),
            location: location.clone(),
            carriers,
            cdrs: cdrs.sender(),
            client: server.client(),
            dialogs: dialogs.clone(),
            media: media_pool.clone(),
            settings: call_settings,
            stop: calls_stop.clone(),
        });
        let mut calls_tasks = tokio::task::JoinSet::new();
        let task = tokio::spawn(async move {
            while let Some(mut req) = server.accept().await {
                let registrar = registrar.clone();
                let calls = calls.clone();
                // Reap finished ones so the set stays small.
                while calls_tasks.try_join_next().is_some() {}
                // A request with a To tag belongs to a dialog (RFC 3261 §12.2.2).
                let in_dialog = message::to(req.headers()).ok().is_some_and(|t| t.tag().is_some());
                if in_dialog && !matches!(req.method(), Method::Register | Method::Options) {
                    if let Some(mut req) = dialogs.route(req) {
                        calls_tasks.spawn(async move {
                            let _ = req.reply(481, "Call/Transaction Does Not Exist", &[]).await;
                        });
                    }
                    continue;
                }
                calls_tasks.spawn(async move {
                    let result = match req.method() {
                        Method::Register => registrar.register(&mut req).await,
                        Method::Invite => calls.invite(req).await,
                        Method::Options => req.reply(200, "OK", &[("Allow", ALLOW)]).await,
                        Method::Ack => Ok(()),
                        _ => req.reply(501, "Not Implemented", &[("Allow", ALLOW)]).await,
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
        if !recovered.dialogs.is_empty() {
            // Behind the start: the far ends get their BYE while we serve.
            tokio::spawn(async move { calls::hang_up_orphans(&orphans_client, &recovered.dialogs).await });
        }
        tracing::info!(%udp, %tcp, tls = ?tls, accounts = loaded, "SIP listening");
        Ok(Switch { udp, tcp, tls, cancel, calls_stop, task, location, writer, writer_cancel, cdrs, capacity, media: media_pool })
    }

    pub fn udp_addr(&self) -> SocketAddr {
        self.udp
    }

    pub fn tcp_addr(&self) -> SocketAddr {
        self.tcp
    }

    /// The TLS listener's address, when TLS is on.
    pub fn tls_addr(&self) -> Option<SocketAddr> {
        self.tls
    }

    /// The registrations, for inspection.
    pub fn location(&self) -> &MemoryLocation {
        &self.location
    }

    /// RTP packets the relay passed (caller to callee, callee to caller)
    /// and relay ports in use now.
    pub fn media_stats(&self) -> (u64, u64, usize) {
        use std::sync::atomic::Ordering::Relaxed;
        self.media.as_ref().map_or((0, 0, 0), |m| (m.stats().a_to_b.load(Relaxed), m.stats().b_to_a.load(Relaxed), m.in_use()))
    }

    /// Calls in progress, all customers.
    pub fn active_calls(&self) -> u32 {
        self.capacity.total()
    }

    /// Stops answering, closes the sockets, then writes the CDRs and
    /// registration bindings still queued.
    pub async fn shutdown(self) {
        self.calls_stop.cancel();
        // Calls send their BYE/CANCEL and end; a few seconds at most.
        for _ in 0..50 {
            if self.capacity.total() == 0 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        self.cancel.cancel();
        let _ = self.task.await;
        self.cdrs.close().await;
        self.writer_cancel.cancel();
        let _ = self.writer.await;
    }
}
