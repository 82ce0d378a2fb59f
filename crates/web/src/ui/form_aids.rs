//! What a form adds around its inputs so one submit is enough: every error
//! at once (the store's dry run joins the form's own parse errors), an
//! error summary at the top linking to each bad field, and a reveal button
//! for password inputs.

use super::form::{self, FormState, Item};
use super::html::Esc;
use super::session::{FormBody, Viewer};
use domain::schema::{Kind, Resource};
use std::fmt::Write as _;

/// The id of an item's input (of its first checkbox, for a checkbox list).
pub fn input_id(it: &Item) -> String {
    let id = format!("in-{}", it.name().replace(':', "-"));
    match it {
        Item::Field(f) if f.kind == Kind::FieldNames => format!("{id}-0"),
        _ => id,
    }
}

/// After the form's own parsing failed: the store's errors for the fields
/// that did parse (a blank required field, a missing or unknown related
/// record), from a dry run of the create, so the page shows all at once.
pub async fn add_store_errors(v: &Viewer, res: &'static Resource, items: &[Item], body: &FormBody, state: &mut FormState) {
    let parsed: Vec<Item> = items.iter().copied().filter(|it| !state.errors.contains_key(&it.name())).collect();
    let Ok(input) = form::parse(&parsed, body, true) else { return };
    let Err(e) = v.app.store().validate(res, &v.actor, input).await else { return };
    // A field whose own text was wrong keeps that message, not "can't be blank".
    let mut more = FormState::default();
    if let Err(e) = more.store_error(items, e) {
        tracing::error!(error = %e, "dry run of a create failed");
        return;
    }
    for (name, msg) in more.errors {
        state.errors.entry(name).or_insert(msg);
    }
    let known = |f: &Option<String>| f.as_ref().is_some_and(|f| state.errors.contains_key(f));
    let general: Vec<_> = more.general.into_iter().filter(|g| !known(&g.0)).collect();
    state.general.extend(general);
}

/// The error summary: a heading, then each bad field as a link to it (in
/// the form's order), then the errors not tied to an input.
pub fn summary(v: &Viewer, items: &[Item], state: &FormState, b: &mut String) {
    if state.general.is_empty() && state.errors.is_empty() {
        return;
    }
    let _ = write!(
        b,
        "<div class=\"alert error-summary\" role=\"alert\" aria-labelledby=\"error-summary-title\"><p id=\"error-summary-title\"><strong>{}</strong></p><ul>",
        Esc(v.t("Please correct the marked fields."))
    );
    for it in items {
        let Some(msg) = state.errors.get(&it.name()) else { continue };
        let text = form::error_text(v, v.t(&it.label()), msg);
        let _ = write!(b, "<li><a href=\"#{}\">{}</a></li>", input_id(it), Esc(&text));
    }
    for (field, msg) in &state.general {
        let text = match field {
            Some(f) => form::error_text(v, v.t(&super::tabs::label(f)), msg),
            None => v.lang.t_msg(msg),
        };
        let _ = write!(b, "<li>{}</li>", Esc(&text));
    }
    b.push_str("</ul></div>");
}

/// A button beside a password input that shows or hides what was typed
/// (app.js switches the type, `aria-pressed` and the text). Hidden until
/// the script runs: without it the button could do nothing.
pub fn reveal(v: &Viewer, id: &str, b: &mut String) {
    let _ = write!(
        b,
        "<button type=\"button\" class=\"reveal\" aria-controls=\"{id}\" aria-pressed=\"false\" data-show=\"{}\" data-hide=\"{}\" hidden>{}</button>",
        Esc(v.t("Show password")),
        Esc(v.t("Hide password")),
        Esc(v.t("Show password"))
    );
}
