//! Create and edit forms from the schema: which inputs a viewer gets (the
//! customer only the fields the domain settings open to it), defaults
//! pre-filled from the schema and the domain settings, the submitted form
//! turned into store input through the same validation as the API, and
//! errors shown beside their field.

use super::html::Esc;
use super::session::{FormBody, Viewer};
use super::tabs::{label, rel_label};
use domain::schema::{self, Default, Field, Kind, Mode, Rel, Resource};
use domain::{validate, Value};
use serde_json::Value as Json;
use std::collections::HashMap;
use std::fmt::Write as _;
use store::{Input, Record, RelInput};

/// One input of a form.
#[derive(Clone, Copy)]
pub enum Item {
    /// A client-chosen id (customers, operator only).
    Id,
    Field(&'static Field),
    Rel(&'static Rel),
}

impl Item {
    /// The input's name in the form.
    pub fn name(&self) -> String {
        match self {
            Item::Id => "id".into(),
            Item::Field(f) => f.name.into(),
            Item::Rel(r) => format!("rel:{}", r.name),
        }
    }

    pub(super) fn label(&self) -> String {
        match self {
            Item::Id => "ID".into(),
            Item::Field(f) => label(f.name),
            Item::Rel(r) => rel_label(r),
        }
    }
}

/// The inputs a viewer gets for creating or editing a record.
pub fn items(v: &Viewer, res: &'static Resource, creating: bool) -> Vec<Item> {
    let mut out = Vec::new();
    if creating && v.policy.may_choose_id(res).is_ok() {
        out.push(Item::Id);
    }
    for f in res.fields.iter().skip(1) {
        if matches!(f.kind, Kind::Json | Kind::Time) || v.policy.may_set(res, f.name, creating).is_err() {
            continue;
        }
        out.push(Item::Field(f));
    }
    for r in res.rels {
        // A customer's records are its own: no owner to pick.
        let implied = r.name == "customer" && !v.scope().picks_owner();
        if implied || v.policy.may_set(res, r.name, creating).is_err() {
            continue;
        }
        out.push(Item::Rel(r));
    }
    out
}

/// What the form shows: values per input, and errors.
#[derive(Debug, Default)]
pub struct FormState {
    pub values: HashMap<String, Vec<String>>,
    pub errors: HashMap<String, String>,
    /// Errors not tied to one input (a limit reached, a refused change),
    /// with the attribute they are about, if any.
    pub general: Vec<(Option<String>, String)>,
}

/// A stored value as plain text (form values, names, CSV-like cells).
pub fn plain(kind: Kind, v: &Value) -> String {
    match (kind, v) {
        (Kind::Time, Value::Int(ms)) => super::list::show_time(*ms),
        _ => validate::to_cell(kind, v),
    }
}

impl FormState {
    /// A create form: defaults from the schema and the domain settings.
    pub fn defaults(items: &[Item], settings: &Record) -> FormState {
        let mut s = FormState::default();
        for it in items {
            let Item::Field(f) = it else { continue };
            let v = match f.default {
                Default::Str(x) => x.to_owned(),
                Default::Int(i) => i.to_string(),
                Default::Bool(b) => b.to_string(),
                Default::Setting(name) => plain(f.kind, settings.get(name)),
                Default::Null | Default::Generated => continue,
            };
            s.values.insert(f.name.to_owned(), split(f.kind, v));
        }
        s
    }

    /// An edit form: the record's current values.
    pub fn of_record(items: &[Item], rec: &Record) -> FormState {
        let mut s = FormState::default();
        for it in items {
            match it {
                Item::Id => {}
                Item::Field(f) if f.mode == Mode::Hashed => {}
                Item::Field(f) => {
                    s.values.insert(f.name.to_owned(), split(f.kind, plain(f.kind, rec.field(f))));
                }
                Item::Rel(r) => {
                    let ids = rec.rel_ids(r);
                    if !ids.is_empty() {
                        let text = ids.iter().map(|(kind, id)| rel_value(r, kind, *id)).collect::<Vec<_>>().join(", ");
                        s.values.insert(it.name(), vec![text]);
                    }
                }
            }
        }
        s
    }

    /// The values just submitted, to show the form again.
    pub fn submitted(items: &[Item], form: &FormBody) -> FormState {
        let values = items.iter().map(|it| (it.name(), form.all(&it.name()).map(str::to_owned).collect())).collect();
        FormState { values, ..FormState::default() }
    }

    fn value(&self, name: &str) -> &str {
        self.values.get(name).and_then(|v| v.first()).map_or("", String::as_str)
    }

    /// Files a store failure under its input, or as a general error.
    /// Anything that is not the client's mistake is returned.
    pub fn store_error(&mut self, items: &[Item], e: store::Error) -> Result<(), store::Error> {
        match e {
            store::Error::Invalid(_) | store::Error::InvalidMany(_) => {
                for fe in e.field_errors() {
                    let name = items.iter().map(Item::name).find(|n| *n == fe.field || n.strip_prefix("rel:") == Some(fe.field.as_str()));
                    match name {
                        Some(n) => {
                            self.errors.entry(n).or_insert_with(|| fe.message.clone());
                        }
                        None => self.general.push((Some(fe.field.clone()), fe.message.clone())),
                    }
                }
            }
            store::Error::IdTaken(id) => {
                self.errors.insert("id".into(), format!("{id} is already taken"));
            }
            store::Error::Refused(m) => self.general.push((None, capitalise(&m))),
            other => return Err(other),
        }
        Ok(())
    }
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    c.next().map_or_else(String::new, |f| f.to_uppercase().chain(c).collect())
}

/// Multi-valued inputs (checkbox lists) hold one value per item.
fn split(kind: Kind, v: String) -> Vec<String> {
    if kind == Kind::FieldNames {
        v.split(',').filter(|x| !x.is_empty()).map(str::to_owned).collect()
    } else {
        vec![v]
    }
}

/// What a record is called in a choice or a link: its name, username or number.
pub fn record_name(rec: &Record) -> String {
    ["name", "username", "number"].iter().find_map(|n| rec.get(n).as_str().map(str::to_owned)).unwrap_or_default()
}

/// A relationship's value in a form: the id, or `type:id` when the
/// relationship may point at several types (a number's destination).
fn rel_value(r: &Rel, kind: &str, id: i64) -> String {
    if r.targets.len() > 1 {
        format!("{kind}:{id}")
    } else {
        id.to_string()
    }
}

/// Labels of the related records a form's relationship inputs hold now
/// (the pickers search the rest on demand; nothing else is loaded).
pub type Options = super::picker::Labels;

pub async fn options(v: &Viewer, items: &[Item], state: &FormState) -> Result<Options, store::Error> {
    let mut wanted = Vec::new();
    for it in items {
        let Item::Rel(r) = it else { continue };
        wanted.extend(super::picker::parse_values(r.targets, state.value(&it.name())));
    }
    super::picker::labels(v, &wanted).await
}

/// Renders the form. `action` is the POST target.
pub fn render(v: &Viewer, items: &[Item], state: &FormState, opts: &Options, action: &str, submit: &str, cancel: &str) -> String {
    let mut b = String::with_capacity(8192);
    super::form_aids::summary(v, items, state, &mut b);
    let _ = write!(b, "<form class=\"record\" method=\"post\" action=\"{}\" novalidate>{}", Esc(action), super::csrf_input(v));
    for it in items {
        input(v, it, state, opts, &mut b);
    }
    let _ = write!(
        b,
        "<div class=\"form-actions\"><button type=\"submit\" class=\"primary\">{}</button><a href=\"{}\">{}</a></div></form>",
        Esc(submit),
        Esc(cancel),
        Esc(v.t("Cancel"))
    );
    b
}

fn input(v: &Viewer, it: &Item, state: &FormState, opts: &Options, b: &mut String) {
    let name = it.name();
    let id = format!("in-{}", name.replace(':', "-"));
    let text = it.label();
    let label_text = v.t(&text).to_owned();
    let error = state.errors.get(&name);
    let err_id = format!("{id}-error");
    let invalid = if error.is_some() { format!(" aria-invalid=\"true\" aria-describedby=\"{err_id}\"") } else { String::new() };
    let value = state.value(&name);
    let required = match it {
        Item::Field(f) => f.required,
        Item::Rel(r) => r.required,
        Item::Id => false,
    };
    let req = if required { " required" } else { "" };
    let star = if required { " <span aria-hidden=\"true\">*</span>" } else { "" };
    let error_html = |b: &mut String| {
        if let Some(e) = error {
            let _ = write!(b, "<p class=\"error\" id=\"{err_id}\">{}</p>", Esc(&error_text(v, &label_text, e)));
        }
    };
    match it {
        Item::Field(f) if f.kind == Kind::Bool => {
            let checked = if value == "true" { " checked" } else { "" };
            let _ = write!(
                b,
                "<div class=\"field check\"><input type=\"checkbox\" id=\"{id}\" name=\"{}\" value=\"true\"{checked}{invalid}><label for=\"{id}\">{}</label></div>",
                Esc(&name),
                Esc(&label_text)
            );
            error_html(b);
        }
        Item::Field(f) if f.kind == Kind::FieldNames => {
            let chosen = state.values.get(&name).cloned().unwrap_or_default();
            let _ = write!(b, "<fieldset{invalid}><legend>{}</legend><div class=\"opts\">", Esc(&label_text));
            for (i, n) in schema::TERMINATION_FIELD_NAMES.split(',').enumerate() {
                let checked = if chosen.iter().any(|c| c == n) { " checked" } else { "" };
                let _ = write!(
                    b,
                    "<label><input type=\"checkbox\" id=\"{id}-{i}\" name=\"{}\" value=\"{n}\"{checked}> {}</label>",
                    Esc(&name),
                    Esc(&label(n))
                );
            }
            b.push_str("</div></fieldset>");
            error_html(b);
        }
        _ => {
            let _ = write!(b, "<div class=\"field\"><label for=\"{id}\">{}{star}</label>", Esc(&label_text));
            match it {
                Item::Field(f) => match f.kind {
                    Kind::Enum(values) => super::enums::select(v, f, values, &id, value, error.map(|_| err_id.as_str()), b),
                    Kind::IntOf(values) => {
                        let _ = write!(b, "<select id=\"{id}\" name=\"{}\"{req}{invalid}>", Esc(&name));
                        for val in values {
                            let s = val.to_string();
                            let sel = if s == value { " selected" } else { "" };
                            let _ = write!(b, "<option{sel}>{s}</option>");
                        }
                        b.push_str("</select>");
                    }
                    Kind::Int { min, max } => {
                        let _ = write!(
                            b,
                            "<input type=\"number\" id=\"{id}\" name=\"{}\" value=\"{}\" min=\"{min}\" max=\"{max}\"{req}{invalid}>",
                            Esc(&name),
                            Esc(value)
                        );
                    }
                    // 0 (off) lies below the floor: the server names the floor.
                    Kind::Seconds { max, .. } => {
                        let _ = write!(
                            b,
                            "<input type=\"number\" id=\"{id}\" name=\"{}\" value=\"{}\" min=\"0\" max=\"{max}\"{req}{invalid}>",
                            Esc(&name),
                            Esc(value)
                        );
                    }
                    _ => {
                        let secret = f.mode == Mode::Hashed || f.kind == Kind::Secret;
                        let ty = if secret { "password" } else { "text" };
                        let mode = if matches!(f.kind, Kind::Digits { .. }) { " inputmode=\"numeric\"" } else { "" };
                        let mode =
                            if matches!(f.kind, Kind::PhoneNumbers { .. } | Kind::Prefixes { .. }) { " inputmode=\"tel\"" } else { mode };
                        if secret {
                            b.push_str("<div class=\"with-reveal\">");
                        }
                        let _ = write!(
                            b,
                            "<input type=\"{ty}\" id=\"{id}\" name=\"{}\" value=\"{}\"{mode}{req}{invalid} autocomplete=\"off\">",
                            Esc(&name),
                            Esc(value)
                        );
                        if secret {
                            super::form_aids::reveal(v, &id, b);
                            b.push_str("</div>");
                        }
                    }
                },
                Item::Rel(r) => {
                    let attrs = format!("{req}{invalid}");
                    let p = super::picker::Picker { id: &id, name: &name, targets: r.targets, many: r.many, value, attrs: &attrs };
                    b.push_str(&super::picker::markup(v, &p, opts));
                }
                Item::Id => {
                    let _ = write!(b, "<input type=\"number\" id=\"{id}\" name=\"id\" value=\"{}\" min=\"1\"{invalid}>", Esc(value));
                }
            }
            hint(v, it, b);
            if matches!(it, Item::Field(f) if f.kind == Kind::Codecs) {
                super::enums::codecs(v, b);
            }
            error_html(b);
            b.push_str("</div>");
        }
    }
}

/// "Number can't be blank" in English; "Номер: не может быть пустым" in
/// the other languages, whose word order would not survive the English form.
pub(super) fn error_text(v: &Viewer, label: &str, msg: &str) -> String {
    match v.lang {
        super::i18n::Lang::En => format!("{label} {msg}"),
        lang => format!("{label}: {}", lang.t_msg(msg)),
    }
}

fn hint(v: &Viewer, it: &Item, b: &mut String) {
    let text = match it {
        Item::Id => "Left empty, one is generated.".to_owned(),
        Item::Field(f) if f.default == Default::Generated => "Left empty, one is generated.".to_owned(),
        Item::Field(f) if f.name.ends_with("_limit") || f.name.starts_with("max_") => "Left empty: no limit.".to_owned(),
        Item::Field(f) if matches!(f.kind, Kind::Prefixes { .. }) => {
            "Number prefixes, comma-separated: calls out to numbers starting with one are refused.".to_owned()
        }
        Item::Field(f) if matches!(f.kind, Kind::PhoneNumbers { .. }) => "Phone numbers in ring order, comma-separated.".to_owned(),
        Item::Field(f) if matches!(f.kind, Kind::Sources { .. }) => {
            "IP addresses or CIDR ranges (198.51.100.0/24), comma-separated; empty: calls from anywhere.".to_owned()
        }
        Item::Field(f) if f.kind == Kind::Codecs => {
            format!("{} {}", v.t("Comma-separated, in order of preference:"), domain::codec::CODECS.join(", "))
        }
        _ => return,
    };
    let _ = write!(b, "<p class=\"hint\">{}</p>", Esc(v.t(&text)));
}

/// The submitted form as store input, validated like an API body. On
/// failure, the state to show again (with the submitted values).
pub fn parse(items: &[Item], form: &FormBody, creating: bool) -> Result<Input, FormState> {
    let mut state = FormState::submitted(items, form);
    let mut input = Input::default();
    for it in items {
        let name = it.name();
        let checkbox = matches!(it, Item::Field(f) if matches!(f.kind, Kind::Bool | Kind::FieldNames));
        if !creating && !checkbox && form.get(&name).is_none() {
            // Not in the form at all (not merely empty): left unchanged.
            continue;
        }
        let raw = form.get(&name).unwrap_or("");
        match it {
            Item::Id => {
                if raw.trim().is_empty() {
                    continue;
                }
                match raw.trim().parse::<i64>() {
                    Ok(i) if i >= 1 => input.id = Some(i),
                    _ => {
                        state.errors.insert(name, "must be a positive integer".into());
                    }
                }
            }
            Item::Field(f) => {
                let json = match f.kind {
                    Kind::Bool => Json::Bool(raw == "true"),
                    Kind::FieldNames => Json::Array(form.all(&name).map(|s| Json::String(s.to_owned())).collect()),
                    // One text input, numbers separated by commas or spaces;
                    // emptied on edit, it clears the list.
                    Kind::PhoneNumbers { .. } | Kind::Sources { .. } | Kind::Prefixes { .. } => {
                        let numbers = raw.split(|c: char| c == ',' || c == ';' || c.is_whitespace()).filter(|s| !s.is_empty());
                        let list: Vec<Json> = numbers.map(|s| Json::String(s.to_owned())).collect();
                        if list.is_empty() && creating {
                            continue;
                        }
                        Json::Array(list)
                    }
                    _ => {
                        let text = if f.kind == Kind::Secret { raw } else { raw.trim() };
                        if text.is_empty() {
                            if creating || f.mode == Mode::Hashed {
                                // Absent: the default (or "can't be blank") applies.
                                continue;
                            }
                            Json::Null
                        } else {
                            Json::String(text.to_owned())
                        }
                    }
                };
                match validate::parse(f, &json) {
                    Ok(v) => input.attrs.push((f, v)),
                    Err(e) => {
                        state.errors.insert(name, e.message);
                    }
                }
            }
            Item::Rel(r) if r.many => {
                let ids: Result<Vec<i64>, _> = raw
                    .split(|c: char| c == ',' || c.is_whitespace())
                    .filter(|s| !s.is_empty())
                    .map(|s| s.parse::<i64>().ok().filter(|i| *i >= 1).ok_or(()))
                    .collect();
                match ids {
                    Ok(ids) if ids.is_empty() && creating => {}
                    Ok(ids) => input.rels.push((r, RelInput::Many(ids))),
                    Err(()) => {
                        state.errors.insert(name, "needs ids separated by commas".into());
                    }
                }
            }
            Item::Rel(r) => {
                let raw = raw.trim();
                if raw.is_empty() {
                    if !creating {
                        input.rels.push((r, RelInput::None));
                    }
                    continue;
                }
                // `type:id` for a relationship of several types, else an id.
                let (kind, id) = match raw.split_once(':') {
                    Some((k, i)) => (r.canonical_type(k.trim()), i.trim()),
                    None => (Some(r.targets[0]), raw),
                };
                match (kind, id.parse::<i64>()) {
                    (Some(kind), Ok(id)) if id >= 1 => input.rels.push((r, RelInput::To(kind, id))),
                    _ => {
                        state.errors.insert(name, "needs a valid id".into());
                    }
                }
            }
        }
    }
    if state.errors.is_empty() {
        Ok(input)
    } else {
        Err(state)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(pairs: &[(&str, &str)]) -> FormBody {
        FormBody(pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect())
    }

    fn operator_items(res: &'static Resource, creating: bool) -> Vec<Item> {
        let mut out = Vec::new();
        if creating && res.client_ids {
            out.push(Item::Id);
        }
        out.extend(
            res.fields.iter().skip(1).filter(|f| f.writable(creating) && !matches!(f.kind, Kind::Json | Kind::Time)).map(Item::Field),
        );
        out.extend(res.rels.iter().filter(|r| creating || r.updatable).map(Item::Rel));
        out
    }

    #[test]
    fn validates_like_the_api_and_keeps_what_was_typed() {
        let items = operator_items(&schema::SIP_ACCOUNTS, true);
        let f = body(&[("username", "ok-1"), ("internal_caller_id", "12345"), ("rel:customer", "x"), ("allow_external_calls", "true")]);
        let state = parse(&items, &f, true).unwrap_err();
        assert_eq!(state.errors["internal_caller_id"], "must be 1 to 4 digits");
        assert_eq!(state.errors["rel:customer"], "needs a valid id");
        assert_eq!(state.values["username"], vec!["ok-1"]);
        let f = body(&[("username", "ok-1"), ("internal_caller_id", "12"), ("rel:customer", "7"), ("allow_external_calls", "true")]);
        let input = parse(&items, &f, true).unwrap();
        assert_eq!(input.attr("allow_external_calls"), Some(&Value::Bool(true)));
        assert_eq!(input.attr("password"), None, "left empty: generated by the store");
        assert_eq!(input.rels[0].1, RelInput::To("customers", 7));
    }

    #[test]
    fn editing_clears_nullable_fields_and_keeps_hashed_ones() {
        let items = operator_items(&schema::GATEWAYS, false);
        let f = body(&[("name", "gw"), ("host", "10.0.0.1"), ("port", "5060"), ("authorization_name", "")]);
        let input = parse(&items, &f, false).unwrap();
        assert_eq!(input.attr("authorization_name"), Some(&Value::Null));
        let items = operator_items(&schema::OPERATOR_USERS, false);
        let input = parse(&items, &body(&[("username", "op"), ("password", "")]), false).unwrap();
        assert_eq!(input.attr("password"), None);
    }

    #[test]
    fn checkbox_lists_become_arrays() {
        let items = operator_items(&schema::DOMAIN_SETTINGS, false);
        let mut pairs = vec![("sip_domain", "pbx.example"), ("default_codecs", "PCMA, PCMU"), ("capacity_reject_code", "403")];
        pairs.extend([("customer_termination_fields", "name"), ("customer_termination_fields", "host")]);
        pairs.extend([("default_transport_protocol", "UDP"), ("default_trm_mode", "operator")]);
        let input = parse(&items, &body(&pairs), false).unwrap();
        assert_eq!(input.attr("customer_termination_fields"), Some(&Value::Text("name,host".into())));
        assert_eq!(input.attr("default_codecs"), Some(&Value::Text("PCMA,PCMU".into())));
        assert_eq!(input.attr("customers_may_add_numbers"), Some(&Value::Bool(false)), "an unchecked box is false");
    }
}
