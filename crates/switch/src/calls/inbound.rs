//! Inbound DID calls (SPEC §2 "Inbound"): which trunk an INVITE belongs
//! to, which DID it dials, and every reason to refuse it, in the order the
//! spec gives them. [`admit`] is pure: the SIP handling around it lives in
//! `carrier.rs`.

use crate::capacity::Limits;
use crate::directory::Snapshot;
use crate::media::sdp::{self, SdpError};
use std::net::IpAddr;
use store::directory::{DidRow, RingGroupRow, TrunkRow};

/// What an INVITE carries that admission looks at.
#[derive(Debug, Clone, Default)]
pub struct Invite<'a> {
    /// Request-URI host, lower case.
    pub ruri_host: &'a str,
    pub ruri_user: Option<&'a str>,
    pub to_user: Option<&'a str>,
    /// The SDP offer; empty for a late offer.
    pub sdp: &'a str,
    /// Where the INVITE came from (`None`: not known, as in unit tests of
    /// what follows the source check).
    pub source: Option<IpAddr>,
    /// It came over TLS.
    pub tls: bool,
}

/// Where an admitted call goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// Every binding of this SIP account rings.
    SipAccount(i64),
    /// The group's members ring, all at once or in turn.
    RingGroup(RingGroupRow),
    /// Forwarded to an external number over the termination routes.
    External(String),
}

/// An admitted call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Admitted {
    pub trunk: TrunkRow,
    pub did: DidRow,
    pub dst_number: String,
    pub target: Target,
    /// The offer filtered to the trunk's codecs (`None` for a late offer).
    pub sdp: Option<String>,
}

/// A refused call: the response for the carrier and, once a trunk was
/// found, what its CDR records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    pub code: u16,
    pub reason: &'static str,
    pub internal: &'static str,
    pub trunk: Option<TrunkRef>,
    pub dst_number: Option<String>,
    pub did_number: Option<String>,
    /// Sent from an address the trunk takes no calls from: counted
    /// against that (source, trunk), which then gets silence for a while.
    pub outsider: bool,
}

/// The trunk a refused call reached, for its CDR.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TrunkRef {
    pub id: i64,
    pub customer_id: i64,
}

impl From<&TrunkRow> for TrunkRef {
    fn from(t: &TrunkRow) -> Self {
        TrunkRef { id: t.id, customer_id: t.customer_id }
    }
}

/// The capacity check, given the customer and its limits; true if the call
/// may take a channel (the caller keeps the slot).
pub type CapacityCheck<'a> = &'a mut dyn FnMut(i64, Limits) -> bool;

/// Decides an inbound INVITE. Registration of the destination is checked
/// by the caller, which knows the location service.
pub fn admit(snap: &Snapshot, invite: &Invite<'_>, capacity: CapacityCheck<'_>) -> Result<Admitted, Refused> {
    let refuse = |code, reason, internal, trunk: Option<&TrunkRow>, dst: Option<&str>, did: Option<&str>| Refused {
        code,
        reason,
        internal,
        trunk: trunk.map(TrunkRef::from),
        dst_number: dst.map(str::to_owned),
        did_number: did.map(str::to_owned),
        outsider: false,
    };
    let Some(trunk) = snap.trunks.get(invite.ruri_host) else {
        return Err(refuse(404, "Not Found", "Unknown incoming trunk domain", None, None, None));
    };
    // Before anything about the DID: an outsider learns nothing of which
    // numbers exist or ring.
    if let Err(why) = takes_calls_from(trunk, invite) {
        // Only the address counts: a forged UDP packet from a TLS-only
        // trunk's carrier must not silence its real calls over TLS.
        return Err(Refused { outsider: why == SOURCE_NOT_ALLOWED, ..refuse(403, "Forbidden", why, Some(trunk), None, None) });
    }
    let dialled = if trunk.destination_field == "TO_USERPART" { invite.to_user } else { invite.ruri_user };
    let Some(dialled) = dialled.filter(|d| !d.is_empty()) else {
        return Err(refuse(404, "Not Found", "No number dialled", Some(trunk), None, None));
    };
    let t = Some(trunk);
    let d = Some(dialled);
    // DIDs are stored as E.164 digits; carriers may send `+` and visual separators.
    let number: String = dialled.chars().filter(char::is_ascii_digit).collect();
    let did = match snap.dids.get(&number) {
        Some(did) if did.customer_id == trunk.customer_id => did,
        Some(_) => return Err(refuse(404, "Not Found", "DID belongs to another customer", t, d, None)),
        None => return Err(refuse(404, "Not Found", "Unknown DID", t, d, None)),
    };
    let n = Some(did.number.as_str());
    if !did.enabled {
        return Err(refuse(403, "Forbidden", "DID disabled", t, d, n));
    }
    let target = match (&did.destination_type, did.destination_id, &did.forward_number) {
        (Some(kind), Some(id), _) if kind == "sip_device_routes" => Target::SipAccount(id),
        (Some(kind), Some(id), _) if kind == "ring_groups" => match snap.ring_groups.get(&id) {
            Some(g) if g.customer_id == did.customer_id && !(g.members.is_empty() && g.external_numbers.is_empty()) => {
                Target::RingGroup(g.clone())
            }
            Some(g) if g.customer_id == did.customer_id => return Err(refuse(404, "Not Found", "Ring group has no members", t, d, n)),
            _ => return Err(refuse(404, "Not Found", "DID has no destination", t, d, n)),
        },
        (_, _, Some(fwd)) if !fwd.is_empty() => Target::External(fwd.clone()),
        _ => return Err(refuse(404, "Not Found", "DID has no destination", t, d, n)),
    };
    if !capacity(trunk.customer_id, snap.limits(trunk.customer_id)) {
        let (code, reason) = snap.capacity_refusal();
        return Err(refuse(code, reason, "Insufficient channels", t, d, n));
    }
    let sdp = if invite.sdp.trim().is_empty() {
        None
    } else {
        let codecs: Vec<&str> = trunk.codecs.split(',').map(str::trim).collect();
        match sdp::filter(invite.sdp, &codecs) {
            Ok(s) => Some(s),
            Err(SdpError::NoCommonCodec) => return Err(refuse(488, "Not Acceptable Here", "No allowed codec", t, d, n)),
            Err(SdpError::Malformed(_) | SdpError::BadAnswer(_)) => {
                return Err(refuse(488, "Not Acceptable Here", "Malformed SDP offer", t, d, n))
            }
        }
    };
    Ok(Admitted { trunk: trunk.clone(), did: did.clone(), dst_number: dialled.to_owned(), target, sdp })
}

/// The trunk an INVITE is for, when it takes calls from where and how the
/// INVITE came: the one whose digest credentials, if it has any, the
/// INVITE must carry before anything about the DID is decided.
pub fn trunk_taking<'s>(snap: &'s Snapshot, invite: &Invite<'_>) -> Option<&'s TrunkRow> {
    snap.trunks.get(invite.ruri_host).filter(|t| takes_calls_from(t, invite).is_ok())
}

/// Whether the trunk takes this INVITE from where and how it came: from
/// one of its allowed sources (any, when it lists none), over TLS when
/// that is its transport.
fn takes_calls_from(trunk: &TrunkRow, invite: &Invite<'_>) -> Result<(), &'static str> {
    takes_requests_from(trunk, invite.source, invite.tls)
}

/// The refusal of a request from an address a trunk does not list.
pub(crate) const SOURCE_NOT_ALLOWED: &str = "Source not allowed for this trunk";

/// Whether a trunk takes a request (a call, or a carrier's REGISTER) from
/// `source`, over TLS or not: the reason for the CDR when it does not.
pub(crate) fn takes_requests_from(trunk: &TrunkRow, source: Option<std::net::IpAddr>, tls: bool) -> Result<(), &'static str> {
    if trunk.transport == "TLS" && !tls {
        return Err("Trunk takes calls over TLS only");
    }
    let allowed = trunk.allowed_sources.is_empty() || source.is_some_and(|ip| trunk.allowed_sources.iter().any(|n| n.contains(ip)));
    if !allowed {
        return Err(SOURCE_NOT_ALLOWED);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use store::directory::CustomerRow;

    const OFFER: &str = "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0 8 101\r\na=rtpmap:101 telephone-event/8000\r\n";

    fn snap() -> Snapshot {
        let trunk = |id, customer_id, field: &str| TrunkRow {
            id,
            customer_id,
            domain: Some(format!("{id}.in.pbx.test")),
            codecs: "PCMA,telephone-event".into(),
            destination_field: field.into(),
            transport: "UDP".into(),
            allowed_sources: Vec::new(),
            auth: None,
        };
        let did = |id, customer_id, number: &str, enabled, dest: Option<i64>, fwd: Option<&str>| DidRow {
            id,
            customer_id,
            number: number.into(),
            enabled,
            destination_type: dest.map(|_| "sip_device_routes".into()),
            destination_id: dest,
            forward_number: fwd.map(Into::into),
        };
        let mut s = Snapshot { capacity_reject_code: 480, ..Snapshot::default() };
        for t in [trunk(1, 10, "RURI_USERPART"), trunk(2, 10, "TO_USERPART"), trunk(3, 20, "RURI_USERPART")] {
            s.trunks.insert(t.domain.clone().unwrap(), t);
        }
        for d in [
            did(1, 10, "15550001", true, Some(7), None),
            did(2, 10, "15550002", false, Some(7), None),
            did(3, 20, "15550003", true, Some(8), None),
            did(4, 10, "15550004", true, None, None),
            did(5, 10, "15550005", true, None, Some("4930123")),
        ] {
            s.dids.insert(d.number.clone(), d);
        }
        s.customers.insert(10, CustomerRow { id: 10, capacity_limit: Some(1), ..CustomerRow::default() });
        s
    }

    fn invite<'a>(host: &'a str, ruri: &'a str, to: &'a str) -> Invite<'a> {
        Invite { ruri_host: host, ruri_user: Some(ruri), to_user: Some(to), sdp: OFFER, source: None, tls: false }
    }

    fn code(r: Result<Admitted, Refused>) -> (u16, &'static str) {
        match r {
            Ok(_) => (200, "admitted"),
            Err(r) => (r.code, r.internal),
        }
    }

    #[test]
    fn every_refusal_of_the_spec() {
        let s = snap();
        let mut yes = |_, _| true;
        assert_eq!(code(admit(&s, &invite("9.in.pbx.test", "15550001", "x"), &mut yes)), (404, "Unknown incoming trunk domain"));
        assert_eq!(code(admit(&s, &invite("1.in.pbx.test", "15559999", "x"), &mut yes)), (404, "Unknown DID"));
        assert_eq!(code(admit(&s, &invite("1.in.pbx.test", "15550003", "x"), &mut yes)), (404, "DID belongs to another customer"));
        assert_eq!(code(admit(&s, &invite("1.in.pbx.test", "15550002", "x"), &mut yes)), (403, "DID disabled"));
        assert_eq!(code(admit(&s, &invite("1.in.pbx.test", "15550004", "x"), &mut yes)), (404, "DID has no destination"));
        let mut no = |_, _| false;
        assert_eq!(code(admit(&s, &invite("1.in.pbx.test", "15550001", "x"), &mut no)), (480, "Insufficient channels"));
        let s403 = Snapshot { capacity_reject_code: 403, ..snap() };
        assert_eq!(code(admit(&s403, &invite("1.in.pbx.test", "15550001", "x"), &mut no)), (403, "Insufficient channels"));
        let g729 = Invite { sdp: "v=0\r\nm=audio 4000 RTP/AVP 18\r\n", ..invite("1.in.pbx.test", "15550001", "x") };
        assert_eq!(code(admit(&s, &g729, &mut yes)), (488, "No allowed codec"));
    }

    #[test]
    fn a_trunk_takes_calls_only_from_its_sources_and_transport() {
        let mut s = snap();
        let t = s.trunks.get_mut("1.in.pbx.test").unwrap();
        t.allowed_sources = domain::net::parse_list("198.51.100.0/24,2001:db8::7");
        let from = |ip: &str| Invite { source: Some(ip.parse().unwrap()), ..invite("1.in.pbx.test", "15559999", "x") };
        let mut yes = |_, _| true;
        // Refused before the DID is looked at: an unknown DID answers the same.
        let refused = admit(&s, &from("203.0.113.5"), &mut yes).unwrap_err();
        assert_eq!((refused.code, refused.internal, refused.outsider), (403, "Source not allowed for this trunk", true));
        assert_eq!((refused.trunk.map(|t| t.id), refused.did_number), (Some(1), None), "a CDR on the trunk, no DID named");
        assert_eq!(code(admit(&s, &from("198.51.100.77"), &mut yes)), (404, "Unknown DID"), "in the range");
        assert_eq!(code(admit(&s, &from("2001:db8::7"), &mut yes)), (404, "Unknown DID"));
        assert_eq!(code(admit(&s, &from("2001:db8::8"), &mut yes)).0, 403);
        assert_eq!(code(admit(&s, &invite("1.in.pbx.test", "15559999", "x"), &mut yes)).0, 403, "an unknown source is no allowed one");
        assert_eq!(code(admit(&s, &from("203.0.113.5"), &mut yes)).0, 403);
        assert_eq!(code(admit(&s, &invite("2.in.pbx.test", "x", "15550001"), &mut yes)).0, 200, "other trunks take calls from anywhere");
        s.trunks.get_mut("2.in.pbx.test").unwrap().transport = "TLS".into();
        assert_eq!(code(admit(&s, &invite("2.in.pbx.test", "x", "15550001"), &mut yes)), (403, "Trunk takes calls over TLS only"));
        // A forged UDP packet from the carrier's own address: refused, but
        // not counted, or it would silence the carrier's real TLS calls.
        assert!(!admit(&s, &invite("2.in.pbx.test", "x", "15550001"), &mut yes).unwrap_err().outsider);
        let tls = Invite { tls: true, ..invite("2.in.pbx.test", "x", "15550001") };
        assert_eq!(code(admit(&s, &tls, &mut yes)).0, 200);
    }

    #[test]
    fn the_trunk_says_where_the_number_is() {
        let s = snap();
        let mut yes = |_, _| true;
        let a = admit(&s, &invite("2.in.pbx.test", "ignored", "+1 555 0001"), &mut yes).unwrap();
        assert_eq!((a.did.id, a.dst_number.as_str(), &a.target), (1, "+1 555 0001", &Target::SipAccount(7)));
        assert!(a.sdp.unwrap().contains("m=audio 4000 RTP/AVP 8 101\r\n"), "filtered to the trunk's codecs");
        let a = admit(&s, &invite("1.in.pbx.test", "15550005", "x"), &mut yes).unwrap();
        assert_eq!(a.target, Target::External("4930123".into()));
        let late = Invite { sdp: "", ..invite("1.in.pbx.test", "15550001", "x") };
        assert_eq!(admit(&s, &late, &mut yes).unwrap().sdp, None);
    }

    #[test]
    fn a_ring_group_of_the_same_customer_with_members_or_numbers_is_a_target() {
        let mut s = snap();
        let group = |id, customer_id, members: Vec<i64>| RingGroupRow {
            id,
            customer_id,
            strategy: "sequential".into(),
            ring_timeout: 20,
            members,
            external_numbers: Vec::new(),
        };
        s.ring_groups.insert(1, group(1, 10, vec![7, 9]));
        s.ring_groups.insert(2, group(2, 10, vec![]));
        s.ring_groups.insert(3, group(3, 20, vec![8]));
        // External numbers alone are enough to ring.
        s.ring_groups.insert(4, RingGroupRow { external_numbers: vec!["4930123".into()], ..group(4, 10, vec![]) });
        for (number, group_id) in [("15550011", 1), ("15550012", 2), ("15550013", 3), ("15550014", 99), ("15550015", 4)] {
            let d = DidRow {
                id: group_id,
                customer_id: 10,
                number: number.into(),
                enabled: true,
                destination_type: Some("ring_groups".into()),
                destination_id: Some(group_id),
                forward_number: None,
            };
            s.dids.insert(number.into(), d);
        }
        let mut yes = |_, _| true;
        let a = admit(&s, &invite("1.in.pbx.test", "15550011", "x"), &mut yes).unwrap();
        assert_eq!(a.target, Target::RingGroup(group(1, 10, vec![7, 9])));
        assert_eq!(code(admit(&s, &invite("1.in.pbx.test", "15550012", "x"), &mut yes)), (404, "Ring group has no members"));
        let a = admit(&s, &invite("1.in.pbx.test", "15550015", "x"), &mut yes).unwrap();
        assert!(matches!(&a.target, Target::RingGroup(g) if g.id == 4 && g.members.is_empty()));
        // Another customer's group, or one deleted meanwhile: as if no destination.
        assert_eq!(code(admit(&s, &invite("1.in.pbx.test", "15550013", "x"), &mut yes)), (404, "DID has no destination"));
        assert_eq!(code(admit(&s, &invite("1.in.pbx.test", "15550014", "x"), &mut yes)), (404, "DID has no destination"));
    }

    #[test]
    fn the_capacity_check_sees_the_customer_and_its_limit() {
        let s = snap();
        let mut seen = Vec::new();
        let mut check = |c, l| {
            seen.push((c, l));
            true
        };
        admit(&s, &invite("1.in.pbx.test", "15550001", "x"), &mut check).unwrap();
        assert_eq!(seen, vec![(10, Limits { customer: Some(1), pool: None })]);
    }
}
