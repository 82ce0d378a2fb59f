//! Carriers that register: a REGISTER whose Request-URI names an incoming
//! trunk's domain is the carrier's, not a phone's. It is taken only from
//! the trunk's allowed sources (and over TLS for a TLS trunk), and only
//! with the trunk's `auth_name`/`auth_password`; a trunk without
//! credentials takes no registrations. While a registration lasts, the
//! carrier's INVITEs from the address it registered from need no digest:
//! that is what a carrier which registers expects. Its bindings are kept
//! in memory only; a carrier registers again within its interval, and
//! until then its calls are challenged as before.

use super::{Registrant, Registrar};
use crate::accounts::TrunkAuth;
use crate::calls::{takes_requests_from, SOURCE_NOT_ALLOWED};
use crate::registrar::location::Location;
use sip::endpoint::{Incoming, ReplyError, Transport};
use sip::message::SipUri;
use std::net::IpAddr;
use store::directory::TrunkRow;
use tokio::time::Instant;

impl Registrar {
    /// The incoming trunk whose domain a Request-URI host is, if any.
    pub(super) async fn trunk_for(&self, host: &str) -> Option<TrunkRow> {
        match self.directory.snapshot().await {
            Ok(snapshot) => snapshot.trunks.get(host).cloned(),
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the trunks; REGISTER taken as a phone's");
                None
            }
        }
    }

    /// A carrier's REGISTER for `trunk`.
    pub(super) async fn register_carrier(&self, req: &mut Incoming, ruri: &SipUri, trunk: &TrunkRow) -> Result<(), ReplyError> {
        let source = req.source().ip();
        if self.accounts.source_blocked(source) || self.accounts.outsider_blocked(source, trunk.id) {
            return Ok(());
        }
        if let Err(why) = takes_requests_from(trunk, Some(source), req.transport() == Transport::Tls) {
            if why == SOURCE_NOT_ALLOWED {
                self.accounts.outsider(source, trunk.id, why);
            }
            return req.reply(403, "Forbidden", &[]).await;
        }
        let Some((name, password)) = &trunk.auth else {
            tracing::info!(trunk = trunk.id, %source, "REGISTER for a trunk without credentials refused");
            return req.reply(403, "Forbidden", &[]).await;
        };
        match self.accounts.authenticate_trunk(req, ruri, trunk.id, (name, password)).await? {
            TrunkAuth::Authenticated => self.update_bindings(req, Registrant::Trunk(trunk.id)).await,
            TrunkAuth::Answered => Ok(()),
            TrunkAuth::Failed => req.reply(403, "Forbidden", &[]).await,
        }
    }
}

/// Whether the carrier of `trunk` holds a live registration from `source`.
pub(crate) fn registered_from(carriers: &dyn Location, trunk: i64, source: IpAddr) -> bool {
    carriers.bindings(trunk, Instant::now()).iter().any(|b| b.source.ip() == source)
}
