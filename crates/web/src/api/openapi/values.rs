//! JSON Schemas of one attribute value, by schema [`Kind`]: what a request
//! may send (what `domain::validate` accepts, as far as JSON Schema can say
//! it) and what a response holds, and the schemas of query parameters.

use domain::schema::{Kind, GATEWAYS, ROUTES};
use serde_json::{json, Value as Json};

/// No control characters (`char::is_control`: Unicode category Cc).
const NO_CONTROL: &str = "^[^\\u0000-\\u001f\\u007f-\\u009f]*$";
/// Not blank after trimming, and no control characters.
const NAME: &str = "^[^\\u0000-\\u001f\\u007f-\\u009f]*[^\\s\\u0000-\\u001f\\u007f-\\u009f][^\\u0000-\\u001f\\u007f-\\u009f]*$";
/// RFC 3261 user-unreserved characters, as `validate` allows in usernames.
const USERNAME: &str = "^[A-Za-z0-9_.!~*'()&=+$,;?/-]{1,64}$";
/// Printable ASCII without spaces.
const SECRET: &str = "^[!-~]{1,128}$";
const IPV4_CIDR: &str =
    "^((25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])\\.){3}(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])/([0-9]|[12][0-9]|3[0-2])$";
/// The filter form of a time (`domain::time::parse` takes more).
const FILTER_TIME: &str = "^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|1[0-9]|2[0-8]) ([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]$";

/// The names `customer_termination_fields` may list: every gateway and
/// route attribute or relationship a customer could be given.
fn termination_field_names() -> Vec<&'static str> {
    let mut names: Vec<&str> =
        GATEWAYS.fields.iter().chain(ROUTES.fields).map(|f| f.name).chain(ROUTES.rels.iter().map(|r| r.name)).collect();
    names.retain(|n| !matches!(*n, "id" | "operator" | "created_at"));
    names.sort_unstable();
    names.dedup();
    names
}

/// A regex (unanchored) for the decimal digits of 0..=i64::MAX, leading
/// zeros allowed: what `str::parse::<i64>` takes, so the document neither
/// allows what the API refuses nor refuses what it takes.
pub fn i64_digits() -> String {
    let max = i64::MAX.to_string();
    let d = max.len();
    // Shorter than the maximum, or as long and below it at the first digit
    // that differs, or the maximum itself.
    let mut alts = vec![format!("[0-9]{{1,{}}}", d - 1)];
    for (i, c) in max.bytes().enumerate() {
        let digit = c - b'0';
        if digit > 0 {
            let below = if digit == 1 { "0".to_owned() } else { format!("[0-{}]", digit - 1) };
            let rest = d - i - 1;
            let tail = if rest > 0 { format!("[0-9]{{{rest}}}") } else { String::new() };
            alts.push(format!("{}{below}{tail}", &max[..i]));
        }
    }
    alts.push(max);
    format!("0*({})", alts.join("|"))
}

/// A string of digits as `validate` takes it: surrounding blanks are
/// trimmed, and a JSON number is taken for its digits (clients send both).
fn digits(core: &str, max_digits: u32) -> Json {
    let max = 10u64.checked_pow(max_digits).map_or(u64::MAX, |n| n - 1);
    json!({ "anyOf": [{ "type": "string", "pattern": format!("^\\s*{core}\\s*$") }, { "type": "integer", "minimum": 0, "maximum": max }] })
}

/// A phone number or prefix as a list entry: digits after an optional `+`.
fn number_item() -> Json {
    digits("\\+?[0-9]{1,15}", 15)
}

/// A codec name as `domain::codec::canonical` takes it: any case, blanks
/// around it trimmed, `telephone-event/8000` too.
fn codec_name() -> Json {
    let names: Vec<String> = domain::codec::CODECS.iter().map(|c| c.replace('-', "\\-")).collect();
    json!({ "type": "string", "pattern": format!("(?i)^\\s*({}|telephone\\-event/8000)\\s*$", names.join("|")) })
}

/// What a request may send for an attribute of this kind.
pub fn request(kind: Kind) -> Json {
    match kind {
        Kind::Text { max } => json!({ "type": "string", "maxLength": max, "pattern": NO_CONTROL }),
        Kind::Name => json!({ "type": "string", "maxLength": 255, "pattern": NAME, "description": "not blank; trimmed" }),
        Kind::Digits { min, max } => digits(&format!("[0-9]{{{min},{max}}}"), max as u32),
        Kind::Int { min, max } => json!({ "type": "integer", "format": "int64", "minimum": min, "maximum": max }),
        Kind::IntOf(v) => json!({ "type": "integer", "enum": v }),
        Kind::Seconds { min, max } => json!({ "type": "integer", "minimum": 0, "maximum": max, "not": { "minimum": 1, "maximum": min - 1 },
            "description": format!("seconds; 0 turns it off, otherwise {min} to {max}") }),
        // `"true"`/`"false"` too: a client sends them as strings.
        Kind::Bool => json!({ "anyOf": [{ "type": "boolean" }, { "type": "string", "enum": ["true", "false"] }] }),
        Kind::Enum(v) => json!({ "type": "string", "enum": v }),
        Kind::Codecs => json!({ "anyOf": [{ "type": "array", "minItems": 1, "maxItems": domain::codec::CODECS.len(), "uniqueItems": true,
            "items": codec_name() },
            { "type": "string", "minLength": 1, "description": "the names joined by commas" }],
            "description": "in order of preference" }),
        Kind::FieldNames => json!({ "type": "array", "items": { "type": "string", "enum": termination_field_names() } }),
        Kind::PhoneNumbers { max } => json!({ "type": "array", "maxItems": max, "uniqueItems": true,
            "items": number_item(),
            "description": "E.164 numbers, a leading + dropped; each once" }),
        Kind::Prefixes { max } => json!({ "type": "array", "maxItems": max, "uniqueItems": true,
            "items": number_item(),
            "description": "number prefixes, a leading + dropped; each once" }),
        Kind::Sources { max } => json!({ "type": "array", "maxItems": max, "uniqueItems": true,
            "items": { "type": "string", "anyOf": [{ "format": "ipv4" }, { "format": "ipv6" }, { "pattern": IPV4_CIDR }],
                "description": "an IPv4/IPv6 address or CIDR range (IPv6 ranges too); stored masked, each once" } }),
        Kind::RewriteRule => json!({ "type": "string", "maxLength": 255, "format": "regex",
            "description": "a regular expression (Rust regex syntax); empty clears it" }),
        Kind::RewriteResult => json!({ "type": "string", "maxLength": 255, "pattern": NO_CONTROL,
            "description": "the replacement; \\1..\\9 refer to the rule's groups, \\\\ is a backslash" }),
        Kind::Host => {
            json!({ "type": "string", "maxLength": 253, "anyOf": [{ "format": "ipv4" }, { "format": "ipv6" }, { "format": "hostname" }],
            "description": "an IP address or a DNS host name, stored in lower case" })
        }
        Kind::Username => json!({ "type": "string", "pattern": USERNAME }),
        Kind::Secret => json!({ "type": "string", "format": "password", "pattern": SECRET }),
        Kind::Time => json!({ "type": "string", "pattern": FILTER_TIME }),
        Kind::Json => json!({}),
    }
}

/// What a response holds for an attribute of this kind.
pub fn response(kind: Kind) -> Json {
    match kind {
        Kind::Int { .. } | Kind::Seconds { .. } => json!({ "type": "integer", "format": "int64" }),
        Kind::IntOf(v) => json!({ "type": "integer", "enum": v }),
        Kind::Bool => json!({ "type": "boolean" }),
        Kind::Enum(v) => json!({ "type": "string", "enum": v }),
        Kind::Time => json!({ "type": "string", "format": "date-time" }),
        Kind::Codecs => json!({ "type": "array", "items": { "type": "string", "enum": domain::codec::CODECS } }),
        k if k.is_list() => json!({ "type": "array", "items": { "type": "string" } }),
        // Stored JSON (audit before/after): any value.
        Kind::Json => json!({ "description": "a JSON value as stored" }),
        _ => json!({ "type": "string" }),
    }
}

/// A `filter[...]` value: what `params::filter_value` parses for this kind.
/// Equality filters on non-text kinds also take a comma-separated list.
pub fn filter(kind: Kind) -> Json {
    match kind {
        Kind::Int { .. } | Kind::IntOf(_) | Kind::Seconds { .. } => {
            let one = format!("\\s*[-+]?{}\\s*", i64_digits());
            json!({ "type": "string", "pattern": format!("^{one}(,{one})*$"), "description": "an integer, or several separated by commas" })
        }
        Kind::Bool => {
            json!({ "type": "string", "pattern": "^\\s*(true|false|1|0)\\s*(,\\s*(true|false|1|0)\\s*)*$", "description": "true or false (or 1, 0)" })
        }
        Kind::Time => {
            json!({ "type": "string", "pattern": FILTER_TIME, "example": "2026-01-01 00:00:00", "description": "YYYY-MM-DD hh:mm:ss, UTC" })
        }
        _ => json!({ "type": "string", "maxLength": super::super::params::MAX_FILTER_LEN }),
    }
}

/// One of `names`, or several joined by commas (each optionally after `-`
/// when `signed`); empty is allowed.
pub fn name_list(names: &[&str], signed: bool) -> Json {
    let one = format!("{}({})", if signed { "-?" } else { "" }, names.join("|"));
    json!({ "type": "string", "pattern": format!("^({one}(,{one})*)?$") })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_say_off_or_at_least_the_floor() {
        let s = request(Kind::Seconds { min: 90, max: 86_400 });
        assert_eq!(s["not"]["maximum"], 89);
        assert!(termination_field_names().contains(&"gateway"));
        let re = regex::Regex::new(&format!("^{}$", i64_digits())).unwrap();
        for n in [0, 1, 9, 10, 99, 1_000_000_000_000_000_000, 9_223_372_036_854_775_806, i64::MAX] {
            assert!(re.is_match(&n.to_string()), "{n}");
        }
        assert!(re.is_match("007"));
        for n in ["9223372036854775808", "9300000000000000000", "10000000000000000000", "a1"] {
            assert!(!re.is_match(n), "{n}");
        }
        assert!(!termination_field_names().contains(&"operator"));
    }
}
