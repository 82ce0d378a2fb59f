//! The global search of both UIs' headers: one query over customers (the
//! operator's), numbers, SIP accounts, and CDRs by call id (both kinds),
//! each a short capped list through the same store list call and scope as
//! the tabs, so the viewer finds only what it may open.

use super::html::Esc;
use super::list::{self, visible_tab, ListParams};
use super::session::Viewer;
use super::{api_error_page, layout, Auth};
use axum::extract::Query;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use std::collections::HashMap;
use std::fmt::Write as _;

/// Hits shown per kind: a search is a way in, not a list.
const PER_KIND: usize = 10;
/// CDRs are searched over this many recent days (their time index).
const CDR_DAYS: i64 = 90;

/// One kind of hit: the tab, the filter the query goes into, the field shown.
struct Kind {
    slug: &'static str,
    filter: &'static str,
    show: &'static str,
    /// Only queries that could match (digits for numbers).
    digits: bool,
}

const KINDS: &[Kind] = &[
    Kind { slug: "customers", filter: "name_cont", show: "name", digits: false },
    Kind { slug: "numbers", filter: "number_cont", show: "number", digits: true },
    Kind { slug: "sip-accounts", filter: "username_cont", show: "username", digits: false },
    Kind { slug: "termination-cdrs", filter: "orig_call_id_eq", show: "orig_call_id", digits: false },
    Kind { slug: "termination-cdrs", filter: "global_tag_eq", show: "global_tag", digits: false },
    Kind { slug: "incoming-cdrs", filter: "call_id_eq", show: "call_id", digits: false },
    Kind { slug: "incoming-cdrs", filter: "global_tag_eq", show: "global_tag", digits: false },
];

/// The header's search form.
pub fn search_box(v: &Viewer, q: &str) -> String {
    format!(
        "<form class=\"search\" role=\"search\" aria-label=\"{}\" method=\"get\" action=\"{}/search\">\
         <label for=\"global-q\" class=\"visually-hidden\">{}</label>\
         <input type=\"search\" id=\"global-q\" name=\"q\" value=\"{}\" maxlength=\"100\" placeholder=\"{}\">\
         <button type=\"submit\" class=\"small\">{}</button></form>",
        Esc(v.t("Global search")),
        v.base,
        Esc(v.t("Search customers, numbers, SIP accounts, call ids")),
        Esc(q),
        Esc(v.t("Customer, number, account, call id")),
        Esc(v.t("Search"))
    )
}

pub async fn page<A: Auth>(auth: A, Query(params): Query<HashMap<String, String>>) -> Response {
    let v = auth.viewer();
    let q: String = params.get("q").map(|s| s.trim().chars().take(100).collect()).unwrap_or_default();
    let title = v.t("Search");
    let mut b = format!("<h1>{}</h1>", Esc(title));
    if q.is_empty() {
        let _ = write!(b, "<p>{}</p>", Esc(v.t("Type a customer name, a number, a SIP account or a call id.")));
        return (StatusCode::OK, layout(&v, "", title, &b)).into_response();
    }
    let from = list::input_time(domain::time::now_ms() - CDR_DAYS * 24 * 3600 * 1000);
    let digits: String = q.chars().filter(char::is_ascii_digit).collect();
    let mut found = 0;
    for k in KINDS {
        let Some(tab) = visible_tab(&v, k.slug) else { continue };
        let term = if k.digits { digits.clone() } else { q.clone() };
        if term.is_empty() || (k.digits && digits.len() + q.chars().filter(|c| " +-()".contains(*c)).count() != q.chars().count()) {
            continue;
        }
        let mut filters = vec![(format!("filter[{}]", k.filter), term)];
        if tab.res.cdr {
            filters.push(("filter[time_start_gteq]".into(), from.clone()));
        }
        let p = ListParams {
            filters,
            sort: if tab.res.cdr { "-time_start".into() } else { "id".into() },
            page: vec![("page[size]".into(), PER_KIND.to_string())],
            tz: v.tz,
        };
        let query = match list::list_query(tab.res, &p, true) {
            Ok(query) => query,
            Err(e) => return api_error_page(&v, e),
        };
        let page = match v.app.store().list(tab.res, v.scope(), &query).await {
            Ok(page) => page,
            Err(e) => return api_error_page(&v, e.into()),
        };
        if page.records.is_empty() {
            continue;
        }
        found += page.records.len();
        let _ = write!(b, "<h2>{}</h2><ul class=\"hits\">", Esc(v.t(tab.title)));
        let f = tab.res.field(k.show).expect("a searched field");
        for rec in &page.records {
            let shown = super::form::plain(f.kind, rec.field(f));
            let _ =
                write!(b, "<li><a href=\"{}/{}/{}\">{}</a> <span class=\"muted\">#{}", v.base, tab.slug, rec.id(), Esc(&shown), rec.id());
            if let Some(t) = rec.get("time_start").as_i64() {
                let _ = write!(b, " · {} UTC", list::show_time(t));
            }
            b.push_str("</span></li>");
        }
        b.push_str("</ul>");
    }
    if found == 0 {
        let _ = write!(b, "<p class=\"empty\" role=\"status\">{}</p>", Esc(v.t("Nothing found.")));
    }
    (StatusCode::OK, layout(&v, "", title, &b)).into_response()
}

/// The customer-visible texts of this slice (search, banner, tab menu).
#[cfg(test)]
pub(crate) const LAYOUT_MESSAGES: &[&str] = &[
    "Menu",
    "Staff access",
    "Viewing as",
    "changes are audited as you",
    "Back to the operator UI",
    "End staff access",
    "Global search",
    "Search customers, numbers, SIP accounts, call ids",
    "Customer, number, account, call id",
    "Search",
    "Type a customer name, a number, a SIP account or a call id.",
    "Nothing found.",
];

#[cfg(test)]
mod tests {
    use super::LAYOUT_MESSAGES;
    use crate::ui::i18n::Lang;

    #[test]
    fn layout_texts_are_translated() {
        for lang in [Lang::Ru, Lang::Lt] {
            let missing: Vec<&&str> = LAYOUT_MESSAGES.iter().filter(|m| lang.t(m) == **m).collect();
            assert!(missing.is_empty(), "{lang:?} lacks {missing:?}");
        }
    }
}
