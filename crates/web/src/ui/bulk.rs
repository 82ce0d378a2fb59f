//! Bulk actions of the list pages: a checkbox per row (tied to the bulk
//! form by the HTML `form` attribute, so no script is needed to submit),
//! "select all N matching", and Enable, Disable, Delete, Edit a field and
//! Export selection. A change is confirmed on a page that names how many
//! records it touches, then applied record by record through the store's
//! normal update and delete, so every business rule and the audit log
//! apply per record; refused records are reported by name with the reason.
//! "Assign to customer" is not offered: the schema's `customer`
//! relationships are not updatable.

use super::form::{self, Item};
use super::html::Esc;
use super::i18n::Lang;
use super::list::{self, can};
use super::session::{read_post, FormBody, Viewer};
use super::tabs::{label, Tab};
use super::{api_error_page, csrf_input, layout, Auth};
use crate::api::error::ApiError;
use axum::body::Bytes;
use axum::extract::Path;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use domain::access::Method;
use domain::schema::{Field, Kind, Mode, Resource, Storage};
use domain::Value;
use std::fmt::Write as _;
use store::{Cond, Input, ListQuery, Op, Record};

/// At most this many records in one bulk action.
pub const MAX: usize = 10_000;
/// The id of the bulk form, which the row checkboxes name.
const FORM_ID: &str = "bulk";
/// How many names the confirmation lists.
const NAMED: usize = 5;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Enable,
    Disable,
    Delete,
    Edit,
    Export,
}

impl Action {
    /// In the menu's order; Delete last.
    const ALL: [Action; 5] = [Action::Enable, Action::Disable, Action::Edit, Action::Export, Action::Delete];

    pub fn parse(s: &str) -> Option<Action> {
        Action::ALL.into_iter().find(|a| a.value() == s)
    }

    /// The action's value in the form.
    fn value(self) -> &'static str {
        match self {
            Action::Enable => "enable",
            Action::Disable => "disable",
            Action::Delete => "delete",
            Action::Edit => "edit",
            Action::Export => "export",
        }
    }

    /// The action as a verb, English (the message id).
    fn verb(self) -> &'static str {
        match self {
            Action::Enable => "Enable",
            Action::Disable => "Disable",
            Action::Delete => "Delete",
            Action::Edit => "Change",
            Action::Export => "Export selection",
        }
    }

    fn done(self) -> &'static str {
        match self {
            Action::Enable => "Enabled",
            Action::Disable => "Disabled",
            Action::Delete => "Deleted",
            Action::Edit | Action::Export => "Changed",
        }
    }

    fn method(self) -> Method {
        match self {
            Action::Delete => Method::Delete,
            Action::Export => Method::Read,
            _ => Method::Update,
        }
    }
}

/// An action's verb in the viewer's language. "Enable" is already the
/// catalogues' column label (a state there, not a verb), so it is
/// translated here.
fn verb(v: &Viewer, a: Action) -> &'static str {
    match (a, v.lang) {
        (Action::Enable, Lang::Ru) => "Включить",
        (Action::Enable, Lang::Lt) => "Įjungti",
        _ => v.t(a.verb()),
    }
}

/// Which records a bulk form names.
#[derive(Debug, PartialEq, Eq)]
pub enum Target {
    /// The checked rows (or the ids a confirmation page carries).
    Ids(Vec<i64>),
    /// Every record matching the list's query string (filters and sort).
    Matching,
}

/// A bulk form, read.
#[derive(Debug, PartialEq, Eq)]
pub struct Request {
    pub action: Action,
    pub target: Target,
    /// The list's query string: for "all matching", and the way back.
    pub query: String,
    /// Edit: the attribute to set and its value as typed.
    pub field: Option<String>,
    pub value: String,
    /// Sent from the confirmation page.
    pub confirmed: bool,
}

/// Reads a bulk form; a message for the user when it asks for nothing
/// sensible.
pub fn parse(form: &FormBody) -> Result<Request, String> {
    let action = match form.get("action").map(str::trim) {
        None | Some("") => return Err("Choose an action.".into()),
        Some(a) => Action::parse(a).ok_or_else(|| format!("{a:.40} is not a bulk action."))?,
    };
    let query = form.get("q").unwrap_or("").to_owned();
    let target = if form.get("all") == Some("1") {
        Target::Matching
    } else {
        let mut ids = Vec::new();
        let listed = form.all("ids").flat_map(|s| s.split(','));
        for raw in form.all("id").chain(listed).map(str::trim).filter(|s| !s.is_empty()) {
            match raw.parse::<i64>() {
                Ok(i) if i >= 1 => ids.push(i),
                _ => return Err(format!("{raw:.40} is not a record id.")),
            }
        }
        ids.sort_unstable();
        ids.dedup();
        if ids.is_empty() {
            return Err("Select at least one record.".into());
        }
        if ids.len() > MAX {
            return Err(too_many());
        }
        Target::Ids(ids)
    };
    let field = form.get("field").map(str::trim).filter(|f| !f.is_empty()).map(str::to_owned);
    if action == Action::Edit && field.is_none() {
        return Err("Choose the field to change.".into());
    }
    Ok(Request {
        action,
        target,
        query,
        field,
        value: form.get("value").unwrap_or("").to_owned(),
        confirmed: form.get("confirm") == Some("1"),
    })
}

fn too_many() -> String {
    format!("A bulk action takes at most {MAX} records; narrow the filters.")
}

/// Whether the list offers bulk actions at all: where the viewer may
/// change or delete its records.
pub fn enabled(v: &Viewer, tab: &Tab) -> bool {
    let res = tab.res;
    !res.cdr && res.kind != "audit_log_entries" && (can(v, res, Method::Update) || can(v, res, Method::Delete))
}

/// The actions the viewer may take on this tab's records.
fn actions(v: &Viewer, res: &'static Resource) -> Vec<Action> {
    let toggles = res.field("enabled").is_some() && v.policy.may_set(res, "enabled", false).is_ok() && can(v, res, Method::Update);
    Action::ALL
        .into_iter()
        .filter(|a| match a {
            Action::Enable | Action::Disable => toggles,
            Action::Delete => can(v, res, Method::Delete),
            Action::Edit => can(v, res, Method::Update) && !editable(v, res).is_empty(),
            Action::Export => true,
        })
        .collect()
}

/// The attributes a bulk edit may set: single values (text, numbers,
/// choices, yes/no) the viewer may change, not lists or secrets.
pub fn editable(v: &Viewer, res: &'static Resource) -> Vec<&'static Field> {
    form::items(v, res, false)
        .into_iter()
        .filter_map(|it| match it {
            Item::Field(f) => Some(f),
            _ => None,
        })
        .filter(|f| {
            f.mode != Mode::Hashed && !f.kind.is_list() && !matches!(f.kind, Kind::Secret | Kind::FieldNames | Kind::Json | Kind::Time)
        })
        .collect()
}

/// The bulk form above a list: the action, the field and value of an
/// edit, "select all N matching" and the submit button. `query` is the
/// list's query string; `total` how many records match, where counted.
pub fn bar(v: &Viewer, tab: &Tab, query: &str, total: Option<u64>, b: &mut String) {
    let res = tab.res;
    let acts = actions(v, res);
    let _ = write!(
        b,
        "<form id=\"{FORM_ID}\" class=\"bulk\" method=\"post\" action=\"{}/{}/bulk\" aria-label=\"{}\">{}\
         <input type=\"hidden\" name=\"q\" value=\"{}\">",
        v.base,
        tab.slug,
        Esc(v.t("Bulk actions")),
        csrf_input(v),
        Esc(query)
    );
    let _ = write!(
        b,
        "<div class=\"field\"><label for=\"bulk-action\">{}</label><select id=\"bulk-action\" name=\"action\">\
         <option value=\"\">{}</option>",
        Esc(v.t("With selected")),
        // No action until one is chosen: a stray click deletes nothing.
        Esc(v.t("— choose an action —"))
    );
    for a in &acts {
        let _ = write!(b, "<option value=\"{}\">{}</option>", a.value(), Esc(verb(v, *a)));
    }
    b.push_str("</select></div>");
    if acts.contains(&Action::Edit) {
        let _ = write!(
            b,
            "<div class=\"field\" data-bulk-edit><label for=\"bulk-field\">{}</label><select id=\"bulk-field\" name=\"field\">",
            Esc(v.t("Field"))
        );
        for f in editable(v, res) {
            let _ = write!(b, "<option value=\"{}\">{}</option>", f.name, Esc(v.t(&label(f.name))));
        }
        let _ = write!(
            b,
            "</select></div><div class=\"field\" data-bulk-edit><label for=\"bulk-value\">{}</label><input type=\"text\" id=\"bulk-value\" name=\"value\"></div>",
            Esc(v.t("New value"))
        );
    }
    match total {
        Some(n) if n as usize > MAX => {
            let _ = write!(
                b,
                "<p class=\"hint\">{} {}</p>",
                n,
                Esc(v.t("match: over the limit of 10,000 for a bulk action; narrow the filters to act on all of them."))
            );
        }
        Some(n) if n > 0 => {
            let _ = write!(
                b,
                "<div class=\"field check\"><input type=\"checkbox\" id=\"bulk-all\" name=\"all\" value=\"1\"><label for=\"bulk-all\">{} {n} {}</label></div>",
                Esc(v.t("Select all")),
                Esc(v.t("matching"))
            );
        }
        _ => {}
    }
    let _ = write!(b, "<div class=\"field\"><button type=\"submit\">{}</button></div></form>", Esc(v.t("Apply to selected")));
}

/// The header cell over the row checkboxes: select all on this page (the
/// script ticks them; without it the rows are ticked one by one).
pub fn head_cell(v: &Viewer, b: &mut String) {
    let _ = write!(
        b,
        "<th scope=\"col\" class=\"select\"><input type=\"checkbox\" data-bulk-page aria-label=\"{}\"></th>",
        Esc(v.t("Select all on this page"))
    );
}

/// A row's checkbox, in the bulk form through its `form` attribute. No
/// `data-label`: on a phone card it stands alone at the top, named by its
/// `aria-label`.
pub fn row_cell(v: &Viewer, tab: &Tab, rec: &Record, b: &mut String) {
    let _ = write!(
        b,
        "<td class=\"select\"><input type=\"checkbox\" name=\"id\" value=\"{}\" form=\"{FORM_ID}\" aria-label=\"{} {}\"></td>",
        rec.id(),
        Esc(v.t("Select")),
        Esc(&name(v, tab, rec))
    );
}

/// What a record is called in a checkbox label and a report.
fn name(v: &Viewer, tab: &Tab, rec: &Record) -> String {
    let n = form::record_name(rec);
    if n.is_empty() {
        format!("{} #{}", v.t(tab.title), rec.id())
    } else {
        n
    }
}

/// `POST {base}/{tab}/bulk`: the confirmation page, or the change applied
/// once confirmed, or the CSV of the selection.
pub async fn submit<A: Auth>(auth: A, Path(slug): Path<String>, headers: HeaderMap, body: Bytes) -> Response {
    let v = auth.viewer();
    let Some(tab) = list::visible_tab(&v, &slug) else { return super::not_found(&v) };
    let res = tab.res;
    let form = match read_post(&v, &headers, &body) {
        Ok(f) => f,
        Err(r) => return r.into_response(),
    };
    let query = form.get("q").unwrap_or("").to_owned();
    let bad = |msg: &str| refused_page(&v, tab, StatusCode::BAD_REQUEST, &v.lang.t_msg(msg), &query);
    let req = match parse(&form) {
        Ok(r) => r,
        Err(m) => return bad(&m),
    };
    if !enabled(&v, tab) || !actions(&v, res).contains(&req.action) {
        return api_error_page(
            &v,
            ApiError::forbidden(format!("{} {}: {}", verb(&v, req.action), v.t(tab.title), v.t("not allowed here."))),
        );
    }
    let change = match change(&v, res, &req) {
        Ok(c) => c,
        Err(m) => return refused_page(&v, tab, StatusCode::UNPROCESSABLE_ENTITY, &m, &query),
    };
    let (recs, q) = match select(&v, res, &req).await {
        Ok(x) => x,
        Err(e) => return api_error_page(&v, e),
    };
    if recs.len() > MAX {
        return bad(&too_many());
    }
    if recs.is_empty() {
        return bad("None of the selected records exist any more.");
    }
    if req.action == Action::Export {
        return crate::api::handlers::export_csv_in(v.app.store(), res, v.scope(), &q, Some(v.tz));
    }
    if !req.confirmed {
        return confirm_page(&v, tab, &req, &recs);
    }
    apply(&v, tab, &req, &change, recs).await
}

/// A bulk form that asks for nothing sensible: the reason, and the way
/// back to the list it came from.
fn refused_page(v: &Viewer, tab: &Tab, status: StatusCode, msg: &str, query: &str) -> Response {
    let title = v.t("Bulk actions");
    let body = format!(
        "<h1>{}</h1><p class=\"alert\" role=\"alert\">{}</p><p><a href=\"{}\">{}</a></p>",
        Esc(title),
        Esc(msg),
        Esc(&back(v, tab, query)),
        Esc(v.t("Back to the list"))
    );
    (status, layout(v, tab.slug, title, &body)).into_response()
}

/// The store input an enable, disable or edit writes to each record.
fn change(v: &Viewer, res: &'static Resource, req: &Request) -> Result<Input, String> {
    match req.action {
        Action::Enable => Ok(Input::default().with(res, "enabled", true)),
        Action::Disable => Ok(Input::default().with(res, "enabled", false)),
        Action::Edit => {
            let name = req.field.as_deref().unwrap_or("");
            let f = editable(v, res)
                .into_iter()
                .find(|f| f.name == name)
                .ok_or_else(|| format!("{name:.40}: {}", v.t("not a field that can be changed in bulk.")))?;
            // Through the edit form's parser: the API's validation.
            let one = FormBody(vec![(f.name.to_owned(), req.value.clone())]);
            form::parse(&[Item::Field(f)], &one, false).map_err(|state| {
                let msg = state.errors.values().next().cloned().unwrap_or_default();
                format!("{}: {}", v.t(&label(f.name)), v.lang.t_msg(&msg))
            })
        }
        Action::Delete | Action::Export => Ok(Input::default()),
    }
}

/// The records a request names, within the viewer's scope, and the query
/// that lists them (for the export). "All matching" reads one more than
/// the cap, to tell when it is over.
async fn select(v: &Viewer, res: &'static Resource, req: &Request) -> Result<(Vec<Record>, ListQuery), ApiError> {
    let store = v.app.store();
    match &req.target {
        Target::Matching => {
            let p = list::read_params(res, Some(&req.query), v.tz)?;
            let mut q = list::list_query(res, &p, false)?;
            let mut lim = q.clone();
            lim.limit = MAX as u64 + 1;
            lim.offset = 0;
            lim.count = false;
            lim.after = None;
            let page = store.list(res, v.scope(), &lim).await?;
            q.count = false;
            Ok((page.records, q))
        }
        Target::Ids(ids) => {
            let mut recs = Vec::with_capacity(ids.len());
            for chunk in ids.chunks(500) {
                recs.extend(store.get_many(res, v.scope(), chunk).await?);
            }
            recs.sort_by_key(Record::id);
            let values = recs.iter().map(|r| Value::Int(r.id())).collect();
            let cond = Cond { column: "id", st: Storage::Int, op: Op::In, values };
            let q = ListQuery { conds: vec![cond], sort: vec![("id", Storage::Int, false)], limit: MAX as u64, ..ListQuery::default() };
            Ok((recs, q))
        }
    }
}

/// "Disable 100 available numbers?" with the first few names, and
/// Confirm (carrying the ids, so what is applied is what was confirmed)
/// or Cancel.
fn confirm_page(v: &Viewer, tab: &Tab, req: &Request, recs: &[Record]) -> Response {
    let title = question(v, tab, req.action, recs.len());
    let mut b = String::with_capacity(4096 + recs.len() * 8);
    let _ = write!(b, "<h1>{}</h1>", Esc(&title));
    if let (Action::Edit, Some(f)) = (req.action, &req.field) {
        let _ = write!(b, "<p>{} {} → “{}”</p>", Esc(v.t("Set")), Esc(v.t(&label(f))), Esc(&req.value));
    }
    let names: Vec<String> = recs.iter().take(NAMED).map(|r| name(v, tab, r)).collect();
    let _ = write!(b, "<p class=\"bulk-names\">{}", Esc(&names.join(", ")));
    if recs.len() > NAMED {
        let _ = write!(b, " {}", Esc(&v.lang.t_msg(&format!("and {} more", recs.len() - NAMED))));
    }
    b.push_str("</p>");
    let ids: Vec<String> = recs.iter().map(|r| r.id().to_string()).collect();
    let _ = write!(
        b,
        "<form method=\"post\" action=\"{}/{}/bulk\">{}<input type=\"hidden\" name=\"action\" value=\"{}\">\
         <input type=\"hidden\" name=\"ids\" value=\"{}\"><input type=\"hidden\" name=\"q\" value=\"{}\">\
         <input type=\"hidden\" name=\"confirm\" value=\"1\">",
        v.base,
        tab.slug,
        csrf_input(v),
        req.action.value(),
        ids.join(","),
        Esc(&req.query)
    );
    if let Some(f) = &req.field {
        let _ = write!(
            b,
            "<input type=\"hidden\" name=\"field\" value=\"{}\"><input type=\"hidden\" name=\"value\" value=\"{}\">",
            Esc(f),
            Esc(&req.value)
        );
    }
    let class = if req.action == Action::Delete { "danger" } else { "primary" };
    let _ = write!(
        b,
        "<div class=\"form-actions\"><button type=\"submit\" class=\"{class}\">{}</button><a href=\"{}\">{}</a></div></form>",
        Esc(v.t("Confirm")),
        Esc(&back(v, tab, &req.query)),
        Esc(v.t("Cancel"))
    );
    (StatusCode::OK, layout(v, tab.slug, &title, &b)).into_response()
}

/// The confirmation's question: "Disable 100 available numbers?".
pub fn question(v: &Viewer, tab: &Tab, action: Action, n: usize) -> String {
    format!("{} {n} {}?", verb(v, action), v.t(tab.title).to_lowercase())
}

/// The list the bulk form came from.
fn back(v: &Viewer, tab: &Tab, query: &str) -> String {
    if query.is_empty() {
        format!("{}/{}", v.base, tab.slug)
    } else {
        format!("{}/{}?{query}", v.base, tab.slug)
    }
}

/// Applies the change to each record through the store (one audit entry
/// per changed record); a record the policy or a business rule refuses is
/// reported by name, the rest are applied.
async fn apply(v: &Viewer, tab: &Tab, req: &Request, change: &Input, recs: Vec<Record>) -> Response {
    let res = tab.res;
    let store = v.app.store();
    let m = req.action.method();
    let (mut done, mut same) = (0usize, 0usize);
    let mut refused: Vec<(String, String)> = Vec::new();
    for rec in recs {
        if let Err(d) = v.policy.may_change(res, m, &rec) {
            refused.push((name(v, tab, &rec), ApiError::from(d).detail.clone()));
            continue;
        }
        // Already so: no write, no audit entry.
        if m == Method::Update && change.attrs.iter().all(|(f, val)| rec.field(f) == val) {
            same += 1;
            continue;
        }
        let r = if m == Method::Delete {
            store.delete(res, &v.actor, rec.id()).await
        } else {
            store.update(res, &v.actor, rec.id(), change.clone()).await.map(drop)
        };
        match r {
            Ok(()) => done += 1,
            Err(e) => refused.push((name(v, tab, &rec), refusal(v, e))),
        }
    }
    let title = v.t(tab.title);
    let mut b = String::with_capacity(2048);
    let _ = write!(
        b,
        "<h1>{}</h1><div class=\"notice\" role=\"status\"><p>{} {done} {}",
        Esc(title),
        Esc(v.t(req.action.done())),
        Esc(&title.to_lowercase())
    );
    if same > 0 {
        let _ = write!(b, "; {same} {}", Esc(v.t("already so")));
    }
    if !refused.is_empty() {
        let _ = write!(b, "; {} {}:", refused.len(), Esc(v.t("refused")));
    }
    b.push_str("</p>");
    if !refused.is_empty() {
        b.push_str("<ul class=\"refused\">");
        for (n, why) in &refused {
            let _ = write!(b, "<li><strong>{}</strong>: {}</li>", Esc(n), Esc(why));
        }
        b.push_str("</ul>");
    }
    let _ = write!(b, "</div><p><a href=\"{}\">{}</a></p>", Esc(&back(v, tab, &req.query)), Esc(v.t("Back to the list")));
    (StatusCode::OK, layout(v, tab.slug, title, &b)).into_response()
}

/// Why the store refused one record, for the report.
fn refusal(v: &Viewer, e: store::Error) -> String {
    match e {
        store::Error::Refused(m) => v.lang.t_msg(&m),
        store::Error::Invalid(fe) => format!("{}: {}", v.t(&label(&fe.field)), v.lang.t_msg(&fe.message)),
        store::Error::NotFound => v.t("no longer exists").to_owned(),
        other => {
            tracing::error!(error = %other, "bulk change failed");
            v.t("could not be saved").to_owned()
        }
    }
}
