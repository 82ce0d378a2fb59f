//! Calls: an INVITE arrives. A carrier's, for an incoming trunk's domain,
//! is admitted or refused (`inbound.rs`), and every call that reached a
//! trunk leaves an incoming trunk CDR. A phone's, for our own domain, is
//! authenticated as its SIP account and rings the extension it dialled
//! (an internal call: no CDR), or goes out to the PSTN.

use crate::b2bua::{self, Bridge, Dialogs};
use crate::capacity::{CallSlot, Capacity};
use crate::cdr::{CallCdr, CdrSender};
use crate::directory::Directory;
use crate::inbound::{self, Admitted, Invite, Refused, Target, TrunkRef};
use crate::location::{Location, MemoryLocation};
use crate::media::MediaPool;
use crate::registrar::Registrar;
use crate::CallSettings;
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
    pub registrar: Arc<Registrar>,
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
        let unsupported = crate::early::unsupported(headers);
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
        if !snapshot.trunks.contains_key(&ruri.host) && self.registrar.serves(&ruri.host) {
            return Box::pin(self.phone_call(req, ruri, body)).await;
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
        let steps = match &admitted.target {
            Target::SipAccount(account) => {
                let targets = self.contacts(*account);
                vec![b2bua::Step { targets, ring_for: self.settings.no_answer_timeout, gateway: None }]
            }
            Target::RingGroup(group) => {
                let ring_for = Duration::from_secs(group.ring_timeout.max(1).unsigned_abs());
                let members = group.members.iter().map(|&m| self.contacts(m));
                if group.strategy == "sequential" {
                    members.map(|targets| b2bua::Step { targets, ring_for, gateway: None }).collect()
                } else {
                    vec![b2bua::Step { targets: members.flatten().collect(), ring_for, gateway: None }]
                }
            }
            Target::External(_) => {
                let r = refused_after(&admitted, 503, "Service Unavailable", "Forwarding to external numbers is not available yet");
                return self.refuse(&mut req, &caller, r).await;
            }
        };
        let steps: Vec<b2bua::Step> = steps.into_iter().filter(|s| !s.targets.is_empty()).collect();
        if steps.is_empty() {
            let r = refused_after(&admitted, 480, "Temporarily Unavailable", "Destination not registered");
            return self.refuse(&mut req, &caller, r).await;
        }
        let live_id = format!("{}-{}", caller.time_start, sip::endpoint::random_token());
        let live =
            caller.call(live_id.clone(), (&admitted.trunk).into(), Some(admitted.dst_number.clone()), Some(admitted.did.number.clone()));
        self.cdrs.open(live.clone());
        let (cdrs, id) = (self.cdrs.clone(), live_id.clone());
        let bridge = Bridge {
            on_answer: Box::new(move |_, at| cdrs.connect(&id, at)),
            on_attempt: Box::new(|_| {}),
            steps,
            caller_name: caller.src_name.clone(),
            caller_number: caller.src_number.clone().unwrap_or_else(|| "anonymous".into()),
            dialled: admitted.did.number.clone(),
            sdp: admitted.sdp.clone(),
            media: self.media.clone(),
        };
        let ended = Box::pin(b2bua::run(self.client.clone(), self.dialogs.clone(), req, bridge, self.stop.clone())).await;
        drop(slot);
        self.cdrs.send(CallCdr::ending(&live, ended.connected_at, ended.code, ended.reason, ended.internal), Some(live_id));
        Ok(())
    }

    /// An INVITE from a phone: authenticated as its SIP account, then an
    /// internal call to an extension of the same customer, or an external
    /// one.
    async fn phone_call(&self, mut req: Incoming, ruri: SipUri, body: String) -> Result<(), ReplyError> {
        let Some(caller) = self.registrar.authenticate(&mut req, &ruri).await? else { return Ok(()) };
        // Phones dial with `+` and visual separators; extensions and E.164 are digits.
        let dialled: String = ruri.user.as_deref().unwrap_or_default().chars().filter(char::is_ascii_digit).collect();
        if dialled.is_empty() {
            return req.reply(404, "Not Found", &[]).await;
        }
        // Only the caller's own customer is searched: another tenant's
        // extensions are unreachable by construction.
        let callee = match self.registrar.store().sip_extension(caller.customer_id, &dialled).await {
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
        // Route selection and the gateway leg are issue 5's next step.
        tracing::info!(account = caller.id, dialled, "outbound call refused: termination routing is not available yet");
        req.reply(503, "Service Unavailable", &[]).await
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
            steps: vec![b2bua::Step { targets, ring_for: self.settings.no_answer_timeout, gateway: None }],
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

    /// Where a SIP account can be rung now: its live bindings.
    fn contacts(&self, account: i64) -> Vec<b2bua::Contact> {
        let bindings = self.location.bindings(account, Instant::now());
        bindings.into_iter().map(|b| b2bua::Contact { uri: b.contact, source: b.source, transport: b.transport }).collect()
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
