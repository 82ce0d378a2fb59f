//! The registrar (RFC 3261 §10): a REGISTER, authenticated as its SIP
//! account (`accounts.rs`), sets bindings with expiry: refresh,
//! `Expires: 0` and `*` removal, 423 below the minimum, 200 with the
//! current bindings. Bindings and the live `is_online` / `user_agent` of
//! each account are written behind to the store and restored at start.

pub(crate) mod carriers;
pub(crate) mod keepalive;
pub mod location;

use crate::accounts::Accounts;
use crate::directory::Directory;
use location::{Binding, Location, MemoryLocation};
use sip::digest::Algorithm;
use sip::endpoint::{Incoming, ReplyError, Transport};
use sip::message::{self, Contacts, SipUri};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use store::presence::{BindingOp, StoredBinding};
use store::Store;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

#[derive(Debug, Clone)]
pub struct RegistrarConfig {
    /// Shorter registrations get 423 with this Min-Expires.
    pub min_expires: u32,
    /// Longer ones are cut to this.
    pub max_expires: u32,
    /// When neither the contact nor the request says.
    pub default_expires: u32,
    pub nonce_lifetime: Duration,
    /// Challenges offered, one WWW-Authenticate each, in this order.
    /// Default: MD5 only. SIPp and many phones answer only the topmost
    /// challenge and know only MD5, and baresip 1.0 (Debian's) fails the
    /// whole registration on any SHA-256 challenge it sees. A phone may
    /// still answer with SHA-256 when it is offered; both always verify.
    pub algorithms: Vec<Algorithm>,
    /// Failed authentications of one account from one source within
    /// `failure_window` before that source is ignored for that account
    /// for `block_for` (see `accounts/throttle.rs`; only failures over a
    /// nonce we sent to that source count).
    pub max_auth_failures: u32,
    pub failure_window: Duration,
    pub block_for: Duration,
    /// Failures of one account, from any source, before it backs off
    /// (1 s, doubling up to `account_backoff_max`) for every source it has
    /// not authenticated from lately.
    pub account_failures: u32,
    pub account_backoff_max: Duration,
    /// Distinct accounts one source may fail for within `failure_window`
    /// before it is ignored altogether for `block_for` (a scanner).
    pub max_source_accounts: u32,
}

impl Default for RegistrarConfig {
    fn default() -> Self {
        RegistrarConfig {
            min_expires: 60,
            max_expires: 3600,
            default_expires: 3600,
            nonce_lifetime: Duration::from_secs(300),
            algorithms: vec![Algorithm::Md5],
            max_auth_failures: 10,
            failure_window: Duration::from_secs(60),
            block_for: Duration::from_secs(300),
            account_failures: 10,
            account_backoff_max: Duration::from_secs(300),
            max_source_accounts: 20,
        }
    }
}

pub(crate) struct Registrar {
    store: Store,
    location: Arc<MemoryLocation>,
    accounts: Arc<Accounts>,
    /// Trunks by domain, for carriers that register (`carriers.rs`).
    directory: Arc<Directory>,
    /// Carriers' bindings by trunk id: in memory only, as a carrier
    /// registers again within its interval.
    carriers: Arc<MemoryLocation>,
    config: RegistrarConfig,
    /// The presence last written per account, to write only changes.
    published: Mutex<HashMap<i64, (bool, Option<String>)>>,
    /// Binding changes for the store, written behind by [`binding_writer`].
    bindings: mpsc::UnboundedSender<BindingOp>,
}

/// Writes binding changes to the store in order, in batches, until
/// `cancel`; then writes what is still queued and stops.
pub(crate) async fn binding_writer(store: Store, mut rx: mpsc::UnboundedReceiver<BindingOp>, cancel: CancellationToken) {
    let mut batch = Vec::new();
    loop {
        let first = tokio::select! {
            op = rx.recv() => op,
            _ = cancel.cancelled() => None,
        };
        let Some(first) = first else { break };
        batch.push(first);
        while batch.len() < 512 {
            match rx.try_recv() {
                Ok(op) => batch.push(op),
                Err(_) => break,
            }
        }
        if let Err(e) = store.write_bindings(&batch).await {
            tracing::warn!(error = %e, n = batch.len(), "could not persist registration bindings or presence");
        }
        batch.clear();
    }
    while let Ok(op) = rx.try_recv() {
        batch.push(op);
    }
    if !batch.is_empty() {
        if let Err(e) = store.write_bindings(&batch).await {
            tracing::warn!(error = %e, "could not persist registration bindings at shutdown");
        }
    }
}

impl Registrar {
    pub fn new(
        store: Store,
        location: Arc<MemoryLocation>,
        accounts: Arc<Accounts>,
        (directory, carriers): (Arc<Directory>, Arc<MemoryLocation>),
        config: RegistrarConfig,
        bindings: mpsc::UnboundedSender<BindingOp>,
    ) -> Self {
        Registrar { bindings, store, location, accounts, directory, carriers, config, published: Mutex::new(HashMap::new()) }
    }

    /// Loads the bindings that survived a restart and sets every account's
    /// presence from them.
    pub async fn restore(&self) -> Result<usize, store::Error> {
        let now_ms = domain::time::now_ms();
        let now = Instant::now();
        let stored = self.store.live_bindings(now_ms).await?;
        let mut accounts = Vec::new();
        for b in &stored {
            let (Ok(source), transport) = (b.source.parse(), b.transport.as_str()) else { continue };
            let transport = match transport {
                "tcp" => Transport::Tcp,
                "tls" => Transport::Tls,
                _ => Transport::Udp,
            };
            let left = Duration::from_millis(u64::try_from(b.expires_at - now_ms).unwrap_or(0));
            let age = Duration::from_millis(u64::try_from(now_ms - b.updated_at).unwrap_or(0));
            self.location.upsert(
                b.account,
                Binding {
                    contact: b.contact.clone(),
                    expires_at: now + left,
                    user_agent: b.user_agent.clone(),
                    source,
                    transport,
                    // The Via is not stored; the Contact names the same address.
                    behind_nat: !contact_names_source(&b.contact, source),
                    call_id: b.call_id.clone(),
                    cseq: u32::try_from(b.cseq).unwrap_or(0),
                    updated: now.checked_sub(age).unwrap_or(now),
                },
            );
            accounts.push(b.account);
        }
        accounts.sort_unstable();
        accounts.dedup();
        self.store.reset_presence(&accounts).await?;
        for a in &accounts {
            self.publish(*a);
        }
        Ok(stored.len())
    }

    /// Queues a binding change for the store (written behind, in order).
    fn persist(&self, account: i64, change: Option<&Binding>, removed: Option<&str>) {
        let op = match change {
            Some(b) => {
                let now_ms = domain::time::now_ms();
                BindingOp::Save(StoredBinding {
                    account,
                    contact: b.contact.clone(),
                    expires_at: now_ms + b.expires_at.saturating_duration_since(Instant::now()).as_millis() as i64,
                    user_agent: b.user_agent.clone(),
                    source: b.source.to_string(),
                    transport: b.transport.as_str().to_owned(),
                    call_id: b.call_id.clone(),
                    cseq: i64::from(b.cseq),
                    updated_at: now_ms,
                })
            }
            None => BindingOp::Delete { account, contact: removed.map(str::to_owned) },
        };
        // The writer only stops at shutdown; a change after that is lost
        // with the process anyway.
        let _ = self.bindings.send(op);
    }

    /// Takes phones offline as their bindings expire.
    pub fn spawn_expiry(self: Arc<Self>, cancel: CancellationToken) {
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(1));
            let mut n: u64 = 0;
            loop {
                tokio::select! {
                    _ = cancel.cancelled() => return,
                    _ = tick.tick() => {}
                }
                for account in self.location.expire(Instant::now()) {
                    self.publish(account);
                }
                self.carriers.expire(Instant::now());
                n += 1;
                if n.is_multiple_of(60) {
                    if let Err(e) = self.store.purge_bindings(domain::time::now_ms()).await {
                        tracing::warn!(error = %e, "could not purge expired bindings");
                    }
                }
            }
        });
    }

    /// Writes an account's presence to the store when it changed.
    fn publish(&self, account: i64) {
        let bindings = self.location.bindings(account, Instant::now());
        let online = !bindings.is_empty();
        let user_agent = bindings.iter().max_by_key(|b| b.updated).and_then(|b| b.user_agent.clone());
        let state = (online, user_agent.clone());
        {
            let mut published = self.published.lock().expect("presence lock");
            if published.get(&account) == Some(&state) {
                return;
            }
            published.insert(account, state);
        }
        // Written behind, in order with the bindings it follows from.
        let _ = self.bindings.send(BindingOp::Presence { account, online, user_agent });
    }

    pub async fn register(&self, req: &mut Incoming) -> Result<(), ReplyError> {
        let Ok(ruri) = SipUri::parse(req.uri()) else {
            return req.reply(400, "Bad Request-URI", &[]).await;
        };
        if let Some(trunk) = self.trunk_for(&ruri.host).await {
            return self.register_carrier(req, &ruri, &trunk).await;
        }
        if !self.accounts.serves(&ruri.host) {
            return req.reply(404, "Not Found", &[]).await;
        }
        let Some(aor_user) = message::to(req.headers()).ok().and_then(|to| to.sip_uri().ok()).and_then(|u| u.user) else {
            return req.reply(400, "Bad To header", &[]).await;
        };
        let Some(login) = self.accounts.authenticate(req, &ruri).await? else { return Ok(()) };
        if login.username != aor_user {
            // Right credentials, someone else's AOR: no guess to count.
            tracing::info!(username = %login.username, to = %aor_user, "REGISTER for another account's address refused");
            return req.reply(403, "Forbidden", &[]).await;
        }
        self.update_bindings(req, Registrant::Account(login.id)).await
    }

    async fn update_bindings(&self, req: &mut Incoming, registrant: Registrant) -> Result<(), ReplyError> {
        let (location, account) = match registrant {
            Registrant::Account(id) => (&*self.location, id),
            Registrant::Trunk(id) => (&*self.carriers, id),
        };
        let stored = matches!(registrant, Registrant::Account(_));
        let headers = req.headers();
        let Ok(header_expires) = message::expires(headers) else {
            return req.reply(400, "Bad Expires", &[]).await;
        };
        let contacts = match message::contacts(headers) {
            Ok(c) => c,
            Err(_) => return req.reply(400, "Bad Contact", &[]).await,
        };
        let now = Instant::now();
        match contacts {
            Contacts::None => {}
            Contacts::Wildcard => {
                if header_expires != Some(0) {
                    return req.reply(400, "Contact * needs Expires: 0", &[]).await;
                }
                location.clear(account);
                if stored {
                    self.persist(account, None, None);
                }
            }
            Contacts::List(list) => {
                let mut changes = Vec::with_capacity(list.len());
                for c in &list {
                    let Ok(own) = c.expires() else {
                        return req.reply(400, "Bad Contact expires", &[]).await;
                    };
                    let expires = own.or(header_expires).unwrap_or(self.config.default_expires);
                    if expires != 0 && expires < self.config.min_expires {
                        let min = self.config.min_expires.to_string();
                        return req.reply(423, "Interval Too Brief", &[("Min-Expires", &min)]).await;
                    }
                    changes.push((c.uri.clone(), expires.min(self.config.max_expires)));
                }
                let call_id = headers.get("Call-ID").unwrap_or_default().to_owned();
                let cseq = headers.get("CSeq").and_then(|c| c.split_whitespace().next()).and_then(|n| n.parse().ok()).unwrap_or(0);
                let user_agent = message::user_agent(headers).map(str::to_owned);
                let behind_nat = !names_source(message::top_via_sent_by(headers), req.source());
                for (contact, expires) in changes {
                    if expires == 0 {
                        location.remove(account, &contact);
                        if stored {
                            self.persist(account, None, Some(&contact));
                        }
                    } else {
                        let binding = Binding {
                            contact,
                            expires_at: now + Duration::from_secs(u64::from(expires)),
                            user_agent: user_agent.clone(),
                            source: req.source(),
                            transport: req.transport(),
                            behind_nat,
                            call_id: call_id.clone(),
                            cseq,
                            updated: now,
                        };
                        if stored {
                            self.persist(account, Some(&binding), None);
                        }
                        location.upsert(account, binding);
                    }
                }
            }
        }
        if stored {
            self.publish(account);
        }
        let current: Vec<String> = location
            .bindings(account, now)
            .iter()
            .map(|b| format!("<{}>;expires={}", b.contact, b.expires_at.saturating_duration_since(now).as_secs()))
            .collect();
        let extra: Vec<(&str, &str)> = current.iter().map(|c| ("Contact", c.as_str())).collect();
        req.reply(200, "OK", &extra).await
    }
}

/// Whose bindings a REGISTER sets: a SIP account's (written behind to the
/// store, with its presence) or a carrier's for its trunk (in memory).
#[derive(Debug, Clone, Copy)]
enum Registrant {
    Account(i64),
    Trunk(i64),
}

/// Whether a sent-by (`host`, `port`) is the address a message came from:
/// a phone behind NAT names its private address, or one a router rewrote
/// the port of. A host name, or no sent-by at all, never matches.
fn names_source(sent_by: Option<(&str, Option<u16>)>, source: SocketAddr) -> bool {
    let Some((host, port)) = sent_by else { return false };
    let Ok(ip) = host.parse::<std::net::IpAddr>() else { return false };
    ip == source.ip() && port.unwrap_or(5060) == source.port()
}

/// Whether a Contact URI names the address its REGISTER came from.
fn contact_names_source(contact: &str, source: SocketAddr) -> bool {
    let Ok(uri) = SipUri::parse(contact) else { return false };
    names_source(Some((uri.host.trim_start_matches('[').trim_end_matches(']'), uri.port)), source)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_phone_is_behind_nat_when_it_names_another_address_than_its_source() {
        let src: SocketAddr = "198.51.100.7:40001".parse().unwrap();
        assert!(names_source(Some(("198.51.100.7", Some(40001))), src));
        assert!(!names_source(Some(("192.168.1.20", Some(5060))), src), "a private address");
        assert!(!names_source(Some(("198.51.100.7", Some(5060))), src), "the router changed the port");
        assert!(!names_source(Some(("198.51.100.7", None)), src), "no port is 5060");
        assert!(names_source(Some(("198.51.100.7", None)), "198.51.100.7:5060".parse().unwrap()));
        assert!(!names_source(Some(("phone.example", Some(40001))), src));
        assert!(!names_source(None, src));
        assert!(!contact_names_source("sip:alice@192.168.1.20:5062;transport=udp", src));
        assert!(contact_names_source("sip:alice@198.51.100.7:40001;transport=udp", src));
        assert!(contact_names_source("sip:alice@[2001:db8::1]", "[2001:db8::1]:5060".parse().unwrap()));
    }
}
