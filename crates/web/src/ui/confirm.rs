//! The delete confirmation of both UIs (GET `{base}/{tab}/{id}/delete`):
//! it names the record and lists what the delete would remove, change or
//! be refused by (`Store::dependants`), then offers Delete (the POST, with
//! its CSRF token) and Cancel. Plain HTML: it works without the script.

use super::html::Esc;
use super::list::visible;
use super::pages::{changeable, internal};
use super::session::Viewer;
use super::{csrf_input, layout, Auth};
use axum::extract::Path;
use axum::response::{IntoResponse, Response};
use domain::access::Method;
use std::fmt::Write as _;
use store::dependants::{Dependant, Effect, NAMED};

/// "Delete <what>" per resource, the start of the page's question.
const DELETE_WHAT: &[(&str, &str)] = &[
    ("customers", "Delete customer"),
    ("sip_device_routes", "Delete SIP account"),
    ("available_did_numbers", "Delete DID number"),
    ("ring_groups", "Delete ring group"),
    ("capacity_groups", "Delete capacity group"),
    ("incoming_trunks", "Delete incoming trunk"),
    ("termination_gateways", "Delete termination gateway"),
    ("termination_routes", "Delete termination route"),
    ("operator_users", "Delete operator user"),
    ("customer_users", "Delete customer user"),
    ("api_credentials", "Delete API credential"),
];

/// The headings of the dependants, per effect, in the order shown.
const EFFECTS: &[(Effect, &str)] = &[
    (Effect::Blocks, "These prevent the delete; delete them or point them elsewhere first:"),
    (Effect::Deleted, "Deleted with it:"),
    (Effect::Removed, "Kept, with this record taken out of them:"),
    (Effect::Cleared, "Kept, with their link to this record cleared:"),
];

/// The question: `Delete SIP account "desk-1"?`, or `… #7?` for a nameless record.
fn question(v: &Viewer, kind: &str, id: i64, name: &str) -> String {
    let what = DELETE_WHAT.iter().find(|(k, _)| *k == kind).map_or("Delete", |(_, w)| w);
    if name.is_empty() {
        format!("{} #{id}?", v.t(what))
    } else {
        format!("{} “{name}”?", v.t(what))
    }
}

pub async fn page<A: Auth>(auth: A, Path((slug, id)): Path<(String, String)>) -> Response {
    let v = auth.viewer();
    let (tab, rec) = match changeable(&v, &slug, &id, Method::Delete).await {
        Ok(found) => found,
        Err(page) => return page,
    };
    let deps = match v.app.store().dependants(tab.res, rec.id()).await {
        Ok(d) => d,
        Err(e) => return internal(&v, e),
    };
    let title = question(&v, tab.res.kind, rec.id(), &super::form::record_name(&rec));
    let show = format!("{}/{}/{}", v.base, tab.slug, rec.id());
    let mut b = String::with_capacity(4096);
    let _ = write!(b, "<h1>{}</h1>", Esc(&title));
    let blocked = deps.iter().any(|d| d.effect == Effect::Blocks);
    if deps.is_empty() {
        let _ = write!(b, "<p>{}</p>", Esc(v.t("No other record depends on it.")));
    }
    for (effect, heading) in EFFECTS {
        let of: Vec<&Dependant> = deps.iter().filter(|d| d.effect == *effect).collect();
        if of.is_empty() {
            continue;
        }
        let class = if *effect == Effect::Blocks { "alert dependants" } else { "dependants" };
        let _ = write!(b, "<div class=\"{class}\"><p>{}</p><ul>", Esc(v.t(heading)));
        for d in of {
            dependant(&v, d, &mut b);
        }
        b.push_str("</ul></div>");
    }
    b.push_str("<div class=\"form-actions\">");
    if blocked {
        let _ = write!(b, "<p>{}</p>", Esc(v.t("This record can't be deleted yet.")));
    } else {
        let _ = write!(
            b,
            "<form method=\"post\" action=\"{show}/delete\">{}<button type=\"submit\" class=\"danger\">{}</button></form>",
            csrf_input(&v),
            Esc(v.t("Delete"))
        );
    }
    let _ = write!(b, "<a href=\"{show}\">{}</a></div>", Esc(v.t("Cancel")));
    layout(&v, tab.slug, &title, &b).into_response()
}

/// One kind of dependant: "SIP accounts (3): desk-1, desk-2, desk-3", the
/// names linked to their records when the viewer may open them.
fn dependant(v: &Viewer, d: &Dependant, b: &mut String) {
    let tab = super::tabs::tab_of(d.res.kind).filter(|t| visible(v, t));
    let title = match tab {
        Some(t) => v.t(t.title),
        None if d.res.kind == "domain_settings" => v.t("Domain settings"),
        None => d.res.kind,
    };
    let _ = write!(b, "<li>{} ({})", Esc(title), d.count);
    if v.scope().sees(d.res) && !d.names.is_empty() {
        b.push_str(": ");
        for (i, (id, name)) in d.names.iter().enumerate() {
            if i > 0 {
                b.push_str(", ");
            }
            let text = if name.is_empty() { format!("#{id}") } else { name.clone() };
            match tab {
                Some(t) => {
                    let _ = write!(b, "<a href=\"{}/{}/{id}\">{}</a>", v.base, t.slug, Esc(&text));
                }
                None => {
                    let _ = write!(b, "{}", Esc(&text));
                }
            }
        }
        if d.count > NAMED as i64 {
            let _ = write!(b, " {}", Esc(&v.lang.t_msg(&format!("and {} more", d.count - NAMED as i64))));
        }
    }
    b.push_str("</li>");
}

/// Every text of the page, for the catalogue test.
#[cfg(test)]
pub fn texts() -> Vec<&'static str> {
    let mut out: Vec<&str> = DELETE_WHAT.iter().map(|(_, w)| *w).chain(EFFECTS.iter().map(|(_, h)| *h)).collect();
    out.extend(["Delete", "No other record depends on it.", "This record can't be deleted yet.", "and {} more", "Domain settings"]);
    out
}
