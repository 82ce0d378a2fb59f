//! Empty and error states of the list and record pages: an empty list
//! ("No customers yet", with Create), a filter without a match ("No
//! customers match these filters", with Reset), a bad sort or filter named
//! as such, an unknown page, and a record id that does not exist.

use super::error_page;
use super::html::Esc;
use super::list::can;
use super::session::Viewer;
use super::tabs::Tab;
use crate::api::error::ApiError;
use axum::http::StatusCode;
use axum::response::Response;
use domain::access::Method;
use domain::schema::Resource;
use std::fmt::Write as _;

/// Whether the list's query string filters at all (CDR lists always have a
/// time window, so they always count as filtered).
pub fn filtered(res: &Resource, raw: Option<&str>) -> bool {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(raw.unwrap_or("")).unwrap_or_default();
    res.cdr || pairs.iter().any(|(k, v)| k.starts_with("filter[") && !v.trim().is_empty())
}

/// The row of a list without records.
pub fn empty_row(v: &Viewer, tab: &Tab, filtered: bool, span: usize, b: &mut String) {
    let what = v.t(tab.title).to_lowercase();
    let _ = write!(b, "<tr><td class=\"empty\" colspan=\"{span}\"><p>");
    if filtered {
        let _ = write!(
            b,
            "{} {} {}</p><a class=\"button\" href=\"{}/{}\">{}</a>",
            Esc(v.t("No")),
            Esc(&what),
            Esc(v.t("match these filters")),
            v.base,
            tab.slug,
            Esc(v.t("Reset"))
        );
    } else {
        let _ = write!(b, "{} {} {}</p>", Esc(v.t("No")), Esc(&what), Esc(v.t("yet")));
        if can(v, tab.res, Method::Create) {
            let _ = write!(b, "<a class=\"button primary\" href=\"{}/{}/new\">{}</a>", v.base, tab.slug, Esc(v.t("+ Create")));
        }
    }
    b.push_str("</td></tr>");
}

/// A list parameter the list cannot use, named: "The sort "foo" is not
/// valid: ...".
pub fn bad_param(v: &Viewer, e: &ApiError) -> String {
    match e.parameter.as_deref() {
        Some("sort") => format!("{} {}", v.t("This sort cannot be used:"), v.lang.t_msg(&e.detail)),
        Some(p) => format!("{} {p}: {}", v.t("This filter cannot be used:"), v.lang.t_msg(&e.detail)),
        None => v.lang.t_msg(&e.detail),
    }
}

/// An unknown page (a tab that does not exist or the viewer does not see).
pub fn no_such_page(v: &Viewer) -> Response {
    error_page(v, StatusCode::NOT_FOUND, v.t("Not found"), v.t("No such page."))
}

/// A record id that does not exist (or not for this viewer): "Customer #7
/// does not exist".
pub fn missing(v: &Viewer, res: &Resource, id: &str) -> Response {
    let detail = format!("{} #{id:.20} {}", v.t(kind_name(res)), v.t("does not exist."));
    error_page(v, StatusCode::NOT_FOUND, v.t("Not found"), &detail)
}

/// One record of a resource, as a reader calls it.
pub fn kind_name(res: &Resource) -> &'static str {
    match res.kind {
        "customers" => "Customer",
        "available_did_numbers" => "Number",
        "sip_device_routes" => "SIP account",
        "ring_groups" => "Ring group",
        "capacity_groups" => "Capacity group",
        "incoming_trunks" => "Incoming trunk",
        "termination_gateways" => "Termination gateway",
        "termination_routes" => "Termination route",
        "incoming_trunk_cdrs" | "termination_cdrs" => "CDR",
        "operator_users" => "Operator user",
        "customer_users" => "Customer user",
        "api_credentials" => "API credential",
        "audit_log_entries" => "Audit log entry",
        _ => "Record",
    }
}
