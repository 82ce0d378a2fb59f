//! Which hosts name this server, for a digest `uri` (RFC 3261 §22.4): the
//! request's own host, our SIP domain and the trunk domains under it,
//! `localhost`, and any address of this machine. SIPp computes its digest
//! for `sip:ADDRESS:PORT` whatever the Request-URI says (a trunk's domain,
//! say), and Kamailio and Asterisk take that.

use sip::message::SipUri;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

/// Whether addresses are this machine's, remembered: the answer comes
/// from a bind, a system call we need not repeat for every REGISTER.
#[derive(Default)]
pub(super) struct LocalAddresses(Mutex<HashMap<IpAddr, bool>>);

impl LocalAddresses {
    /// At most this many remembered; an attacker's stream of invented
    /// addresses only costs a bind each.
    const REMEMBERED: usize = 64;

    fn is_local(&self, ip: IpAddr) -> bool {
        if let Some(known) = self.0.lock().expect("local addresses lock").get(&ip) {
            return *known;
        }
        // Binding works only for an address of one of our interfaces.
        let local = ip.is_loopback() || std::net::UdpSocket::bind((ip, 0)).is_ok();
        let mut map = self.0.lock().expect("local addresses lock");
        if map.len() >= Self::REMEMBERED {
            map.clear();
        }
        map.insert(ip, local);
        local
    }

    /// Whether a digest `uri` (with or without `sip:`, any port) names this
    /// server, for a request to `ruri` in our `realm`.
    pub(super) fn names_us(&self, uri: &str, ruri: &SipUri, realm: &str) -> bool {
        let uri = uri.trim();
        let scheme = uri.split_once(':').is_some_and(|(s, _)| s.eq_ignore_ascii_case("sip") || s.eq_ignore_ascii_case("sips"));
        let parsed = if scheme { SipUri::parse(uri) } else { SipUri::parse(&format!("sip:{uri}")) };
        let Ok(u) = parsed else { return false };
        let host = u.host.as_str();
        if [ruri.host.as_str(), realm, "localhost"].iter().any(|h| host.eq_ignore_ascii_case(h)) {
            return true;
        }
        // A trunk's domain: `<id>.in.<realm>`.
        let under_realm = host.len() > realm.len() + 1
            && host[host.len() - realm.len()..].eq_ignore_ascii_case(realm)
            && host.as_bytes()[host.len() - realm.len() - 1] == b'.';
        under_realm || host.trim_start_matches('[').trim_end_matches(']').parse().is_ok_and(|ip| self.is_local(ip))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_digest_uri_names_us_by_our_hosts_and_addresses_only() {
        let ours = LocalAddresses::default();
        let ruri = SipUri::parse("sip:15550001@7.in.pbx.example").unwrap();
        for uri in [
            "sip:7.in.pbx.example",
            "sip:pbx.example:5060",
            "PBX.example",
            "sip:3.in.pbx.example;transport=udp",
            "sip:127.0.0.1:5070",
            "sip:[::1]:5060",
            "sips:localhost",
        ] {
            assert!(ours.names_us(uri, &ruri, "pbx.example"), "{uri}");
        }
        for uri in ["sip:other.example", "sip:evilpbx.example", "sip:192.0.2.99", "sip:", "not a uri at all"] {
            assert!(!ours.names_us(uri, &ruri, "pbx.example"), "{uri}");
        }
        assert!(ours.names_us("sip:127.0.0.1", &ruri, "pbx.example"), "remembered answers stay the same");
    }
}
