//! JSON:API documents: records out as resource objects (links, sparse
//! fieldsets, relationship linkage), request bodies in as validated store
//! input, with the customer's field permissions applied.

use super::error::{ApiError, ApiResult};
use axum::http::StatusCode;
use domain::access::{Denied, Policy};
use domain::schema::{Kind, Mode, Resource};
use domain::validate;
use serde_json::Value as Json;
use std::collections::HashMap;
use std::fmt::Write as _;
use store::{Input, Record, RelInput};

/// What shapes an answered document.
pub struct Shape<'a> {
    /// Absolute base of this API, e.g. `https://h/api/rest/public/operator`.
    pub base: &'a str,
    /// `base` escaped for a JSON string once (it comes from the Host header).
    base_json: String,
    pub fields: &'a HashMap<String, Vec<String>>,
}

impl<'a> Shape<'a> {
    pub fn new(base: &'a str, fields: &'a HashMap<String, Vec<String>>) -> Self {
        let mut quoted = String::with_capacity(base.len() + 2);
        json_str(base, &mut quoted);
        Shape { base, base_json: quoted[1..quoted.len() - 1].to_owned(), fields }
    }

    /// Writes `"<base>/<kind>/<id><tail>"`: the parts after the base are
    /// schema names and digits, which need no escaping.
    fn write_link(&self, res: &Resource, id: i64, tail: &[&str], out: &mut String) {
        out.push('"');
        out.push_str(&self.base_json);
        out.push('/');
        out.push_str(res.kind);
        if res.kind != "domain_settings" {
            let _ = write!(out, "/{id}");
        }
        for t in tail {
            out.push_str(t);
        }
        out.push('"');
    }

    fn wants(&self, kind: &str, name: &str) -> bool {
        self.fields.get(kind).is_none_or(|f| f.iter().any(|x| x == name))
    }

    pub fn self_link(&self, res: &Resource, id: i64) -> String {
        if res.kind == "domain_settings" {
            format!("{}/domain_settings", self.base)
        } else {
            format!("{}/{}/{}", self.base, res.kind, id)
        }
    }

    /// Writes the resource object of `rec` as JSON text. Documents are
    /// written directly rather than built as `serde_json::Value` trees: a
    /// list page was mostly allocator work that way.
    pub fn write(&self, rec: &Record, out: &mut String) {
        let res = rec.res;
        let id = rec.id();
        out.push_str("{\"id\":\"");
        let _ = write!(out, "{id}");
        out.push_str("\",\"type\":");
        json_str(res.kind, out);
        out.push_str(",\"links\":{\"self\":");
        self.write_link(res, id, &[], out);
        out.push_str("},\"attributes\":{");
        let mut first = true;
        for f in res.fields.iter().skip(1) {
            if !self.wants(res.kind, f.name) {
                continue;
            }
            let generated = rec.generated.as_ref().filter(|(name, _)| *name == f.name);
            if generated.is_none() && f.mode == Mode::Hashed {
                continue;
            }
            if !first {
                out.push(',');
            }
            first = false;
            json_str(f.name, out);
            out.push(':');
            match generated {
                Some((_, plain)) => json_str(plain, out),
                None => write_value(f.kind, rec.field(f), out),
            }
        }
        out.push('}');
        let mut first = true;
        for r in res.rels {
            if !self.wants(res.kind, r.name) {
                continue;
            }
            out.push_str(if first { ",\"relationships\":{" } else { "," });
            first = false;
            json_str(r.name, out);
            out.push_str(":{\"links\":{\"self\":");
            self.write_link(res, id, &["/relationships/", r.name], out);
            out.push_str(",\"related\":");
            self.write_link(res, id, &["/", r.name], out);
            out.push_str("},\"data\":");
            let linkage = |(t, rid): (&str, i64), out: &mut String| {
                out.push_str("{\"type\":");
                json_str(t, out);
                let _ = write!(out, ",\"id\":\"{rid}\"}}");
            };
            if r.many {
                out.push('[');
                for (i, target) in rec.rel_ids(r).into_iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    linkage(target, out);
                }
                out.push(']');
            } else {
                match rec.rel(r) {
                    Some(target) => linkage(target, out),
                    None => out.push_str("null"),
                }
            }
            out.push('}');
        }
        if !first {
            out.push('}');
        }
        out.push('}');
    }

    pub fn object_text(&self, rec: &Record) -> String {
        let mut out = String::with_capacity(512);
        self.write(rec, &mut out);
        out
    }
}

/// Appends `s` as a JSON string literal.
pub fn json_str(s: &str, out: &mut String) {
    out.push('"');
    // Nearly every value needs no escaping: one tight scan, one copy.
    if !s.bytes().any(|b| b < 0x20 || b == b'"' || b == b'\\') {
        out.push_str(s);
        out.push('"');
        return;
    }
    let mut start = 0;
    for (i, b) in s.bytes().enumerate() {
        let esc = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0..=0x1f => "",
            _ => continue,
        };
        out.push_str(&s[start..i]);
        if esc.is_empty() {
            let _ = write!(out, "\\u{b:04x}");
        } else {
            out.push_str(esc);
        }
        start = i + 1;
    }
    out.push_str(&s[start..]);
    out.push('"');
}

/// Appends a stored value in its document form: times as RFC 3339, codec
/// and number lists as arrays, stored JSON as is.
fn write_value(kind: Kind, v: &domain::Value, out: &mut String) {
    use domain::Value;
    match (kind, v) {
        (_, Value::Null) => out.push_str("null"),
        (Kind::Time, Value::Int(ms)) => json_str(&domain::time::format_rfc3339(*ms), out),
        (k, Value::Text(s)) if k.is_list() => {
            out.push('[');
            for (i, item) in s.split(',').filter(|x| !x.is_empty()).enumerate() {
                if i > 0 {
                    out.push(',');
                }
                json_str(item, out);
            }
            out.push(']');
        }
        // Stored by us as serialised JSON; re-checked so a bad row cannot
        // break the document.
        (Kind::Json, Value::Text(s)) => match serde_json::from_str::<Json>(s) {
            Ok(_) => out.push_str(s),
            Err(_) => out.push_str("null"),
        },
        (_, Value::Int(i)) => {
            let _ = write!(out, "{i}");
        }
        (_, Value::Bool(b)) => out.push_str(if *b { "true" } else { "false" }),
        (_, Value::Text(s)) => json_str(s, out),
    }
}

/// A JSON:API id: a string or a JSON number (the yeti client sends numbers).
fn parse_id(v: &Json) -> Option<i64> {
    match v {
        Json::Number(n) => n.as_i64(),
        // Digits only: `str::parse` would also take a sign.
        Json::String(s) => Some(s.trim()).filter(|t| t.bytes().all(|b| b.is_ascii_digit())).and_then(|t| t.parse().ok()),
        _ => None,
    }
}

/// How an error names the member at JSON pointer `at`.
fn member_name(at: &str) -> String {
    if at.is_empty() {
        "the request body".to_owned()
    } else {
        at.trim_start_matches('/').replace('/', ".")
    }
}

/// The members of a request object. Not an object, or a member outside
/// `allowed` (None: any), is a 400: a misspelt member would otherwise be
/// dropped without a word. `at` is its JSON pointer ("" for the top).
pub fn members<'a>(v: &'a Json, allowed: Option<&[&str]>, at: &str) -> ApiResult<&'a serde_json::Map<String, Json>> {
    let obj = v.as_object().ok_or_else(|| ApiError::bad_request(format!("{} must be an object.", member_name(at))).pointer(at))?;
    if let Some(k) = obj.keys().find(|k| allowed.is_some_and(|a| !a.contains(&k.as_str()))) {
        return Err(ApiError::bad_request(format!("{k} is not a member of {}.", member_name(at))).pointer(format!("{at}/{k}")));
    }
    Ok(obj)
}

/// The `data` object of a request document. JSON:API lets the top level
/// also hold `meta` and `jsonapi` objects (not read); anything else is a 400.
pub fn request_data(body: &[u8]) -> ApiResult<Json> {
    let mut doc: Json =
        serde_json::from_slice(body).map_err(|e| ApiError::bad_request(format!("The request body is not valid JSON: {e}.")).code("400"))?;
    if !doc.get("data").is_some_and(Json::is_object) {
        return Err(ApiError::bad_request("The request body must be a JSON:API document with a data object.").pointer("/data"));
    }
    let top = members(&doc, Some(&["data", "meta", "jsonapi"]), "")?;
    for k in ["meta", "jsonapi"] {
        if let Some(v) = top.get(k) {
            members(v, None, &format!("/{k}"))?;
        }
    }
    Ok(doc["data"].take())
}

/// Parses a POST (url_id None) or PATCH body into store input.
pub fn parse_body(res: &'static Resource, body: &[u8], url_id: Option<i64>, policy: &Policy) -> ApiResult<Input> {
    let (input, mut errors) = parse_body_partial(res, body, url_id, policy)?;
    if !errors.is_empty() {
        let mut first = errors.remove(0);
        first.more = errors;
        return Err(first);
    }
    Ok(input)
}

/// [`parse_body`] that answers the attributes' validation errors beside
/// the input of everything else, so a create can add the store's errors.
pub fn parse_body_partial(res: &'static Resource, body: &[u8], url_id: Option<i64>, policy: &Policy) -> ApiResult<(Input, Vec<ApiError>)> {
    let creating = url_id.is_none();
    let data = request_data(body)?;
    let data = members(&data, Some(&["type", "id", "attributes", "relationships", "links", "meta"]), "/data")?;
    for k in ["links", "meta"] {
        if let Some(v) = data.get(k) {
            members(v, None, &format!("/data/{k}"))?;
        }
    }
    let kind =
        data.get("type").and_then(Json::as_str).ok_or_else(|| ApiError::bad_request("data.type is required.").pointer("/data/type"))?;
    if kind != res.kind {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "Type mismatch",
            format!("{kind} is not a valid type for this endpoint; expected {}.", res.kind),
        )
        .code("409")
        .pointer("/data/type"));
    }
    let mut input = Input::default();
    match (data.get("id"), url_id) {
        (None | Some(Json::Null), _) => {}
        (Some(v), Some(uid)) => {
            // JSON:API: an id that is not the endpoint's is a conflict.
            if parse_id(v) != Some(uid) {
                return Err(ApiError::new(StatusCode::CONFLICT, "Conflict", "data.id does not match the id in the URL.")
                    .code("409")
                    .pointer("/data/id"));
            }
        }
        (Some(v), None) => {
            policy.may_choose_id(res)?;
            input.id = Some(
                parse_id(v)
                    .filter(|i| *i >= 1)
                    .ok_or_else(|| ApiError::invalid("id", "must be a positive 64-bit integer", false).pointer("/data/id"))?,
            );
        }
    }

    let mut errors: Vec<ApiError> = Vec::new();
    if let Some(attrs) = data.get("attributes") {
        let attrs =
            attrs.as_object().ok_or_else(|| ApiError::bad_request("data.attributes must be an object.").pointer("/data/attributes"))?;
        for (name, value) in attrs {
            let name = if res.kind == "customers" && name == "termination_mode" { "trm_mode" } else { name.as_str() };
            // A name that is only a relationship is no attribute.
            let f = res.field(name).ok_or_else(|| Denied::NotWritable { name: name.to_owned(), rel: false })?;
            policy.may_set(res, name, creating)?;
            // The UI's forms send integers as text; the API takes JSON
            // numbers only, as its document says (a string has no range
            // the document could state).
            if matches!((f.kind, value), (Kind::Int { .. } | Kind::IntOf(_) | Kind::Seconds { .. }, Json::String(_))) {
                errors.push(ApiError::invalid(f.name, "must be an integer", false));
                continue;
            }
            match validate::parse(f, value) {
                Ok(v) => input.attrs.push((f, v)),
                Err(e) => errors.push(ApiError::invalid(&e.field, &e.message, false)),
            }
        }
    }
    if let Some(rels) = data.get("relationships") {
        let rels = rels
            .as_object()
            .ok_or_else(|| ApiError::bad_request("data.relationships must be an object.").pointer("/data/relationships"))?;
        for (name, value) in rels {
            let r = res.rel_named(name).ok_or_else(|| Denied::NotWritable { name: name.to_owned(), rel: true })?;
            policy.may_set(res, r.name, creating)?;
            if input.rels.iter().any(|(x, _)| x.name == r.name) {
                return Err(ApiError::invalid(r.name, &format!("is given twice: {name} is another name of {}", r.name), true));
            }
            let pointer = format!("/data/relationships/{name}");
            let linkage = members(value, Some(&["data"]), &pointer)?
                .get("data")
                .ok_or_else(|| ApiError::bad_request(format!("relationships.{name} needs a data member.")).pointer(pointer.clone()))?;
            let target = |linkage: &Json| -> ApiResult<(&'static str, i64)> {
                members(linkage, Some(&["type", "id"]), &format!("{pointer}/data"))?;
                let t = linkage.get("type").and_then(Json::as_str).unwrap_or_default();
                let t = r
                    .canonical_type(t)
                    .ok_or_else(|| ApiError::invalid(name, &format!("must be of type {}", r.targets.join(" or ")), true))?;
                let id = linkage.get("id").and_then(parse_id).ok_or_else(|| ApiError::invalid(name, "needs a valid id", true))?;
                Ok((t, id))
            };
            let to = match (r.many, linkage) {
                (true, Json::Array(items)) => RelInput::Many(items.iter().map(|l| target(l).map(|(_, id)| id)).collect::<ApiResult<_>>()?),
                (true, _) => return Err(ApiError::invalid(name, "needs an array of resource identifiers", true)),
                (false, Json::Null) => RelInput::None,
                (false, Json::Array(_)) => return Err(ApiError::invalid(name, "takes one resource identifier, not an array", true)),
                (false, l) => {
                    let (t, id) = target(l)?;
                    RelInput::To(t, id)
                }
            };
            input.rels.push((r, to));
        }
    }
    Ok((input, errors))
}

/// The CSV header for a resource: id, attributes, then `<rel>_id` columns.
pub fn csv_header(res: &Resource) -> Vec<String> {
    let mut h: Vec<String> = res.fields.iter().filter(|f| f.mode != Mode::Hashed).map(|f| f.name.to_owned()).collect();
    for r in res.rels {
        h.push(if r.many { format!("{}_ids", r.name) } else { format!("{}_id", r.name) });
        if r.type_column.is_some() {
            h.push(format!("{}_type", r.name));
        }
    }
    h
}

pub fn csv_row(rec: &Record) -> Vec<String> {
    let res = rec.res;
    let mut row: Vec<String> =
        res.fields.iter().filter(|f| f.mode != Mode::Hashed).map(|f| validate::to_cell(f.kind, rec.field(f))).collect();
    for r in res.rels {
        if r.many {
            row.push(rec.rel_ids(r).iter().map(|(_, id)| id.to_string()).collect::<Vec<_>>().join(" "));
            continue;
        }
        let rel = rec.rel(r);
        row.push(rel.map(|(_, id)| id.to_string()).unwrap_or_default());
        if r.type_column.is_some() {
            row.push(rel.map(|(t, _)| t.to_owned()).unwrap_or_default());
        }
    }
    row
}

/// RFC 4180 quoting; cells that a spreadsheet would run as a formula get a
/// leading apostrophe (CSV injection).
pub fn csv_line(cells: &[String], out: &mut String) {
    for (i, c) in cells.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let risky = c.starts_with(['=', '+', '-', '@', '\t', '\r']) && c.parse::<f64>().is_err();
        let needs_quotes = risky || c.contains([',', '"', '\n', '\r']);
        if needs_quotes {
            out.push('"');
            if risky {
                out.push('\'');
            }
            out.push_str(&c.replace('"', "\"\""));
            out.push('"');
        } else {
            out.push_str(c);
        }
    }
    out.push_str("\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_strings_escape_like_serde() {
        for s in ["plain", "quote \" and \\ back", "ctl \u{1} \n \t", "ünïcode ☎"] {
            let mut out = String::new();
            json_str(s, &mut out);
            assert_eq!(serde_json::from_str::<String>(&out).unwrap(), s);
        }
    }

    #[test]
    fn csv_quotes_and_defuses_formulas() {
        let mut s = String::new();
        csv_line(&["a,b".into(), "say \"hi\"".into(), "=cmd()".into(), "-5".into(), "plain".into()], &mut s);
        assert_eq!(s, "\"a,b\",\"say \"\"hi\"\"\",\"'=cmd()\",-5,plain\r\n");
    }
}
