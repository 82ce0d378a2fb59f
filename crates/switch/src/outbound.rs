//! Calls out to the PSTN (SPEC §1 "Termination route", §2 "Outbound"):
//! the route plan of a call becomes leg B steps toward the routes'
//! gateways, and each attempt is journalled as it starts and closed into
//! its termination CDR as it fails, or when the call ends. A phone's call
//! out and a DID forwarded to an external number both go this way.

use crate::b2bua::{self, Contact, Ended, GatewayLeg, Step};
use crate::cdr::{CallCdr, CdrSender};
use crate::sdp;
use domain::routing::Attempt as RouteAttempt;
use sip::endpoint::Transport;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use store::cdr::{LiveCall, TerminationLeg};

/// Who places the call out, and the numbers as received.
pub(crate) struct Origin {
    pub customer_id: i64,
    /// The calling SIP account (none for a forwarded DID call).
    pub sip_account_id: Option<i64>,
    /// The name sent to the gateway.
    pub caller_name: Option<String>,
    pub src_name_in: Option<String>,
    pub src_number_in: String,
    pub dst_number_in: String,
    /// The caller's Call-ID.
    pub call_id: String,
    pub global_tag: String,
}

/// A call's gateway attempts, in step order (see [`plan`]).
pub(crate) struct Attempts {
    list: Arc<Mutex<Vec<LiveCall>>>,
    cdrs: CdrSender,
}

/// The steps for a route plan, one per usable route, with the attempts
/// they will journal. A route is skipped (and logged) when its gateway
/// cannot carry this call: a transport we lack, a host that does not
/// resolve, no codec in common with the caller's offer.
pub(crate) async fn plan(
    routes: &[RouteAttempt],
    origin: &Origin,
    offer: Option<&str>,
    ring_for: Duration,
    resolver: &Resolver,
    cdrs: CdrSender,
) -> (Vec<Step>, Attempts) {
    let mut steps = Vec::with_capacity(routes.len());
    let mut list = Vec::with_capacity(routes.len());
    for a in routes {
        let Some(step) = gateway_step(a, origin, offer, ring_for, resolver).await else { continue };
        list.push(LiveCall {
            id: format!("{}-{}", origin.global_tag, list.len()),
            customer_id: Some(origin.customer_id),
            incoming_trunk_id: None,
            time_start: domain::time::now_ms(),
            time_connect: None,
            src_name: origin.src_name_in.clone(),
            src_number: Some(origin.src_number_in.clone()),
            dst_number: Some(origin.dst_number_in.clone()),
            did_number: None,
            call_id: origin.call_id.clone(),
            global_tag: Some(origin.global_tag.clone()),
            termination: Some(TerminationLeg {
                sip_account_id: origin.sip_account_id,
                route_id: Some(a.route_id),
                gateway_id: Some(a.gateway.id),
                local_tag: None,
                src_name_out: origin.caller_name.clone(),
                src_number_out: Some(a.src_number_out.clone()),
                dst_number_out: Some(a.dst_number_out.clone()),
            }),
        });
        steps.push(step);
    }
    (steps, Attempts { list: Arc::new(Mutex::new(list)), cdrs })
}

impl Attempts {
    /// For [`b2bua::Bridge::on_attempt`]: opens an attempt as it starts,
    /// closes it into its CDR when it fails.
    pub fn reporter(&self) -> Box<dyn Fn(b2bua::Attempt) + Send + Sync> {
        let (list, cdrs) = (self.list.clone(), self.cdrs.clone());
        Box::new(move |event| {
            let mut all = list.lock().expect("attempts lock");
            match event {
                b2bua::Attempt::Started(i, local_tag) => {
                    let Some(a) = all.get_mut(i) else { return };
                    a.time_start = domain::time::now_ms();
                    if let Some(t) = a.termination.as_mut() {
                        t.local_tag = Some(local_tag);
                    }
                    cdrs.open(a.clone());
                }
                b2bua::Attempt::Failed(i, code, reason) => {
                    let Some(a) = all.get(i) else { return };
                    cdrs.send(CallCdr::ending(a, None, code, reason, None), Some(a.id.clone()));
                }
            }
        })
    }

    /// Records the answer of the attempt of `step` (for [`b2bua::Bridge::on_answer`]).
    pub fn connector(&self) -> impl Fn(usize, i64) + Send + Sync + 'static {
        let (list, cdrs) = (self.list.clone(), self.cdrs.clone());
        move |step, at| {
            if let Some(a) = list.lock().expect("attempts lock").get(step) {
                cdrs.connect(&a.id, at);
            }
        }
    }

    /// Closes the attempt that answered (the others closed as they failed).
    pub fn finish(&self, ended: &Ended) {
        let Some(step) = ended.step else { return };
        let Some(a) = self.list.lock().expect("attempts lock").get(step).cloned() else { return };
        self.cdrs.send(CallCdr::ending(&a, ended.connected_at, ended.code, ended.reason.clone(), ended.internal.clone()), Some(a.id));
    }
}

/// The leg B step of one route's attempt, or `None` when its gateway
/// cannot be used for this call.
async fn gateway_step(a: &RouteAttempt, origin: &Origin, offer: Option<&str>, ring_for: Duration, resolver: &Resolver) -> Option<Step> {
    let gw = &a.gateway;
    let transport = match gw.transport_protocol.as_str() {
        "UDP" => Transport::Udp,
        "TCP" => Transport::Tcp,
        "TLS" => Transport::Tls,
        other => {
            tracing::warn!(gateway = gw.id, transport = other, "termination gateway skipped: transport not available");
            return None;
        }
    };
    let Some(addr) = resolver.resolve(&gw.host, gw.port, &gw.network_protocol).await else {
        tracing::warn!(gateway = gw.id, host = %gw.host, "termination gateway skipped: host does not resolve");
        return None;
    };
    let sdp = match offer {
        None => None,
        Some(offer) => {
            let codecs: Vec<&str> = gw.codecs.split(',').map(str::trim).collect();
            match sdp::filter(offer, &codecs) {
                Ok(s) => Some(s),
                Err(e) => {
                    tracing::info!(gateway = gw.id, error = %e, "termination gateway skipped: the caller's offer does not fit it");
                    return None;
                }
            }
        }
    };
    let default_port = if transport == Transport::Tls { 5061 } else { 5060 };
    let host = if gw.port == default_port { gw.host.clone() } else { format!("{}:{}", gw.host, gw.port) };
    // The host stays a name: a TLS gateway's certificate is checked against it.
    let uri_params = match transport {
        Transport::Udp => "",
        Transport::Tcp => ";transport=tcp",
        Transport::Tls => ";transport=tls",
    };
    Some(Step {
        targets: vec![Contact { uri: format!("sip:{}@{host}{uri_params}", a.dst_number_out), source: addr, transport }],
        ring_for,
        gateway: Some(GatewayLeg {
            caller_number: a.src_number_out.clone(),
            caller_name: origin.caller_name.clone(),
            dialled: a.dst_number_out.clone(),
            host,
            sdp,
            credentials: gw.authorization_name.clone().zip(gw.authorization_password.clone()),
            headers: vec![("X-Global-Tag".to_owned(), origin.global_tag.clone())],
        }),
    })
}

/// Gateways' addresses, remembered for a while: a name lookup runs on a
/// blocking thread, and every call out would otherwise pay one.
#[derive(Default)]
pub(crate) struct Resolver {
    cache: Mutex<HashMap<Lookup, (Option<SocketAddr>, Instant)>>,
}

/// (host in lower case, port, network protocol)
type Lookup = (String, u16, String);

/// How long an answer (or a failed lookup) is kept.
const RESOLVE_TTL: Duration = Duration::from_secs(30);

impl Resolver {
    /// A gateway's address per its network protocol setting.
    pub async fn resolve(&self, host: &str, port: u16, protocol: &str) -> Option<SocketAddr> {
        if let Ok(ip) = host.trim_start_matches('[').trim_end_matches(']').parse::<std::net::IpAddr>() {
            return Some(SocketAddr::new(ip, port));
        }
        let key = (host.to_ascii_lowercase(), port, protocol.to_owned());
        if let Some((addr, at)) = self.cache.lock().expect("resolver lock").get(&key) {
            if at.elapsed() < RESOLVE_TTL {
                return *addr;
            }
        }
        let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host, port)).await.map(Iterator::collect).unwrap_or_default();
        let v4 = addrs.iter().find(|a| a.is_ipv4()).copied();
        let v6 = addrs.iter().find(|a| a.is_ipv6()).copied();
        let addr = match protocol {
            "IPv4_only" => v4,
            "IPv6_only" => v6,
            "IPv6_preferred" => v6.or(v4),
            _ => v4.or(v6),
        };
        let mut cache = self.cache.lock().expect("resolver lock");
        if cache.len() > 10_000 {
            cache.retain(|_, (_, at)| at.elapsed() < RESOLVE_TTL);
        }
        cache.insert(key, (addr, Instant::now()));
        addr
    }
}

/// A new platform-wide call id.
pub(crate) fn global_tag(now_ms: i64) -> String {
    format!("{now_ms:x}-{}", sip::endpoint::random_token())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn addresses_follow_the_network_protocol_and_are_remembered() {
        let r = Resolver::default();
        assert_eq!(r.resolve("192.0.2.7", 5070, "IPv4_only").await, Some("192.0.2.7:5070".parse().unwrap()));
        assert_eq!(r.resolve("[2001:db8::1]", 5060, "IPv6_only").await, Some("[2001:db8::1]:5060".parse().unwrap()));
        assert!(r.cache.lock().unwrap().is_empty(), "literals need no lookup");
        let v4 = r.resolve("localhost", 5060, "IPv4_only").await;
        assert_eq!(v4, Some("127.0.0.1:5060".parse().unwrap()));
        assert_eq!(r.cache.lock().unwrap().len(), 1, "the lookup is kept");
        assert_eq!(r.resolve("LOCALHOST", 5060, "IPv4_only").await, v4, "names are case-insensitive");
        assert_eq!(r.cache.lock().unwrap().len(), 1);
        assert_eq!(r.resolve("no-such-host.invalid", 5060, "IPv4_only").await, None);
    }
}
