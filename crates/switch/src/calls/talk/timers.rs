//! The clocks of a confirmed call: the media-inactivity timeout (no RTP
//! or RTCP through the relay from either leg for `media_timeout` seconds,
//! unless the call is on hold) and each leg's RFC 4028 session timer (we
//! refresh where we are the refresher; where the peer is and its refresh
//! does not come, the session is over), and the customer's limit on the
//! call's length (`max_call_duration`, or what is left of its daily
//! minutes). Each ends the call with both legs hung up.

use super::super::dialog::Leg;
use super::super::session_timer::{self, Refresher, SessionTimer};
use crate::fraud::CallLimit;
use crate::media::{sdp, Relay};
use sip::endpoint::{Client, Incoming, Method, Response};
use sip::message::Headers;
use std::time::Duration;
use tokio::time::Instant;

/// After a refresh refused for another reason than 408/481, we try again this soon.
const RETRY: Duration = Duration::from_secs(5);

/// What the B2BUA tells the talk phase about a call's timers.
pub(in crate::calls) struct Setup<'a> {
    pub relay: Option<&'a Relay>,
    /// `media_timeout` in seconds; 0: none.
    pub media_timeout: u32,
    /// The domain setting `session_expires`: what a peer's refresh may
    /// ask for is measured against it as at the call's start.
    pub session_expires: u32,
    /// Leg A's and leg B's session timers, as their INVITE agreed them.
    pub sessions: [Option<SessionTimer>; 2],
    /// Whether leg A's and leg B's peers take UPDATE (their Allow).
    pub update: [bool; 2],
    /// The SDP we last sent leg A and leg B (a re-INVITE refresh repeats it).
    pub sdp: [Vec<u8>; 2],
    /// The longest the call may last from now.
    pub limit: Option<CallLimit>,
}

/// One leg's session timer while it runs.
struct Session {
    timer: SessionTimer,
    /// When the peer's refresh is overdue, or ours is due.
    due: Instant,
    /// When the session ends without a refresh (for our retries).
    ends: Instant,
}

impl Session {
    fn refreshed(timer: SessionTimer) -> Session {
        let now = Instant::now();
        Session { timer, due: now + timer.due(), ends: now + Duration::from_secs(u64::from(timer.interval)) }
    }
}

/// Which leg.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(in crate::calls) enum Side {
    A,
    B,
}

impl Side {
    fn index(self) -> usize {
        self as usize
    }
}

/// A clock that ran out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(in crate::calls) enum Due {
    /// The media deadline passed; whether it really was silent is checked on firing.
    Media,
    Session(Side),
    /// The call reached its customer's limit.
    Limit,
}

pub(in crate::calls) struct Timers<'a> {
    relay: Option<&'a Relay>,
    media_timeout: Option<Duration>,
    /// The media clock runs from here or the relay's last packet, whichever is later.
    media_since: Instant,
    /// Whether the SDP each leg last sent puts the call on hold.
    held: [bool; 2],
    session_expires: u32,
    sessions: [Option<Session>; 2],
    update: [bool; 2],
    sdp: [Vec<u8>; 2],
    /// When the call must end, and why.
    limit: Option<(Instant, &'static str)>,
    limit_reached: bool,
}

impl<'a> Timers<'a> {
    /// The clocks of a call answered now.
    pub fn start(s: Setup<'a>) -> Timers<'a> {
        let media_timeout = (s.relay.is_some() && s.media_timeout > 0).then(|| Duration::from_secs(u64::from(s.media_timeout)));
        let held = [false; 2];
        Timers {
            relay: s.relay,
            media_timeout,
            media_since: Instant::now(),
            held,
            session_expires: s.session_expires,
            sessions: s.sessions.map(|t| t.map(Session::refreshed)),
            update: s.update,
            sdp: s.sdp,
            limit: s.limit.map(|l| (Instant::now() + Duration::from_secs(u64::from(l.seconds)), l.why)),
            limit_reached: false,
        }
    }

    /// The call's limit ran out: why it ends.
    fn reach_limit(&mut self) -> Option<String> {
        self.limit_reached = true;
        self.limit.map(|(_, why)| why.to_owned())
    }

    /// Whether the call was ended by its limit (it is billed up to it).
    pub fn limit_reached(&self) -> bool {
        self.limit_reached
    }

    fn media_deadline(&self) -> Option<Instant> {
        let (relay, timeout) = (self.relay?, self.media_timeout?);
        if self.held.iter().any(|h| *h) {
            return None;
        }
        Some(relay.heard_at().max(self.media_since) + timeout)
    }

    /// The next clock to run out (never, with none running).
    pub async fn next(&self) -> Due {
        let sessions = [Side::A, Side::B].into_iter().filter_map(|s| Some((self.sessions[s.index()].as_ref()?.due, Due::Session(s))));
        let limit = self.limit.map(|(at, _)| (at, Due::Limit));
        let first = self.media_deadline().map(|d| (d, Due::Media)).into_iter().chain(sessions).chain(limit).min_by_key(|(at, _)| *at);
        match first {
            Some((at, due)) => {
                tokio::time::sleep_until(at).await;
                due
            }
            None => std::future::pending().await,
        }
    }

    /// Acts on a clock that ran out: refreshes a session of ours, or says
    /// why the call is over (both legs are to be hung up).
    pub async fn fire(&mut self, due: Due, client: &Client, a: &mut Leg, b: &mut Leg) -> Option<String> {
        match due {
            Due::Limit => self.reach_limit(),
            Due::Media => {
                let timeout = self.media_timeout?;
                let silent = self.media_deadline().is_some_and(|d| d <= Instant::now());
                silent.then(|| format!("Media timeout: no RTP for {} s", timeout.as_secs()))
            }
            Due::Session(side) => {
                let session = self.sessions[side.index()].as_ref()?;
                if session.timer.refresher == Refresher::Peer || session.ends <= Instant::now() {
                    return Some("Session timer expired".to_owned());
                }
                let leg = if side == Side::A { a } else { b };
                Box::pin(self.refresh(side, client, leg)).await
            }
        }
    }

    /// Our refresh of `side`'s session (RFC 4028 §7.4): UPDATE without SDP
    /// where the peer takes it, else a re-INVITE repeating our last SDP.
    async fn refresh(&mut self, side: Side, client: &Client, leg: &mut Leg) -> Option<String> {
        let i = side.index();
        let timer = self.sessions[i].as_ref()?.timer;
        let mut extra = vec![("Session-Expires".to_owned(), timer.header(true)), ("Supported".to_owned(), "timer".to_owned())];
        let (method, body) = if self.update[i] {
            (Method::Update, Vec::new())
        } else {
            extra.push(("Content-Type".to_owned(), "application/sdp".to_owned()));
            (Method::Invite, self.sdp[i].clone())
        };
        let out = leg.request(method, &extra, body);
        let response = match client.request(out, leg.dest, leg.transport).await {
            Ok(mut tx) => final_response(&mut tx).await,
            Err(_) => None,
        };
        match response.as_ref().map(|r| r.status) {
            Some(200..=299) => {
                let r = response.as_ref().expect("a 2xx");
                self.sessions[i] = session_timer::from_answer(&r.headers).map(Session::refreshed);
                None
            }
            // RFC 4028 §10: the dialog is gone.
            None | Some(408 | 481) => Some("Session refresh failed".to_owned()),
            Some(code) => {
                if method == Method::Update && matches!(code, 405 | 501) {
                    self.update[i] = false;
                }
                let s = self.sessions[i].as_mut()?;
                s.due = (Instant::now() + RETRY).min(s.ends);
                None
            }
        }
    }

    /// A refresh that needs nothing of the other leg: an UPDATE without
    /// SDP on a leg with a session timer is answered here. Gives the
    /// request back otherwise.
    pub async fn answer_refresh(&mut self, mut req: Incoming, side: Side) -> Option<Incoming> {
        let i = side.index();
        if req.method() != Method::Update || !req.body().is_empty() || self.sessions[i].is_none() {
            return Some(req);
        }
        let headers = self.refreshed_by(side, req.headers());
        let extra: Vec<(&str, &str)> = headers.iter().map(|(n, v)| (*n, v.as_str())).collect();
        let _ = req.reply(200, "OK", &extra).await;
        None
    }

    /// The peer of `side` refreshed its session with a request whose 2xx
    /// we send now: the timer restarts (at the interval it asked for, if
    /// any); the header fields of that 2xx.
    pub fn refreshed_by(&mut self, side: Side, req: &Headers) -> Vec<(&'static str, String)> {
        let i = side.index();
        let Some(current) = self.sessions[i].as_ref().map(|s| s.timer) else { return Vec::new() };
        // Never off here: the session already has a timer.
        let setting = if self.session_expires == 0 { current.interval } else { self.session_expires };
        // A refresh that names no interval keeps the one agreed.
        let agreed = req.get("Session-Expires").and_then(|_| session_timer::answer(req, setting).ok().flatten());
        let timer = agreed.map_or(current, |a| a.timer);
        self.sessions[i] = Some(Session::refreshed(timer));
        let mut headers = vec![("Session-Expires", timer.header(false))];
        // A peer that refreshes must be told to (RFC 4028 §9).
        if agreed.map_or(timer.refresher == Refresher::Peer, |a| a.require) {
            headers.push(("Require", "timer".to_owned()));
        }
        headers
    }

    /// The header fields of a re-INVITE or UPDATE we pass to `side`: its
    /// session timer, which the request refreshes.
    pub fn passing_to(&self, side: Side) -> Vec<(String, String)> {
        match &self.sessions[side.index()] {
            Some(s) => vec![("Session-Expires".to_owned(), s.timer.header(true)), ("Supported".to_owned(), "timer".to_owned())],
            None => Vec::new(),
        }
    }

    /// A re-INVITE or UPDATE from `from` passed to the other leg got a 2xx
    /// `r`: the other leg's session was refreshed (at what `r` says).
    pub fn passed(&mut self, from: Side, r: &Response) {
        let other = if from == Side::A { Side::B } else { Side::A };
        if self.sessions[other.index()].is_some() {
            self.sessions[other.index()] = session_timer::from_answer(&r.headers).map(Session::refreshed);
        }
    }

    /// An SDP that leg `side` sent (in a request or its answer); it may
    /// put the call on hold or take it off.
    pub fn sdp_from(&mut self, side: Side, body: &[u8]) {
        let Ok(text) = std::str::from_utf8(body) else { return };
        if !text.starts_with("v=") {
            return;
        }
        let held = sdp::on_hold(text);
        if self.held[side.index()] && !held {
            // Off hold: the media clock starts again.
            self.media_since = Instant::now();
        }
        self.held[side.index()] = held;
    }

    /// An SDP we sent leg `side` (what a re-INVITE refresh repeats).
    pub fn sdp_to(&mut self, side: Side, body: &[u8]) {
        if body.starts_with(b"v=") {
            self.sdp[side.index()] = body.to_vec();
        }
    }
}

/// Whether an Allow header field lists UPDATE.
pub(in crate::calls) fn allows_update(h: &Headers) -> bool {
    h.get_all("Allow").flat_map(|v| v.split(',')).any(|m| m.trim().eq_ignore_ascii_case("UPDATE"))
}

async fn final_response(tx: &mut sip::endpoint::ClientTx) -> Option<Response> {
    while let Some(r) = tx.next().await {
        if r.status >= 200 {
            return Some(r);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::MediaPool;

    fn setup(relay: Option<&Relay>, media_timeout: u32, sessions: [Option<SessionTimer>; 2]) -> Setup<'_> {
        Setup { relay, media_timeout, session_expires: 1800, sessions, update: [true; 2], sdp: [Vec::new(), Vec::new()], limit: None }
    }

    /// Which clock runs out first, and after how long (None: within a day, none).
    async fn first(t: &Timers<'_>) -> Option<(Due, Duration)> {
        let start = Instant::now();
        tokio::time::timeout(Duration::from_secs(86_400), t.next()).await.ok().map(|d| (d, start.elapsed()))
    }

    const HOLD: &[u8] = b"v=0\r\no=x 1 2 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 8\r\na=sendonly\r\n";
    const TALK: &[u8] = b"v=0\r\no=x 1 3 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 8\r\n";

    #[tokio::test(start_paused = true)]
    async fn silent_media_times_out_unless_on_hold_or_without_a_relay() {
        let pool = MediaPool::new("127.0.0.1".parse().unwrap(), 41040..=41059);
        let relay = pool.relay().unwrap();
        let mut t = Timers::start(setup(Some(&relay), 60, [None, None]));
        assert_eq!(first(&t).await, Some((Due::Media, Duration::from_secs(60))));
        assert!(t.media_deadline().is_some_and(|d| d <= Instant::now()), "silent for 60 s: it fires");

        // On hold (either side's SDP): no media clock at all.
        t.sdp_from(Side::B, HOLD);
        assert_eq!(first(&t).await, None);
        // Off hold: 60 s from now, not from the last packet before the hold.
        t.sdp_from(Side::B, TALK);
        assert_eq!(first(&t).await, Some((Due::Media, Duration::from_secs(60))));
        t.sdp_from(Side::A, b"v=0\r\no=x 1 2 IN IP4 0.0.0.0\r\ns=-\r\nc=IN IP4 0.0.0.0\r\nt=0 0\r\nm=audio 4000 RTP/AVP 8\r\n");
        assert_eq!(first(&t).await, None, "RFC 2543 hold");

        let off = Timers::start(setup(Some(&relay), 0, [None, None]));
        assert_eq!(first(&off).await, None, "media_timeout 0 turns it off");
        let no_relay = Timers::start(setup(None, 60, [None, None]));
        assert_eq!(first(&no_relay).await, None, "no relay, no media to time");
    }

    #[tokio::test(start_paused = true)]
    async fn the_customers_limit_ends_the_call_before_other_clocks() {
        let pool = MediaPool::new("127.0.0.1".parse().unwrap(), 41080..=41099);
        let relay = pool.relay().unwrap();
        let limit = CallLimit { seconds: 2, why: crate::fraud::MAX_DURATION };
        let ours = SessionTimer { interval: 1800, refresher: Refresher::Us };
        let mut t = Timers::start(Setup { limit: Some(limit), ..setup(Some(&relay), 60, [None, Some(ours)]) });
        assert_eq!(first(&t).await, Some((Due::Limit, Duration::from_secs(2))));
        assert!(!t.limit_reached());
        assert_eq!(t.reach_limit().as_deref(), Some("Maximum call duration reached"));
        assert!(t.limit_reached());
        let none = Timers::start(setup(None, 0, [None, None]));
        assert_eq!(first(&none).await, None, "no limit, no clock");
    }

    #[tokio::test(start_paused = true)]
    async fn packets_push_the_media_deadline_back() {
        let pool = MediaPool::new("127.0.0.1".parse().unwrap(), 41060..=41079);
        let relay = pool.relay().unwrap();
        let t = Timers::start(setup(Some(&relay), 20, [None, None]));
        tokio::time::advance(Duration::from_secs(15)).await;
        let rtcp = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
        rtcp.send_to(b"rtcp", ("127.0.0.1", relay.b_port() + 1)).await.unwrap();
        for _ in 0..200 {
            if relay.heard_at() > t.media_since {
                break;
            }
            tokio::task::yield_now().await;
            std::thread::sleep(Duration::from_millis(1));
        }
        assert_eq!(first(&t).await, Some((Due::Media, Duration::from_secs(20))), "RTCP at 15 s: silent from there");
    }

    #[tokio::test(start_paused = true)]
    async fn session_clocks_refresh_at_half_or_expire_before_the_interval() {
        let ours = SessionTimer { interval: 1800, refresher: Refresher::Us };
        let theirs = SessionTimer { interval: 90, refresher: Refresher::Peer };
        let mut t = Timers::start(setup(None, 60, [Some(theirs), Some(ours)]));
        assert_eq!(first(&t).await, Some((Due::Session(Side::A), Duration::from_secs(60))), "the carrier's 90 s, less 30");
        // Had the carrier refreshed now, asking for 120 s: overdue 120 - 32 s later.
        let mut h = Headers::default();
        h.push("Session-Expires", "120;refresher=uac");
        h.push("Supported", "timer");
        let answered = t.refreshed_by(Side::A, &h);
        assert_eq!(answered, vec![("Session-Expires", "120;refresher=uac".to_owned()), ("Require", "timer".to_owned())]);
        assert_eq!(first(&t).await, Some((Due::Session(Side::A), Duration::from_secs(88))));
        // A refresh that names no interval keeps the one agreed.
        t.refreshed_by(Side::A, &Headers::default());
        assert_eq!(t.sessions[0].as_ref().map(|s| s.timer), Some(SessionTimer { interval: 120, refresher: Refresher::Peer }));
        assert_eq!(t.passing_to(Side::B)[0], ("Session-Expires".to_owned(), "1800;refresher=uac".to_owned()));
        assert_eq!(t.passing_to(Side::A)[0], ("Session-Expires".to_owned(), "120;refresher=uas".to_owned()));
        // Leg B's: ours, at 900 s, once leg A's is gone.
        t.sessions[0] = None;
        assert_eq!(first(&t).await, Some((Due::Session(Side::B), Duration::from_secs(900 - 148))), "148 s have passed");
    }
}
