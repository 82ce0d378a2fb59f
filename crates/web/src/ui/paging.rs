//! The paging bar under every list of both UIs: rows per page (25, 50,
//! 100 or 500: the UI may read more at once than the API gives out),
//! First / Previous / Next / Last with the page and record count for
//! ordinary lists, and keyset First / Previous / Next for CDR lists, whose
//! count comes from their totals (no Last there: a cursor cannot jump to
//! the end of ten million rows, and a count of them would be a scan).

use super::html::{query, Esc};
use super::list::ListParams;
use super::session::Viewer;
use crate::api::error::{ApiError, ApiResult};
use crate::api::params;
use domain::schema::Resource;
use std::fmt::Write as _;
use store::cdr::CdrTotals;
use store::{ListPage, ListQuery, Record};

/// The page sizes a UI list offers.
pub const SIZES: [u64; 4] = [25, 50, 100, 500];

/// The most rows a UI page reads.
pub const MAX_SIZE: u64 = 500;

/// Takes `page[size]` out of a list's page parameters (the API's parser
/// caps it lower than the UI reads): 1 to [`MAX_SIZE`] (the bar offers
/// [`SIZES`]; search asks for a few), else a 400.
pub fn take_size(page: &mut Vec<(String, String)>) -> ApiResult<Option<u64>> {
    let Some(i) = page.iter().position(|(k, _)| k == "page[size]") else { return Ok(None) };
    let (_, raw) = page.remove(i);
    match raw.parse::<u64>() {
        Ok(n) if (1..=MAX_SIZE).contains(&n) => Ok(Some(n)),
        _ => Err(ApiError::bad_param(
            "Invalid page value",
            "118",
            "page[size]",
            format!("{raw:.20} is not a page size here: a whole number from 1 to {MAX_SIZE}."),
        )),
    }
}

/// Applies the UI's page size to a query the API's parser built with its
/// default size (so `offset` is a whole number of those pages).
pub fn resize(q: &mut ListQuery, size: Option<u64>) {
    if let Some(size) = size {
        q.offset = q.offset / q.limit.max(1) * size;
        q.limit = size;
    }
}

/// A keyset cursor for a row, by the list's sort key.
fn cursor(q: &ListQuery, r: &Record) -> String {
    params::cursor(q.sort.first().filter(|s| s.0 != "id").and_then(|s| r.get(s.0).as_i64()), r.id())
}

fn button(b: &mut String, rel: &str, href: &str, text: &str) {
    let rel = if rel.is_empty() { String::new() } else { format!(" rel=\"{rel}\"") };
    let _ = write!(b, "<a class=\"button\"{rel} href=\"{}\">{}</a>", Esc(href), Esc(text));
}

/// The paging bar of a list page. `totals` are a CDR list's (its count).
pub fn bar(v: &Viewer, res: &Resource, p: &ListParams, q: &ListQuery, pg: &ListPage, totals: Option<&CdrTotals>, b: &mut String) {
    let mut base = p.filters.clone();
    base.push(("sort".into(), p.sort.clone()));
    let size = q.limit;
    if size != params::DEFAULT_PAGE_SIZE {
        base.push(("page[size]".into(), size.to_string()));
    }
    let link = |extra: Vec<(String, String)>| {
        let mut all = base.clone();
        all.extend(extra);
        format!("?{}", query(&all))
    };
    let _ = write!(b, "<nav class=\"pages\" aria-label=\"{}\">", Esc(v.t("Pagination")));
    let keyset = res.cdr && params::keyset_sort(q) && !p.page.iter().any(|(k, _)| k == "page[number]");
    if keyset {
        match totals {
            Some(t) if t.capped => {
                let _ = write!(b, "<span class=\"info\">{} {} {}</span>", Esc(v.t("at least")), t.calls, Esc(v.t("records")));
            }
            Some(t) => {
                let _ = write!(b, "<span class=\"info\">{} {}</span>", t.calls, Esc(v.t("records")));
            }
            None => {
                let _ = write!(b, "<span class=\"info\">{} {}</span>", pg.records.len(), Esc(v.t("records")));
            }
        }
        if let (true, Some(first)) = (pg.has_before, pg.records.first()) {
            button(b, "", &link(vec![]), v.t("First page"));
            button(b, "prev", &link(vec![("page[before]".into(), cursor(q, first))]), v.t("Previous"));
        }
        if let (true, Some(last)) = (pg.has_more, pg.records.last()) {
            button(b, "next", &link(vec![("page[after]".into(), cursor(q, last))]), v.t("Next"));
        }
    } else {
        let number = q.offset / size + 1;
        let pages = pg.total.map(|t| t.div_ceil(size).max(1));
        match (pg.total, pages) {
            (Some(total), Some(pages)) => {
                let _ = write!(
                    b,
                    "<span class=\"info\">{} {number} {} {pages} · {total} {}</span>",
                    Esc(v.t("Page")),
                    Esc(v.t("of")),
                    Esc(v.t("records"))
                );
            }
            _ => {
                let _ = write!(b, "<span class=\"info\">{} {number}</span>", Esc(v.t("Page")));
            }
        }
        let page_link = |n: u64| link(vec![("page[number]".into(), n.to_string())]);
        if number > 1 {
            button(b, "", &page_link(1), v.t("First page"));
            button(b, "prev", &page_link(number - 1), v.t("Previous"));
        }
        if pg.has_more {
            button(b, "next", &page_link(number + 1), v.t("Next"));
            if let Some(pages) = pages.filter(|n| *n > number) {
                button(b, "", &page_link(pages), v.t("Last page"));
            }
        }
    }
    size_form(v, p, size, b);
    b.push_str("</nav>");
}

/// Rows per page: a GET form keeping the filters and sort (back to the
/// first page); app.js sends it on change.
fn size_form(v: &Viewer, p: &ListParams, size: u64, b: &mut String) {
    b.push_str("<form class=\"page-size\" method=\"get\">");
    for (k, val) in p.filters.iter().chain(std::iter::once(&("sort".to_owned(), p.sort.clone()))) {
        let _ = write!(b, "<input type=\"hidden\" name=\"{}\" value=\"{}\">", Esc(k), Esc(val));
    }
    let _ = write!(b, "<label for=\"page-size\">{}</label><select id=\"page-size\" name=\"page[size]\">", Esc(v.t("Rows per page")));
    for n in SIZES {
        let sel = if n == size { " selected" } else { "" };
        let _ = write!(b, "<option value=\"{n}\"{sel}>{n}</option>");
    }
    let _ = write!(b, "</select><button type=\"submit\" class=\"small\">{}</button></form>", Esc(v.t("Show")));
}
