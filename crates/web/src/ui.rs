//! The web UIs, server-rendered: the operator UI under `/ui` and the
//! customer UI under `/customer`, over the same store calls, permission
//! checks and validation as the API. Pages are plain HTML with one embedded
//! stylesheet and one small script; there is no front-end build and no
//! request leaves the server's origin.

mod assets;
mod bulk;
pub(crate) mod clock;
mod confirm;
mod enums;
mod form;
mod form_aids;
mod html;
mod i18n;
mod list;
mod pages;
mod paging;
mod picker;
mod prefs;
mod search;
mod session;
mod states;
mod tabs;
mod totals;

use crate::App;
use axum::extract::Request;
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use html::Esc;
use session::{Customer, Operator, Viewer};
use std::fmt::Write as _;

pub const OPERATOR_BASE: &str = "/ui";
pub const CUSTOMER_BASE: &str = "/customer";

/// An extractor that yields the page's viewer (operator or customer), so
/// one handler serves both UIs.
pub trait Auth: axum::extract::FromRequestParts<App, Rejection = Response> + Send + 'static {
    fn viewer(self) -> Viewer;
}

impl Auth for Operator {
    fn viewer(self) -> Viewer {
        self.0
    }
}

impl Auth for Customer {
    fn viewer(self) -> Viewer {
        self.0
    }
}

pub fn routes() -> Router<App> {
    Router::new()
        .route("/", get(|| async { Redirect::to("/ui/customers") }))
        .route("/ui", get(|| async { Redirect::to("/ui/customers") }))
        .route("/ui/", get(|| async { Redirect::to("/ui/customers") }))
        .route("/ui/assets/{file}", get(assets::serve))
        .route("/ui/login", get(session::login_page).post(session::login))
        .route("/ui/logout", post(session::logout))
        .route("/ui/settings", get(pages::settings_page).post(pages::settings_save))
        .route("/ui/preferences", post(prefs::save::<Operator>))
        .route("/ui/customers/{id}/open", post(pages::open_ui))
        .route("/ui/sip-accounts/live", get(pages::live::<Operator>))
        .route("/ui/search", get(search::page::<Operator>))
        .route("/ui/pick/{kinds}", get(picker::pick::<Operator>))
        .route("/ui/{tab}", get(list::list::<Operator>).post(pages::create::<Operator>))
        .route("/ui/{tab}/bulk", post(bulk::submit::<Operator>))
        .route("/ui/{tab}/new", get(pages::new_form::<Operator>))
        .route("/ui/{tab}/{id}", get(pages::show::<Operator>).post(pages::update::<Operator>))
        .route("/ui/{tab}/{id}/edit", get(pages::edit_form::<Operator>))
        .route("/ui/{tab}/{id}/delete", get(confirm::page::<Operator>).post(pages::delete::<Operator>))
        .route("/customer", get(|| async { Redirect::to("/customer/numbers") }))
        .route("/customer/", get(|| async { Redirect::to("/customer/numbers") }))
        .route("/customer/login", get(session::customer_login_page).post(session::customer_login))
        .route("/customer/logout", post(pages::customer_logout))
        .route("/customer/settings", get(pages::customer_settings_page).post(pages::customer_settings_save))
        .route("/customer/preferences", post(prefs::save::<Customer>))
        .route("/customer/sip-accounts/live", get(pages::live::<Customer>))
        .route("/customer/search", get(search::page::<Customer>))
        .route("/customer/pick/{kinds}", get(picker::pick::<Customer>))
        .route("/customer/{tab}", get(list::list::<Customer>).post(pages::create::<Customer>))
        .route("/customer/{tab}/bulk", post(bulk::submit::<Customer>))
        .route("/customer/{tab}/new", get(pages::new_form::<Customer>))
        .route("/customer/{tab}/{id}", get(pages::show::<Customer>).post(pages::update::<Customer>))
        .route("/customer/{tab}/{id}/edit", get(pages::edit_form::<Customer>))
        .route("/customer/{tab}/{id}/delete", get(confirm::page::<Customer>).post(pages::delete::<Customer>))
        .layer(middleware::from_fn(headers))
}

/// Headers of every UI response: a strict content security policy (only
/// our own assets, no inline script), no framing, no sniffing, referrers
/// only within the site (a customer link carries a token; and with
/// `no-referrer` browsers send `Origin: null`, which the CSRF check refuses),
/// and no caching of pages with data.
async fn headers(req: Request, next: Next) -> Response {
    let mut resp = next.run(req).await;
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    resp
}

/// A whole page around `body`, with `nav` (may be empty) in the header.
pub fn page_shell(title: &str, nav: &str, body: &str) -> Html<String> {
    page_in("en", title, nav, body)
}

fn page_in(lang: &str, title: &str, nav: &str, body: &str) -> Html<String> {
    let mut s = String::with_capacity(body.len() + nav.len() + 1024);
    let _ = write!(
        s,
        "<!doctype html><html lang=\"{lang}\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{} · Switchboard</title><link rel=\"stylesheet\" href=\"{OPERATOR_BASE}/assets/app.css?v={}\">\
         <script src=\"{OPERATOR_BASE}/assets/app.js?v={}\" defer></script></head><body>\
         <a class=\"skip\" href=\"#main\">Skip to content</a>{nav}<main id=\"main\">{body}</main></body></html>",
        Esc(title),
        assets::VERSION,
        assets::VERSION,
    );
    Html(s)
}

/// A page of a signed-in viewer: the header with its tabs, then `body`.
/// `active` is the slug of the current tab.
pub fn layout(v: &Viewer, active: &str, title: &str, body: &str) -> Html<String> {
    let mut nav = String::with_capacity(2048);
    let brand = if v.is_customer() { v.t("Customer UI") } else { "Operator" };
    let _ = write!(
        nav,
        "<header class=\"top\" data-tz=\"{}\"{}><div class=\"brand\"><a href=\"{}\">Switchboard</a> <span>{}</span></div>\
         <nav aria-label=\"{}\"><details class=\"tabs-menu\" open><summary>{}</summary><ul>",
        v.tz.name(),
        if v.tz_chosen { "" } else { " data-tz-auto" },
        v.base,
        Esc(brand),
        Esc(v.t("Main navigation")),
        Esc(v.t("Menu"))
    );
    let mut item = |slug: &str, label: &str| {
        let current = if slug == active { " aria-current=\"page\"" } else { "" };
        let _ = write!(nav, "<li><a href=\"{}/{slug}\"{current}>{}</a></li>", v.base, Esc(label));
    };
    for t in tabs::TABS.iter().filter(|t| !t.admin && list::visible(v, t)) {
        item(t.slug, v.t(t.title));
    }
    item("settings", if v.is_customer() { v.t("Settings") } else { "Domain settings" });
    for t in tabs::TABS.iter().filter(|t| t.admin && list::visible(v, t)) {
        item(t.slug, v.t(t.title));
    }
    let _ = write!(
        nav,
        "</ul></details></nav>{}<form class=\"signout\" method=\"post\" action=\"{}/logout\">{}<span class=\"who\">{}</span>\
         <button type=\"submit\" class=\"link\">{}</button></form></header>",
        search::search_box(v, ""),
        v.base,
        csrf_input(v),
        Esc(&v.who),
        Esc(v.t("Sign out"))
    );
    staff_banner(v, &mut nav);
    page_in(v.lang.tag(), title, &nav, body)
}

/// OPEN UI: an operator looking at a customer's UI is told so on every
/// page, with the way back and an End that signs the staff session out.
fn staff_banner(v: &Viewer, out: &mut String) {
    let Some(c) = v.customer().filter(|_| v.actor.kind == "operator_impersonation") else { return };
    let _ = write!(
        out,
        "<div class=\"staff-banner\" role=\"region\" aria-label=\"{}\"><p><strong>{} {}</strong>: {} ({}).</p>\
         <a href=\"{OPERATOR_BASE}/customers/{c}\">{}</a>\
         <form method=\"post\" action=\"{CUSTOMER_BASE}/logout\">{}<button type=\"submit\" class=\"small\">{}</button></form></div>",
        Esc(v.t("Staff access")),
        Esc(v.t("Viewing as")),
        Esc(&v.who),
        Esc(v.t("changes are audited as you")),
        Esc(&v.actor.name),
        Esc(v.t("Back to the operator UI")),
        csrf_input(v),
        Esc(v.t("End staff access"))
    );
}

pub fn csrf_input(v: &Viewer) -> String {
    format!("<input type=\"hidden\" name=\"{}\" value=\"{}\">", session::CSRF_FIELD, Esc(&v.csrf))
}

/// An error page in the viewer's layout.
pub fn error_page(v: &Viewer, status: StatusCode, title: &str, detail: &str) -> Response {
    let body = format!(
        "<h1>{}</h1><p class=\"alert\" role=\"alert\">{}</p><p><a href=\"{}\">{}</a></p>",
        Esc(title),
        Esc(detail),
        v.base,
        Esc(v.t("Back to the list"))
    );
    (status, layout(v, "", title, &body)).into_response()
}

/// A failure of the API layer (permission, bad parameter, store) as a page.
pub fn api_error_page(v: &Viewer, e: crate::api::error::ApiError) -> Response {
    let title = match e.status {
        StatusCode::NOT_FOUND => v.t("Not found"),
        StatusCode::FORBIDDEN => v.t("Not allowed"),
        _ => e.title.as_str(),
    };
    let detail = if e.status == StatusCode::NOT_FOUND { v.t("The record identified by this id could not be found.") } else { &e.detail };
    error_page(v, e.status, title, detail)
}

/// An unknown page: a tab that does not exist (or that the viewer does not see).
pub fn not_found(v: &Viewer) -> Response {
    states::no_such_page(v)
}

#[cfg(test)]
mod tests;
