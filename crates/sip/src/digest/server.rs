//! The server's side: checking a request's credentials against what the
//! store keeps of the account, and the verdict that picks the next answer.

use std::fmt;
use std::net::IpAddr;

use subtle::ConstantTimeEq;

use super::{expected_response, Algorithm, Authorization, NonceSource, NonceStatus};

/// What the server knows about the account.
#[derive(Clone, Copy)]
pub enum Secret<'a> {
    /// The plain password.
    Password(&'a str),
    /// Hex `H(username:realm:password)` for the credentials' algorithm, as
    /// made by [`ha1`]; lets a store keep no plain passwords.
    Ha1(&'a str),
}

impl fmt::Debug for Secret<'_> {
    // Never print the secret itself, whatever ends up in a log.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Password(_) => f.write_str("Password(..)"),
            Self::Ha1(_) => f.write_str("Ha1(..)"),
        }
    }
}

/// Hex `H(username:realm:password)`, the storable form of a password.
/// For `-sess` algorithms this is still the base HA1; the session key is
/// derived per request.
pub fn ha1(algorithm: Algorithm, username: &str, realm: &str, password: &str) -> String {
    algorithm.hash(&[username, realm, password])
}

/// Whether `auth.response` is the right digest for a request with
/// `method` (its Request-URI being `auth.uri`) and the account's secret.
/// Checks only the digest: see [`authenticate`] for the nonce as well.
pub fn verify(auth: &Authorization, method: &str, secret: Secret<'_>) -> bool {
    let Some(expected) = expected_response(auth, method, secret) else {
        return false;
    };
    // Lowercasing what the peer sent is no leak; the compare must not be.
    let got = auth.response.to_ascii_lowercase();
    expected.as_bytes().ct_eq(got.as_bytes()).into()
}

/// The server's verdict on a request's credentials.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Correct digest over a live nonce of ours.
    Authenticated,
    /// Correct digest over an expired nonce of ours: challenge again with
    /// `stale: true`.
    Stale,
    /// Wrong digest over a nonce we issued to this client: refuse, and
    /// count the failure against the client, which did receive our
    /// challenge.
    Rejected,
    /// A nonce we never issued to this client (made up, tampered, or sent
    /// to another address): nothing is proven about who sent it, so
    /// challenge afresh and count nothing. The digest is not computed.
    Unchallenged,
}

/// [`verify`] plus the nonce check for the `client` that presents it, in
/// the order RFC 7616 §3.3 needs: `stale` is only for a request whose
/// digest is right, so a guesser never learns anything from it.
pub fn authenticate(auth: &Authorization, method: &str, secret: Secret<'_>, nonces: &NonceSource, now: u64, client: IpAddr) -> Outcome {
    match nonces.check(&auth.nonce, now, client) {
        NonceStatus::Invalid => Outcome::Unchallenged,
        _ if !verify(auth, method, secret) => Outcome::Rejected,
        NonceStatus::Valid => Outcome::Authenticated,
        NonceStatus::Stale => Outcome::Stale,
    }
}
