//! SIP accounts as the SIP plane sees them (all of them cached from the
//! store by username, `cache.rs`), and the digest authentication (RFC 3261
//! §22) of a phone's request against its account's password, failures
//! throttled (`throttle.rs`). A REGISTER and a phone's INVITE are
//! authenticated here alike, and a carrier's INVITE on a trunk with digest
//! credentials.
//!
//! A scanner learns nothing here: every request without credentials gets
//! the same challenge whatever it names; an unknown username is checked
//! against a dummy secret, so it takes the same work and gets the same 403
//! as a wrong password; the throttle counts both alike.

mod cache;
mod ours;
mod throttle;

use crate::RegistrarConfig;
use cache::Cache;
use sip::digest::{self, Algorithm, Authorization, NonceSource, Outcome, Secret};
use sip::endpoint::{Incoming, ReplyError};
use sip::message::{self, SipUri};
use std::net::IpAddr;
use store::presence::SipLogin;
use store::Store;
use throttle::{Failed, Principal, Throttle};
use tokio::time::Instant;

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
    /// What an unknown username's digest is checked against: random, so
    /// no answer ever matches it.
    dummy: String,
}

fn unix_now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

/// What a digest check came to, once answered where it needs an answer.
enum Checked {
    Authenticated,
    /// Challenged again (stale, or a nonce not ours for this source).
    Answered,
    /// A wrong answer to our challenge: counted, not yet answered.
    Failed,
}

impl Accounts {
    /// Takes the digest settings and throttling of `config`; the cache
    /// starts empty (see [`Accounts::load`]) but already follows the
    /// store's changes.
    pub fn new(store: Store, realm: String, config: &RegistrarConfig) -> Self {
        let secret: [u8; 32] = rand::random();
        let limits = throttle::Limits {
            per_pair: config.max_auth_failures,
            window: config.failure_window,
            block_for: config.block_for,
            account_free: config.account_failures,
            backoff_max: config.account_backoff_max,
            source_accounts: config.max_source_accounts,
            trusted_for: std::time::Duration::from_secs(86_400),
            capacity: 100_000,
        };
        Accounts {
            cache: Cache::new(store.clone()),
            store,
            realm,
            algorithms: config.algorithms.clone(),
            nonces: NonceSource::new(&secret, config.nonce_lifetime),
            throttle: Throttle::new(limits),
            ours: ours::LocalAddresses::default(),
            dummy: format!("{:032x}", rand::random::<u128>()),
        }
    }

    /// The account of `customer` whose extension is `number`, read from
    /// the store each time: the cache knows accounts by username only.
    pub async fn extension(&self, customer: i64, number: &str) -> Result<Option<SipLogin>, store::Error> {
        self.store.sip_extension(customer, number).await
    }

    /// Reads every account into the cache.
    pub async fn load(&self) -> Result<usize, store::Error> {
        self.cache.load().await
    }

    /// Whether a Request-URI host is ours: the SIP domain, or an address
    /// (so a fresh install works before a domain is configured).
    pub fn serves(&self, host: &str) -> bool {
        let bare = host.trim_start_matches('[').trim_end_matches(']');
        host.eq_ignore_ascii_case(&self.realm) || bare.parse::<std::net::IpAddr>().is_ok() || host.eq_ignore_ascii_case("localhost")
    }

    async fn challenge(&self, req: &mut Incoming, stale: bool) -> Result<(), ReplyError> {
        // One nonce for every algorithm offered, good for this source only.
        let mut challenge = self.nonces.challenge(&self.realm, Algorithm::Md5, unix_now(), req.source().ip());
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

    /// Whether a source failed for so many accounts lately (a scanner)
    /// that it gets no answer at all.
    pub fn source_blocked(&self, ip: IpAddr) -> bool {
        self.throttle.source_blocked(ip, Instant::now())
    }

    /// Counts a request to `trunk` from a source it takes none from (`why`,
    /// for the log): per (source, trunk) only, since nothing proves who
    /// sent it, so a forged source silences no one else.
    pub fn outsider(&self, ip: IpAddr, trunk: i64, why: &str) {
        if self.throttle.outsider(ip, self.throttle.outsider_of(trunk), Instant::now()) {
            tracing::warn!(source = %ip, trunk, why, "too many requests from outside a trunk's sources; ignoring them for a while");
        } else {
            tracing::info!(source = %ip, trunk, why, "request from outside a trunk's sources");
        }
    }

    /// Whether requests to `trunk` from `ip` are ignored after [`Accounts::outsider`].
    pub fn outsider_blocked(&self, ip: IpAddr, trunk: i64) -> bool {
        self.throttle.ignores(ip, self.throttle.outsider_of(trunk), Instant::now())
    }

    /// The digest credentials for our realm a request carries, if they
    /// may be checked. Otherwise the request has been answered (401
    /// challenge, 400) or, from a scanner, ignored: `None`.
    async fn credentials(&self, req: &mut Incoming, ruri: &SipUri) -> Result<Option<Authorization>, ReplyError> {
        if self.source_blocked(req.source().ip()) {
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

    /// The digest check of `auth` for `who` against `secret` (`known`:
    /// the secret is the real one, not the dummy): a success clears the
    /// source's count; a failure over our nonce to this source is counted
    /// (`what` names it in the log); a nonce not ours is challenged
    /// afresh, counting nothing.
    async fn check(
        &self,
        req: &mut Incoming,
        auth: &Authorization,
        who: Principal,
        secret: &str,
        known: bool,
        what: &str,
    ) -> Result<Checked, ReplyError> {
        let ip = req.source().ip();
        let outcome = digest::authenticate(auth, req.method().as_str(), Secret::Password(secret), &self.nonces, unix_now(), ip);
        match outcome {
            Outcome::Authenticated if known => {
                self.throttle.succeed(ip, who, Instant::now());
                Ok(Checked::Authenticated)
            }
            Outcome::Stale if known => self.challenge(req, true).await.map(|()| Checked::Answered),
            Outcome::Unchallenged => self.challenge(req, false).await.map(|()| Checked::Answered),
            // A match of the dummy cannot happen; counted like any failure.
            Outcome::Authenticated | Outcome::Stale | Outcome::Rejected => {
                let failed = self.throttle.fail(ip, who, Instant::now());
                log_failure(ip, what, &auth.username, failed);
                Ok(Checked::Failed)
            }
        }
    }

    /// Digest authentication of a carrier's INVITE or REGISTER against its
    /// trunk's `auth_name` and `auth_password`. A failure is counted but
    /// not answered here: the caller refuses the call with its CDR.
    pub async fn authenticate_trunk(
        &self,
        req: &mut Incoming,
        ruri: &SipUri,
        trunk: i64,
        (name, password): (&str, &str),
    ) -> Result<TrunkAuth, ReplyError> {
        let Some(auth) = self.credentials(req, ruri).await? else { return Ok(TrunkAuth::Answered) };
        let who = self.throttle.trunk(trunk);
        if self.throttle.ignores(req.source().ip(), who, Instant::now()) {
            return Ok(TrunkAuth::Answered);
        }
        let known = auth.username == name;
        let secret = if known { password } else { self.dummy.as_str() };
        Ok(match self.check(req, &auth, who, secret, known, "trunk").await? {
            Checked::Authenticated => TrunkAuth::Authenticated,
            Checked::Answered => TrunkAuth::Answered,
            Checked::Failed => TrunkAuth::Failed,
        })
    }

    /// Digest authentication of a request from a SIP account (RFC 3261
    /// §22) against its password: the account when the request carries
    /// valid credentials for our realm. Otherwise the request has been
    /// answered (401 challenge, 403, 400) or, while throttled, ignored,
    /// and the answer is `None`.
    pub async fn authenticate(&self, req: &mut Incoming, ruri: &SipUri) -> Result<Option<SipLogin>, ReplyError> {
        let Some(auth) = self.credentials(req, ruri).await? else { return Ok(None) };
        let who = self.throttle.user(&auth.username);
        if self.throttle.ignores(req.source().ip(), who, Instant::now()) {
            return Ok(None);
        }
        let login = match self.cache.get(&auth.username).await {
            Ok(l) => l,
            Err(e) => {
                tracing::error!(error = %e, "store failure during SIP authentication");
                req.reply(500, "Server Internal Error", &[]).await?;
                return Ok(None);
            }
        };
        let secret = login.as_ref().map_or(self.dummy.as_str(), |l| l.password.as_str());
        match self.check(req, &auth, who, secret, login.is_some(), "account").await? {
            Checked::Authenticated => Ok(login),
            Checked::Answered => Ok(None),
            Checked::Failed => req.reply(403, "Forbidden", &[]).await.map(|()| None),
        }
    }
}

fn log_failure(ip: IpAddr, what: &str, username: &str, failed: Failed) {
    if failed.source_blocked {
        tracing::warn!(source = %ip, "SIP authentication failed for many accounts; ignoring this source for a while");
    } else if failed.pair_blocked {
        tracing::warn!(source = %ip, what, username, "too many failed SIP authentications; ignoring this source for this account for a while");
    } else if let Some(wait) = failed.backoff {
        tracing::warn!(source = %ip, what, username, ?wait, "SIP authentication failing from many places; the account backs off");
    } else {
        tracing::info!(source = %ip, what, username, "SIP authentication failed");
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
