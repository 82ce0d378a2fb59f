//! RFC 4028 session timers, sans-IO: reading `Session-Expires`, `Min-SE`
//! and the `timer` option tag, agreeing an interval and who refreshes, on
//! leg A as its UAS and on leg B as its UAC, and when a refresh is due or
//! a session is over. The talk phase (`talk/timers.rs`) runs the clocks.

use sip::message::Headers;
use std::time::Duration;

/// The smallest interval we accept (RFC 4028 §4: never below 90 s).
pub(crate) const MIN_SE: u32 = 90;

/// Who keeps a dialog's session alive by refreshing it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refresher {
    Us,
    Peer,
}

/// A session timer agreed on one leg.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SessionTimer {
    /// Seconds the session lives without a refresh.
    pub interval: u32,
    pub refresher: Refresher,
}

/// The `refresher` parameter, which names a role of the transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Uac,
    Uas,
}

/// A `Session-Expires` value: `delta-seconds *(;param)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Expires {
    delta: u32,
    refresher: Option<Role>,
}

fn session_expires(h: &Headers) -> Option<Expires> {
    let mut parts = h.get("Session-Expires")?.split(';');
    let delta = parts.next()?.trim().parse().ok()?;
    let refresher = parts.filter_map(|p| p.split_once('=')).find(|(n, _)| n.trim().eq_ignore_ascii_case("refresher")).and_then(|(_, v)| {
        match v.trim().to_ascii_lowercase().as_str() {
            "uac" => Some(Role::Uac),
            "uas" => Some(Role::Uas),
            _ => None,
        }
    });
    Some(Expires { delta, refresher })
}

fn min_se(h: &Headers) -> Option<u32> {
    h.get("Min-SE")?.split(';').next()?.trim().parse().ok()
}

fn has_tag(h: &Headers, name: &str) -> bool {
    h.get_all(name).flat_map(|v| v.split(',')).any(|t| t.trim().eq_ignore_ascii_case("timer"))
}

/// Why a request's session interval is refused: it is below our floor
/// (answer 422 with this `Min-SE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TooSmall(pub u32);

/// The timer we agree to as the UAS of a request (leg A's INVITE, or a
/// refresh of it), and whether our 2xx carries `Require: timer`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Agreed {
    pub timer: SessionTimer,
    /// The UAC supports timers: our 2xx tells it so (RFC 4028 §9).
    pub require: bool,
}

impl Agreed {
    /// The header fields of our 2xx.
    pub fn headers(&self) -> Vec<(&'static str, String)> {
        let mut h = vec![("Session-Expires", self.timer.header(false))];
        if self.require {
            h.push(("Require", "timer".to_owned()));
        }
        h
    }
}

/// What we agree to as the UAS of `req` (RFC 4028 §9) with our interval
/// `setting` (0: we use no timer of our own). The caller's interval is
/// honoured, lowered to ours but never below its `Min-SE` or 90 s; one
/// below 90 s is refused. A caller that supports timers refreshes unless
/// it asks us to; one that does not cannot, so we do.
pub(crate) fn answer(req: &Headers, setting: u32) -> Result<Option<Agreed>, TooSmall> {
    let supports = has_tag(req, "Supported") || has_tag(req, "Require");
    let requested = session_expires(req);
    // Turned off, we still honour a caller that insists (Require: timer).
    if setting == 0 && !(has_tag(req, "Require") && requested.is_some()) {
        return Ok(None);
    }
    let floor = min_se(req).unwrap_or(MIN_SE).max(MIN_SE);
    let (interval, asked) = match requested {
        Some(e) if e.delta < MIN_SE => return Err(TooSmall(MIN_SE)),
        Some(e) if setting == 0 => (e.delta, e.refresher),
        Some(e) => (e.delta.min(setting.max(floor)), e.refresher),
        None => (setting.max(floor), None),
    };
    let refresher = match asked {
        Some(Role::Uas) => Refresher::Us,
        _ if supports => Refresher::Peer,
        _ => Refresher::Us,
    };
    Ok(Some(Agreed { timer: SessionTimer { interval, refresher }, require: supports }))
}

/// The header fields of a dialog-creating INVITE we send (leg B): our
/// interval (at least `min_se`, raised by a 422), our floor, our support.
/// None when our interval is 0.
pub(crate) fn offer(setting: u32, min_se: u32) -> Vec<(String, String)> {
    if setting == 0 {
        return Vec::new();
    }
    let min_se = min_se.max(MIN_SE);
    vec![
        ("Supported".to_owned(), "timer".to_owned()),
        ("Session-Expires".to_owned(), setting.max(min_se).to_string()),
        ("Min-SE".to_owned(), min_se.to_string()),
    ]
}

/// The `Min-SE` a 422 asks for, when it is more than we offered (else a
/// retry would only be refused again).
pub(crate) fn asked_min_se(response: &Headers, offered: u32) -> Option<u32> {
    min_se(response).filter(|m| *m > offered)
}

/// The timer a 2xx to a request we sent sets up (RFC 4028 §7.2): none
/// without `Session-Expires`; the refresher as the callee put it, us if it
/// did not say.
pub(crate) fn from_answer(response: &Headers) -> Option<SessionTimer> {
    let e = session_expires(response)?;
    let refresher = if e.refresher == Some(Role::Uas) { Refresher::Peer } else { Refresher::Us };
    Some(SessionTimer { interval: e.delta.max(MIN_SE), refresher })
}

impl SessionTimer {
    /// The `Session-Expires` value in a message of a transaction where we
    /// are the UAC (`we_are_uac`) or the UAS.
    pub fn header(&self, we_are_uac: bool) -> String {
        let role = match (self.refresher, we_are_uac) {
            (Refresher::Us, true) | (Refresher::Peer, false) => "uac",
            _ => "uas",
        };
        format!("{};refresher={role}", self.interval)
    }

    /// After a refresh, when the next step is due: our refresh at half the
    /// interval, or, waiting for the peer's, the session's end, a little
    /// before the interval (RFC 4028 §10: less min(32 s, a third)).
    pub fn due(&self) -> Duration {
        let secs = u64::from(self.interval);
        match self.refresher {
            Refresher::Us => Duration::from_secs(secs) / 2,
            Refresher::Peer => Duration::from_secs(secs - (secs / 3).min(32)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(lines: &[(&str, &str)]) -> Headers {
        lines.iter().copied().collect()
    }

    fn agreed(interval: u32, refresher: Refresher, require: bool) -> Result<Option<Agreed>, TooSmall> {
        Ok(Some(Agreed { timer: SessionTimer { interval, refresher }, require }))
    }

    #[test]
    fn the_callers_interval_is_honoured_lowered_to_ours_or_refused_below_ninety() {
        let req = |lines: &[(&str, &str)]| headers(lines);
        // The carrier of issue 14: 90 s, it refreshes.
        let carrier = req(&[("Supported", "timer"), ("Session-Expires", "90;refresher=uac"), ("Min-SE", "90")]);
        assert_eq!(answer(&carrier, 1800), agreed(90, Refresher::Peer, true));
        assert_eq!(
            answer(&carrier, 1800).unwrap().unwrap().headers(),
            vec![("Session-Expires", "90;refresher=uac".to_owned()), ("Require", "timer".to_owned())]
        );
        // Longer than ours: lowered to ours, but not below its Min-SE.
        let long = req(&[("k", "timer"), ("x", "7200")]);
        assert_eq!(answer(&long, 1800), agreed(1800, Refresher::Peer, true));
        let floor = req(&[("Supported", "timer"), ("Session-Expires", "7200"), ("Min-SE", "3600")]);
        assert_eq!(answer(&floor, 1800), agreed(3600, Refresher::Peer, true));
        // It asks us to refresh.
        let uas = req(&[("Supported", "timer"), ("Session-Expires", "600;refresher=uas")]);
        assert_eq!(answer(&uas, 1800), agreed(600, Refresher::Us, true));
        // A proxy put the header in for a UAC that cannot refresh: we do, and require nothing.
        let proxy = req(&[("Session-Expires", "600;refresher=uac")]);
        assert_eq!(answer(&proxy, 1800), agreed(600, Refresher::Us, false));
        // Too small: 422 with our floor.
        assert_eq!(answer(&req(&[("Supported", "timer"), ("Session-Expires", "60")]), 1800), Err(TooSmall(90)));
        assert_eq!(answer(&req(&[("Session-Expires", "89;refresher=uac")]), 1800), Err(TooSmall(90)));
    }

    #[test]
    fn without_a_request_we_use_our_own_and_turned_off_we_use_none() {
        // A UAC that supports timers but asks for none: ours, it refreshes.
        assert_eq!(answer(&headers(&[("Supported", "100rel, timer")]), 1800), agreed(1800, Refresher::Peer, true));
        // One that knows nothing of them: ours, we refresh.
        assert_eq!(answer(&Headers::default(), 1800), agreed(1800, Refresher::Us, false));
        // Its Min-SE raises ours.
        assert_eq!(answer(&headers(&[("Min-SE", "2000")]), 1800), agreed(2000, Refresher::Us, false));
        // Off: nothing, unless the caller requires it.
        assert_eq!(answer(&headers(&[("Supported", "timer"), ("Session-Expires", "600")]), 0), Ok(None));
        assert_eq!(answer(&Headers::default(), 0), Ok(None));
        let insists = headers(&[("Require", "timer"), ("Session-Expires", "600;refresher=uac")]);
        assert_eq!(answer(&insists, 0), agreed(600, Refresher::Peer, true));
        // Nonsense values are no request at all.
        assert_eq!(answer(&headers(&[("Session-Expires", "soon")]), 0), Ok(None));
    }

    #[test]
    fn our_offer_and_what_the_callees_answer_makes_of_it() {
        assert!(offer(0, MIN_SE).is_empty(), "turned off");
        let o = offer(1800, MIN_SE);
        let get = |n: &str| o.iter().find(|(k, _)| k == n).map(|(_, v)| v.as_str());
        assert_eq!((get("Session-Expires"), get("Min-SE"), get("Supported")), (Some("1800"), Some("90"), Some("timer")));
        // A 422 asking for more raises both; one asking for no more ends the retries.
        let too_small = headers(&[("Min-SE", "3600")]);
        assert_eq!(asked_min_se(&too_small, 1800), Some(3600));
        assert_eq!(asked_min_se(&too_small, 3600), None);
        assert_eq!(asked_min_se(&Headers::default(), 1800), None);
        let o = offer(1800, 3600);
        assert!(o.contains(&("Session-Expires".to_owned(), "3600".to_owned())) && o.contains(&("Min-SE".to_owned(), "3600".to_owned())));

        let answered = |v: &str| from_answer(&headers(&[("Session-Expires", v)]));
        assert_eq!(answered("1800;refresher=uac"), Some(SessionTimer { interval: 1800, refresher: Refresher::Us }));
        assert_eq!(answered("900;Refresher=UAS"), Some(SessionTimer { interval: 900, refresher: Refresher::Peer }));
        assert_eq!(answered("900"), Some(SessionTimer { interval: 900, refresher: Refresher::Us }), "unsaid: the UAC refreshes");
        assert_eq!(from_answer(&Headers::default()), None, "a callee without timers: no session expiry");
    }

    #[test]
    fn the_refresher_param_names_the_transactions_role_and_the_deadlines_follow_rfc_4028() {
        let ours = SessionTimer { interval: 90, refresher: Refresher::Us };
        let theirs = SessionTimer { interval: 90, refresher: Refresher::Peer };
        assert_eq!((ours.header(true), ours.header(false)), ("90;refresher=uac".to_owned(), "90;refresher=uas".to_owned()));
        assert_eq!((theirs.header(true), theirs.header(false)), ("90;refresher=uas".to_owned(), "90;refresher=uac".to_owned()));
        assert_eq!(ours.due(), Duration::from_secs(45), "we refresh at half the interval");
        assert_eq!(theirs.due(), Duration::from_secs(60), "90 - min(32, 30)");
        let long = SessionTimer { interval: 1800, refresher: Refresher::Peer };
        assert_eq!(long.due(), Duration::from_secs(1800 - 32));
    }
}
