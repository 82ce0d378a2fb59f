//! A phone's INVITE: authenticated as its SIP account, it rings an
//! extension of the same customer (an internal call: a channel, no CDR),
//! or, when the account may call out, goes to the PSTN through the
//! customer's routes with one termination CDR per gateway attempt, within
//! the customer's fraud limits (a refusal leaves its termination CDR too).

use super::b2bua::{self, Bridge, CallTimers};
use super::outbound::{self, Origin};
use super::{plan, Calls};
use crate::directory::Snapshot;
use crate::fraud;
use sip::endpoint::{Incoming, ReplyError};
use sip::message::{self, SipUri};
use store::presence::SipLogin;

impl Calls {
    /// An INVITE from a phone: authenticated as its SIP account, then an
    /// internal call to an extension of the same customer, or an external
    /// one.
    pub(super) async fn phone_call(&self, mut req: Incoming, ruri: SipUri, body: String, snapshot: &Snapshot) -> Result<(), ReplyError> {
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
            return Box::pin(self.internal(req, caller, callee, dialled, body, snapshot)).await;
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
        let Some(slot) = self.capacity.try_acquire(caller.customer_id, snapshot.limits(caller.customer_id)) else {
            let (code, reason) = snapshot.capacity_refusal();
            return req.reply(code, reason, &[]).await;
        };
        // The caller as the routes see it: its number to the outside world,
        // if that is still one of its customer's own.
        let own = fraud::caller_number(snapshot, caller.customer_id, caller.external_caller_id.as_deref());
        let src = own.map_or_else(|| caller.username.clone(), str::to_owned);
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
        let limit = match self.fraud.admit_out(snapshot, caller.customer_id, &outbound::numbers(&dialled, &plan), time_start) {
            Ok(limit) => limit,
            Err(r) => {
                tracing::info!(account = caller.id, dialled, why = r.internal, "outbound call refused by a fraud limit");
                self.cdrs.send(outbound::refused_cdr(&origin, time_start, r.code, r.reason, r.internal), None);
                return req.reply(r.code, r.reason, &r.headers()).await;
            }
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
            on_answer: Box::new({
                let connect = attempts.connector();
                move |attempt, at, dialog| connect(attempt, at, Some(dialog))
            }),
            on_attempt: attempts.reporter(),
            steps,
            caller_name: caller.caller_id_name.clone(),
            caller_number: src,
            dialled,
            sdp: offer,
            media: self.media.clone(),
            timers: CallTimers::of(snapshot, limit),
        };
        let ended = Box::pin(b2bua::run(self.client.clone(), self.dialogs.clone(), req, bridge, self.stop.clone())).await;
        drop(slot);
        attempts.finish(&ended);
        Ok(())
    }

    /// An extension-to-extension call: every binding of the callee rings,
    /// the caller shown by its extension. Not a trunk call, so no CDR; but
    /// a call all the same, so it takes a channel (Operator API §5.10:
    /// capacity counts calls of every kind).
    async fn internal(
        &self,
        mut req: Incoming,
        caller: SipLogin,
        callee: SipLogin,
        dialled: String,
        body: String,
        snapshot: &Snapshot,
    ) -> Result<(), ReplyError> {
        let Some(slot) = self.capacity.try_acquire(caller.customer_id, snapshot.limits(caller.customer_id)) else {
            tracing::info!(from = caller.id, to = callee.id, "internal call refused: insufficient channels");
            let (code, reason) = snapshot.capacity_refusal();
            return req.reply(code, reason, &[]).await;
        };
        let targets = self.contacts(callee.id);
        if targets.is_empty() {
            return req.reply(480, "Temporarily Unavailable", &[]).await;
        }
        let bridge = Bridge {
            on_answer: Box::new(|_, _, _| {}),
            on_attempt: Box::new(|_| {}),
            steps: vec![plan::Step { targets, ring_for: self.settings.no_answer_timeout, hunting: false }],
            caller_name: caller.caller_id_name.clone(),
            caller_number: caller.internal_caller_id.clone().unwrap_or(caller.username),
            dialled,
            sdp: (!body.trim().is_empty()).then_some(body),
            media: self.media.clone(),
            // No CDR, no fraud limit: the customer's own phones.
            timers: CallTimers::of(snapshot, None),
        };
        let ended = Box::pin(b2bua::run(self.client.clone(), self.dialogs.clone(), req, bridge, self.stop.clone())).await;
        drop(slot);
        tracing::debug!(from = caller.id, to = callee.id, code = ended.code, why = ?ended.internal, "internal call ended");
        Ok(())
    }
}
