//! Per-user UI preferences (stored server-side, `store::prefs`): the time
//! zone and the columns of each list. Loaded with the viewer, changed by
//! one POST endpoint per UI that both the settings page's zone form and
//! each list's column chooser use (plain forms: no script needed).

use super::clock::{self, Tz};
use super::html::Esc;
use super::session::{read_post, Viewer};
use super::{api_error_page, csrf_input, Auth};
use crate::api::error::ApiError;
use axum::body::Bytes;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use serde_json::{Map, Value as Json};
use std::fmt::Write as _;

/// The cookie in which the script leaves the browser's zone, used until
/// the user chooses one.
pub const TZ_COOKIE: &str = "sb_tz";

/// A viewer's preferences, as loaded with each page.
#[derive(Debug, Clone, Default)]
pub struct Prefs {
    /// Who they belong to: (`operator_user`, id), (`customer_user`, id),
    /// or (`customer`, id) for a customer session without a user.
    pub key: (&'static str, String),
    /// Every stored key (other preferences read their own).
    pub raw: Map<String, Json>,
}

impl Prefs {
    /// The chosen zone, if the user chose a valid one.
    pub fn time_zone(&self) -> Option<Tz> {
        self.raw.get("time_zone").and_then(Json::as_str).and_then(clock::zone)
    }

    /// The column keys chosen for a list, if any were.
    pub fn columns(&self, slug: &str) -> Option<Vec<String>> {
        let list = self.raw.get("columns")?.get(slug)?.as_array()?;
        let keys: Vec<String> = list.iter().filter_map(Json::as_str).map(str::to_owned).collect();
        (!keys.is_empty()).then_some(keys)
    }
}

/// Loads the preferences of an identity; a store failure is logged and
/// reads as none (a page should not fail over its column layout).
pub async fn load(app: &crate::App, key: (&'static str, String)) -> Prefs {
    let raw = match app.store().ui_preferences(key.0, &key.1).await {
        Ok(m) => m,
        Err(e) => {
            tracing::warn!(error = %e, "could not load UI preferences");
            Map::new()
        }
    };
    Prefs { key, raw }
}

/// The zone a page shows times in: the chosen one, else the browser's
/// (cookie), else UTC. The flag says whether the user chose it.
pub fn zone_of(prefs: &Prefs, cookie: Option<&str>) -> (Tz, bool) {
    match prefs.time_zone() {
        Some(z) => (z, true),
        // Also as URL-encoded by a script (`Europe%2FVilnius`).
        None => (cookie.and_then(|c| clock::zone(&c.replace("%2F", "/").replace("%2f", "/"))).unwrap_or(Tz::UTC), false),
    }
}

/// Only a page of the same UI may be returned to.
fn safe_back(v: &Viewer, back: Option<&str>) -> String {
    let prefix = format!("{}/", v.base);
    match back {
        Some(b) if b.starts_with(&prefix) && !b.contains("//") && !b.contains('\\') => b.to_owned(),
        _ => format!("{}/settings", v.base),
    }
}

/// `POST {base}/preferences`: `time_zone=<IANA name or empty>`, or
/// `list=<slug>` with `col=<key>` per shown column (`reset` for the
/// defaults); then back to `back`.
pub async fn save<A: Auth>(auth: A, headers: HeaderMap, body: Bytes) -> Response {
    let v = auth.viewer();
    let form = match read_post(&v, &headers, &body) {
        Ok(f) => f,
        Err(r) => return r.into_response(),
    };
    let (kind, id) = (v.prefs.key.0, v.prefs.key.1.clone());
    let store = v.app.store();
    let saved = if let Some(z) = form.get("time_zone") {
        let z = z.trim();
        if z.is_empty() {
            store.set_ui_preference(kind, &id, "time_zone", None).await
        } else if clock::zone(z).is_some() {
            store.set_ui_preference(kind, &id, "time_zone", Some(Json::String(z.to_owned()))).await
        } else {
            return api_error_page(
                &v,
                ApiError::bad_request(format!("{z:.64} is not a known time zone (IANA names like Europe/Vilnius).")),
            );
        }
    } else if let Some(slug) = form.get("list") {
        let Some(tab) = super::list::visible_tab(&v, slug) else { return super::not_found(&v) };
        let known = super::list::all_columns(&v, tab);
        let mut chosen: Vec<Json> = Vec::new();
        for key in form.all("col") {
            if !known.iter().any(|c| c.key == key) {
                return api_error_page(&v, ApiError::bad_request(format!("{key:.64} is not a column of this list.")));
            }
            chosen.push(Json::String(key.to_owned()));
        }
        let mut columns = v.prefs.raw.get("columns").and_then(Json::as_object).cloned().unwrap_or_default();
        if form.get("reset").is_some() || chosen.is_empty() {
            columns.remove(tab.slug);
        } else {
            columns.insert(tab.slug.to_owned(), Json::Array(chosen));
        }
        store.set_ui_preference(kind, &id, "columns", Some(Json::Object(columns))).await
    } else {
        return api_error_page(&v, ApiError::bad_request("Nothing to save: the form names no preference."));
    };
    match saved {
        Ok(()) => Redirect::to(&safe_back(&v, form.get("back"))).into_response(),
        Err(store::Error::Refused(m)) => api_error_page(&v, ApiError::bad_request(m)),
        Err(e) => api_error_page(&v, e.into()),
    }
}

/// The time zone form of a settings page.
pub fn zone_form(v: &Viewer) -> String {
    let mut b = String::with_capacity(40 * 1024);
    let _ = write!(
        b,
        "<h2 id=\"prefs\">{}</h2><form class=\"prefs\" method=\"post\" action=\"{}/preferences\">{}\
         <input type=\"hidden\" name=\"back\" value=\"{}/settings\"><div class=\"field\"><label for=\"time_zone\">{}</label>\
         <select id=\"time_zone\" name=\"time_zone\" aria-describedby=\"time_zone-hint\">",
        Esc(v.t("Your preferences")),
        v.base,
        csrf_input(v),
        v.base,
        Esc(v.t("Time zone"))
    );
    let chosen = v.prefs.time_zone();
    let auto = format!("{} ({})", v.t("Browser's time zone"), v.tz.name());
    let _ = write!(b, "<option value=\"\"{}>{}</option>", if chosen.is_none() { " selected" } else { "" }, Esc(&auto));
    for z in chrono_tz::TZ_VARIANTS {
        let sel = if Some(z) == chosen { " selected" } else { "" };
        let _ = write!(b, "<option{sel}>{}</option>", z.name());
    }
    let _ = write!(
        b,
        "</select><p class=\"hint\" id=\"time_zone-hint\">{}</p></div><button type=\"submit\" class=\"primary\">{}</button></form>",
        Esc(v.t("Times in both lists and detail pages are shown in this zone.")),
        Esc(v.t("Save"))
    );
    b
}

/// The column chooser: a disclosure with a checkbox per column, posted to
/// the preferences (no script needed).
pub fn chooser(v: &Viewer, tab: &super::tabs::Tab, shown: &[super::list::ListCol], back: &str, b: &mut String) {
    let _ = write!(
        b,
        "<details class=\"columns\"><summary>{}</summary><form method=\"post\" action=\"{}/preferences\">{}\
         <input type=\"hidden\" name=\"list\" value=\"{}\"><input type=\"hidden\" name=\"back\" value=\"{}\">\
         <fieldset><legend>{}</legend><div class=\"opts\">",
        Esc(v.t("Columns")),
        v.base,
        csrf_input(v),
        tab.slug,
        Esc(back),
        Esc(v.t("Columns shown"))
    );
    for c in super::list::all_columns(v, tab) {
        let checked = if shown.iter().any(|s| s.key == c.key) { " checked" } else { "" };
        let id = format!("col-{}", c.key.replace('.', "-"));
        let _ = write!(
            b,
            "<label for=\"{id}\"><input type=\"checkbox\" id=\"{id}\" name=\"col\" value=\"{}\"{checked}> {}</label>",
            Esc(&c.key),
            Esc(&c.label)
        );
    }
    let _ = write!(
        b,
        "</div></fieldset><div class=\"form-actions\"><button type=\"submit\" class=\"primary\">{}</button>\
         <button type=\"submit\" name=\"reset\" value=\"1\">{}</button></div></form></details>",
        Esc(v.t("Apply")),
        Esc(v.t("Default columns"))
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(raw: Json) -> Prefs {
        Prefs { key: ("operator_user", "1".into()), raw: raw.as_object().cloned().unwrap() }
    }

    #[test]
    fn zone_prefers_the_choice_then_the_browser() {
        let chosen = with(serde_json::json!({ "time_zone": "Europe/Vilnius" }));
        assert_eq!(zone_of(&chosen, Some("Asia/Tokyo")), (chrono_tz::Europe::Vilnius, true));
        let none = with(serde_json::json!({}));
        assert_eq!(zone_of(&none, Some("Asia/Tokyo")), (chrono_tz::Asia::Tokyo, false));
        assert_eq!(zone_of(&none, Some("Not/AZone")), (Tz::UTC, false));
        assert_eq!(zone_of(&none, Some("Europe%2FVilnius")), (chrono_tz::Europe::Vilnius, false));
        assert_eq!(zone_of(&none, None), (Tz::UTC, false));
        let bad = with(serde_json::json!({ "time_zone": "nowhere" }));
        assert_eq!(zone_of(&bad, None), (Tz::UTC, false));
    }

    #[test]
    fn columns_are_per_list() {
        let p = with(serde_json::json!({ "columns": { "termination-cdrs": ["id", "duration"], "numbers": [] } }));
        assert_eq!(p.columns("termination-cdrs"), Some(vec!["id".to_owned(), "duration".to_owned()]));
        assert_eq!(p.columns("numbers"), None);
        assert_eq!(p.columns("customers"), None);
    }
}
