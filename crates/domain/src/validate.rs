//! Turning client input (JSON values) into stored values, field by field,
//! with messages an operator can act on.

use crate::codec;
use crate::rewrite;
use crate::schema::{Field, Kind, GATEWAYS, ROUTES};
use crate::time;
use crate::value::Value;
use serde_json::Value as Json;

/// A validation failure of one attribute.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field} - {message}")]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        FieldError { field: field.into(), message: message.into() }
    }
}

/// Parses one attribute from JSON. `null` is accepted only where the field
/// is nullable.
pub fn parse(field: &Field, json: &Json) -> Result<Value, FieldError> {
    let err = |m: String| FieldError::new(field.name, m);
    if json.is_null() {
        return if field.nullable { Ok(Value::Null) } else { Err(err("can't be blank".into())) };
    }
    parse_kind(field.kind, json).map_err(err)
}

fn text(json: &Json) -> Result<&str, String> {
    json.as_str().ok_or_else(|| "must be a string".to_owned())
}

/// Accepts a string or a JSON number (clients send digits both ways).
fn digits_text(json: &Json) -> Result<String, String> {
    match json {
        Json::String(s) => Ok(s.trim().to_owned()),
        Json::Number(n) if n.is_u64() => Ok(n.to_string()),
        _ => Err("must be a string of digits".to_owned()),
    }
}

fn check_plain(s: &str, max: usize) -> Result<(), String> {
    if s.chars().count() > max {
        return Err(format!("is too long (maximum is {max} characters)"));
    }
    if s.chars().any(char::is_control) {
        return Err("must not contain control characters".to_owned());
    }
    Ok(())
}

pub fn parse_kind(kind: Kind, json: &Json) -> Result<Value, String> {
    match kind {
        Kind::Text { max } => {
            let s = text(json)?;
            check_plain(s, max)?;
            Ok(Value::Text(s.to_owned()))
        }
        Kind::Name => {
            let s = text(json)?.trim();
            if s.is_empty() {
                return Err("can't be blank".to_owned());
            }
            check_plain(s, 255)?;
            Ok(Value::Text(s.to_owned()))
        }
        Kind::Digits { min, max } => {
            let s = digits_text(json)?;
            if !s.bytes().all(|b| b.is_ascii_digit()) {
                return Err("must contain digits only".to_owned());
            }
            if s.len() < min || s.len() > max {
                return Err(if min == max { format!("must be {min} digits") } else { format!("must be {min} to {max} digits") });
            }
            // An empty prefix means "match all": store it as absent.
            Ok(if s.is_empty() { Value::Null } else { Value::Text(s) })
        }
        Kind::Int { min, max } => {
            let i = int(json)?;
            if i < min || i > max {
                return Err(format!("must be between {min} and {max}"));
            }
            Ok(Value::Int(i))
        }
        Kind::Seconds { min, max } => {
            let i = int(json)?;
            if i != 0 && (i < min || i > max) {
                return Err(format!("must be 0 (off) or between {min} and {max}"));
            }
            Ok(Value::Int(i))
        }
        Kind::IntOf(allowed) => {
            let i = int(json)?;
            if !allowed.contains(&i) {
                return Err(format!("must be one of {}", allowed.iter().map(i64::to_string).collect::<Vec<_>>().join(", ")));
            }
            Ok(Value::Int(i))
        }
        Kind::Bool => match json {
            Json::Bool(b) => Ok(Value::Bool(*b)),
            Json::String(s) if s == "true" => Ok(Value::Bool(true)),
            Json::String(s) if s == "false" => Ok(Value::Bool(false)),
            _ => Err("must be true or false".to_owned()),
        },
        Kind::Enum(values) => {
            let s = text(json)?;
            values
                .iter()
                .find(|v| **v == s)
                .map(|v| Value::Text((*v).to_owned()))
                .ok_or_else(|| format!("is not included in the list ({})", values.join(", ")))
        }
        Kind::Codecs => {
            let list: Vec<&str> = match json {
                Json::Array(a) => a.iter().map(|v| v.as_str().ok_or("must be an array of codec names")).collect::<Result<_, _>>()?,
                Json::String(s) => s.split(',').filter(|x| !x.trim().is_empty()).collect(),
                _ => return Err("must be an array of codec names".to_owned()),
            };
            if list.is_empty() {
                return Err("must list at least one codec".to_owned());
            }
            Ok(Value::Text(codec::parse_list(list)?.join(",")))
        }
        Kind::FieldNames => {
            let list: Vec<&str> = match json {
                Json::Array(a) => a.iter().map(|v| v.as_str().ok_or("must be an array of attribute names")).collect::<Result<_, _>>()?,
                _ => return Err("must be an array of attribute names".to_owned()),
            };
            for n in &list {
                if GATEWAYS.field(n).is_none() && ROUTES.field(n).is_none() && ROUTES.rel(n).is_none()
                    || *n == "id"
                    || *n == "operator"
                    || *n == "created_at"
                {
                    return Err(format!("'{n}' is not a termination gateway or route attribute"));
                }
            }
            Ok(Value::Text(list.join(",")))
        }
        Kind::PhoneNumbers { max } => phone_numbers(json, max),
        Kind::Sources { max } => sources(json, max),
        Kind::Prefixes { max } => prefixes(json, max),
        Kind::RewriteRule => {
            let s = text(json)?;
            check_plain(s, 255)?;
            if !s.is_empty() {
                rewrite::compile(s)?;
            }
            Ok(if s.is_empty() { Value::Null } else { Value::Text(s.to_owned()) })
        }
        Kind::RewriteResult => {
            let s = text(json)?;
            check_plain(s, 255)?;
            Ok(Value::Text(s.to_owned()))
        }
        Kind::Host => {
            let s = text(json)?.trim().to_ascii_lowercase();
            if !is_host(&s) {
                return Err("must be an IP address or a host name".to_owned());
            }
            Ok(Value::Text(s))
        }
        Kind::Username => {
            let s = text(json)?;
            if s.is_empty() || s.len() > 64 {
                return Err("must be 1 to 64 characters".to_owned());
            }
            // RFC 3261 user unreserved characters, without escapes: safe in
            // a SIP URI and in a Digest username as is.
            if !s.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.!~*'()&=+$,;?/".contains(&b)) {
                return Err("may contain only letters, digits and - _ . ! ~ * ' ( ) & = + $ , ; ? /".to_owned());
            }
            Ok(Value::Text(s.to_owned()))
        }
        Kind::Secret => {
            let s = text(json)?;
            if s.is_empty() || s.len() > 128 {
                return Err("must be 1 to 128 characters".to_owned());
            }
            if !s.bytes().all(|b| (0x21..0x7f).contains(&b)) {
                return Err("may contain only printable ASCII characters without spaces".to_owned());
            }
            Ok(Value::Text(s.to_owned()))
        }
        Kind::Time => {
            let s = text(json)?;
            time::parse(s).map(Value::Int).ok_or_else(|| "must be a time as YYYY-MM-DD hh:mm:ss".to_owned())
        }
        Kind::Json => Ok(Value::Text(json.to_string())),
    }
}

/// How a list kind's errors name it.
struct ListOf {
    /// What an array of it holds: "phone numbers".
    items: &'static str,
    /// What the limit counts: "external numbers".
    counted: &'static str,
    /// What a repeated entry is: "number".
    entry: &'static str,
}

/// An ordered list of distinct entries, stored comma-separated, each read
/// into its stored form by `read` (given its position, counted from 1, for
/// the error).
fn distinct_list(json: &Json, max: usize, of: ListOf, read: impl Fn(usize, &Json) -> Result<String, String>) -> Result<Value, String> {
    let Json::Array(items) = json else { return Err(format!("must be an array of {}", of.items)) };
    if items.len() > max {
        return Err(format!("can have at most {max} {}", of.counted));
    }
    let mut list: Vec<String> = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let stored = read(i + 1, item)?;
        if list.contains(&stored) {
            return Err(format!("entry {} repeats an earlier {}", i + 1, of.entry));
        }
        list.push(stored);
    }
    Ok(Value::Text(list.join(",")))
}

/// Phone numbers, stored without their `+` (numbers are E.164 digits
/// everywhere else: DIDs, route prefixes).
fn phone_numbers(json: &Json, max: usize) -> Result<Value, String> {
    let of = ListOf { items: "phone numbers", counted: "external numbers", entry: "number" };
    digit_list(json, max, of, "a phone number")
}

/// Number prefixes, stored as digits without a `+` (dialled numbers are
/// compared as digits): an empty prefix would block every call, so none.
fn prefixes(json: &Json, max: usize) -> Result<Value, String> {
    let of = ListOf { items: "number prefixes", counted: "prefixes", entry: "prefix" };
    digit_list(json, max, of, "a number prefix")
}

/// A list of 1 to 15 digits each, a leading `+` dropped; `each` names one
/// entry in the error ("a phone number").
fn digit_list(json: &Json, max: usize, of: ListOf, each: &str) -> Result<Value, String> {
    distinct_list(json, max, of, |n, item| {
        let raw = digits_text(item).map_err(|_| format!("entry {n} must be a string"))?;
        let digits = raw.strip_prefix('+').unwrap_or(&raw);
        if digits.is_empty() || digits.len() > 15 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!("entry {n} is not {each}: 1 to 15 digits, optionally after a +"));
        }
        Ok(digits.to_owned())
    })
}

/// Addresses or CIDR ranges, stored in their canonical form.
fn sources(json: &Json, max: usize) -> Result<Value, String> {
    let of = ListOf { items: "IP addresses or CIDR ranges", counted: "entries", entry: "one" };
    distinct_list(json, max, of, |n, item| {
        let raw = item.as_str().ok_or_else(|| format!("entry {n} must be a string"))?;
        Ok(crate::net::Net::parse(raw).map_err(|e| format!("entry {n}: {e}"))?.to_string())
    })
}

/// The numbers of a [`Kind::PhoneNumbers`] value as stored.
pub fn phone_number_list(stored: &str) -> impl Iterator<Item = &str> {
    stored.split(',').filter(|x| !x.is_empty())
}

fn int(json: &Json) -> Result<i64, String> {
    match json {
        Json::Number(n) => n.as_i64().ok_or_else(|| "must be an integer".to_owned()),
        Json::String(s) => s.trim().parse().map_err(|_| "must be an integer".to_owned()),
        _ => Err("must be an integer".to_owned()),
    }
}

/// An IPv4/IPv6 address (IPv6 optionally in brackets) or an RFC 1123 host name.
pub fn is_host(s: &str) -> bool {
    let bare = s.strip_prefix('[').and_then(|x| x.strip_suffix(']')).unwrap_or(s);
    if bare.parse::<std::net::IpAddr>().is_ok() {
        return true;
    }
    if s.is_empty() || s.len() > 253 {
        return false;
    }
    let labels: Vec<&str> = s.strip_suffix('.').unwrap_or(s).split('.').collect();
    // An all-numeric last label would be a malformed IPv4 address.
    if labels.last().is_some_and(|l| l.bytes().all(|b| b.is_ascii_digit())) {
        return false;
    }
    labels.iter().all(|l| {
        !l.is_empty()
            && l.len() <= 63
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
    })
}

/// Turns a stored value into one CSV cell.
pub fn to_cell(kind: Kind, v: &Value) -> String {
    match (kind, v) {
        (_, Value::Null) => String::new(),
        (Kind::Time, Value::Int(ms)) => time::format_rfc3339(*ms),
        (_, Value::Int(i)) => i.to_string(),
        (_, Value::Bool(b)) => b.to_string(),
        (_, Value::Text(s)) => s.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn digits_accept_numbers_and_strings() {
        let k = Kind::Digits { min: 1, max: 15 };
        assert_eq!(parse_kind(k, &json!("441174090316")), Ok(Value::Text("441174090316".into())));
        assert_eq!(parse_kind(k, &json!(441174090316u64)), Ok(Value::Text("441174090316".into())));
        assert!(parse_kind(k, &json!("+4411")).is_err());
        assert!(parse_kind(k, &json!("1234567890123456")).is_err());
        assert!(parse_kind(k, &json!(-5)).is_err());
    }

    #[test]
    fn phone_numbers_are_digits_in_order_without_repeats() {
        let k = Kind::PhoneNumbers { max: 3 };
        assert_eq!(parse_kind(k, &json!(["+4930123", "37060000001", 15550100u64])), Ok(Value::Text("4930123,37060000001,15550100".into())));
        assert_eq!(parse_kind(k, &json!([])), Ok(Value::Text(String::new())));
        let err = |j: Json| parse_kind(k, &j).unwrap_err();
        assert_eq!(err(json!("4930123")), "must be an array of phone numbers");
        assert_eq!(err(json!(["1", "2", "3", "4"])), "can have at most 3 external numbers");
        assert_eq!(err(json!(["4930", "+"])), "entry 2 is not a phone number: 1 to 15 digits, optionally after a +");
        assert!(err(json!(["49 30"])).starts_with("entry 1 is not"));
        assert!(err(json!(["1234567890123456"])).starts_with("entry 1 is not"));
        assert!(err(json!(["++49"])).starts_with("entry 1 is not"));
        assert_eq!(err(json!([true])), "entry 1 must be a string");
        assert_eq!(err(json!(["4930", "+4930"])), "entry 2 repeats an earlier number");
        assert_eq!(phone_number_list("4930,15550100").collect::<Vec<_>>(), ["4930", "15550100"]);
        assert_eq!(phone_number_list("").count(), 0);
    }

    #[test]
    fn prefixes_are_digits_without_repeats_or_blanks() {
        let k = Kind::Prefixes { max: 2 };
        assert_eq!(parse_kind(k, &json!(["+882", 4990u64])), Ok(Value::Text("882,4990".into())));
        assert_eq!(parse_kind(k, &json!([])), Ok(Value::Text(String::new())));
        let err = |j: Json| parse_kind(k, &j).unwrap_err();
        assert_eq!(err(json!("882")), "must be an array of number prefixes");
        assert_eq!(err(json!(["1", "2", "3"])), "can have at most 2 prefixes");
        assert_eq!(err(json!([""])), "entry 1 is not a number prefix: 1 to 15 digits, optionally after a +");
        assert!(err(json!(["+"])).starts_with("entry 1 is not"));
        assert!(err(json!(["88 2"])).starts_with("entry 1 is not"));
        assert!(err(json!(["1234567890123456"])).starts_with("entry 1 is not"));
        assert_eq!(err(json!(["882", "+882"])), "entry 2 repeats an earlier prefix");
        assert_eq!(err(json!([-1])), "entry 1 must be a string");
    }

    #[test]
    fn hosts() {
        for ok in ["10.0.0.1", "::1", "[2001:db8::1]", "sip.example.com", "gw-1.carrier.net."] {
            assert!(is_host(ok), "{ok}");
        }
        for bad in ["", "1.2.3.256", "-a.com", "a..b", "a b", "x_y.com", "300.1.1.1"] {
            assert!(!is_host(bad), "{bad}");
        }
    }

    #[test]
    fn rewrite_rules_must_compile() {
        assert!(parse_kind(Kind::RewriteRule, &json!("^(")).is_err());
        assert_eq!(parse_kind(Kind::RewriteRule, &json!("")), Ok(Value::Null));
    }

    #[test]
    fn ints_and_bools_take_string_forms() {
        assert_eq!(parse_kind(Kind::Int { min: 1, max: 65535 }, &json!("5060")), Ok(Value::Int(5060)));
        assert!(parse_kind(Kind::Int { min: 1, max: 65535 }, &json!(0)).is_err());
        assert!(parse_kind(Kind::Int { min: 1, max: 65535 }, &json!(1.5)).is_err());
        let interval = Kind::Seconds { min: 90, max: 86_400 };
        assert_eq!(parse_kind(interval, &json!(0)), Ok(Value::Int(0)), "0 turns a timer off");
        assert_eq!(parse_kind(interval, &json!("1800")), Ok(Value::Int(1800)));
        assert_eq!(parse_kind(interval, &json!(89)), Err("must be 0 (off) or between 90 and 86400".to_owned()));
        assert!(parse_kind(interval, &json!(-1)).is_err());
        assert_eq!(parse_kind(Kind::Bool, &json!("false")), Ok(Value::Bool(false)));
        assert!(parse_kind(Kind::Bool, &json!(1)).is_err());
    }
}
