//! Calls: an INVITE arrives. A carrier's, for an incoming trunk's domain,
//! is admitted or refused (`inbound.rs`), and every call that reached a
//! trunk leaves an incoming trunk CDR. A phone's, for our own domain, is
//! authenticated as its SIP account and rings the extension it dialled
//! (an internal call: no CDR), or goes out to the PSTN. A DID forwarded to
//! an external number, and a ring group's external numbers, go out like a
//! phone's call, as the carrier's caller, and their termination CDRs share
//! the incoming CDR's global tag.

mod b2bua;
mod dialog;
mod early;
mod fork;
mod inbound;
mod outbound;
mod plan;
mod ring;
mod talk;

pub(crate) use dialog::Dialogs;
pub(crate) use outbound::Resolver;

use crate::accounts::Accounts;
use crate::capacity::{CallSlot, Capacity};
use crate::cdr::{CallCdr, CdrSender};
use crate::directory::{Directory, Snapshot};
use crate::media::MediaPool;
use crate::registrar::location::{Location, MemoryLocation};
use crate::routing::Routes;
use crate::CallSettings;
use b2bua::Bridge;
use inbound::{Admitted, Invite, Refused, Target, TrunkRef};
use outbound::Origin;
use sip::endpoint::{Client, Incoming, ReplyError};
use sip::message::{self, SipUri};
use std::sync::Arc;
use std::time::Duration;
use store::cdr::LiveCall;
use store::presence::SipLogin;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

pub(crate) struct Calls {
    pub directory: Arc<Directory>,
    pub routes: Arc<Routes>,
    pub resolver: outbound::Resolver,
    pub accounts: Arc<Accounts>,
    pub capacity: Arc<Capacity>,
    pub location: Arc<MemoryLocation>,
    pub cdrs: CdrSender,
    pub client: Client,
    pub dialogs: Arc<Dialogs>,
    pub settings: CallSettings,
    pub media: Option<Arc<MediaPool>>,
    /// Cancelled at shutdown: calls hang up and write their CDRs.
    pub stop: CancellationToken,
}

/// What a CDR needs from the INVITE.
struct Caller {
    call_id: String,
    src_name: Option<String>,
    src_number: Option<String>,
    time_start: i64,
}

impl Caller {
    /// This call as the CDR journal records it.
    fn call(&self, id: String, trunk: TrunkRef, dst_number: Option<String>, did_number: Option<String>) -> LiveCall {
        LiveCall {
            id,
            customer_id: Some(trunk.customer_id),
            incoming_trunk_id: Some(trunk.id),
            time_start: self.time_start,
            time_connect: None,
            src_name: self.src_name.clone(),
            src_number: self.src_number.clone(),
            dst_number,
            did_number,
            call_id: self.call_id.clone(),
            global_tag: Some(outbound::global_tag(self.time_start)),
            termination: None,
        }
    }
}

impl Calls {
    /// Handles a new INVITE (not a re-INVITE: those belong to a dialog).
    pub async fn invite(&self, mut req: Incoming) -> Result<(), ReplyError> {
        let time_start = domain::time::now_ms();
        let headers = req.headers();
        let Ok(ruri) = SipUri::parse(req.uri()) else {
            return req.reply(416, "Unsupported URI Scheme", &[]).await;
        };
        let (Ok(from), Ok(to)) = (message::from(headers), message::to(headers)) else {
            return req.reply(400, "Bad From or To", &[]).await;
        };
        // RFC 3261 §8.2.2.3: an extension the caller requires and we lack.
        let unsupported = early::unsupported(headers);
        if !unsupported.is_empty() {
            return req.reply(420, "Bad Extension", &[("Unsupported", &unsupported.join(", "))]).await;
        }
        let caller = Caller {
            call_id: headers.get("Call-ID").unwrap_or_default().to_owned(),
            src_name: from.display_name.clone().filter(|n| !n.is_empty()),
            src_number: from.sip_uri().ok().and_then(|u| u.user),
            time_start,
        };
        let to_user = to.sip_uri().ok().and_then(|u| u.user);
        let body = String::from_utf8_lossy(req.body()).into_owned();
        let snapshot = match self.directory.snapshot().await {
            Ok(s) => s,
            Err(e) => {
                tracing::error!(error = %e, "cannot read the call configuration");
                return req.reply(500, "Server Internal Error", &[("Retry-After", "5")]).await;
            }
        };
        if !snapshot.trunks.contains_key(&ruri.host) && self.accounts.serves(&ruri.host) {
            return Box::pin(self.phone_call(req, ruri, body, &snapshot)).await;
        }
        let invite = Invite { ruri_host: &ruri.host, ruri_user: ruri.user.as_deref(), to_user: to_user.as_deref(), sdp: &body };
        let mut slot: Option<CallSlot> = None;
        let decided = inbound::admit(&snapshot, &invite, &mut |customer, limit| {
            slot = self.capacity.try_acquire(customer, limit);
            slot.is_some()
        });
        let admitted = match decided {
            Ok(a) => a,
            Err(refused) => return self.refuse(&mut req, &caller, refused).await,
        };
        let Some(slot) = slot else { unreachable!("admission passed the capacity check, which took a slot") };
        let live_id = format!("{}-{}", caller.time_start, sip::endpoint::random_token());
        let live =
            caller.call(live_id.clone(), (&admitted.trunk).into(), Some(admitted.dst_number.clone()), Some(admitted.did.number.clone()));
        let mut attempts = None;
        let steps = match &admitted.target {
            Target::SipAccount(account) => {
                let targets = self.contacts(*account);
                vec![plan::Step { targets, ring_for: self.settings.no_answer_timeout, hunting: false }]
            }
            Target::RingGroup(group) => {
                let ring_for = Duration::from_secs(group.ring_timeout.max(1).unsigned_abs());
                let members: Vec<Vec<plan::Contact>> = group.members.iter().map(|&m| self.contacts(m)).collect();
                // Each external number is one target: its first usable
                // route, the others tried in its place on a failure that hunts.
                let mut external = Vec::new();
                if !group.external_numbers.is_empty() {
                    let planned = outbound::Attempts::new(self.cdrs.clone());
                    for number in &group.external_numbers {
                        let origin = forwarded(&admitted, &caller, &live, number);
                        let plan = match self.forward_plan(&origin, &admitted).await {
                            Ok(p) => p,
                            Err(r) => return self.refuse(&mut req, &caller, r).await,
                        };
                        let contacts = planned.contacts(&plan, &origin, admitted.sdp.as_deref(), &self.resolver).await;
                        match outbound::chained(contacts) {
                            Some(c) => external.push(c),
                            None => tracing::info!(group = group.id, number, "ring group's external number skipped: no usable route"),
                        }
                    }
                    attempts = Some(planned);
                }
                if group.strategy == "sequential" {
                    // Members in their order, then the external numbers in theirs.
                    let external = external.into_iter().map(|c| vec![c]);
                    members.into_iter().chain(external).map(|targets| plan::Step { targets, ring_for, hunting: false }).collect()
                } else {
                    let targets = members.into_iter().flatten().chain(external).collect();
                    vec![plan::Step { targets, ring_for, hunting: false }]
                }
            }
            Target::External(number) => {
                // Forwarded over the DID customer's routes, the carrier's caller shown.
                let origin = forwarded(&admitted, &caller, &live, number);
                let plan = match self.forward_plan(&origin, &admitted).await {
                    Ok(p) => p,
                    Err(r) => return self.refuse(&mut req, &caller, r).await,
                };
                let (steps, planned) = outbound::plan(
                    &plan,
                    &origin,
                    admitted.sdp.as_deref(),
                    self.settings.no_answer_timeout,
                    &self.resolver,
                    self.cdrs.clone(),
                )
                .await;
                if steps.is_empty() {
                    let r = refused_after(&admitted, 503, "Service Unavailable", "No termination route for the forwarded number");
                    return self.refuse(&mut req, &caller, r).await;
                }
                attempts = Some(planned);
                steps
            }
        };
        let steps: Vec<plan::Step> = steps.into_iter().filter(|s| !s.targets.is_empty()).collect();
        if steps.is_empty() {
            let why = match &admitted.target {
                Target::RingGroup(g) if !g.external_numbers.is_empty() => "No member registered and no route for the external numbers",
                _ => "Destination not registered",
            };
            let r = refused_after(&admitted, 480, "Temporarily Unavailable", why);
            return self.refuse(&mut req, &caller, r).await;
        }
        self.cdrs.open(live.clone());
        let (cdrs, id) = (self.cdrs.clone(), live_id.clone());
        let connect_attempt = attempts.as_ref().map(outbound::Attempts::connector);
        let bridge = Bridge {
            on_answer: Box::new(move |attempt, at| {
                cdrs.connect(&id, at);
                if let Some(connect) = &connect_attempt {
                    connect(attempt, at);
                }
            }),
            on_attempt: attempts
                .as_ref()
                .map_or_else(|| Box::new(|_| {}) as Box<dyn Fn(plan::Attempt) + Send + Sync>, outbound::Attempts::reporter),
            steps,
            caller_name: caller.src_name.clone(),
            caller_number: caller.src_number.clone().unwrap_or_else(|| "anonymous".into()),
            dialled: admitted.did.number.clone(),
            sdp: admitted.sdp.clone(),
            media: self.media.clone(),
        };
        let ended = Box::pin(b2bua::run(self.client.clone(), self.dialogs.clone(), req, bridge, self.stop.clone())).await;
        drop(slot);
        if let Some(a) = &attempts {
            a.finish(&ended);
        }
        self.cdrs.send(CallCdr::ending(&live, ended.connected_at, ended.code, ended.reason, ended.internal), Some(live_id));
        Ok(())
    }

    /// An INVITE from a phone: authenticated as its SIP account, then an
    /// internal call to an extension of the same customer, or an external
    /// one.
    async fn phone_call(&self, mut req: Incoming, ruri: SipUri, body: String, snapshot: &Snapshot) -> Result<(), ReplyError> {
        let Some(caller) = self.accounts.authenticate(&mut req, &ruri).await? else { return Ok(()) };
        // Phones dial with `+` and visual separators; extensions and E.164 are digits.
        let dialled: String = ruri.user.as_deref().unwrap_or_default().chars().filter(char::is_ascii_digit).collect();
        if dialled.is_empty() {
            return req.reply(404, "Not Found", &[]).await;
        }
        // Only the caller's own customer is searched: another tenant's
        // extensions are unreachable by construction.
        let callee = match self.accounts.extension(caller.customer_id, &dialled).await {
            Ok(c) => c,
            Err(e) => {
                tracing::error!(error = %e, "cannot look up an extension");
                return req.reply(500, "Server Internal Error", &[("Retry-After", "5")]).await;
            }
        };
        if let Some(callee) = callee {
            return Box::pin(self.internal(req, caller, callee, dialled, body)).await;
        }
        if !caller.allow_external_calls {
            tracing::debug!(account = caller.id, dialled, "outbound call refused: outbound calls not allowed");
            return req.reply(403, "Forbidden", &[]).await;
        }
        Box::pin(self.external(req, caller, dialled, body, snapshot)).await
    }

    /// A call to the PSTN (SPEC §1 "Termination route", §2 "Outbound"): a
    /// channel of the customer's limit, then the gateway of each route in
    /// the selection's order, one termination CDR per attempt.
    async fn external(
        &self,
        mut req: Incoming,
        caller: SipLogin,
        dialled: String,
        body: String,
        snapshot: &Snapshot,
    ) -> Result<(), ReplyError> {
        let time_start = domain::time::now_ms();
        let limit = snapshot.customers.get(&caller.customer_id).and_then(|c| c.capacity_limit);
        let Some(slot) = self.capacity.try_acquire(caller.customer_id, limit) else {
            let (code, reason) = snapshot.capacity_refusal();
            return req.reply(code, reason, &[]).await;
        };
        // The caller as the routes see it: its number to the outside world.
        let src = caller.external_caller_id.clone().unwrap_or_else(|| caller.username.clone());
        let plan = match self.routes.plan(caller.customer_id, &src, &dialled).await {
            Ok(p) => p,
            Err(e) => {
                tracing::error!(error = %e, "cannot read the termination routes");
                return req.reply(500, "Server Internal Error", &[("Retry-After", "5")]).await;
            }
        };
        let headers = req.headers();
        let origin = Origin {
            customer_id: caller.customer_id,
            sip_account_id: Some(caller.id),
            caller_name: caller.caller_id_name.clone(),
            src_name_in: message::from(headers).ok().and_then(|f| f.display_name.clone()).filter(|n| !n.is_empty()),
            src_number_in: src.clone(),
            dst_number_in: dialled.clone(),
            call_id: headers.get("Call-ID").unwrap_or_default().trim().to_owned(),
            global_tag: outbound::global_tag(time_start),
        };
        let offer = (!body.trim().is_empty()).then_some(body);
        let (steps, attempts) =
            outbound::plan(&plan, &origin, offer.as_deref(), self.settings.no_answer_timeout, &self.resolver, self.cdrs.clone()).await;
        if steps.is_empty() {
            tracing::info!(account = caller.id, dialled, routes = plan.len(), "outbound call refused: no usable route");
            let (code, reason) = if plan.is_empty() { (404, "No Route") } else { (503, "Service Unavailable") };
            return req.reply(code, reason, &[]).await;
        }
        let bridge = Bridge {
            on_answer: Box::new(attempts.connector()),
            on_attempt: attempts.reporter(),
            steps,
            caller_name: caller.caller_id_name.clone(),
            caller_number: src,
            dialled,
            sdp: offer,
            media: self.media.clone(),
        };
        let ended = Box::pin(b2bua::run(self.client.clone(), self.dialogs.clone(), req, bridge, self.stop.clone())).await;
        drop(slot);
        attempts.finish(&ended);
        Ok(())
    }

    /// An extension-to-extension call: every binding of the callee rings,
    /// the caller shown by its extension. Not a trunk call: no CDR, no
    /// channel of the capacity limit.
    async fn internal(
        &self,
        mut req: Incoming,
        caller: SipLogin,
        callee: SipLogin,
        dialled: String,
        body: String,
    ) -> Result<(), ReplyError> {
        let targets = self.contacts(callee.id);
        if targets.is_empty() {
            return req.reply(480, "Temporarily Unavailable", &[]).await;
        }
        let bridge = Bridge {
            on_answer: Box::new(|_, _| {}),
            on_attempt: Box::new(|_| {}),
            steps: vec![plan::Step { targets, ring_for: self.settings.no_answer_timeout, hunting: false }],
            caller_name: caller.caller_id_name.clone(),
            caller_number: caller.internal_caller_id.clone().unwrap_or(caller.username),
            dialled,
            sdp: (!body.trim().is_empty()).then_some(body),
            media: self.media.clone(),
        };
        let ended = Box::pin(b2bua::run(self.client.clone(), self.dialogs.clone(), req, bridge, self.stop.clone())).await;
        tracing::debug!(from = caller.id, to = callee.id, code = ended.code, why = ?ended.internal, "internal call ended");
        Ok(())
    }

    /// The routes a DID call forwarded to an external number tries, or
    /// the carrier's refusal when they cannot be read.
    async fn forward_plan(&self, origin: &Origin, admitted: &Admitted) -> Result<Vec<domain::routing::Attempt>, Refused> {
        self.routes.plan(origin.customer_id, &origin.src_number_in, &origin.dst_number_in).await.map_err(|e| {
            tracing::error!(error = %e, "cannot read the termination routes");
            refused_after(admitted, 500, "Server Internal Error", "Termination routes unreadable")
        })
    }

    /// Where a SIP account can be rung now: its live bindings.
    fn contacts(&self, account: i64) -> Vec<plan::Contact> {
        let bindings = self.location.bindings(account, Instant::now());
        bindings.into_iter().map(|b| plan::Contact::binding(b.contact, b.source, b.transport)).collect()
    }

    async fn refuse(&self, req: &mut Incoming, caller: &Caller, r: Refused) -> Result<(), ReplyError> {
        tracing::debug!(code = r.code, why = r.internal, uri = req.uri(), call_id = %caller.call_id, "call refused");
        let sent = req.reply(r.code, r.reason, &[]).await;
        if let Some(trunk) = r.trunk {
            // Never opened: a refused call leaves only its CDR.
            let call = caller.call(String::new(), trunk, r.dst_number, r.did_number);
            self.cdrs.send(CallCdr::ending(&call, None, r.code, r.reason, Some(r.internal.to_owned())), None);
        }
        sent
    }
}

/// Who calls out when a DID's call goes on to an external `number`: the
/// DID's customer, showing the carrier's caller.
fn forwarded(a: &Admitted, caller: &Caller, live: &LiveCall, number: &str) -> Origin {
    Origin {
        customer_id: a.trunk.customer_id,
        sip_account_id: None,
        caller_name: caller.src_name.clone(),
        src_name_in: caller.src_name.clone(),
        src_number_in: caller.src_number.clone().unwrap_or_default(),
        dst_number_in: number.to_owned(),
        call_id: caller.call_id.clone(),
        global_tag: live.global_tag.clone().unwrap_or_default(),
    }
}

fn refused_after(a: &Admitted, code: u16, reason: &'static str, internal: &'static str) -> Refused {
    Refused {
        code,
        reason,
        internal,
        trunk: Some(TrunkRef::from(&a.trunk)),
        dst_number: Some(a.dst_number.clone()),
        did_number: Some(a.did.number.clone()),
    }
}
