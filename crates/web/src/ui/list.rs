//! List pages: the guide's columns, sorting by column links, the filter
//! bar (the API's filter names, so a list URL and its CSV export say the
//! same thing), pagination (numbered pages, or a cursor for CDRs), and the
//! row actions. The query goes through the API's parameter parser and the
//! same store list call.

use super::clock::{self, Tz};
use super::html::{query, url_encode, Esc};
use super::session::Viewer;
use super::tabs::{self, Col, Tab};
use super::{api_error_page, csrf_input, layout, not_found, Auth};
use crate::api::error::{ApiError, ApiResult};
use crate::api::params;
use axum::extract::{Path, RawQuery};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use domain::access::Method;
use domain::schema::{self, Field, Kind, Resource, Storage};
use domain::Value;
use std::collections::HashMap;
use std::fmt::Write as _;
use store::{ListQuery, Record};

/// Whether the viewer sees this tab at all.
pub fn visible(v: &Viewer, t: &Tab) -> bool {
    v.scope().sees(t.res) && (t.customer || !v.is_customer())
}

pub fn visible_tab(v: &Viewer, slug: &str) -> Option<&'static Tab> {
    tabs::tab(slug).filter(|t| visible(v, t))
}

/// Whether the viewer may do `m` to records of `res`: which buttons to
/// offer. The same policy refuses the POST, and the store checks again.
pub fn can(v: &Viewer, res: &'static Resource, m: Method) -> bool {
    v.policy.may(res, m).is_ok()
}

/// Whether the viewer may do `m` to this record.
pub fn can_change(v: &Viewer, rec: &Record, m: Method) -> bool {
    v.policy.may_change(rec.res, m, rec).is_ok()
}

/// The list parameters of a request, empty filters dropped.
pub struct ListParams {
    /// As typed: time filters are wall-clock times in `tz`.
    pub filters: Vec<(String, String)>,
    pub sort: String,
    pub page: Vec<(String, String)>,
    /// The viewer's zone, in which time filters are read.
    pub tz: Tz,
}

fn default_sort(res: &Resource) -> &'static str {
    if res.cdr {
        "-time_start"
    } else if res.kind == "audit_log_entries" {
        "-id"
    } else {
        "id"
    }
}

pub fn read_params(res: &Resource, raw: Option<&str>, tz: Tz) -> ApiResult<ListParams> {
    let pairs: Vec<(String, String)> =
        serde_urlencoded::from_str(raw.unwrap_or("")).map_err(|_| ApiError::bad_request("The query string is not valid URL encoding."))?;
    let mut p = ListParams { filters: Vec::new(), sort: default_sort(res).to_owned(), page: Vec::new(), tz };
    for (k, v) in pairs {
        let v = v.trim().to_owned();
        if v.is_empty() {
            continue;
        }
        if k.starts_with("filter[") {
            p.filters.push((k, v));
        } else if k.starts_with("page[") {
            p.page.push((k, v));
        } else if k == "sort" {
            p.sort = v;
        }
    }
    // CDR lists always have a window; the last day unless one is given.
    if res.cdr && !p.filters.iter().any(|(k, _)| k == "filter[time_start_gteq]") {
        let from = domain::time::now_ms() - 24 * 3600 * 1000;
        p.filters.push(("filter[time_start_gteq]".into(), clock::input(from, tz)));
    }
    Ok(p)
}

/// The sort key a column sorts by, if any: attributes and relationship ids.
fn sort_name(c: Col) -> Option<String> {
    match c {
        Col::Attr(n) => Some(n.to_owned()),
        Col::RelId(r) => Some(format!("{r}.id")),
        Col::RelName(..) => None,
    }
}

fn sort_column(res: &Resource, name: &str) -> Option<(&'static str, Storage)> {
    if let Some(r) = name.strip_suffix(".id").and_then(|r| res.rel(r)) {
        return Some((r.column, Storage::Int));
    }
    res.field(name).filter(|f| params::queryable(f)).map(|f| (f.column, f.kind.storage()))
}

/// The store query of a list: filters and paging through the API's parser,
/// then the UI's sort (which may also name a relationship id).
pub fn list_query(res: &'static Resource, p: &ListParams, paged: bool) -> ApiResult<ListQuery> {
    let mut pairs = utc_filters(res, p)?;
    let mut page = p.page.clone();
    let size = super::paging::take_size(&mut page)?;
    pairs.extend(page);
    let api = params::parse(Some(&query(&pairs)))?;
    let mut q = params::list_query(res, &api, paged)?;
    super::paging::resize(&mut q, size);
    let (desc, name) = p.sort.strip_prefix('-').map_or((false, p.sort.as_str()), |n| (true, n));
    let (col, st) = sort_column(res, name)
        .ok_or_else(|| ApiError::bad_param("Invalid sort criteria", "114", "sort", format!("{name} is not a valid sort criteria")))?;
    q.sort = vec![(col, st, desc)];
    if (q.after.is_some() || q.before.is_some()) && !params::keyset_sort(&q) {
        return Err(ApiError::bad_param("Invalid page value", "118", "page[after]", "A page cursor needs a sort by time or id."));
    }
    Ok(q)
}

/// The filters with time values turned from the viewer's wall clock into
/// the UTC the API takes.
fn utc_filters(res: &Resource, p: &ListParams) -> ApiResult<Vec<(String, String)>> {
    let mut out = Vec::with_capacity(p.filters.len());
    for (k, val) in &p.filters {
        let param = k.strip_prefix("filter[").and_then(|x| x.strip_suffix(']')).unwrap_or(k);
        if filter_kind(res, param) != Some(Kind::Time) {
            out.push((k.clone(), val.clone()));
            continue;
        }
        let ms = clock::parse_local(val, p.tz).ok_or_else(|| {
            ApiError::bad_param(
                "Invalid filter value",
                "103",
                k,
                format!("{val:.40} is not a valid time: expected YYYY-MM-DD hh:mm:ss ({}).", p.tz.name()),
            )
        })?;
        out.push((k.clone(), input_time(ms)));
    }
    Ok(out)
}

/// `YYYY-MM-DDThh:mm:ss` in UTC (the API's time filters take it).
pub fn input_time(ms: i64) -> String {
    let s = domain::time::format_rfc3339(ms);
    s[..19].to_owned()
}

/// A time for reading where no viewer is at hand: UTC, named.
pub fn show_time(ms: i64) -> String {
    clock::show(ms, Tz::UTC)
}

/// One column of a list as shown: its key (in the chooser and the
/// preferences), its label in the viewer's language, and what it shows.
#[derive(Debug, Clone)]
pub struct ListCol {
    pub key: String,
    pub label: String,
    pub col: Col,
}

fn key_of(col: Col) -> String {
    match col {
        Col::Attr(n) => n.to_owned(),
        Col::RelId(r) => format!("{r}.id"),
        Col::RelName(r, _) => r.to_owned(),
    }
}

/// Every column a viewer may choose for a tab: the defaults first, then
/// each other attribute and relationship of the resource.
pub fn all_columns(v: &Viewer, tab: &Tab) -> Vec<ListCol> {
    let mut out: Vec<ListCol> = tab
        .columns
        .iter()
        .filter(|c| !(v.is_customer() && c.about_customer()))
        .map(|c| ListCol { key: key_of(c.col), label: v.t(c.label).to_owned(), col: c.col })
        .collect();
    let res = tab.res;
    for f in res.fields.iter().filter(|f| f.mode != schema::Mode::Hashed && f.kind != Kind::Json) {
        if !out.iter().any(|c| c.key == f.name) {
            out.push(ListCol { key: f.name.to_owned(), label: v.t(&tabs::label(f.name)).to_owned(), col: Col::Attr(f.name) });
        }
    }
    for r in res.rels {
        if r.name == "customer" && v.is_customer() {
            continue;
        }
        if !out.iter().any(|c| c.key == r.name) {
            out.push(ListCol { key: r.name.to_owned(), label: v.t(&tabs::rel_label(r)).to_owned(), col: Col::RelName(r.name, "name") });
        }
        let id_key = format!("{}.id", r.name);
        if !r.many && !out.iter().any(|c| c.key == id_key) {
            let label = format!("{} {}", v.t(&tabs::rel_label(r)), v.t("ID"));
            out.push(ListCol { key: id_key, label, col: Col::RelId(r.name) });
        }
    }
    out
}

/// The defaults of a tab as list columns.
fn default_keys(v: &Viewer, tab: &Tab) -> Vec<String> {
    tab.columns.iter().filter(|c| !(v.is_customer() && c.about_customer())).map(|c| key_of(c.col)).collect()
}

/// The columns the viewer has chosen for a tab (in the chooser's order),
/// or the defaults.
pub fn shown_columns(v: &Viewer, tab: &Tab) -> Vec<ListCol> {
    let all = all_columns(v, tab);
    if let Some(keys) = v.prefs.columns(tab.slug) {
        let chosen: Vec<ListCol> = all.iter().filter(|c| keys.contains(&c.key)).cloned().collect();
        if !chosen.is_empty() {
            return chosen;
        }
    }
    let defaults = default_keys(v, tab);
    all.into_iter().filter(|c| defaults.contains(&c.key)).collect()
}

/// Related records shown by name in a list, looked up once per page:
/// (relationship, target type, id) to the name and whether the viewer may
/// open that record (only those get a link). A customer's own record may
/// point at one it cannot open (its route's shared gateway): that one is
/// named, from the operator's side, but not linked.
pub async fn names(v: &Viewer, res: &Resource, columns: &[ListCol], records: &[Record]) -> ApiResult<Names> {
    let mut out = Names::new();
    for c in columns {
        let (rel_name, field) = match c.col {
            Col::RelName(r, f) => (r, Some(f)),
            Col::RelId(r) => (r, None),
            Col::Attr(_) => continue,
        };
        let Some(rel) = res.rel(rel_name) else { continue };
        for kind in rel.targets {
            let Some(target) = schema::resource(kind) else { continue };
            let mut ids: Vec<i64> = records.iter().flat_map(|r| r.rel_ids(rel)).filter(|(k, _)| k == kind).map(|(_, id)| id).collect();
            ids.sort_unstable();
            ids.dedup();
            if ids.is_empty() {
                continue;
            }
            // The column's field where the target has it, else what the record is called.
            let name_of = |r: &Record| {
                target
                    .field(field.unwrap_or("name"))
                    .and_then(|f| r.field(f).as_str())
                    .map_or_else(|| super::form::record_name(r), str::to_owned)
            };
            let seen = if v.scope().sees(target) { v.app.store().get_many(target, v.scope(), &ids).await? } else { Vec::new() };
            for r in &seen {
                out.insert((rel.name, target.kind, r.id()), (name_of(r), true));
            }
            let mut hidden: Vec<i64> = ids.into_iter().filter(|id| !seen.iter().any(|r| r.id() == *id)).collect();
            if v.is_customer() && !hidden.is_empty() {
                hidden.truncate(100);
                for r in v.app.store().get_many(target, store::Scope::Operator, &hidden).await? {
                    out.insert((rel.name, target.kind, r.id()), (name_of(&r), false));
                }
            }
        }
    }
    Ok(out)
}

/// One cell's content for an attribute.
pub fn cell(v: &Viewer, f: &Field, val: &Value, out: &mut String) {
    match (f.kind, val) {
        (_, Value::Null) => {}
        (Kind::Bool, Value::Bool(b)) if f.name == "is_online" => {
            let _ = if *b {
                write!(out, "<span class=\"badge ok\">{}</span>", Esc(v.t("Online")))
            } else {
                write!(out, "<span class=\"badge\">{}</span>", Esc(v.t("Offline")))
            };
        }
        (Kind::Bool, Value::Bool(b)) => out.push_str(if *b { v.t("Yes") } else { v.t("No") }),
        (Kind::Secret, Value::Text(s)) => {
            let _ =
                write!(out, "<details class=\"secret\"><summary>{}</summary><code>{}</code></details>", Esc(v.t("Show password")), Esc(s));
        }
        (Kind::Time, Value::Int(ms)) => {
            let abs = clock::show(*ms, v.tz);
            // Recent moments of a record's life read better as "2 min ago";
            // a call's own times stay absolute.
            let ago = if f.name.starts_with("time_") { None } else { clock::ago(*ms, domain::time::now_ms()) };
            match ago {
                Some((n, unit)) => {
                    let _ = write!(out, "<time datetime=\"{}\" title=\"{}\">{n} {}</time>", clock::machine(*ms), Esc(&abs), Esc(v.t(unit)));
                }
                None => {
                    let _ = write!(out, "<time datetime=\"{}\">{}</time>", clock::machine(*ms), Esc(&abs));
                }
            }
        }
        (Kind::Int { .. }, Value::Int(secs)) if f.name == "duration" => {
            let _ = write!(out, "<span title=\"{secs} s\">{}</span>", clock::duration(*secs));
        }
        (Kind::Enum(_), Value::Text(s)) => {
            let _ = write!(out, "{}", Esc(super::enums::shown(v, s)));
        }
        (k, Value::Text(s)) if k.is_list() => {
            let _ = write!(out, "{}", Esc(&s.replace(',', ", ")));
        }
        (_, other) => {
            let _ = write!(out, "{}", Esc(&super::form::plain(f.kind, other)));
        }
    }
}

pub async fn list<A: Auth>(auth: A, Path(slug): Path<String>, RawQuery(raw): RawQuery) -> Response {
    let v = auth.viewer();
    if let Some(slug) = slug.strip_suffix(".csv") {
        return export(&v, slug, raw.as_deref()).await;
    }
    let Some(tab) = visible_tab(&v, &slug) else { return not_found(&v) };
    let res = tab.res;
    let p = match read_params(res, raw.as_deref(), v.tz) {
        Ok(p) => p,
        Err(e) => return api_error_page(&v, e),
    };
    let columns = shown_columns(&v, tab);
    let mut problem = None;
    let mut page = None;
    match list_query(res, &p, true) {
        Ok(q) => match v.app.store().list(res, v.scope(), &q).await {
            Ok(pg) => page = Some((q, pg)),
            Err(e) => return api_error_page(&v, e.into()),
        },
        Err(e) => problem = Some(super::states::bad_param(&v, &e)),
    }
    let names = match &page {
        Some((_, pg)) => match names(&v, res, &columns, &pg.records).await {
            Ok(n) => n,
            Err(e) => return api_error_page(&v, e),
        },
        None => Names::new(),
    };

    let mut b = String::with_capacity(32 * 1024);
    let title = v.t(tab.title);
    let filter_query = query(&p.filters);
    let _ = write!(b, "<div class=\"toolbar\"><h1>{}</h1>", Esc(title));
    if can(&v, res, Method::Create) {
        let _ = write!(b, "<a class=\"button primary\" href=\"{}/{}/new\">{}</a>", v.base, tab.slug, Esc(v.t("+ Create")));
    }
    let sort_q = format!("sort={}", url_encode(&p.sort));
    let sep = if filter_query.is_empty() { "" } else { "&" };
    let _ = write!(
        b,
        "<a class=\"button\" href=\"{}/{}.csv?{filter_query}{sep}{sort_q}\" download>{}</a></div>",
        v.base,
        tab.slug,
        Esc(v.t("Export CSV"))
    );
    if raw.as_deref().is_some_and(|r| r.split('&').any(|kv| kv == "done=deleted")) {
        let _ = write!(b, "<p class=\"notice\" role=\"status\">{}</p>", Esc(v.t("Deleted.")));
    }
    filter_bar(&v, tab, &p, &mut b);
    let back = match raw.as_deref().filter(|r| !r.is_empty()) {
        Some(r) => format!("{}/{}?{r}", v.base, tab.slug),
        None => format!("{}/{}", v.base, tab.slug),
    };
    super::prefs::chooser(&v, tab, &columns, &back, &mut b);
    if let Some(msg) = &problem {
        let _ = write!(b, "<p class=\"alert\" role=\"alert\">{}</p>", Esc(msg));
    }
    let totals = match &page {
        Some((q, _)) if res.cdr => match super::totals::of(&v, res, q).await {
            Ok(t) => Some(t),
            Err(e) => return api_error_page(&v, e),
        },
        _ => None,
    };
    if let Some(t) = &totals {
        super::totals::strip(&v, t, &mut b);
    }

    let bulk = super::bulk::enabled(&v, tab) && problem.is_none();
    if bulk {
        let mut all = p.filters.clone();
        all.push(("sort".into(), p.sort.clone()));
        super::bulk::bar(&v, tab, &query(&all), page.as_ref().and_then(|(_, pg)| pg.total), &mut b);
    }
    let live = res.kind == "sip_device_routes";
    b.push_str("<div class=\"table-wrap\"><table");
    if res.cdr {
        // Many narrow columns: tighter cells keep the list on a laptop screen.
        b.push_str(" class=\"cdr\"");
    }
    if live {
        let _ = write!(
            b,
            " data-live-src=\"{}/sip-accounts/live\" data-online=\"{}\" data-offline=\"{}\"",
            v.base,
            Esc(v.t("Online")),
            Esc(v.t("Offline"))
        );
    }
    b.push_str("><thead><tr>");
    if bulk {
        super::bulk::head_cell(&v, &mut b);
    }
    let (sort_desc, sort_by) = p.sort.strip_prefix('-').map_or((false, p.sort.as_str()), |n| (true, n));
    for c in &columns {
        let label = c.label.as_str();
        // Only sorts the list can use get a link (not a password, say).
        match sort_name(c.col).filter(|n| sort_column(res, n).is_some()) {
            Some(name) => {
                let current = name == sort_by;
                let next = if current && !sort_desc { format!("-{name}") } else { name.clone() };
                let aria = match (current, sort_desc) {
                    (true, false) => " aria-sort=\"ascending\"",
                    (true, true) => " aria-sort=\"descending\"",
                    _ => "",
                };
                let _ = write!(
                    b,
                    "<th scope=\"col\" class=\"sortable\"{aria}><a href=\"?{filter_query}{sep}sort={}\" title=\"{} {}\">{}</a></th>",
                    url_encode(&next),
                    Esc(v.t("Sort by")),
                    Esc(label),
                    Esc(label)
                );
            }
            None => {
                let _ = write!(b, "<th scope=\"col\">{}</th>", Esc(label));
            }
        }
    }
    let _ = write!(b, "<th scope=\"col\"><span class=\"visually-hidden\">{}</span></th></tr></thead><tbody>", Esc(v.t("Actions")));
    let records = page.as_ref().map(|(_, pg)| pg.records.as_slice()).unwrap_or_default();
    for rec in records {
        row(&v, tab, &columns, rec, &names, bulk, &mut b);
    }
    if records.is_empty() && problem.is_none() {
        super::states::empty_row(&v, tab, super::states::filtered(res, raw.as_deref()), columns.len() + 1 + usize::from(bulk), &mut b);
    }
    b.push_str("</tbody></table></div>");
    if let Some((q, pg)) = &page {
        super::paging::bar(&v, res, &p, q, pg, totals.as_ref(), &mut b);
    }
    let status = if problem.is_some() { StatusCode::BAD_REQUEST } else { StatusCode::OK };
    (status, layout(&v, tab.slug, title, &b)).into_response()
}

/// See [`names`].
pub type Names = HashMap<(&'static str, &'static str, i64), (String, bool)>;

fn row(v: &Viewer, tab: &Tab, columns: &[ListCol], rec: &Record, names: &Names, bulk: bool, b: &mut String) {
    let res = tab.res;
    let id = rec.id();
    let disabled = res.kind == "available_did_numbers" && rec.get("enabled").as_bool() == Some(false);
    let _ = write!(b, "<tr data-id=\"{id}\"{}>", if disabled { " class=\"flagged\"" } else { "" });
    if bulk {
        super::bulk::row_cell(v, tab, rec, b);
    }
    for c in columns {
        // Each cell names its column: on a phone the rows are cards of label: value.
        let start = b.len();
        match c.col {
            Col::Attr("id") => {
                let _ = write!(b, "<td class=\"num\"><a href=\"{}/{}/{id}\">{id}</a></td>", v.base, tab.slug);
            }
            Col::Attr(name) => {
                let f = res.field(name).expect("checked by a test");
                let live = matches!(name, "is_online" | "user_agent") && res.kind == "sip_device_routes";
                if live {
                    let _ = write!(b, "<td data-live=\"{}\" data-id=\"{id}\">", if name == "is_online" { "online" } else { "user_agent" });
                } else {
                    b.push_str(if f.kind.storage() == Storage::Int { "<td class=\"num\">" } else { "<td>" });
                }
                let audited = (res.kind == "audit_log_entries" && name == "resource_id")
                    .then(|| rec.get("resource_type").as_str().and_then(tabs::tab_of))
                    .flatten()
                    .filter(|t| visible(v, t));
                if let (Some(t), Some(rid)) = (audited, rec.field(f).as_str()) {
                    // The audited record, if it is one the UI lists.
                    let _ = write!(b, "<a href=\"{}/{}/{}\">{}</a>", v.base, t.slug, Esc(rid), Esc(rid));
                } else if name == "enabled" && disabled {
                    let _ = write!(b, "<span class=\"badge warn\">{}</span>", Esc(v.t("Disabled")));
                } else {
                    cell(v, f, rec.field(f), b);
                }
                b.push_str("</td>");
            }
            Col::RelId(r) => {
                let rel = res.rel(r).expect("checked by a test");
                b.push_str("<td class=\"num\">");
                rel_links(v, rel, rec, names, true, b);
                b.push_str("</td>");
            }
            Col::RelName(r, _) => {
                let rel = res.rel(r).expect("checked by a test");
                b.push_str("<td>");
                rel_links(v, rel, rec, names, false, b);
                b.push_str("</td>");
            }
        }
        if b[start..].starts_with("<td") {
            b.insert_str(start + 3, &format!(" data-label=\"{}\"", Esc(v.t(&c.label))));
        }
    }
    let _ = write!(
        b,
        "<td class=\"actions\" data-label=\"{}\"><a href=\"{}/{}/{id}\">{}</a>",
        Esc(v.t("Actions")),
        v.base,
        tab.slug,
        Esc(v.t("Show"))
    );
    if can_change(v, rec, Method::Update) {
        let _ = write!(b, " · <a href=\"{}/{}/{id}/edit\">{}</a>", v.base, tab.slug, Esc(v.t("Edit")));
    }
    if std::ptr::eq(res, &schema::CUSTOMERS) && v.scope().may_open_customer_ui() {
        let _ = write!(
            b,
            " · <form method=\"post\" action=\"{}/customers/{id}/open\" target=\"_blank\">{}<button type=\"submit\" class=\"small\">OPEN UI</button></form>",
            v.base,
            csrf_input(v)
        );
    }
    b.push_str("</td></tr>");
}

/// Related records by name (or by id: `by_id`), each linked to its page
/// where the viewer may open it (`#id` where it has no name; plain text
/// where it may not).
fn rel_links(v: &Viewer, rel: &schema::Rel, rec: &Record, names: &Names, by_id: bool, b: &mut String) {
    for (i, (kind, rid)) in rec.rel_ids(rel).into_iter().enumerate() {
        if i > 0 {
            b.push_str(", ");
        }
        let named = names.get(&(rel.name, kind, rid));
        let text =
            if by_id { rid.to_string() } else { named.map(|n| n.0.clone()).filter(|n| !n.is_empty()).unwrap_or_else(|| format!("#{rid}")) };
        match tabs::tab_of(kind).filter(|t| visible(v, t)) {
            Some(t) if named.is_some_and(|n| n.1) => {
                let _ = write!(b, "<a href=\"{}/{}/{rid}\">{}</a>", v.base, t.slug, Esc(&text));
            }
            _ => {
                let _ = write!(b, "{}", Esc(&text));
            }
        }
    }
}

/// The filter bar: a GET form whose inputs are the API's filter names.
fn filter_bar(v: &Viewer, tab: &Tab, p: &ListParams, b: &mut String) {
    let filters: Vec<_> = tab.filters.iter().filter(|f| !(v.is_customer() && f.about_customer())).collect();
    if filters.is_empty() {
        return;
    }
    let _ = write!(b, "<form class=\"filters\" method=\"get\" role=\"search\" aria-label=\"{}\">", Esc(v.t("Filters")));
    for f in filters {
        let name = format!("filter[{}]", f.param);
        let id = format!("f-{}", f.param.replace(['.', '[', ']'], "-"));
        let current = p.filters.iter().find(|(k, _)| *k == name).map_or("", |(_, v)| v.as_str());
        let _ = write!(b, "<div class=\"field\"><label for=\"{id}\">{}</label>", Esc(v.t(f.label)));
        let rel = f.param.strip_suffix(".id").and_then(|r| tab.res.rel(r));
        match filter_kind(tab.res, f.param) {
            None if rel.is_some_and(|r| super::picker::parse_kinds(v, &r.targets.join(",")).is_some()) => {
                let targets = rel.map_or(&[][..], |r| r.targets);
                let p = super::picker::Picker { id: &id, name: &name, targets, many: false, value: current, attrs: "" };
                b.push_str(&super::picker::markup(v, &p, &super::picker::Labels::new()));
            }
            Some(Kind::Enum(values)) => {
                let _ = write!(b, "<select id=\"{id}\" name=\"{}\"><option value=\"\">{}</option>", Esc(&name), Esc(v.t("Any")));
                for val in values {
                    let sel = if *val == current { " selected" } else { "" };
                    let _ = write!(b, "<option value=\"{}\"{sel}>{}</option>", Esc(val), Esc(super::enums::shown(v, val)));
                }
                b.push_str("</select>");
            }
            Some(Kind::Bool) => {
                let _ = write!(b, "<select id=\"{id}\" name=\"{}\"><option value=\"\">{}</option>", Esc(&name), Esc(v.t("Any")));
                for (val, text) in [("true", v.t("Yes")), ("false", v.t("No"))] {
                    let sel = if val == current { " selected" } else { "" };
                    let _ = write!(b, "<option value=\"{val}\"{sel}>{}</option>", Esc(text));
                }
                b.push_str("</select>");
            }
            Some(Kind::Time) => {
                let _ = write!(
                    b,
                    "<input type=\"datetime-local\" step=\"1\" id=\"{id}\" name=\"{}\" value=\"{}\">",
                    Esc(&name),
                    Esc(&current.replace(' ', "T"))
                );
            }
            Some(Kind::Int { .. } | Kind::IntOf(_) | Kind::Seconds { .. }) | None => {
                let _ = write!(b, "<input type=\"number\" id=\"{id}\" name=\"{}\" value=\"{}\">", Esc(&name), Esc(current));
            }
            Some(_) => {
                let _ = write!(b, "<input type=\"text\" id=\"{id}\" name=\"{}\" value=\"{}\">", Esc(&name), Esc(current));
            }
        }
        b.push_str("</div>");
    }
    if p.sort != default_sort(tab.res) {
        let _ = write!(b, "<input type=\"hidden\" name=\"sort\" value=\"{}\">", Esc(&p.sort));
    }
    let _ = write!(
        b,
        "<div class=\"field\"><button type=\"submit\" class=\"primary\">{}</button></div><div class=\"field\"><a class=\"button\" href=\"{}/{}\">{}</a></div>",
        Esc(v.t("Filter")),
        v.base,
        tab.slug,
        Esc(v.t("Reset"))
    );
    if tab.res.cdr {
        let _ = write!(b, "<p class=\"hint\">{} {}.</p>", Esc(v.t("Times are shown and entered in")), Esc(v.tz.name()));
    }
    b.push_str("</form>");
}

/// The attribute kind a filter name refers to (`None`: a relationship id).
fn filter_kind(res: &Resource, param: &str) -> Option<Kind> {
    if param.ends_with(".id") {
        return None;
    }
    const SUFFIXES: &[&str] = &["_gteq", "_lteq", "_gt", "_lt", "_contains", "_cont", "_starts_with", "_start", "_eq"];
    let base = SUFFIXES.iter().find_map(|s| param.strip_suffix(s)).filter(|b| res.filter_field(b).is_some()).unwrap_or(param);
    let f = res.filter_field(base)?;
    // A substring filter of a digits field is still typed as text.
    if base != param && matches!(f.kind, Kind::Digits { .. }) {
        return Some(Kind::Text { max: 64 });
    }
    Some(f.kind)
}

/// The filtered list as CSV, through the API's export.
async fn export(v: &Viewer, slug: &str, raw: Option<&str>) -> Response {
    let Some(tab) = visible_tab(v, slug) else { return not_found(v) };
    let q = read_params(tab.res, raw, v.tz).and_then(|p| list_query(tab.res, &p, false));
    match q {
        // Times in the viewer's zone, named; the API's CSV stays UTC.
        Ok(q) => crate::api::handlers::export_csv_in(v.app.store(), tab.res, v.scope(), &q, Some(v.tz)),
        Err(e) => api_error_page(v, e),
    }
}
