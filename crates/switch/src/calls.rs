//! Calls: a new INVITE arrives and goes the way its Request-URI says. A
//! carrier's, for an incoming trunk's domain, is a DID call
//! (`carrier.rs`): admitted or refused (`inbound.rs`), it rings the DID's
//! destination and leaves an incoming trunk CDR. A phone's, for our own
//! domain, is authenticated as its SIP account (`phone.rs`) and rings the
//! extension it dialled (an internal call: no CDR), or goes out to the
//! PSTN through the routes (`outbound.rs`). Either way the call is bridged
//! by the B2BUA (`b2bua.rs` and the files it names), with leg A's early
//! dialog in `early.rs`.

mod ack;
mod b2bua;
mod carrier;
mod dialog;
mod early;
mod fork;
mod inbound;
mod orphans;
mod outbound;
mod phone;
mod plan;
mod ring;
mod session_timer;
mod talk;

pub(crate) use dialog::Dialogs;
pub(crate) use inbound::{takes_requests_from, SOURCE_NOT_ALLOWED};
pub(crate) use orphans::hang_up as hang_up_orphans;
pub(crate) use outbound::Resolver;

use crate::accounts::Accounts;
use crate::capacity::Capacity;
use crate::cdr::CdrSender;
use crate::directory::Directory;
use crate::media::MediaPool;
use crate::registrar::location::{Location, MemoryLocation};
use crate::routing::Routes;
use crate::CallSettings;
use carrier::Caller;
use inbound::Invite;
use sip::endpoint::{Client, Incoming, ReplyError};
use sip::message::{self, SipUri};
use std::sync::Arc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// What calls share: the configuration they read, the state they hold,
/// the SIP client their legs go out through.
pub(crate) struct Calls {
    pub directory: Arc<Directory>,
    pub routes: Arc<Routes>,
    pub resolver: outbound::Resolver,
    pub accounts: Arc<Accounts>,
    pub fraud: crate::fraud::Fraud,
    pub capacity: Arc<Capacity>,
    pub location: Arc<MemoryLocation>,
    /// Carriers' registrations by trunk id (`registrar/carriers.rs`).
    pub carriers: Arc<MemoryLocation>,
    pub cdrs: CdrSender,
    pub client: Client,
    pub dialogs: Arc<Dialogs>,
    pub settings: CallSettings,
    pub media: Option<Arc<MediaPool>>,
    /// Cancelled at shutdown: calls hang up and write their CDRs.
    pub stop: CancellationToken,
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
        // RFC 4028 §9: an interval below our floor is refused before anything starts.
        if let Err(session_timer::TooSmall(min_se)) = session_timer::answer(req.headers(), snapshot.session_expires) {
            return req.reply(422, "Session Interval Too Small", &[("Min-SE", &min_se.to_string())]).await;
        }
        // Via, Contact and SDP of this call say where peers reach us.
        self.client.set_public_ip(self.settings.public_address.or(snapshot.public_ip));
        if !snapshot.trunks.contains_key(&ruri.host) && self.accounts.serves(&ruri.host) {
            return Box::pin(self.phone_call(req, ruri, body, &snapshot)).await;
        }
        let invite = Invite {
            ruri_host: &ruri.host,
            ruri_user: ruri.user.as_deref(),
            to_user: to_user.as_deref(),
            sdp: &body,
            source: Some(req.source().ip()),
            tls: req.transport() == sip::Transport::Tls,
        };
        Box::pin(self.carrier_call(req, &invite, caller, &snapshot)).await
    }

    /// Where a SIP account can be rung now: its live bindings.
    fn contacts(&self, account: i64) -> Vec<plan::Contact> {
        let bindings = self.location.bindings(account, Instant::now());
        bindings.into_iter().map(|b| plan::Contact::binding(b.contact, b.source, b.transport)).collect()
    }
}
