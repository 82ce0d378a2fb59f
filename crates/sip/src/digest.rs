//! Digest authentication for SIP (RFC 3261 §22 with RFC 7616 / RFC 8760
//! algorithms), sans-IO: header parsing and printing, stateless nonces,
//! server-side verification and the client-side answer to a 401/407.
//!
//! A server typically:
//! 1. answers an unauthenticated request with
//!    [`NonceSource::challenge`] printed by [`Challenge::to_header`];
//! 2. parses the retried request's header with [`Authorization::parse`],
//!    looks the account up by `username` and `realm`, checks that `uri`
//!    names the Request-URI, then calls [`authenticate`];
//! 3. on [`Outcome::Stale`] challenges again with `stale: true`, on
//!    [`Outcome::Unchallenged`] afresh (a nonce not issued to this client).
//!
//! Not supported: `qop=auth-int`, `userhash`, `username*`, SHA-512-256.
//!
//! This file holds what both sides share: the algorithms, qop and the
//! response digest itself. The headers are in `header` (their grammar in
//! `params`), nonces in `nonce`, the server's check in `server` and the
//! client's answer in `client`.

use std::fmt;
use std::str::FromStr;

use sha2::Sha256;

mod client;
mod header;
mod nonce;
mod params;
mod server;
#[cfg(test)]
mod tests;

pub use client::respond;
pub use header::{Authorization, Challenge};
pub use nonce::{NonceSource, NonceStatus};
pub use server::{authenticate, ha1, verify, Outcome, Secret};

/// Why a digest header could not be read or answered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DigestError {
    /// The header uses another scheme (e.g. `Basic`, `Bearer`).
    #[error("not a Digest credential or challenge")]
    NotDigest,
    /// The parameter list does not follow the grammar.
    #[error("malformed digest header at byte {position}: expected {expected}")]
    Syntax {
        /// Byte offset into the header value.
        position: usize,
        /// What the parser was looking for there.
        expected: &'static str,
    },
    /// A parameter the message cannot do without is absent.
    #[error("missing digest parameter `{0}`")]
    MissingParam(&'static str),
    /// A known parameter appears twice; refusing avoids guessing which one
    /// the sender (or an attacker who appended one) meant.
    #[error("digest parameter `{0}` given twice")]
    DuplicateParam(&'static str),
    /// An `algorithm` we do not implement.
    #[error("unsupported digest algorithm `{0}`")]
    UnsupportedAlgorithm(String),
    /// A `qop` we do not implement (or a challenge offering none we do).
    #[error("unsupported digest qop `{0}`")]
    UnsupportedQop(String),
    /// `nc` is not exactly 8 lowercase hex digits (RFC 7616 `8LHEX`).
    #[error("digest nonce count is not 8 lowercase hex digits")]
    BadNonceCount,
    /// A `-sess` algorithm needs the cnonce that only `qop` brings.
    #[error("a -sess digest algorithm needs qop")]
    SessWithoutQop,
}

/// The hash family and whether HA1 is per-session (RFC 7616 §3.4.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Algorithm {
    /// `MD5`, the default when `algorithm` is absent.
    #[default]
    Md5,
    /// `MD5-sess`.
    Md5Sess,
    /// `SHA-256` (RFC 8760 for SIP).
    Sha256,
    /// `SHA-256-sess`.
    Sha256Sess,
}

impl Algorithm {
    /// The standard spelling, as printed in headers.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Md5 => "MD5",
            Self::Md5Sess => "MD5-sess",
            Self::Sha256 => "SHA-256",
            Self::Sha256Sess => "SHA-256-sess",
        }
    }

    /// Whether HA1 is re-keyed with the nonce and cnonce.
    pub fn is_session(self) -> bool {
        matches!(self, Self::Md5Sess | Self::Sha256Sess)
    }

    /// Hex digest of `parts` joined by `:`, the shape of every digest input.
    fn hash(self, parts: &[&str]) -> String {
        match self {
            Self::Md5 | Self::Md5Sess => hash_hex::<md5::Md5>(parts),
            Self::Sha256 | Self::Sha256Sess => hash_hex::<Sha256>(parts),
        }
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Algorithm {
    type Err = DigestError;

    /// Case-insensitive, standard names only: `SHA256` is not a registered
    /// name, and accepting it would let a peer believe we speak it.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        [Self::Md5, Self::Md5Sess, Self::Sha256, Self::Sha256Sess]
            .into_iter()
            .find(|a| a.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| DigestError::UnsupportedAlgorithm(s.to_owned()))
    }
}

/// Quality of protection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Qop {
    /// `auth`: request authentication.
    Auth,
    /// `auth-int`: also covers the body. Parsed, never verified or offered.
    AuthInt,
}

impl Qop {
    /// The spelling in headers.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Auth => "auth",
            Self::AuthInt => "auth-int",
        }
    }
}

impl FromStr for Qop {
    type Err = DigestError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.eq_ignore_ascii_case("auth") {
            Ok(Self::Auth)
        } else if s.eq_ignore_ascii_case("auth-int") {
            Ok(Self::AuthInt)
        } else {
            Err(DigestError::UnsupportedQop(s.to_owned()))
        }
    }
}

/// RFC 7616 §3.4.1–3.4.3, here because [`verify`] and [`respond`] must
/// compute it alike; `None` when the fields cannot make a digest
/// (auth-int, or qop/-sess without cnonce or nc).
fn expected_response(auth: &Authorization, method: &str, secret: Secret<'_>) -> Option<String> {
    let alg = auth.algorithm;
    let base = match secret {
        Secret::Password(password) => ha1(alg, &auth.username, &auth.realm, password),
        Secret::Ha1(h) => h.to_ascii_lowercase(),
    };
    let ha1 = if alg.is_session() {
        let cnonce = auth.cnonce.as_deref()?;
        alg.hash(&[&base, &auth.nonce, cnonce])
    } else {
        base
    };
    let ha2 = alg.hash(&[method, &auth.uri]);
    match auth.qop {
        None => Some(alg.hash(&[&ha1, &auth.nonce, &ha2])),
        Some(Qop::Auth) => {
            let nc = format!("{:08x}", auth.nc?);
            let cnonce = auth.cnonce.as_deref()?;
            Some(alg.hash(&[&ha1, &auth.nonce, &nc, cnonce, "auth", &ha2]))
        }
        Some(Qop::AuthInt) => None,
    }
}

fn hash_hex<D: sha2::Digest>(parts: &[&str]) -> String {
    let mut d = D::new();
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            d.update(b":");
        }
        d.update(part.as_bytes());
    }
    let bytes = d.finalize();
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        out.push(char::from(HEX[usize::from(b >> 4)]));
        out.push(char::from(HEX[usize::from(b & 0xf)]));
    }
    out
}
