//! SIP accounts as the SIP plane sees them: all of them cached from the
//! store by username, and the digest authentication (RFC 3261 §22) of a
//! phone's request against its account's password, failures throttled per
//! source. A REGISTER and a phone's INVITE are authenticated here alike,
//! and a carrier's INVITE on a trunk with digest credentials.

mod ours;
mod throttle;

use crate::RegistrarConfig;
use sip::digest::{self, Algorithm, Authorization, NonceSource, Outcome, Secret};
use sip::endpoint::{Incoming, ReplyError};
use sip::message::{self, SipUri};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use store::presence::SipLogin;
use store::Store;
use throttle::Throttle;
use tokio::sync::broadcast;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// The accounts of our realm (the SIP domain) and what digest needs there.
pub(crate) struct Accounts {
    store: Store,
    realm: String,
    /// Challenges offered, in order (see [`RegistrarConfig::algorithms`]).
    algorithms: Vec<Algorithm>,
    nonces: NonceSource,
    throttle: Throttle,
    cache: Cache,
    /// Which addresses in a digest uri are ours.
    ours: ours::LocalAddresses,
}

/// SIP accounts by username, so a REGISTER does not query the store: all
/// of them are loaded at start; a changed account is dropped and read
/// again on its next REGISTER, and a change to customers (a delete
/// cascades to its accounts) reloads them all (see `watch_changes`).
#[derive(Default)]
struct Cache {
    map: Mutex<AccountMap>,
    /// Bumped on every invalidation: a lookup that raced with one is not
    /// cached.
    generation: AtomicU64,
}

#[derive(Default)]
struct AccountMap {
    by_name: HashMap<String, SipLogin>,
    name_of: HashMap<i64, String>,
}

impl AccountMap {
    fn insert(&mut self, login: SipLogin) {
        self.forget(login.id);
        self.name_of.insert(login.id, login.username.clone());
        self.by_name.insert(login.username.clone(), login);
    }

    fn forget(&mut self, id: i64) {
        if let Some(name) = self.name_of.remove(&id) {
            self.by_name.remove(&name);
        }
    }
}

fn unix_now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

impl Accounts {
    /// Takes the digest settings and throttling of `config`; the cache
    /// starts empty (see [`Accounts::load`]).
    pub fn new(store: Store, realm: String, config: &RegistrarConfig) -> Self {
        let secret: [u8; 32] = rand::random();
        Accounts {
            store,
            realm,
            algorithms: config.algorithms.clone(),
            nonces: NonceSource::new(&secret, config.nonce_lifetime),
            throttle: Throttle::new(config.max_auth_failures, config.failure_window, config.block_for),
            cache: Cache::default(),
            ours: ours::LocalAddresses::default(),
        }
    }

    /// An account by username, from the cache or the store.
    async fn login(&self, username: &str) -> Result<Option<SipLogin>, store::Error> {
        if let Some(l) = self.cache.map.lock().expect("accounts lock").by_name.get(username) {
            return Ok(Some(l.clone()));
        }
        let generation = self.cache.generation.load(Ordering::Acquire);
        let found = self.store.sip_login(username).await?;
        if let Some(l) = &found {
            let mut map = self.cache.map.lock().expect("accounts lock");
            if self.cache.generation.load(Ordering::Acquire) == generation {
                map.insert(l.clone());
            }
        }
        Ok(found)
    }

    /// The account of `customer` whose extension is `number`, read from
    /// the store each time: the cache knows accounts by username only.
    pub async fn extension(&self, customer: i64, number: &str) -> Result<Option<SipLogin>, store::Error> {
        self.store.sip_extension(customer, number).await
    }

    /// Reads every account into the cache.
    pub async fn load(&self) -> Result<usize, store::Error> {
        let generation = self.cache.generation.load(Ordering::Acquire);
        let all = self.store.sip_logins().await?;
        let n = all.len();
        let mut map = self.cache.map.lock().expect("accounts lock");
        if self.cache.generation.load(Ordering::Acquire) == generation {
            for l in all {
                map.insert(l);
            }
        }
        Ok(n)
    }

    /// Keeps the account cache true to the store: a changed SIP account is
    /// dropped (a new password or a deleted account takes effect on the
    /// next REGISTER); a change to customers, or missed changes, reload all.
    pub fn watch_changes(self: Arc<Self>, mut changes: broadcast::Receiver<store::Change>, cancel: CancellationToken) {
        tokio::spawn(async move {
            loop {
                let change = tokio::select! {
                    c = changes.recv() => c,
                    _ = cancel.cancelled() => return,
                };
                let reload = match change {
                    Ok(c) if c.kind == "sip_device_routes" => {
                        let mut map = self.cache.map.lock().expect("accounts lock");
                        self.cache.generation.fetch_add(1, Ordering::AcqRel);
                        map.forget(c.id);
                        false
                    }
                    Ok(c) => c.kind == "customers",
                    Err(broadcast::error::RecvError::Lagged(_)) => true,
                    Err(broadcast::error::RecvError::Closed) => return,
                };
                if reload {
                    {
                        let mut map = self.cache.map.lock().expect("accounts lock");
                        self.cache.generation.fetch_add(1, Ordering::AcqRel);
                        *map = AccountMap::default();
                    }
                    if let Err(e) = self.load().await {
                        // Lookups fall back to the store until the next reload.
                        tracing::warn!(error = %e, "could not reload SIP accounts");
                    }
                }
            }
        });
    }

    /// Whether a Request-URI host is ours: the SIP domain, or an address
    /// (so a fresh install works before a domain is configured).
    pub fn serves(&self, host: &str) -> bool {
        let bare = host.trim_start_matches('[').trim_end_matches(']');
        host.eq_ignore_ascii_case(&self.realm) || bare.parse::<std::net::IpAddr>().is_ok() || host.eq_ignore_ascii_case("localhost")
    }

    async fn challenge(&self, req: &mut Incoming, stale: bool) -> Result<(), ReplyError> {
        // One nonce for every algorithm offered.
        let mut challenge = self.nonces.challenge(&self.realm, Algorithm::Md5, unix_now());
        challenge.stale = stale;
        let headers: Vec<String> = self
            .algorithms
            .iter()
            .map(|a| {
                challenge.algorithm = *a;
                challenge.to_header()
            })
            .collect();
        let extra: Vec<(&str, &str)> = headers.iter().map(|h| ("WWW-Authenticate", h.as_str())).collect();
        req.reply(401, "Unauthorized", &extra).await
    }

    /// Answers 403 to a request whose credentials do not hold (`why`, for
    /// the log), and counts the failure against its source.
    pub async fn refuse(&self, req: &mut Incoming, why: &str) -> Result<(), ReplyError> {
        self.source_failed(req.source().ip(), why);
        req.reply(403, "Forbidden", &[]).await
    }

    /// Counts a failure against a source: a wrong password, or a call to a
    /// trunk that does not take calls from there (`why`, for the log).
    pub fn source_failed(&self, ip: std::net::IpAddr, why: &str) {
        if self.throttle.fail(ip, Instant::now()) {
            tracing::warn!(source = %ip, why, "too many failed SIP authentications; ignoring this source for a while");
        } else {
            tracing::info!(source = %ip, why, "SIP authentication failed");
        }
    }

    /// Whether a source failed too often lately to get any answer.
    pub fn source_blocked(&self, ip: std::net::IpAddr) -> bool {
        self.throttle.blocked(ip, Instant::now())
    }

    /// The digest credentials for our realm a request carries, if they
    /// may be checked. Otherwise the request has been answered (401
    /// challenge, 400) or, from a throttled source, ignored: `None`.
    async fn credentials(&self, req: &mut Incoming, ruri: &SipUri) -> Result<Option<Authorization>, ReplyError> {
        if self.throttle.blocked(req.source().ip(), Instant::now()) {
            return Ok(None);
        }
        let auth = message::authorization(req.headers()).filter_map(|h| Authorization::parse(h).ok()).find(|a| a.realm == self.realm);
        let Some(auth) = auth else {
            self.challenge(req, false).await?;
            return Ok(None);
        };
        // The digest covers `uri`; it must name this server, or a response
        // computed for a request to another one could be replayed here.
        if !self.ours.names_us(&auth.uri, ruri, &self.realm) {
            req.reply(400, "Authorization uri names another server", &[]).await?;
            return Ok(None);
        }
        Ok(Some(auth))
    }

    /// Digest authentication of a carrier's INVITE against its trunk's
    /// `auth_name` and `auth_password`. A failure is not answered here: the
    /// caller refuses the call with its CDR (and counts it against the source).
    pub async fn authenticate_trunk(&self, req: &mut Incoming, ruri: &SipUri, name: &str, password: &str) -> Result<TrunkAuth, ReplyError> {
        let Some(auth) = self.credentials(req, ruri).await? else { return Ok(TrunkAuth::Answered) };
        if auth.username != name {
            return Ok(TrunkAuth::Failed);
        }
        match digest::authenticate(&auth, req.method().as_str(), Secret::Password(password), &self.nonces, unix_now()) {
            Outcome::Authenticated => {
                self.throttle.succeed(req.source().ip());
                Ok(TrunkAuth::Authenticated)
            }
            Outcome::Stale => self.challenge(req, true).await.map(|()| TrunkAuth::Answered),
            Outcome::Rejected => Ok(TrunkAuth::Failed),
        }
    }

    /// Digest authentication of a request from a SIP account (RFC 3261
    /// §22) against its password: the account when the request carries
    /// valid credentials for our realm. Otherwise the request has been
    /// answered (401 challenge, 403, 400) or, from a throttled source,
    /// ignored, and the answer is `None`.
    pub async fn authenticate(&self, req: &mut Incoming, ruri: &SipUri) -> Result<Option<SipLogin>, ReplyError> {
        let Some(auth) = self.credentials(req, ruri).await? else { return Ok(None) };
        let login = match self.login(&auth.username).await {
            Ok(l) => l,
            Err(e) => {
                tracing::error!(error = %e, "store failure during SIP authentication");
                req.reply(500, "Server Internal Error", &[]).await?;
                return Ok(None);
            }
        };
        let Some(login) = login else {
            self.refuse(req, "unknown username").await?;
            return Ok(None);
        };
        match digest::authenticate(&auth, req.method().as_str(), Secret::Password(&login.password), &self.nonces, unix_now()) {
            Outcome::Authenticated => {
                self.throttle.succeed(req.source().ip());
                Ok(Some(login))
            }
            Outcome::Stale => self.challenge(req, true).await.map(|()| None),
            Outcome::Rejected => self.refuse(req, "wrong digest").await.map(|()| None),
        }
    }
}

/// How a carrier's credentials for its trunk held.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TrunkAuth {
    Authenticated,
    /// Challenged, refused as malformed, or ignored: nothing more to do.
    Answered,
    /// Wrong name or password: refuse the call.
    Failed,
}
