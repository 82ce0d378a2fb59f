//! A carrier's INVITE to one of our DIDs: admitted or refused
//! (`inbound.rs`), then rung to the DID's destination: a SIP account's
//! bindings, a ring group's members and external numbers, or an external
//! number it is forwarded to. Every call that reached a trunk leaves an
//! incoming trunk CDR; a forwarded call, and a ring group's external
//! numbers, go out as the carrier's caller, and their termination CDRs
//! share the incoming CDR's global tag. The customer's fraud limits
//! apply: to the call's length, and to what goes out to the PSTN.

use super::b2bua::{self, Bridge};
use super::inbound::{self, Admitted, Invite, Refused, Target, TrunkRef};
use super::outbound::{self, Origin};
use super::{plan, Calls};
use crate::accounts::TrunkAuth;
use crate::capacity::CallSlot;
use crate::cdr::CallCdr;
use crate::directory::Snapshot;
use crate::registrar::carriers::registered_from;
use sip::endpoint::{Incoming, ReplyError};
use sip::message::SipUri;
use std::time::Duration;
use store::cdr::LiveCall;

/// What a CDR needs from the INVITE.
pub(super) struct Caller {
    pub call_id: String,
    pub src_name: Option<String>,
    pub src_number: Option<String>,
    pub time_start: i64,
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
            // Stamped and filled by the journal.
            node_id: String::new(),
            dialog: None,
        }
    }
}

impl Calls {
    /// A carrier's INVITE, not yet answered: `invite` says what admission
    /// looks at, `caller` what the CDR needs.
    pub(super) async fn carrier_call(
        &self,
        mut req: Incoming,
        invite: &Invite<'_>,
        caller: Caller,
        snapshot: &Snapshot,
    ) -> Result<(), ReplyError> {
        let source = req.source().ip();
        let outsider = snapshot.trunks.get(invite.ruri_host).is_some_and(|t| self.accounts.outsider_blocked(source, t.id));
        if self.accounts.source_blocked(source) || outsider {
            // As for a scanner: no answer at all.
            return Ok(());
        }
        if let (Some(trunk), Ok(ruri)) = (inbound::trunk_taking(snapshot, invite), SipUri::parse(req.uri())) {
            let registered = registered_from(&*self.carriers, trunk.id, source);
            if let (Some((name, password)), false) = (&trunk.auth, registered) {
                match self.accounts.authenticate_trunk(&mut req, &ruri, trunk.id, (name, password)).await? {
                    TrunkAuth::Authenticated => {}
                    TrunkAuth::Answered => return Ok(()),
                    TrunkAuth::Failed => {
                        let r = Refused {
                            code: 403,
                            reason: "Forbidden",
                            internal: "Wrong trunk credentials",
                            trunk: Some(trunk.into()),
                            dst_number: None,
                            did_number: None,
                            // Counted already, as a failure of the trunk's credentials.
                            outsider: false,
                        };
                        return self.refuse(&mut req, &caller, r).await;
                    }
                }
            }
        }
        let mut slot: Option<CallSlot> = None;
        let decided = inbound::admit(snapshot, invite, &mut |customer, limits| {
            slot = self.capacity.try_acquire(customer, limits);
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
        let mut limit = crate::fraud::call_limit(snapshot, admitted.trunk.customer_id);
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
                        let out = outbound::numbers(number, &plan);
                        if let Err(r) = self.fraud.admit_out(snapshot, origin.customer_id, &out, caller.time_start) {
                            tracing::info!(group = group.id, number, why = r.internal, "ring group's external number skipped: fraud limit");
                            continue;
                        }
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
                match self.fraud.admit_out(snapshot, origin.customer_id, &outbound::numbers(number, &plan), caller.time_start) {
                    Ok(l) => limit = l,
                    Err(r) => return self.refuse(&mut req, &caller, refused_after(&admitted, r.code, r.reason, r.internal)).await,
                }
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
            on_answer: Box::new(move |attempt, at, dialog| {
                // The DID call's row holds the legs (a forward's attempt is part of it).
                cdrs.connect(&id, at, Some(dialog));
                if let Some(connect) = &connect_attempt {
                    connect(attempt, at, None);
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
            timers: b2bua::CallTimers::of(snapshot, limit),
        };
        let ended = Box::pin(b2bua::run(self.client.clone(), self.dialogs.clone(), req, bridge, self.stop.clone())).await;
        drop(slot);
        if let Some(a) = &attempts {
            a.finish(&ended);
        }
        let cdr = CallCdr::ending(&live, ended.connected_at, ended.code, ended.reason, ended.internal).ended_at(ended.ended_at);
        self.cdrs.send(cdr, Some(live_id));
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

    async fn refuse(&self, req: &mut Incoming, caller: &Caller, r: Refused) -> Result<(), ReplyError> {
        tracing::debug!(code = r.code, why = r.internal, uri = req.uri(), call_id = %caller.call_id, "call refused");
        if let (true, Some(trunk)) = (r.outsider, r.trunk) {
            self.accounts.outsider(req.source().ip(), trunk.id, r.internal);
        }
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
        outsider: false,
    }
}
