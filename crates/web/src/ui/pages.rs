//! The record pages of both UIs: create and edit forms and their POSTs,
//! the SHOW detail page, delete, the domain settings (operator) and the UI
//! language (customer), the OPEN UI action, and the live presence of SIP
//! accounts polled by the list.

use super::form::{self, FormState};
use super::html::Esc;
use super::list::{can, can_change, cell, visible, visible_tab, Names};
use super::session::{read_post, Customer, FormBody, Operator, Viewer};
use super::tabs::{self, label, rel_label, Tab};
use super::{api_error_page, csrf_input, error_page, layout, not_found, Auth};
use crate::api::auth::SESSION_COOKIE;
use crate::api::error::ApiError;
use axum::body::Bytes;
use axum::extract::{Path, Query};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use domain::access::Method;
use domain::schema::{self, Kind, Mode, Resource};
use serde_json::json;
use std::collections::HashMap;
use std::fmt::Write as _;
use store::Record;

fn parse_id(id: &str) -> Option<i64> {
    id.parse::<i64>().ok().filter(|i| *i >= 1)
}

/// A store failure that is not the user's doing: logged, and a bare 500.
pub(super) fn internal(v: &Viewer, e: store::Error) -> Response {
    api_error_page(v, ApiError::from(e))
}

pub(super) async fn record(v: &Viewer, res: &'static Resource, id: &str) -> Result<Record, Response> {
    let Some(n) = parse_id(id) else { return Err(super::states::missing(v, res, id)) };
    match v.app.store().get(res, v.scope(), n).await {
        Ok(r) => Ok(r),
        Err(store::Error::NotFound) => Err(super::states::missing(v, res, id)),
        Err(e) => Err(internal(v, e)),
    }
}

/// The domain settings, for a form's defaults.
async fn settings(v: &Viewer) -> Result<Record, Response> {
    v.app.store().settings().await.map_err(|e| internal(v, e))
}

async fn form_page(v: &Viewer, tab: &Tab, rec: Option<&Record>, state: FormState, status: StatusCode) -> Response {
    let res = tab.res;
    let creating = rec.is_none();
    let items = form::items(v, res, creating);
    let opts = match form::options(v, &items, &state).await {
        Ok(o) => o,
        Err(e) => return internal(v, e),
    };
    let title = match rec {
        None => format!("{}: {}", v.t("Create"), v.t(tab.title)),
        Some(r) => format!("{}: {} #{}", v.t("Edit"), v.t(tab.title), r.id()),
    };
    let (action, cancel) = match rec {
        None => (format!("{}/{}", v.base, tab.slug), format!("{}/{}", v.base, tab.slug)),
        Some(r) => (format!("{}/{}/{}", v.base, tab.slug, r.id()), format!("{}/{}/{}", v.base, tab.slug, r.id())),
    };
    let submit = if creating { v.t("Create") } else { v.t("Save") };
    let body = format!("<h1>{}</h1>{}", Esc(&title), form::render(v, &items, &state, &opts, &action, submit, &cancel));
    (status, layout(v, tab.slug, &title, &body)).into_response()
}

pub async fn new_form<A: Auth>(auth: A, Path(slug): Path<String>) -> Response {
    let v = auth.viewer();
    let Some(tab) = visible_tab(&v, &slug) else { return not_found(&v) };
    if !can(&v, tab.res, Method::Create) {
        return api_error_page(&v, ApiError::forbidden(format!("{} can't be created here.", v.t(tab.title))));
    }
    let settings = match settings(&v).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let state = FormState::defaults(&form::items(&v, tab.res, true), &settings);
    form_page(&v, tab, None, state, StatusCode::OK).await
}

pub async fn create<A: Auth>(auth: A, Path(slug): Path<String>, headers: HeaderMap, body: Bytes) -> Response {
    let v = auth.viewer();
    let Some(tab) = visible_tab(&v, &slug) else { return not_found(&v) };
    let res = tab.res;
    let form = match read_post(&v, &headers, &body) {
        Ok(f) => f,
        Err(r) => return r.into_response(),
    };
    if let Err(d) = v.policy.may(res, Method::Create) {
        return api_error_page(&v, d.into());
    }
    let items = form::items(&v, res, true);
    let input = match form::parse(&items, &form, true) {
        Ok(i) => i,
        Err(mut state) => {
            super::form_aids::add_store_errors(&v, res, &items, &form, &mut state).await;
            return form_page(&v, tab, None, state, StatusCode::UNPROCESSABLE_ENTITY).await;
        }
    };
    match v.app.store().create(res, &v.actor, input).await {
        Ok(rec) => {
            // A generated secret that is stored hashed can be shown only now.
            let once = rec.generated.as_ref().filter(|(name, _)| res.field(name).is_some_and(|f| f.mode == Mode::Hashed));
            match once {
                Some((name, secret)) => {
                    let note = format!("{}: {secret} — shown only now; copy it before leaving this page.", label(name));
                    let names = rel_names(&v, &rec).await;
                    show_page(&v, tab, &rec, &names, Some(&note), StatusCode::CREATED)
                }
                None => Redirect::to(&format!("{}/{}/{}?done=saved", v.base, tab.slug, rec.id())).into_response(),
            }
        }
        Err(e) => {
            let mut state = FormState::submitted(&items, &form);
            match state.store_error(&items, e) {
                Ok(()) => form_page(&v, tab, None, state, StatusCode::UNPROCESSABLE_ENTITY).await,
                Err(e) => internal(&v, e),
            }
        }
    }
}

/// The record an edit or delete page is about, if the viewer may change it
/// that way; otherwise the page that says why not.
pub(super) async fn changeable(v: &Viewer, slug: &str, id: &str, m: Method) -> Result<(&'static Tab, Record), Response> {
    let Some(tab) = visible_tab(v, slug) else { return Err(not_found(v)) };
    let rec = record(v, tab.res, id).await?;
    if !can_change(v, &rec, m) {
        let done = if m == Method::Delete { "deleted" } else { "changed" };
        return Err(api_error_page(v, ApiError::forbidden(format!("{} can't be {done} here.", v.t(tab.title)))));
    }
    Ok((tab, rec))
}

pub async fn edit_form<A: Auth>(auth: A, Path((slug, id)): Path<(String, String)>) -> Response {
    let v = auth.viewer();
    let (tab, rec) = match changeable(&v, &slug, &id, Method::Update).await {
        Ok(found) => found,
        Err(page) => return page,
    };
    let state = FormState::of_record(&form::items(&v, tab.res, false), &rec);
    form_page(&v, tab, Some(&rec), state, StatusCode::OK).await
}

/// Applies an edit form to a record; the page to answer.
async fn apply_update(v: &Viewer, tab: &Tab, rec: Record, form: &FormBody, done: String) -> Response {
    let res = tab.res;
    if let Err(d) = v.policy.may_change(res, Method::Update, &rec) {
        return api_error_page(v, d.into());
    }
    let items = form::items(v, res, false);
    let input = match form::parse(&items, form, false) {
        Ok(i) => i,
        Err(state) => return form_page(v, tab, Some(&rec), state, StatusCode::UNPROCESSABLE_ENTITY).await,
    };
    match v.app.store().update(res, &v.actor, rec.id(), input).await {
        Ok(_) => Redirect::to(&done).into_response(),
        Err(store::Error::NotFound) => not_found(v),
        Err(e) => {
            let mut state = FormState::submitted(&items, form);
            match state.store_error(&items, e) {
                Ok(()) => form_page(v, tab, Some(&rec), state, StatusCode::UNPROCESSABLE_ENTITY).await,
                Err(e) => internal(v, e),
            }
        }
    }
}

pub async fn update<A: Auth>(auth: A, Path((slug, id)): Path<(String, String)>, headers: HeaderMap, body: Bytes) -> Response {
    let v = auth.viewer();
    let Some(tab) = visible_tab(&v, &slug) else { return not_found(&v) };
    let form = match read_post(&v, &headers, &body) {
        Ok(f) => f,
        Err(r) => return r.into_response(),
    };
    let rec = match record(&v, tab.res, &id).await {
        Ok(r) => r,
        Err(r) => return r,
    };
    let done = format!("{}/{}/{}?done=saved", v.base, tab.slug, rec.id());
    apply_update(&v, tab, rec, &form, done).await
}

pub async fn delete<A: Auth>(auth: A, Path((slug, id)): Path<(String, String)>, headers: HeaderMap, body: Bytes) -> Response {
    let v = auth.viewer();
    let Some(tab) = visible_tab(&v, &slug) else { return not_found(&v) };
    let res = tab.res;
    if let Err(r) = read_post(&v, &headers, &body) {
        return r.into_response();
    }
    if let Err(d) = v.policy.may(res, Method::Delete) {
        return api_error_page(&v, d.into());
    }
    let rec = match record(&v, res, &id).await {
        Ok(r) => r,
        Err(r) => return r,
    };
    if let Err(d) = v.policy.may_change(res, Method::Delete, &rec) {
        return api_error_page(&v, d.into());
    }
    match v.app.store().delete(res, &v.actor, rec.id()).await {
        Ok(()) => Redirect::to(&format!("{}/{}?done=deleted", v.base, tab.slug)).into_response(),
        Err(store::Error::Refused(m)) => error_page(&v, StatusCode::UNPROCESSABLE_ENTITY, v.t("Not allowed"), &m),
        Err(store::Error::NotFound) => not_found(&v),
        Err(e) => internal(&v, e),
    }
}

fn notice(v: &Viewer, q: &HashMap<String, String>, b: &mut String) {
    let text = match q.get("done").map(String::as_str) {
        Some("saved") => v.t("Saved."),
        Some("deleted") => v.t("Deleted."),
        _ => return,
    };
    let _ = write!(b, "<p class=\"notice\" role=\"status\">{}</p>", Esc(text));
}

/// The SHOW page: every attribute and relationship of one record.
pub async fn show<A: Auth>(auth: A, Path((slug, id)): Path<(String, String)>, Query(q): Query<HashMap<String, String>>) -> Response {
    let v = auth.viewer();
    let Some(tab) = visible_tab(&v, &slug) else { return not_found(&v) };
    let res = tab.res;
    let rec = match record(&v, res, &id).await {
        Ok(r) => r,
        Err(r) => return r,
    };
    let done = match q.get("done").map(String::as_str) {
        Some("saved") => Some(v.t("Saved.")),
        _ => None,
    };
    let names = rel_names(&v, &rec).await;
    show_page(&v, tab, &rec, &names, done, StatusCode::OK)
}

/// The names of a record's related records (a customer's name, a
/// gateway's) and whether the viewer may open each, keyed as a list's are.
/// A customer's CDR or route may name the operator's shared gateway or
/// route: named, not linked.
async fn rel_names(v: &Viewer, rec: &Record) -> Names {
    let mut out = Names::new();
    for r in rec.res.rels {
        for (kind, id) in rec.rel_ids(r) {
            let Some(target) = schema::resource(kind).filter(|t| v.scope().sees(t)) else { continue };
            match v.app.store().get(target, v.scope(), id).await {
                Ok(related) => {
                    out.insert((r.name, target.kind, id), (form::record_name(&related), true));
                }
                Err(_) if v.is_customer() => {
                    if let Ok(related) = v.app.store().get(target, store::Scope::Operator, id).await {
                        out.insert((r.name, target.kind, id), (form::record_name(&related), false));
                    }
                }
                Err(_) => {}
            }
        }
    }
    out
}

fn show_page(v: &Viewer, tab: &Tab, rec: &Record, names: &Names, note: Option<&str>, status: StatusCode) -> Response {
    let res = tab.res;
    let title = format!("{} #{}", v.t(tab.title), rec.id());
    let mut b = String::with_capacity(8192);
    let _ = write!(b, "<div class=\"toolbar\"><h1>{}</h1>", Esc(&title));
    if can_change(v, rec, Method::Update) {
        let _ = write!(b, "<a class=\"button primary\" href=\"{}/{}/{}/edit\">{}</a>", v.base, tab.slug, rec.id(), Esc(v.t("Edit")));
    }
    // The confirmation page names the record and what the delete does to others.
    if can_change(v, rec, Method::Delete) {
        let _ = write!(b, "<a class=\"button danger\" href=\"{}/{}/{}/delete\">{}</a>", v.base, tab.slug, rec.id(), Esc(v.t("Delete")));
    }
    if std::ptr::eq(res, &schema::CUSTOMERS) && v.scope().may_open_customer_ui() {
        let _ = write!(
            b,
            "<form method=\"post\" action=\"{}/customers/{}/open\" target=\"_blank\">{}<button type=\"submit\">OPEN UI</button></form>",
            v.base,
            rec.id(),
            csrf_input(v)
        );
    }
    let _ = write!(b, "<a href=\"{}/{}\">{}</a></div>", v.base, tab.slug, Esc(v.t("Back to the list")));
    if let Some(n) = note {
        let _ = write!(b, "<p class=\"notice\" role=\"status\">{}</p>", Esc(n));
    }
    b.push_str("<dl class=\"record\">");
    for f in res.fields.iter().filter(|f| f.mode != Mode::Hashed) {
        let _ = write!(b, "<dt>{}</dt><dd>", Esc(v.t(&label(f.name))));
        if f.kind == Kind::Json {
            if let Some(s) = rec.field(f).as_str() {
                let pretty = serde_json::from_str::<serde_json::Value>(s).ok().and_then(|j| serde_json::to_string_pretty(&j).ok());
                let _ = write!(b, "<pre class=\"json\">{}</pre>", Esc(pretty.as_deref().unwrap_or(s)));
            }
        } else {
            cell(v, f, rec.field(f), &mut b);
        }
        b.push_str("</dd>");
    }
    for r in res.rels {
        if r.name == "customer" && !v.scope().picks_owner() {
            continue;
        }
        let _ = write!(b, "<dt>{}</dt><dd>", Esc(v.t(&rel_label(r))));
        for (i, (kind, rid)) in rec.rel_ids(r).into_iter().enumerate() {
            if i > 0 {
                b.push_str(", ");
            }
            let named = names.get(&(r.name, kind, rid));
            let name = named.map(|n| &n.0).filter(|n| !n.is_empty());
            match tabs::tab_of(kind).filter(|t| visible(v, t) && named.is_some_and(|n| n.1)) {
                Some(t) => {
                    let text = name.map_or_else(|| v.t(t.title).to_owned(), Clone::clone);
                    let _ = write!(b, "<a href=\"{}/{}/{rid}\">{} (#{rid})</a>", v.base, t.slug, Esc(&text));
                }
                None => {
                    // Not one the viewer may open (or gone): the name, without a link.
                    match name {
                        Some(n) => {
                            let _ = write!(b, "{} (#{rid})", Esc(n));
                        }
                        None => {
                            let _ = write!(b, "#{rid}");
                        }
                    }
                }
            }
        }
        b.push_str("</dd>");
    }
    b.push_str("</dl>");
    (status, layout(v, tab.slug, &title, &b)).into_response()
}

/// The domain settings tab: the settings record (always id 1) as a form.
pub(super) const SETTINGS_TAB: Tab = Tab {
    slug: "settings",
    title: "Domain settings",
    res: &schema::DOMAIN_SETTINGS,
    columns: &[],
    filters: &[],
    customer: false,
    admin: true,
};

async fn settings_form(v: &Viewer, tab: &Tab, state: FormState, status: StatusCode, notice_q: &HashMap<String, String>) -> Response {
    settings_form_with(v, tab, state, status, notice_q, "").await
}

/// [`settings_form`] with `after` below the form.
async fn settings_form_with(
    v: &Viewer,
    tab: &Tab,
    state: FormState,
    status: StatusCode,
    notice_q: &HashMap<String, String>,
    after: &str,
) -> Response {
    let items = form::items(v, tab.res, false);
    let opts = match form::options(v, &items, &state).await {
        Ok(o) => o,
        Err(e) => return internal(v, e),
    };
    let title = v.t(tab.title).to_owned();
    let mut b = format!("<h1>{}</h1>", Esc(&title));
    notice(v, notice_q, &mut b);
    let action = format!("{}/settings", v.base);
    b.push_str(&form::render(v, &items, &state, &opts, &action, v.t("Save"), &action));
    b.push_str(after);
    (status, layout(v, "settings", &title, &b)).into_response()
}

/// The customer's fraud limits, which only the operator sets: shown, not offered.
const OPERATOR_LIMITS: &[&str] = &["max_cps", "max_call_duration", "blocked_prefixes", "daily_minutes_limit", "allow_any_caller_id"];

fn operator_limits(v: &Viewer, rec: &Record) -> String {
    let mut b = format!("<h2>{}</h2><dl class=\"record\" id=\"operator-limits\">", Esc(v.t("Limits set by your operator")));
    for f in OPERATOR_LIMITS.iter().filter_map(|n| schema::CUSTOMERS.field(n)) {
        let _ = write!(b, "<dt>{}</dt><dd>", Esc(v.t(&label(f.name))));
        let val = rec.field(f);
        if val.is_null() || val.as_str() == Some("") {
            let _ = write!(b, "{}", Esc(v.t("No limit")));
        } else {
            cell(v, f, val, &mut b);
        }
        b.push_str("</dd>");
    }
    b.push_str("</dl>");
    b
}

pub async fn settings_page(Operator(v): Operator, Query(q): Query<HashMap<String, String>>) -> Response {
    let rec = match settings(&v).await {
        Ok(r) => r,
        Err(r) => return r,
    };
    let state = FormState::of_record(&form::items(&v, &schema::DOMAIN_SETTINGS, false), &rec);
    // The operator's own preferences: its time zone, not the domain's.
    settings_form_with(&v, &SETTINGS_TAB, state, StatusCode::OK, &q, &super::prefs::zone_form(&v)).await
}

pub async fn settings_save(Operator(v): Operator, headers: HeaderMap, body: Bytes) -> Response {
    save_own(v, headers, body, &SETTINGS_TAB, 1).await
}

/// Saves the one record behind a settings page (domain settings, or the
/// customer's own record).
async fn save_own(v: Viewer, headers: HeaderMap, body: Bytes, tab: &Tab, id: i64) -> Response {
    let form = match read_post(&v, &headers, &body) {
        Ok(f) => f,
        Err(r) => return r.into_response(),
    };
    if let Err(r) = record(&v, tab.res, &id.to_string()).await {
        return r;
    }
    let items = form::items(&v, tab.res, false);
    let input = match form::parse(&items, &form, false) {
        Ok(i) => i,
        Err(state) => return settings_form(&v, tab, state, StatusCode::UNPROCESSABLE_ENTITY, &HashMap::new()).await,
    };
    if let Err(d) = v.policy.may(tab.res, Method::Update) {
        return api_error_page(&v, d.into());
    }
    match v.app.store().update(tab.res, &v.actor, id, input).await {
        Ok(_) => Redirect::to(&format!("{}/settings?done=saved", v.base)).into_response(),
        Err(e) => {
            let mut state = FormState::submitted(&items, &form);
            match state.store_error(&items, e) {
                Ok(()) => settings_form(&v, tab, state, StatusCode::UNPROCESSABLE_ENTITY, &HashMap::new()).await,
                Err(e) => internal(&v, e),
            }
        }
    }
}

/// The customer's settings: its own record, of which it may set the UI language.
const CUSTOMER_SETTINGS_TAB: Tab =
    Tab { slug: "settings", title: "Settings", res: &schema::CUSTOMERS, columns: &[], filters: &[], customer: true, admin: false };

pub async fn customer_settings_page(Customer(v): Customer, Query(q): Query<HashMap<String, String>>) -> Response {
    let id = v.customer().expect("a customer viewer");
    let rec = match record(&v, &schema::CUSTOMERS, &id.to_string()).await {
        Ok(r) => r,
        Err(r) => return r,
    };
    let state = FormState::of_record(&form::items(&v, &schema::CUSTOMERS, false), &rec);
    let limits = operator_limits(&v, &rec) + &super::prefs::zone_form(&v);
    settings_form_with(&v, &CUSTOMER_SETTINGS_TAB, state, StatusCode::OK, &q, &limits).await
}

pub async fn customer_settings_save(Customer(v): Customer, headers: HeaderMap, body: Bytes) -> Response {
    let id = v.customer().expect("a customer viewer");
    save_own(v, headers, body, &CUSTOMER_SETTINGS_TAB, id).await
}

/// OPEN UI: a staff session link for the customer (audit-logged by the
/// session code), opened in the new tab the form targets.
pub async fn open_ui(Operator(v): Operator, Path(id): Path<String>, headers: HeaderMap, body: Bytes) -> Response {
    if let Err(r) = read_post(&v, &headers, &body) {
        return r.into_response();
    }
    let Some(customer) = parse_id(&id) else { return not_found(&v) };
    match crate::api::sessions::open_link(&v.app, &v.actor, customer, true, crate::api::OPERATOR_BASE).await {
        Ok((_, uri)) => Redirect::to(&uri).into_response(),
        Err(e) => api_error_page(&v, e),
    }
}

/// Is Online and User Agent of some SIP accounts, as JSON for the list's poller.
pub async fn live<A: Auth>(auth: A, Query(q): Query<HashMap<String, String>>) -> Response {
    let v = auth.viewer();
    let ids: Vec<i64> = q.get("ids").map(|s| s.split(',').filter_map(|x| x.trim().parse().ok()).take(100).collect()).unwrap_or_default();
    match v.app.store().get_many(&schema::SIP_ACCOUNTS, v.scope(), &ids).await {
        Ok(recs) => {
            let rows: Vec<_> = recs
                .iter()
                .map(|r| json!({ "id": r.id(), "is_online": r.get("is_online").as_bool().unwrap_or(false), "user_agent": r.get("user_agent").as_str() }))
                .collect();
            axum::Json(rows).into_response()
        }
        Err(e) => internal(&v, e),
    }
}

/// Signs the customer UI out: the cookie is dropped and, for the
/// customer's own session, the session ends (the live token id is replaced).
pub async fn customer_logout(Customer(v): Customer, headers: HeaderMap, body: Bytes) -> Response {
    if let Err(r) = read_post(&v, &headers, &body) {
        return r.into_response();
    }
    let c = v.customer().expect("a customer viewer");
    if v.actor.kind == "customer_session" {
        if let Err(e) = v.app.store().start_customer_session(c, &store::auth::random_token(24), 0).await {
            return internal(&v, e);
        }
    }
    // Staff access (OPEN UI) ends for good, and the operator is back on the customer's page.
    let back = if v.actor.kind == "operator_impersonation" {
        let mut revoked = v.app.inner.revoked.lock().expect("revoked lock");
        revoked.insert(v.actor.id.clone(), domain::time::now_ms() / 1000 + 24 * 3600);
        format!("{}/customers/{c}", super::OPERATOR_BASE)
    } else {
        "/customer/login".to_owned()
    };
    let mut resp = Redirect::to(&back).into_response();
    let c = format!("{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0");
    if let Ok(h) = HeaderValue::from_str(&c) {
        resp.headers_mut().append(header::SET_COOKIE, h);
    }
    resp
}
