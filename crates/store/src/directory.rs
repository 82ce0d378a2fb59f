//! What the SIP plane reads to handle calls: incoming trunks, DID numbers,
//! ring groups, customers' limits, capacity groups and the domain settings that shape call handling, in
//! one snapshot it keeps in memory and reloads when they change.

use crate::{Result, Store};
use sqlx::Row as _;

/// An incoming trunk as call handling needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrunkRow {
    pub id: i64,
    pub customer_id: i64,
    /// `<id>.in.<sip domain>`; `None` only for rows made before domains existed.
    pub domain: Option<String>,
    /// Comma-separated canonical codec names, in priority order.
    pub codecs: String,
    /// `RURI_USERPART` or `TO_USERPART`.
    pub destination_field: String,
    /// `UDP`, `TCP` or `TLS`.
    pub transport: String,
    /// Where its calls may come from; empty: anywhere.
    pub allowed_sources: Vec<domain::net::Net>,
    /// The digest credentials (name, password) its calls must carry.
    pub auth: Option<(String, String)>,
}

/// A DID number and what it rings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DidRow {
    pub id: i64,
    pub customer_id: i64,
    pub number: String,
    pub enabled: bool,
    /// The JSON:API type of the destination (`sip_device_routes` or
    /// `ring_groups`), if any.
    pub destination_type: Option<String>,
    pub destination_id: Option<i64>,
    pub forward_number: Option<String>,
}

/// A ring group: its members (SIP account ids) and external numbers in
/// ringing order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RingGroupRow {
    pub id: i64,
    pub customer_id: i64,
    /// `simultaneous` or `sequential`.
    pub strategy: String,
    /// Seconds the group (simultaneous) or each member (sequential) rings.
    pub ring_timeout: i64,
    pub members: Vec<i64>,
    /// E.164 digits, rung through the customer's termination routes.
    pub external_numbers: Vec<String>,
}

/// A customer's call limits (`None`: unlimited), fraud limits included
/// (docs/limits.md, "Fraud limits").
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CustomerRow {
    pub id: i64,
    pub capacity_limit: Option<i64>,
    /// Calls per second toward the PSTN.
    pub max_cps: Option<i64>,
    /// Seconds an answered call may last.
    pub max_call_duration: Option<i64>,
    /// Digit prefixes of numbers it may not call.
    pub blocked_prefixes: Vec<String>,
    /// Minutes of answered calls toward the PSTN per UTC day.
    pub daily_minutes_limit: Option<i64>,
    /// It may show any external caller id, not only its own DIDs.
    pub allow_any_caller_id: bool,
}

/// A capacity group: the channels its customers share.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CapacityGroupRow {
    pub id: i64,
    pub capacity: i64,
    pub customers: Vec<i64>,
}

/// Everything call handling reads, read together.
#[derive(Debug, Clone, Default)]
pub struct CallConfig {
    pub trunks: Vec<TrunkRow>,
    pub dids: Vec<DidRow>,
    pub ring_groups: Vec<RingGroupRow>,
    pub customers: Vec<CustomerRow>,
    pub capacity_groups: Vec<CapacityGroupRow>,
    /// Channels ordered on the account (`None`: unlimited); what no group
    /// holds is shared by the customers in no group.
    pub total_channels: Option<i64>,
    /// Digit prefixes no customer may call (`blocked_prefixes` setting).
    pub blocked_prefixes: Vec<String>,
    /// The status for a call over a customer's capacity_limit: 480 or 403.
    pub capacity_reject_code: u16,
    pub sip_domain: String,
    /// `sip_public_address`: where peers reach this server, if not at its
    /// sockets' addresses.
    pub sip_public_address: Option<String>,
    /// Seconds between keep-alive pings to phones behind NAT (0: none).
    pub nat_keepalive: u32,
    /// Seconds a relayed call may go without RTP or RTCP (0: no limit).
    pub media_timeout: u32,
    /// The RFC 4028 session interval we offer, in seconds (0: no timer).
    pub session_expires: u32,
}

impl Store {
    /// Reads the call-handling configuration.
    pub async fn call_config(&self) -> Result<CallConfig> {
        let trunks = sqlx::query(
            "SELECT id, customer_id, domain, codecs, destination_field, transport_protocol, allowed_sources, auth_name, auth_password \
             FROM incoming_trunks",
        )
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| {
            Ok(TrunkRow {
                id: r.try_get("id")?,
                customer_id: r.try_get("customer_id")?,
                domain: r.try_get("domain")?,
                codecs: r.try_get("codecs")?,
                destination_field: r.try_get("destination_field")?,
                transport: r.try_get("transport_protocol")?,
                allowed_sources: domain::net::parse_list(&r.try_get::<String, _>("allowed_sources")?),
                auth: match (r.try_get::<Option<String>, _>("auth_name")?, r.try_get::<Option<String>, _>("auth_password")?) {
                    (Some(name), Some(password)) => Some((name, password)),
                    _ => None,
                },
            })
        })
        .collect::<Result<Vec<_>>>()?;
        let dids =
            sqlx::query("SELECT id, customer_id, number, enabled, destination_type, destination_id, forward_number FROM did_numbers")
                .fetch_all(&self.pool)
                .await?
                .iter()
                .map(|r| {
                    Ok(DidRow {
                        id: r.try_get("id")?,
                        customer_id: r.try_get("customer_id")?,
                        number: r.try_get("number")?,
                        enabled: crate::sql::decode(r, "enabled", domain::schema::Storage::Bool)?.as_bool().unwrap_or(false),
                        destination_type: r.try_get("destination_type")?,
                        destination_id: r.try_get("destination_id")?,
                        forward_number: r.try_get("forward_number")?,
                    })
                })
                .collect::<Result<Vec<_>>>()?;
        let ring_groups = sqlx::query("SELECT id, customer_id, strategy, ring_timeout, member_ids, external_numbers FROM ring_groups")
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|r| {
                Ok(RingGroupRow {
                    id: r.try_get("id")?,
                    customer_id: r.try_get("customer_id")?,
                    strategy: r.try_get("strategy")?,
                    ring_timeout: r.try_get("ring_timeout")?,
                    members: crate::record::parse_id_list(r.try_get("member_ids")?).collect(),
                    external_numbers: domain::validate::phone_number_list(&r.try_get::<String, _>("external_numbers")?)
                        .map(str::to_owned)
                        .collect(),
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let customers = sqlx::query(
            "SELECT id, capacity_limit, max_cps, max_call_duration, blocked_prefixes, daily_minutes_limit, allow_any_caller_id \
             FROM customers",
        )
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| {
            Ok(CustomerRow {
                id: r.try_get("id")?,
                capacity_limit: r.try_get("capacity_limit")?,
                max_cps: r.try_get("max_cps")?,
                max_call_duration: r.try_get("max_call_duration")?,
                blocked_prefixes: prefix_list(&r.try_get::<String, _>("blocked_prefixes")?),
                daily_minutes_limit: r.try_get("daily_minutes_limit")?,
                allow_any_caller_id: crate::sql::decode(r, "allow_any_caller_id", domain::schema::Storage::Bool)?.as_bool() == Some(true),
            })
        })
        .collect::<Result<Vec<_>>>()?;
        let capacity_groups = sqlx::query("SELECT id, capacity, customer_ids FROM capacity_groups")
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|r| {
                Ok(CapacityGroupRow {
                    id: r.try_get("id")?,
                    capacity: r.try_get("capacity")?,
                    customers: crate::record::parse_id_list(r.try_get("customer_ids")?).collect(),
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let settings = self.settings().await?;
        let seconds = |name, default| settings.get(name).as_i64().and_then(|s| u32::try_from(s).ok()).unwrap_or(default);
        Ok(CallConfig {
            trunks,
            dids,
            ring_groups,
            customers,
            capacity_groups,
            total_channels: settings.get("total_channels").as_i64(),
            blocked_prefixes: prefix_list(settings.get("blocked_prefixes").as_str().unwrap_or_default()),
            capacity_reject_code: settings.get("capacity_reject_code").as_i64().and_then(|c| u16::try_from(c).ok()).unwrap_or(480),
            sip_domain: settings.get("sip_domain").as_str().unwrap_or("switchboard.local").to_owned(),
            sip_public_address: settings.get("sip_public_address").as_str().map(str::to_owned),
            nat_keepalive: seconds("nat_keepalive", 30),
            media_timeout: seconds("media_timeout", 60),
            session_expires: seconds("session_expires", 1800),
        })
    }
}

/// A stored `Kind::Prefixes` list.
fn prefix_list(stored: &str) -> Vec<String> {
    stored.split(',').filter(|p| !p.is_empty()).map(str::to_owned).collect()
}
