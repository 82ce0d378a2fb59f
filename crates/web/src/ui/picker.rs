//! Search-as-you-type pickers for relationships in forms and list filters.
//!
//! `GET {base}/pick/{kinds}` answers at most [`MAX_HITS`] records of one or
//! more resource types as JSON (`type`, `id`, `label`, `detail`): an exact
//! id first, then label prefixes, then label substrings. The search runs in
//! the store (a prefix is an indexed range on SQLite), so it stays fast with
//! 100,000 SIP accounts; it is scoped like the API's relationship checks: a
//! customer gets its own records and the shared ones it may reference.
//!
//! The markup helper renders a plain id text box (what the form posted
//! before, and what works without script) beside a hidden WAI-ARIA combobox
//! that app.js turns on; current values carry their labels so the chips
//! and the input show names at once.

use super::html::Esc;
use super::session::Viewer;
use super::Auth;
use crate::api::error::ApiError;
use axum::extract::{Path, Query};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use domain::access::Scope;
use domain::schema::{self, Resource, Storage, Tenant};
use domain::Value;
use serde::Serialize;
use std::collections::HashMap;
use store::{Cond, ListQuery, Op};

/// Most hits one request answers: a picker narrows, it does not list.
pub const MAX_HITS: usize = 20;
/// Longest search text accepted.
const MAX_QUERY: usize = 100;
/// Most ids one `values=` request may resolve (a ring group's members).
const MAX_VALUES: usize = 100;

/// One hit of a picker.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Hit {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub id: i64,
    pub label: String,
    pub detail: String,
}

/// Labels of related records by (type, id), for rendering current values.
pub type Labels = HashMap<(&'static str, i64), String>;

/// The field a record of `res` is searched and labelled by.
pub fn label_field(res: &Resource) -> Option<&'static schema::Field> {
    ["name", "username", "number"].iter().find_map(|n| res.field(n))
}

/// The resource types one picker path names, each one the viewer sees and
/// that has a label; `None` for anything else (a 404).
pub fn parse_kinds(v: &Viewer, kinds: &str) -> Option<Vec<&'static Resource>> {
    let mut out: Vec<&'static Resource> = Vec::new();
    for k in kinds.split(',') {
        let res = schema::resource(k.trim()).filter(|r| v.scope().sees(r) && label_field(r).is_some())?;
        if !out.iter().any(|r| r.kind == res.kind) {
            out.push(res);
        }
    }
    (!out.is_empty()).then_some(out)
}

/// Ids of a relationship's current value (`12`, `3, 4, 5`, `sip_accounts:7`),
/// each with its type; whatever does not parse is left out (the form shows
/// the raw text and the store names the error).
pub fn parse_values(targets: &[&'static str], text: &str) -> Vec<(&'static str, i64)> {
    text.split(|c: char| c == ',' || c.is_whitespace())
        .filter(|s| !s.is_empty())
        .filter_map(|s| {
            let (kind, id) = match s.split_once(':') {
                Some((k, i)) => (targets.iter().copied().find(|t| *t == k.trim())?, i),
                None => (*targets.first()?, s),
            };
            id.trim().parse::<i64>().ok().filter(|i| *i >= 1).map(|i| (kind, i))
        })
        .collect()
}

/// The conditions that keep a search within what the viewer may reference,
/// and the scope to run it in. A customer (or the operator's form once the
/// customer is chosen) gets that customer's records plus shared ones where
/// the owner is optional (gateways, routes), as the store's checks allow.
fn reach(res: &'static Resource, viewer: Scope, customer: Option<i64>) -> (Scope, Vec<Cond>) {
    let owner = match viewer {
        Scope::Customer(c) => Some(c),
        Scope::Operator => customer,
    };
    let Some(c) = owner else { return (viewer, Vec::new()) };
    let int = |column, op| Cond { column, st: Storage::Int, op, values: vec![Value::Int(c)] };
    if res.tenant == Tenant::Own {
        return (viewer, vec![int("id", Op::Eq)]);
    }
    match res.rel("customer") {
        // Shared records are outside the customer's list scope, yet it may
        // point at them: search all rows, own or shared.
        Some(r) if !r.required && viewer.sees(res) => (Scope::Operator, vec![int(r.column, Op::EqOrNull)]),
        Some(r) => (viewer, vec![int(r.column, Op::Eq)]),
        None => (viewer, Vec::new()),
    }
}

fn hit(v: &Viewer, res: &'static Resource, rec: &store::Record) -> Hit {
    let title = super::tabs::tab_of(res.kind).map_or(res.kind, |t| v.t(t.title));
    Hit { kind: res.kind, id: rec.id(), label: super::form::record_name(rec), detail: format!("{title} #{}", rec.id()) }
}

async fn run(
    v: &Viewer,
    res: &'static Resource,
    customer: Option<i64>,
    extra: Vec<Cond>,
    sort: bool,
    limit: usize,
) -> Result<Vec<Hit>, store::Error> {
    let (scope, mut conds) = reach(res, v.scope(), customer);
    conds.extend(extra);
    let f = label_field(res).expect("picker kinds have a label");
    let sort = if sort { vec![(f.column, f.kind.storage(), false)] } else { Vec::new() };
    let q = ListQuery { conds, sort, limit: limit as u64, ..ListQuery::default() };
    let page = v.app.store().list(res, scope, &q).await?;
    Ok(page.records.iter().map(|r| hit(v, res, r)).collect())
}

/// The ranked hits for `q` over `kinds`: id, then prefix, then substring.
pub async fn search(v: &Viewer, kinds: &[&'static Resource], q: &str, customer: Option<i64>) -> Result<Vec<Hit>, store::Error> {
    let q = q.trim();
    let mut out: Vec<Hit> = Vec::new();
    let push = |out: &mut Vec<Hit>, hits: Vec<Hit>| {
        for h in hits {
            if out.len() < MAX_HITS && !out.iter().any(|o| o.kind == h.kind && o.id == h.id) {
                out.push(h);
            }
        }
    };
    if let Some(id) = q.parse::<i64>().ok().filter(|i| *i >= 1) {
        for res in kinds {
            let by_id = Cond { column: "id", st: Storage::Int, op: Op::Eq, values: vec![Value::Int(id)] };
            let hits = run(v, res, customer, vec![by_id], false, 1).await?;
            push(&mut out, hits);
        }
    }
    let text = |op, s: String, column| Cond { column, st: Storage::Text, op, values: vec![Value::Text(s)] };
    for res in kinds {
        let col = label_field(res).expect("picker kinds have a label").column;
        let prefix = if q.is_empty() {
            Vec::new()
        } else if v.app.store().backend() == store::Backend::Sqlite {
            // A range over the label's index (LIKE would scan); exact case.
            vec![text(Op::Gte, q.to_owned(), col), text(Op::Lt, format!("{q}\u{10FFFF}"), col)]
        } else {
            vec![text(Op::StartsWith, q.to_owned(), col)]
        };
        let need = MAX_HITS.saturating_sub(out.len());
        if need > 0 {
            let hits = run(v, res, customer, prefix, true, need).await?;
            push(&mut out, hits);
        }
    }
    if !q.is_empty() && out.len() < MAX_HITS {
        let mut contains = Vec::new();
        for res in kinds {
            let col = label_field(res).expect("picker kinds have a label").column;
            contains.extend(run(v, res, customer, vec![text(Op::Contains, q.to_owned(), col)], true, MAX_HITS * 2).await?);
        }
        // Prefixes in another case rank before other substrings.
        let lower = q.to_lowercase();
        contains.sort_by_key(|h| !h.label.to_lowercase().starts_with(&lower));
        push(&mut out, contains);
    }
    Ok(out)
}

/// The labelled records among `values`, in the given order, within reach.
pub async fn resolve(v: &Viewer, values: &[(&'static str, i64)], customer: Option<i64>) -> Result<Vec<Hit>, store::Error> {
    let mut by_kind: HashMap<&'static str, Vec<i64>> = HashMap::new();
    for (k, id) in values {
        by_kind.entry(k).or_default().push(*id);
    }
    let mut found = Vec::new();
    for (kind, ids) in by_kind {
        let Some(res) = schema::resource(kind).filter(|r| label_field(r).is_some()) else { continue };
        let cond = Cond { column: "id", st: Storage::Int, op: Op::In, values: ids.iter().map(|i| Value::Int(*i)).collect() };
        found.extend(run(v, res, customer, vec![cond], false, ids.len()).await?);
    }
    Ok(values.iter().filter_map(|(k, id)| found.iter().find(|h| h.kind == *k && h.id == *id).cloned()).collect())
}

/// Labels for the current values of a form's relationship inputs.
pub async fn labels(v: &Viewer, wanted: &[(&'static str, i64)]) -> Result<Labels, store::Error> {
    let hits = resolve(v, wanted, None).await?;
    Ok(hits.into_iter().map(|h| ((h.kind, h.id), h.label)).collect())
}

fn bad(param: &str, detail: &str) -> Response {
    ApiError::bad_param("Invalid parameter", "invalid_parameter", param, detail).into_response()
}

/// `GET {base}/pick/{kinds}?q=&values=&customer=`.
pub async fn pick<A: Auth>(auth: A, Path(kinds): Path<String>, Query(params): Query<HashMap<String, String>>) -> Response {
    let v = auth.viewer();
    let Some(kinds) = parse_kinds(&v, &kinds) else {
        return ApiError::new(StatusCode::NOT_FOUND, "Not found", "No such record type to pick from").into_response();
    };
    let customer = match params.get("customer").map(|s| s.trim()).filter(|s| !s.is_empty()) {
        None => None,
        Some(s) => match s.parse::<i64>() {
            Ok(c) if c >= 1 => Some(c),
            _ => return bad("customer", "customer must be a positive integer id"),
        },
    };
    let result = if let Some(raw) = params.get("values") {
        let targets: Vec<&'static str> = kinds.iter().map(|r| r.kind).collect();
        let parts = raw.split(',').filter(|s| !s.trim().is_empty()).count();
        let values = parse_values(&targets, raw);
        if values.len() != parts || parts > MAX_VALUES {
            return bad("values", "values takes up to 100 ids (or type:id) separated by commas");
        }
        resolve(&v, &values, customer).await
    } else {
        let q = params.get("q").map_or("", String::as_str);
        if q.chars().count() > MAX_QUERY {
            return bad("q", "q is longer than 100 characters");
        }
        search(&v, &kinds, q, customer).await
    };
    match result {
        Ok(hits) => Json(hits).into_response(),
        Err(e) => ApiError::from(e).into_response(),
    }
}

/// One picker input.
pub struct Picker<'a> {
    /// The id of the plain value input (the label points at it).
    pub id: &'a str,
    /// The form field name (`rel:members`, `filter[customer.id]`).
    pub name: &'a str,
    pub targets: &'a [&'static str],
    /// A to-many relationship: an ordered list of chips.
    pub many: bool,
    pub value: &'a str,
    /// `required`, `aria-invalid` and the like, for the value input.
    pub attrs: &'a str,
}

/// The picker's markup: the plain id input (the no-script form), and the
/// combobox with its listbox and live region, hidden until app.js starts.
pub fn markup(v: &Viewer, p: &Picker, labels: &Labels) -> String {
    let current = parse_values(p.targets, p.value);
    let typed = p.targets.len() > 1;
    let entries: Vec<serde_json::Value> = current
        .iter()
        .map(|(k, id)| {
            let value = if typed { format!("{k}:{id}") } else { id.to_string() };
            let label = labels.get(&(*k, *id)).cloned().unwrap_or_else(|| format!("#{id}"));
            serde_json::json!({ "value": value, "label": label })
        })
        .collect();
    let ty = if typed || p.many { "text" } else { "number" };
    let list_id = format!("{}-listbox", p.id);
    format!(
        "<div class=\"picker\" data-picker=\"{}/pick/{}\" data-picker-labels=\"{}\" data-picker-texts=\"{}\"{}{}>\
         <input type=\"{ty}\" id=\"{id}\" name=\"{}\" value=\"{}\" class=\"picker-value\" autocomplete=\"off\"{}>\
         <input type=\"text\" id=\"{id}-picker\" class=\"picker-input\" role=\"combobox\" aria-autocomplete=\"list\" \
         aria-expanded=\"false\" aria-controls=\"{list_id}\" autocomplete=\"off\" placeholder=\"{}\" hidden>\
         <ul class=\"picker-list\" id=\"{list_id}\" role=\"listbox\" aria-label=\"{}\" hidden></ul>\
         <span class=\"picker-status visually-hidden\" role=\"status\" aria-live=\"polite\"></span></div>",
        v.base,
        p.targets.join(","),
        Esc(&serde_json::Value::Array(entries).to_string()),
        Esc(&texts(v)),
        if p.many { " data-picker-many" } else { "" },
        if typed { " data-picker-typed" } else { "" },
        Esc(p.name),
        Esc(p.value),
        p.attrs,
        Esc(v.t("Type to search")),
        Esc(v.t("Suggestions")),
        id = p.id,
    )
}

/// The texts the script shows, in the viewer's language.
fn texts(v: &Viewer) -> String {
    let t = |k: &str| serde_json::Value::String(v.t(k).to_owned());
    serde_json::json!({
        "results": t("Results:"),
        "none": t("No results"),
        "remove": t("Remove"),
        "up": t("Move up"),
        "down": t("Move down"),
    })
    .to_string()
}

/// The texts of the pickers, each translated.
#[cfg(test)]
pub(crate) const PICKER_MESSAGES: &[&str] = &["Type to search", "Suggestions", "Results:", "No results", "Remove", "Move up", "Move down"];
