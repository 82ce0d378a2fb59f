//! Calls out to the PSTN (SPEC §1 "Termination route", §2 "Outbound"):
//! the route plan of a call becomes leg B steps toward the routes'
//! gateways, and each attempt is journalled as it starts and closed into
//! its termination CDR as it fails, or when the call ends. A phone's call
//! out and a DID forwarded to an external number both go this way, one
//! step per route; a ring group's external number is one target whose
//! other routes are its fallbacks.

use super::b2bua::Ended;
use super::plan::{self, Contact, GatewayLeg, Step};
use crate::cdr::{CallCdr, CdrSender};
use crate::media::sdp;
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

impl Origin {
    /// The termination leg as far as the caller decides it: no route or
    /// gateway yet.
    fn leg(&self) -> TerminationLeg {
        TerminationLeg { sip_account_id: self.sip_account_id, src_name_out: self.caller_name.clone(), ..TerminationLeg::default() }
    }

    /// This call out as the CDR journal records it (`id` and the node
    /// stamped by the journal where it opens the row).
    fn call(&self, id: String, time_start: i64, leg: TerminationLeg) -> LiveCall {
        LiveCall {
            id,
            customer_id: Some(self.customer_id),
            incoming_trunk_id: None,
            time_start,
            time_connect: None,
            src_name: self.src_name_in.clone(),
            src_number: Some(self.src_number_in.clone()),
            dst_number: Some(self.dst_number_in.clone()),
            did_number: None,
            call_id: self.call_id.clone(),
            global_tag: Some(self.global_tag.clone()),
            termination: Some(leg),
            node_id: String::new(),
            dialog: None,
        }
    }
}

/// A call's gateway attempts, by [`GatewayLeg::attempt`].
pub(crate) struct Attempts {
    list: Arc<Mutex<Vec<LiveCall>>>,
    cdrs: CdrSender,
}

/// The steps for a route plan, one per usable route (see [`Attempts::contacts`]),
/// with the attempts they will journal.
pub(crate) async fn plan(
    routes: &[RouteAttempt],
    origin: &Origin,
    offer: Option<&str>,
    ring_for: Duration,
    resolver: &Resolver,
    cdrs: CdrSender,
) -> (Vec<Step>, Attempts) {
    let attempts = Attempts::new(cdrs);
    let contacts = attempts.contacts(routes, origin, offer, resolver).await;
    let steps = contacts.into_iter().map(|c| Step { targets: vec![c], ring_for, hunting: true }).collect();
    (steps, attempts)
}

/// One target for all of a number's usable routes: the first, with the
/// others as its fallbacks (a ring group's external number).
pub(crate) fn chained(contacts: Vec<Contact>) -> Option<Contact> {
    let mut it = contacts.into_iter();
    let first = it.next()?;
    Some(Contact { fallback: it.collect(), ..first })
}

impl Attempts {
    pub fn new(cdrs: CdrSender) -> Attempts {
        Attempts { list: Arc::new(Mutex::new(Vec::new())), cdrs }
    }

    /// The gateway targets of a route plan toward one number, one per
    /// usable route in the plan's order, each a new attempt. A route is
    /// skipped (and logged) when its gateway cannot carry this call: a
    /// transport we lack, a host that does not resolve, no codec in common
    /// with the caller's offer.
    pub async fn contacts(&self, routes: &[RouteAttempt], origin: &Origin, offer: Option<&str>, resolver: &Resolver) -> Vec<Contact> {
        let mut out = Vec::with_capacity(routes.len());
        for a in routes {
            let attempt = self.list.lock().expect("attempts lock").len();
            let Some(contact) = gateway_contact(a, origin, offer, resolver, attempt).await else { continue };
            let leg = TerminationLeg {
                route_id: Some(a.route_id),
                gateway_id: Some(a.gateway.id),
                src_number_out: Some(a.src_number_out.clone()),
                dst_number_out: Some(a.dst_number_out.clone()),
                ..origin.leg()
            };
            let call = origin.call(format!("{}-{attempt}", origin.global_tag), domain::time::now_ms(), leg);
            self.list.lock().expect("attempts lock").push(call);
            out.push(contact);
        }
        out
    }

    /// For [`Bridge::on_attempt`](super::b2bua::Bridge::on_attempt): opens an attempt as it starts,
    /// closes it into its CDR when it fails.
    pub fn reporter(&self) -> Box<dyn Fn(plan::Attempt) + Send + Sync> {
        let (list, cdrs) = (self.list.clone(), self.cdrs.clone());
        Box::new(move |event| {
            let mut all = list.lock().expect("attempts lock");
            match event {
                plan::Attempt::Started(i, local_tag) => {
                    let Some(a) = all.get_mut(i) else { return };
                    a.time_start = domain::time::now_ms();
                    if let Some(t) = a.termination.as_mut() {
                        t.local_tag = Some(local_tag);
                    }
                    cdrs.open(a.clone());
                }
                plan::Attempt::Failed(i, code, reason) => {
                    let Some(a) = all.get(i) else { return };
                    cdrs.send(CallCdr::ending(a, None, code, reason, None), Some(a.id.clone()));
                }
            }
        })
    }

    /// Records the answer of an attempt (for [`Bridge::on_answer`](super::b2bua::Bridge::on_answer)),
    /// with the call's legs when its row is the one that holds them.
    pub fn connector(&self) -> impl Fn(Option<usize>, i64, Option<String>) + Send + Sync + 'static {
        let (list, cdrs) = (self.list.clone(), self.cdrs.clone());
        move |attempt, at, dialog| {
            if let Some(a) = attempt.and_then(|i| list.lock().expect("attempts lock").get(i).cloned()) {
                cdrs.connect(&a.id, at, dialog);
            }
        }
    }

    /// Closes the attempt that answered (the others closed as they failed).
    pub fn finish(&self, ended: &Ended) {
        let Some(i) = ended.attempt else { return };
        let Some(a) = self.list.lock().expect("attempts lock").get(i).cloned() else { return };
        let cdr =
            CallCdr::ending(&a, ended.connected_at, ended.code, ended.reason.clone(), ended.internal.clone()).ended_at(ended.ended_at);
        self.cdrs.send(cdr, Some(a.id));
    }
}

/// The termination CDR of a call out refused before any gateway was
/// tried (a fraud limit): no route, no gateway, the reason why.
pub(crate) fn refused_cdr(origin: &Origin, time_start: i64, code: u16, reason: &str, internal: &str) -> CallCdr {
    let call = origin.call(String::new(), time_start, origin.leg());
    CallCdr::ending(&call, None, code, reason, Some(internal.to_owned()))
}

/// The numbers a call out is checked against (fraud limits): as dialled,
/// and as each route of its plan would send it.
pub(crate) fn numbers<'a>(dialled: &'a str, routes: &'a [RouteAttempt]) -> Vec<&'a str> {
    std::iter::once(dialled).chain(routes.iter().map(|a| a.dst_number_out.as_str())).collect()
}

/// The leg B target of one route's attempt, or `None` when its gateway
/// cannot be used for this call.
async fn gateway_contact(a: &RouteAttempt, origin: &Origin, offer: Option<&str>, resolver: &Resolver, attempt: usize) -> Option<Contact> {
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
    Some(Contact {
        uri: format!("sip:{}@{host}{uri_params}", a.dst_number_out),
        source: addr,
        transport,
        fallback: Vec::new(),
        gateway: Some(GatewayLeg {
            caller_number: a.src_number_out.clone(),
            caller_name: origin.caller_name.clone(),
            dialled: a.dst_number_out.clone(),
            host,
            sdp,
            credentials: gw.authorization_name.clone().zip(gw.authorization_password.clone()),
            headers: vec![("X-Global-Tag".to_owned(), origin.global_tag.clone())],
            attempt,
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
    use domain::routing::GatewayDef;
    use store::cdr::{Cdr, CdrOp};

    fn route(id: i64, transport: &str, port: u16, dst_out: &str) -> RouteAttempt {
        let gateway = GatewayDef {
            id: id * 10,
            customer_id: None,
            name: format!("gw-{id}"),
            host: "192.0.2.1".into(),
            port,
            network_protocol: "IPv4_only".into(),
            transport_protocol: transport.into(),
            codecs: "PCMA,telephone-event".into(),
            authorization_name: None,
            authorization_password: None,
            src_rewrite_rule: None,
            src_rewrite_result: None,
            dst_rewrite_rule: None,
            dst_rewrite_result: None,
        };
        RouteAttempt {
            route_id: id,
            route_name: format!("route-{id}"),
            gateway: Arc::new(gateway),
            src_number_out: "4930111".into(),
            dst_number_out: dst_out.into(),
        }
    }

    fn origin(number: &str) -> Origin {
        Origin {
            customer_id: 7,
            sip_account_id: None,
            caller_name: Some("Caller".into()),
            src_name_in: Some("Caller".into()),
            src_number_in: "4930111".into(),
            dst_number_in: number.into(),
            call_id: "in@carrier".into(),
            global_tag: "g".into(),
        }
    }

    fn attempt_of(c: &Contact) -> usize {
        c.gateway.as_ref().expect("a gateway target").attempt
    }

    /// A ring group's numbers: one attempt list for the call, each number
    /// one target with its other routes as fallbacks, in route order; the
    /// journal follows the attempts by their index.
    #[tokio::test]
    async fn numbers_of_a_group_share_the_attempts_and_fall_back_in_route_order() {
        let (cdrs, mut journal) = CdrSender::journal();
        let attempts = Attempts::new(cdrs);
        let resolver = Resolver::default();
        let first =
            attempts.contacts(&[route(1, "UDP", 5060, "0049301"), route(2, "UDP", 5070, "49301")], &origin("49301"), None, &resolver).await;
        // A transport we lack (the schema allows none today): that route is skipped.
        let second =
            attempts.contacts(&[route(3, "SCTP", 5061, "3706"), route(4, "UDP", 5080, "3706")], &origin("3706"), None, &resolver).await;
        let a = chained(first).unwrap();
        assert_eq!((attempt_of(&a), a.uri.as_str()), (0, "sip:0049301@192.0.2.1"));
        assert_eq!(a.fallback.len(), 1);
        assert_eq!((attempt_of(&a.fallback[0]), a.fallback[0].uri.as_str()), (1, "sip:49301@192.0.2.1:5070"));
        let b = chained(second).unwrap();
        assert_eq!((attempt_of(&b), b.fallback.len()), (2, 0));
        assert!(chained(Vec::new()).is_none());

        let report = attempts.reporter();
        report(plan::Attempt::Started(0, "tag-a".into()));
        report(plan::Attempt::Started(2, "tag-a".into()));
        report(plan::Attempt::Failed(0, 503, "Service Unavailable".into()));
        attempts.connector()(Some(2), 1_234, Some("legs".into()));
        attempts.connector()(None, 1_234, None);
        let ended = Ended { code: 200, reason: "BYE".into(), internal: None, connected_at: Some(1_234), attempt: Some(2), ended_at: None };
        attempts.finish(&ended);
        let mut ops = Vec::new();
        while let Ok(op) = journal.try_recv() {
            ops.push(match op {
                CdrOp::Open(c) => {
                    let t = c.termination.unwrap();
                    format!("open {} route {:?} to {:?} for {:?} tag {:?}", c.id, t.route_id, t.dst_number_out, c.dst_number, t.local_tag)
                }
                CdrOp::Connect { id, at, dialog } => format!("connect {id} at {at} with {dialog:?}"),
                CdrOp::Close { live_id, cdr, .. } => {
                    let Cdr::Termination(cdr) = *cdr else { panic!("an attempt closes with a termination CDR") };
                    format!("close {} with {:?}", live_id.unwrap_or_default(), cdr.lega_disconnect_code)
                }
            });
        }
        assert_eq!(
            ops,
            [
                r#"open g-0 route Some(1) to Some("0049301") for Some("49301") tag Some("tag-a")"#,
                r#"open g-2 route Some(4) to Some("3706") for Some("3706") tag Some("tag-a")"#,
                "close g-0 with Some(503)",
                r#"connect g-2 at 1234 with Some("legs")"#,
                "close g-2 with Some(200)",
            ]
        );
    }

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
