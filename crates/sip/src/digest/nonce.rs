//! Stateless server nonces: issued with an HMAC tag, checked without a
//! table, so every node sharing the secret accepts every node's nonce.
//! The tag covers the client's address too: a nonce answered from another
//! address than the one it was sent to is not ours, so a failure can only
//! be counted against an address that really received our challenge.

use std::fmt;
use std::net::IpAddr;
use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

use super::{Algorithm, Challenge};

/// What a nonce presented by a client turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NonceStatus {
    /// Ours and within its lifetime.
    Valid,
    /// Ours but expired.
    Stale,
    /// Not made with our secret for this client (forged, tampered,
    /// garbled, or issued to another address).
    Invalid,
}

/// Issues and checks stateless nonces: `base64url(issued ‖ salt ‖ tag)`
/// with `tag = HMAC-SHA256(secret, issued ‖ salt ‖ client address)`
/// truncated to 128 bits; the address is not in the nonce, only in the tag.
/// No table of outstanding nonces is kept, so any node sharing the secret
/// can check any node's nonce. The flip side: replay within the lifetime
/// is not detected here (that needs per-nonce `nc` tracking).
#[derive(Clone)]
pub struct NonceSource {
    mac: Hmac<Sha256>,
    lifetime: u64,
}

const SALT_LEN: usize = 8;
// 128 bits of tag resist forgery and keep the nonce short: SIP over UDP
// must stay under the path MTU.
const TAG_LEN: usize = 16;
const NONCE_LEN: usize = 8 + SALT_LEN + TAG_LEN;

impl NonceSource {
    /// `secret` should be at least 32 random bytes shared by every node
    /// that checks these nonces; `lifetime` is how long one stays valid.
    pub fn new(secret: &[u8], lifetime: Duration) -> Self {
        // Keying the HMAC once and cloning it per nonce skips the key
        // schedule on each request.
        let mac = <Hmac<Sha256> as Mac>::new_from_slice(secret).expect("HMAC accepts keys of any length");
        Self { mac, lifetime: lifetime.as_secs() }
    }

    /// A new nonce issued at `now` (UNIX seconds) to `client`, with a
    /// random salt.
    pub fn issue(&self, now: u64, client: IpAddr) -> String {
        self.issue_with_salt(now, client, rand::random())
    }

    /// [`NonceSource::issue`] with a caller-chosen salt (tests, or a
    /// caller with its own random source). The salt makes two nonces of
    /// one second differ.
    pub fn issue_with_salt(&self, now: u64, client: IpAddr, salt: [u8; SALT_LEN]) -> String {
        let mut raw = [0u8; NONCE_LEN];
        raw[..8].copy_from_slice(&now.to_be_bytes());
        raw[8..8 + SALT_LEN].copy_from_slice(&salt);
        let tag = self.tag(&raw[..8 + SALT_LEN], client);
        raw[8 + SALT_LEN..].copy_from_slice(&tag[..TAG_LEN]);
        URL_SAFE_NO_PAD.encode(raw)
    }

    /// Checks a nonce presented by `client` at `now` (UNIX seconds). A
    /// nonce dated after `now` (clock skew between nodes) counts as just
    /// issued.
    pub fn check(&self, nonce: &str, now: u64, client: IpAddr) -> NonceStatus {
        let Ok(raw) = URL_SAFE_NO_PAD.decode(nonce) else {
            return NonceStatus::Invalid;
        };
        if raw.len() != NONCE_LEN {
            return NonceStatus::Invalid;
        }
        let (signed, tag) = raw.split_at(8 + SALT_LEN);
        let expected = self.tag(signed, client);
        if !bool::from(expected[..TAG_LEN].ct_eq(tag)) {
            return NonceStatus::Invalid;
        }
        let mut issued = [0u8; 8];
        issued.copy_from_slice(&signed[..8]);
        let issued = u64::from_be_bytes(issued);
        if now.saturating_sub(issued) < self.lifetime {
            NonceStatus::Valid
        } else {
            NonceStatus::Stale
        }
    }

    /// A server challenge to `client` carrying a nonce issued at `now`.
    pub fn challenge(&self, realm: &str, algorithm: Algorithm, now: u64, client: IpAddr) -> Challenge {
        Challenge::new(realm, self.issue(now, client), algorithm)
    }

    fn tag(&self, signed: &[u8], client: IpAddr) -> [u8; 32] {
        let mut mac = self.mac.clone();
        mac.update(signed);
        // One form per address: an IPv4 client seen as IPv4-mapped IPv6 on
        // a dual-stack socket is the same client.
        let client = match client {
            IpAddr::V4(v4) => v4.to_ipv6_mapped(),
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(v6, |v4| v4.to_ipv6_mapped()),
        };
        mac.update(&client.octets());
        mac.finalize().into_bytes().into()
    }
}

impl fmt::Debug for NonceSource {
    // The keyed HMAC state must not reach logs.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NonceSource").field("lifetime", &self.lifetime).finish_non_exhaustive()
    }
}
