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
//! 3. on [`Outcome::Stale`] challenges again with `stale: true`.
//!
//! Not supported: `qop=auth-int`, `userhash`, `username*`, SHA-512-256.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

#[cfg(test)]
mod tests;

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

/// The credentials of an `Authorization` / `Proxy-Authorization` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authorization {
    pub username: String,
    pub realm: String,
    pub nonce: String,
    /// The digest-uri; the server must check it names the Request-URI.
    pub uri: String,
    /// Lowercase hex, as sent.
    pub response: String,
    /// `MD5` when the header had none.
    pub algorithm: Algorithm,
    /// `None` is RFC 2069 compatibility mode (no cnonce, no nc).
    pub qop: Option<Qop>,
    /// Nonce count; printed and hashed as 8 lowercase hex digits.
    pub nc: Option<u32>,
    pub cnonce: Option<String>,
    pub opaque: Option<String>,
}

impl Authorization {
    /// Reads a header value such as `Digest username="alice", realm=…`.
    /// Parameter names and tokens are case-insensitive, order is free and
    /// unknown parameters are ignored.
    pub fn parse(value: &str) -> Result<Self, DigestError> {
        let mut username = None;
        let mut realm = None;
        let mut nonce = None;
        let mut uri = None;
        let mut response = None;
        let mut algorithm = None;
        let mut qop = None;
        let mut nc = None;
        let mut cnonce = None;
        let mut opaque = None;
        for (name, v) in parse_params(value)? {
            match name.as_str() {
                "username" => set(&mut username, "username", v)?,
                "realm" => set(&mut realm, "realm", v)?,
                "nonce" => set(&mut nonce, "nonce", v)?,
                "uri" => set(&mut uri, "uri", v)?,
                "response" => set(&mut response, "response", v)?,
                "algorithm" => set(&mut algorithm, "algorithm", v.parse::<Algorithm>()?)?,
                "qop" => set(&mut qop, "qop", v.parse::<Qop>()?)?,
                "nc" => set(&mut nc, "nc", parse_nc(&v)?)?,
                "cnonce" => set(&mut cnonce, "cnonce", v)?,
                "opaque" => set(&mut opaque, "opaque", v)?,
                _ => {}
            }
        }
        if qop.is_some() {
            // RFC 7616 §3.4: with qop, cnonce and nc are mandatory.
            if cnonce.is_none() {
                return Err(DigestError::MissingParam("cnonce"));
            }
            if nc.is_none() {
                return Err(DigestError::MissingParam("nc"));
            }
        }
        Ok(Self {
            username: username.ok_or(DigestError::MissingParam("username"))?,
            realm: realm.ok_or(DigestError::MissingParam("realm"))?,
            nonce: nonce.ok_or(DigestError::MissingParam("nonce"))?,
            uri: uri.ok_or(DigestError::MissingParam("uri"))?,
            response: response.ok_or(DigestError::MissingParam("response"))?,
            algorithm: algorithm.unwrap_or_default(),
            qop,
            nc,
            cnonce,
            opaque,
        })
    }

    /// Prints the header value; [`Authorization::parse`] reads it back to
    /// an equal value (CR and LF, which a header cannot carry, become spaces).
    pub fn to_header(&self) -> String {
        let mut out = String::from("Digest ");
        push_quoted(&mut out, "username", &self.username);
        out.push_str(", ");
        push_quoted(&mut out, "realm", &self.realm);
        out.push_str(", ");
        push_quoted(&mut out, "nonce", &self.nonce);
        out.push_str(", ");
        push_quoted(&mut out, "uri", &self.uri);
        out.push_str(", ");
        push_quoted(&mut out, "response", &self.response);
        out.push_str(", algorithm=");
        out.push_str(self.algorithm.as_str());
        if let Some(cnonce) = &self.cnonce {
            out.push_str(", ");
            push_quoted(&mut out, "cnonce", cnonce);
        }
        if let Some(opaque) = &self.opaque {
            out.push_str(", ");
            push_quoted(&mut out, "opaque", opaque);
        }
        if let Some(qop) = self.qop {
            out.push_str(", qop=");
            out.push_str(qop.as_str());
        }
        if let Some(nc) = self.nc {
            out.push_str(&format!(", nc={nc:08x}"));
        }
        out
    }
}

impl FromStr for Authorization {
    type Err = DigestError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

/// A `WWW-Authenticate` / `Proxy-Authenticate` challenge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    pub realm: String,
    pub nonce: String,
    pub algorithm: Algorithm,
    /// Offered qop values; empty means the RFC 2069 mode.
    pub qop: Vec<Qop>,
    pub opaque: Option<String>,
    /// The previous request had a correct digest over an expired nonce:
    /// the client may retry with the new nonce without asking the user.
    pub stale: bool,
}

impl Challenge {
    /// A fresh server challenge offering `qop="auth"`.
    pub fn new(realm: impl Into<String>, nonce: impl Into<String>, algorithm: Algorithm) -> Self {
        Self { realm: realm.into(), nonce: nonce.into(), algorithm, qop: vec![Qop::Auth], opaque: None, stale: false }
    }

    /// Reads a challenge received from a peer (e.g. an upstream gateway).
    /// A challenge whose algorithm we lack is an error, so a caller given
    /// several (RFC 8760: SHA-256 and MD5) keeps the ones that parse.
    pub fn parse(value: &str) -> Result<Self, DigestError> {
        let mut realm = None;
        let mut nonce = None;
        let mut algorithm = None;
        let mut qop = None;
        let mut opaque = None;
        let mut stale = None;
        for (name, v) in parse_params(value)? {
            match name.as_str() {
                "realm" => set(&mut realm, "realm", v)?,
                "nonce" => set(&mut nonce, "nonce", v)?,
                "algorithm" => set(&mut algorithm, "algorithm", v.parse::<Algorithm>()?)?,
                "qop" => set(&mut qop, "qop", parse_qop_list(&v)?)?,
                "opaque" => set(&mut opaque, "opaque", v)?,
                "stale" => set(&mut stale, "stale", v.eq_ignore_ascii_case("true"))?,
                _ => {}
            }
        }
        Ok(Self {
            realm: realm.ok_or(DigestError::MissingParam("realm"))?,
            nonce: nonce.ok_or(DigestError::MissingParam("nonce"))?,
            algorithm: algorithm.unwrap_or_default(),
            qop: qop.unwrap_or_default(),
            opaque,
            stale: stale.unwrap_or(false),
        })
    }

    /// Prints the header value; [`Challenge::parse`] reads it back.
    pub fn to_header(&self) -> String {
        let mut out = String::from("Digest ");
        push_quoted(&mut out, "realm", &self.realm);
        out.push_str(", ");
        push_quoted(&mut out, "nonce", &self.nonce);
        out.push_str(", algorithm=");
        out.push_str(self.algorithm.as_str());
        if !self.qop.is_empty() {
            let list: Vec<&str> = self.qop.iter().map(|q| q.as_str()).collect();
            out.push_str(", ");
            push_quoted(&mut out, "qop", &list.join(","));
        }
        if let Some(opaque) = &self.opaque {
            out.push_str(", ");
            push_quoted(&mut out, "opaque", opaque);
        }
        if self.stale {
            out.push_str(", stale=true");
        }
        out
    }
}

impl FromStr for Challenge {
    type Err = DigestError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

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
    /// Wrong digest, or a nonce we did not issue: challenge again with
    /// `stale: false` (and count the failure).
    Rejected,
}

/// [`verify`] plus the nonce check, in the order RFC 7616 §3.3 needs:
/// `stale` is only for a request whose digest is right, so a guesser never
/// learns anything from it.
pub fn authenticate(auth: &Authorization, method: &str, secret: Secret<'_>, nonces: &NonceSource, now: u64) -> Outcome {
    match nonces.check(&auth.nonce, now) {
        NonceStatus::Invalid => Outcome::Rejected,
        _ if !verify(auth, method, secret) => Outcome::Rejected,
        NonceStatus::Valid => Outcome::Authenticated,
        NonceStatus::Stale => Outcome::Stale,
    }
}

/// The client's answer to `challenge` for a request `method uri`, e.g. to
/// an upstream gateway's 401/407. `cnonce` should be fresh random text and
/// `nc` counts the requests made with this nonce, starting at 1.
pub fn respond(
    challenge: &Challenge,
    method: &str,
    uri: &str,
    username: &str,
    password: &str,
    cnonce: &str,
    nc: u32,
) -> Result<Authorization, DigestError> {
    let qop = if challenge.qop.contains(&Qop::Auth) {
        Some(Qop::Auth)
    } else if challenge.qop.is_empty() {
        if challenge.algorithm.is_session() {
            return Err(DigestError::SessWithoutQop);
        }
        None
    } else {
        return Err(DigestError::UnsupportedQop(Qop::AuthInt.as_str().to_owned()));
    };
    let mut auth = Authorization {
        username: username.to_owned(),
        realm: challenge.realm.clone(),
        nonce: challenge.nonce.clone(),
        uri: uri.to_owned(),
        response: String::new(),
        algorithm: challenge.algorithm,
        qop,
        nc: qop.map(|_| nc),
        cnonce: qop.map(|_| cnonce.to_owned()),
        opaque: challenge.opaque.clone(),
    };
    // Never `None` here: qop=auth carries cnonce and nc, and -sess without
    // qop was refused above.
    auth.response = expected_response(&auth, method, Secret::Password(password)).ok_or(DigestError::MissingParam("cnonce"))?;
    Ok(auth)
}

/// RFC 7616 §3.4.1–3.4.3; `None` when the fields cannot make a digest
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

/// What a nonce presented by a client turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NonceStatus {
    /// Ours and within its lifetime.
    Valid,
    /// Ours but expired.
    Stale,
    /// Not made with our secret (forged, tampered, garbled).
    Invalid,
}

/// Issues and checks stateless nonces: `base64url(issued ‖ salt ‖ tag)`
/// with `tag = HMAC-SHA256(secret, issued ‖ salt)` truncated to 128 bits.
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

    /// A new nonce issued at `now` (UNIX seconds) with a random salt.
    pub fn issue(&self, now: u64) -> String {
        self.issue_with_salt(now, rand::random())
    }

    /// [`NonceSource::issue`] with a caller-chosen salt (tests, or a
    /// caller with its own random source). The salt makes two nonces of
    /// one second differ.
    pub fn issue_with_salt(&self, now: u64, salt: [u8; SALT_LEN]) -> String {
        let mut raw = [0u8; NONCE_LEN];
        raw[..8].copy_from_slice(&now.to_be_bytes());
        raw[8..8 + SALT_LEN].copy_from_slice(&salt);
        let tag = self.tag(&raw[..8 + SALT_LEN]);
        raw[8 + SALT_LEN..].copy_from_slice(&tag[..TAG_LEN]);
        URL_SAFE_NO_PAD.encode(raw)
    }

    /// Checks a nonce at `now` (UNIX seconds). A nonce dated after `now`
    /// (clock skew between nodes) counts as just issued.
    pub fn check(&self, nonce: &str, now: u64) -> NonceStatus {
        let Ok(raw) = URL_SAFE_NO_PAD.decode(nonce) else {
            return NonceStatus::Invalid;
        };
        if raw.len() != NONCE_LEN {
            return NonceStatus::Invalid;
        }
        let (signed, tag) = raw.split_at(8 + SALT_LEN);
        let expected = self.tag(signed);
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

    /// A server challenge carrying a nonce issued at `now`.
    pub fn challenge(&self, realm: &str, algorithm: Algorithm, now: u64) -> Challenge {
        Challenge::new(realm, self.issue(now), algorithm)
    }

    fn tag(&self, signed: &[u8]) -> [u8; 32] {
        let mut mac = self.mac.clone();
        mac.update(signed);
        mac.finalize().into_bytes().into()
    }
}

impl fmt::Debug for NonceSource {
    // The keyed HMAC state must not reach logs.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NonceSource").field("lifetime", &self.lifetime).finish_non_exhaustive()
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

fn set<T>(slot: &mut Option<T>, name: &'static str, value: T) -> Result<(), DigestError> {
    if slot.is_some() {
        return Err(DigestError::DuplicateParam(name));
    }
    *slot = Some(value);
    Ok(())
}

fn parse_nc(v: &str) -> Result<u32, DigestError> {
    // Exactly 8LHEX: the digest hashes nc as sent, and we rehash it as
    // `{:08x}`, so any other spelling would fail verification silently.
    let ok = v.len() == 8 && v.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    if !ok {
        return Err(DigestError::BadNonceCount);
    }
    u32::from_str_radix(v, 16).map_err(|_| DigestError::BadNonceCount)
}

fn parse_qop_list(v: &str) -> Result<Vec<Qop>, DigestError> {
    // Options we do not know (a future qop) are skipped, but a list with
    // none we know must not read as "no qop" (RFC 2069 mode).
    let list: Vec<Qop> = v.split(',').filter_map(|q| q.trim().parse().ok()).collect();
    if list.is_empty() {
        return Err(DigestError::UnsupportedQop(v.to_owned()));
    }
    Ok(list)
}

fn push_quoted(out: &mut String, name: &str, value: &str) {
    out.push_str(name);
    out.push_str("=\"");
    for c in value.chars() {
        match c {
            // A header cannot carry these, even escaped (RFC 3261 §25.1).
            '\r' | '\n' => out.push(' '),
            '"' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            '\t' => out.push(c),
            c if c.is_ascii_control() => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

fn is_ws(b: u8) -> bool {
    // CR and LF count as space outside quoted strings, for values that
    // still hold a folded line.
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

/// RFC 3261 §25.1 `token` characters.
fn is_token(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'!' | b'%' | b'*' | b'_' | b'+' | b'`' | b'\'' | b'~')
}

/// Splits `Digest name=value, …` into lowercased names and unescaped
/// values. Works on bytes but only cuts at ASCII delimiters, so every cut
/// is a char boundary; `get` keeps that from ever panicking regardless.
fn parse_params(input: &str) -> Result<Vec<(String, String)>, DigestError> {
    let b = input.as_bytes();
    let syntax = |position, expected| DigestError::Syntax { position, expected };
    let mut i = skip_ws(b, 0);
    let start = i;
    while i < b.len() && is_token(b[i]) {
        i += 1;
    }
    let scheme = input.get(start..i).unwrap_or_default();
    if !scheme.eq_ignore_ascii_case("digest") {
        return Err(DigestError::NotDigest);
    }
    if i < b.len() && !is_ws(b[i]) {
        return Err(syntax(i, "whitespace after `Digest`"));
    }
    let mut params = Vec::new();
    loop {
        // Empty list elements (`a=1,,b=2`, a trailing comma) are allowed.
        while i < b.len() && (is_ws(b[i]) || b[i] == b',') {
            i += 1;
        }
        if i == b.len() {
            return Ok(params);
        }
        let start = i;
        while i < b.len() && is_token(b[i]) {
            i += 1;
        }
        if start == i {
            return Err(syntax(i, "a parameter name"));
        }
        let name = input.get(start..i).ok_or(syntax(start, "a parameter name"))?.to_ascii_lowercase();
        i = skip_ws(b, i);
        if b.get(i) != Some(&b'=') {
            return Err(syntax(i, "`=`"));
        }
        i = skip_ws(b, i + 1);
        let value = if b.get(i) == Some(&b'"') {
            let (value, next) = parse_quoted(input, i + 1)?;
            i = next;
            value
        } else {
            // Tokens are tolerated beyond RFC `token` (e.g. an unquoted
            // base64 nonce with `/` and `=`); only the delimiters end one.
            let start = i;
            while i < b.len() && !is_ws(b[i]) && b[i] != b',' && b[i] != b'"' {
                i += 1;
            }
            if start == i {
                return Err(syntax(i, "a value"));
            }
            input.get(start..i).ok_or(syntax(start, "a value"))?.to_owned()
        };
        params.push((name, value));
        i = skip_ws(b, i);
        if i < b.len() && b[i] != b',' {
            return Err(syntax(i, "`,`"));
        }
    }
}

/// Reads a quoted string whose opening quote is just before `i`; returns
/// the unescaped value and the index after the closing quote.
fn parse_quoted(input: &str, mut i: usize) -> Result<(String, usize), DigestError> {
    let b = input.as_bytes();
    let syntax = |position, expected| DigestError::Syntax { position, expected };
    let mut value = Vec::new();
    loop {
        match b.get(i).copied() {
            None => return Err(syntax(i, "a closing `\"`")),
            Some(b'"') => break,
            Some(b'\\') => {
                // quoted-pair: any char but CR and LF.
                match b.get(i + 1).copied() {
                    None | Some(b'\r' | b'\n') => return Err(syntax(i + 1, "an escaped character")),
                    Some(c) => value.push(c),
                }
                i += 2;
            }
            Some(c) if c != b'\t' && (c < 0x20 || c == 0x7f) => {
                return Err(syntax(i, "a printable character"));
            }
            Some(c) => {
                value.push(c);
                i += 1;
            }
        }
    }
    // Only ASCII bytes were dropped, so this is valid UTF-8; map anyway.
    let value = String::from_utf8(value).map_err(|_| syntax(i, "UTF-8"))?;
    Ok((value, i + 1))
}

fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && is_ws(b[i]) {
        i += 1;
    }
    i
}
