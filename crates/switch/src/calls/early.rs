//! Leg A's early dialog: the provisional responses we send the caller
//! while leg B rings, made reliable (RFC 3262, 100rel) when the caller
//! supports it, and the caller's requests before the answer (PRACK, BYE).
//!
//! A reliable provisional carries `Require: 100rel` and an `RSeq`, is
//! retransmitted from T1 doubling until its PRACK, and is given up after
//! 64×T1. Only one is outstanding at a time (RFC 3262 §3): a provisional
//! that comes meanwhile waits, the latest replacing an earlier one. The
//! answer waits for the outstanding PRACK too, so the caller sees its
//! early offer/answer settle before the 2xx.

use sip::endpoint::{Incoming, Method, ServerInvite};
use sip::message::Headers;
use std::time::Duration;
use tokio::time::Instant;

/// RFC 3261 T1.
const T1: Duration = Duration::from_millis(500);

/// A provisional response as leg A gets it.
#[derive(Debug, Clone)]
pub(crate) struct Provisional {
    pub status: u16,
    pub reason: String,
    pub headers: Vec<(String, String)>,
    pub body: Option<Vec<u8>>,
}

struct Unacked {
    rseq: u32,
    sent: Provisional,
    next: Instant,
    interval: Duration,
    give_up: Instant,
}

/// Why the early dialog ended the call before the answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum EarlyEnd {
    /// BYE on the early dialog: the caller gave up.
    CallerHungUp,
    /// BYE from the callee, answered but still waiting for the caller's PRACK.
    CalleeHungUp,
    /// No PRACK within 64×T1.
    NoPrack,
}

impl EarlyEnd {
    /// (code, reason, internal reason) for leg A's INVITE and the CDR.
    pub fn outcome(&self) -> (u16, &'static str, &'static str) {
        match self {
            EarlyEnd::CallerHungUp => (487, "Request Terminated", "Caller hung up while ringing"),
            EarlyEnd::CalleeHungUp => (480, "Temporarily Unavailable", "Callee hung up before the caller's PRACK"),
            EarlyEnd::NoPrack => (504, "Server Time-out", "No PRACK for a reliable provisional response"),
        }
    }
}

pub(crate) struct Early {
    reliable: bool,
    a_call_id: String,
    rseq: u32,
    unacked: Option<Unacked>,
    waiting: Option<Provisional>,
}

/// Whether a header's option tags (Supported, Require) name `tag`.
fn has_tag(h: &Headers, name: &str, tag: &str) -> bool {
    h.get_all(name).flat_map(|v| v.split(',')).any(|t| t.trim().eq_ignore_ascii_case(tag))
}

/// Option tags of a Require header that we do not support (for a 420).
pub(crate) fn unsupported(h: &Headers) -> Vec<String> {
    h.get_all("Require")
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|t| !t.is_empty() && !t.eq_ignore_ascii_case("100rel") && !t.eq_ignore_ascii_case("timer"))
        .map(str::to_owned)
        .collect()
}

impl Early {
    /// For the caller's INVITE: reliable when it supports or requires 100rel.
    pub fn new(invite: &Headers, a_call_id: &str) -> Early {
        let reliable = has_tag(invite, "Supported", "100rel") || has_tag(invite, "Require", "100rel");
        // RFC 3262 §3: the first RSeq is random, below 2**31.
        let rseq = rand::random::<u32>() % (1 << 30) + 1;
        Early { reliable, a_call_id: a_call_id.to_owned(), rseq, unacked: None, waiting: None }
    }

    /// Sends a provisional response (100 Trying is never reliable).
    pub fn send(&mut self, srv: &ServerInvite, p: Provisional) {
        if !self.reliable || p.status == 100 {
            respond(srv, &p, None);
            return;
        }
        if self.unacked.is_some() {
            self.waiting = Some(p);
            return;
        }
        self.rseq += 1;
        respond(srv, &p, Some(self.rseq));
        let now = Instant::now();
        self.unacked = Some(Unacked { rseq: self.rseq, sent: p, next: now + T1, interval: T1, give_up: now + 64 * T1 });
    }

    /// When the outstanding reliable provisional is due again.
    pub fn retransmit_at(&self) -> Option<Instant> {
        self.unacked.as_ref().map(|u| u.next)
    }

    /// Retransmits the outstanding provisional, or gives up on its PRACK.
    pub fn retransmit(&mut self, srv: &ServerInvite) -> Result<(), EarlyEnd> {
        let Some(u) = self.unacked.as_mut() else { return Ok(()) };
        let now = Instant::now();
        if now >= u.give_up {
            return Err(EarlyEnd::NoPrack);
        }
        respond(srv, &u.sent, Some(u.rseq));
        u.interval *= 2;
        u.next = now + u.interval;
        Ok(())
    }

    /// Handles a request on leg A's early dialog, or on leg B's dialog
    /// before A is answered: PRACK acknowledges, BYE ends the call, the
    /// rest waits for the answer (491).
    pub async fn request(&mut self, srv: &ServerInvite, mut req: Incoming) -> Result<(), EarlyEnd> {
        let from_a = req.headers().get("Call-ID").map(str::trim) == Some(self.a_call_id.as_str());
        match req.method() {
            Method::Prack if from_a => {
                let rack = req.headers().get("RAck").and_then(|v| v.split_whitespace().next()?.parse::<u32>().ok());
                match (&self.unacked, rack) {
                    (Some(u), Some(r)) if u.rseq == r => {
                        self.unacked = None;
                        let _ = req.reply(200, "OK", &[]).await;
                        if let Some(next) = self.waiting.take() {
                            self.send(srv, next);
                        }
                    }
                    // RFC 3262 §3: no unacknowledged response of that RSeq.
                    _ => {
                        let _ = req.reply(481, "Call/Transaction Does Not Exist", &[]).await;
                    }
                }
                Ok(())
            }
            Method::Bye => {
                let _ = req.reply(200, "OK", &[]).await;
                Err(if from_a { EarlyEnd::CallerHungUp } else { EarlyEnd::CalleeHungUp })
            }
            Method::Ack => Ok(()),
            _ => {
                let _ = req.reply(491, "Request Pending", &[("Retry-After", "1")]).await;
                Ok(())
            }
        }
    }

    /// After the answer: waits (handling PRACK and BYE) until no reliable
    /// provisional is outstanding; nothing more is sent early.
    pub async fn settle(
        &mut self,
        srv: &ServerInvite,
        requests: &mut tokio::sync::mpsc::UnboundedReceiver<Incoming>,
    ) -> Result<(), EarlyEnd> {
        self.waiting = None;
        while let Some(at) = self.retransmit_at() {
            tokio::select! {
                _ = tokio::time::sleep_until(at) => self.retransmit(srv)?,
                r = requests.recv() => match r {
                    Some(req) => Box::pin(self.request(srv, req)).await?,
                    None => return Ok(()),
                },
            }
        }
        Ok(())
    }
}

fn respond(srv: &ServerInvite, p: &Provisional, rseq: Option<u32>) {
    let rseq = rseq.map(|r| r.to_string());
    let mut extra: Vec<(&str, &str)> = p.headers.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
    if let Some(r) = &rseq {
        extra.push(("Require", "100rel"));
        extra.push(("RSeq", r));
    }
    let _ = srv.respond(p.status, &p.reason, &extra, p.body.clone());
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(lines: &[(&str, &str)]) -> Headers {
        lines.iter().copied().collect()
    }

    #[test]
    fn option_tags_are_read_from_every_header_line() {
        let h = headers(&[("Supported", "timer, 100REL"), ("Require", "100rel, precondition"), ("Require", "foo")]);
        assert!(has_tag(&h, "Supported", "100rel"));
        assert!(!has_tag(&h, "Supported", "replaces"));
        assert_eq!(unsupported(&h), vec!["precondition".to_owned(), "foo".to_owned()]);
        assert!(unsupported(&headers(&[("Require", "100rel")])).is_empty());
        assert!(unsupported(&headers(&[("Require", "timer, 100rel")])).is_empty(), "RFC 4028 session timers");
    }

    #[test]
    fn reliability_follows_the_caller() {
        assert!(Early::new(&headers(&[("Supported", "100rel")]), "x").reliable);
        assert!(Early::new(&headers(&[("Require", "100rel")]), "x").reliable);
        assert!(!Early::new(&headers(&[("Supported", "timer")]), "x").reliable);
        let e = Early::new(&Headers::default(), "x");
        assert!(e.rseq >= 1 && e.rseq < 1 << 31);
    }
}
