//! The `Authorization` and `WWW-Authenticate` header values (and their
//! `Proxy-` twins): what each carries, read from and printed to text.

use std::str::FromStr;

use super::params::{parse_nc, parse_params, parse_qop_list, push_quoted, set};
use super::{Algorithm, DigestError, Qop};

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
