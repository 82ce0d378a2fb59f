//! Calls: an INVITE arrives, is admitted or refused (`inbound.rs`), and
//! every call that reached a trunk leaves an incoming trunk CDR.

use crate::b2bua::{self, Bridge, Dialogs};
use crate::capacity::{CallSlot, Capacity};
use crate::cdr::{CdrSender, IncomingCdr};
use crate::directory::Directory;
use crate::inbound::{self, Admitted, Invite, Refused, Target, TrunkRef};
use crate::location::{Location, MemoryLocation};
use crate::media::MediaPool;
use crate::CallSettings;
use sip::endpoint::{Client, Incoming, ReplyError};
use sip::message::{self, SipUri};
use std::sync::Arc;
use std::time::Duration;
use store::cdr::LiveCall;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

pub(crate) struct Calls {
    pub directory: Arc<Directory>,
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
                vec![b2bua::Step { targets, ring_for: self.settings.no_answer_timeout }]
            }
            Target::RingGroup(group) => {
                let ring_for = Duration::from_secs(group.ring_timeout.max(1).unsigned_abs());
                let members = group.members.iter().map(|&m| self.contacts(m));
                if group.strategy == "sequential" {
                    members.map(|targets| b2bua::Step { targets, ring_for }).collect()
                } else {
                    vec![b2bua::Step { targets: members.flatten().collect(), ring_for }]
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
            on_answer: Box::new(move |at| cdrs.connect(&id, at)),
            steps,
            caller_name: caller.src_name.clone(),
            caller_number: caller.src_number.clone().unwrap_or_else(|| "anonymous".into()),
            dialled: admitted.did.number.clone(),
            sdp: admitted.sdp.clone(),
            media: self.media.clone(),
        };
        let ended = Box::pin(b2bua::run(self.client.clone(), self.dialogs.clone(), req, bridge, self.stop.clone())).await;
        drop(slot);
        self.cdrs.send(IncomingCdr::ending(&live, ended.connected_at, ended.code, ended.reason, ended.internal), Some(live_id));
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
            self.cdrs.send(IncomingCdr::ending(&call, None, r.code, r.reason, Some(r.internal.to_owned())), None);
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
