//! Human words for the schema's enum values: a label for selects, list
//! cells and SHOW pages ("Ring all at once", not `simultaneous`) and a
//! one-line help text shown under a select for the value chosen. The texts
//! are English message ids, translated through the catalogues; a test
//! keeps every enum value of the schema labelled, helped and translated.

use super::html::Esc;
use super::session::Viewer;
use domain::schema::Field;
use std::fmt::Write as _;

/// (value, label, help). Transports mean the same wherever they appear.
const TEXTS: &[(&str, &str, &str)] = &[
    ("EN", "EN — English", "Pages and messages in English."),
    ("RU", "RU — Русский", "Pages and messages in Russian."),
    ("LT", "LT — Lietuvių", "Pages and messages in Lithuanian."),
    ("LV", "LV — Latviešu", "Latvian: pages are shown in English until a translation exists."),
    ("operator", "Operator only", "Calls use only the gateways and routes the operator made."),
    ("operator_customer", "Operator and customer", "Calls use the operator's gateways and routes and the customer's own."),
    ("system", "System only", "Calls use only the shared gateways and routes preconfigured for the platform."),
    ("system_customer", "System and customer", "Calls use the shared system gateways and routes and the customer's own."),
    ("customer", "Customer only", "Calls use only the customer's own gateways and routes."),
    ("UDP", "UDP", "SIP over UDP: the usual transport, no connection to keep."),
    ("TCP", "TCP", "SIP over TCP: one connection, for large messages or strict firewalls."),
    ("TLS", "TLS", "SIP over TLS: encrypted signalling."),
    ("RURI_USERPART", "Request-URI user part", "The dialled number is read from the user part of the Request-URI."),
    ("TO_USERPART", "To header user part", "The dialled number is read from the user part of the To header."),
    ("simultaneous", "Ring all at once", "Every member and external number rings at the same time."),
    ("sequential", "Ring one after another", "Each member rings in turn, then the external numbers."),
    ("IPv4_only", "IPv4 only", "The host is resolved to IPv4 addresses only."),
    ("IPv6_only", "IPv6 only", "The host is resolved to IPv6 addresses only."),
    ("dual_stack", "Dual stack", "The host's IPv4 and IPv6 addresses are both used."),
    ("IPv4_preferred", "IPv4 preferred", "IPv4 when the host has an IPv4 address, else IPv6."),
    ("IPv6_preferred", "IPv6 preferred", "IPv6 when the host has an IPv6 address, else IPv4."),
    // Codecs: the values of the codec lists (typed, in order of preference).
    ("g729", "G.729", "8 kbit/s: the least bandwidth, narrowband."),
    ("G722", "G.722", "Wideband (HD) voice at 64 kbit/s."),
    ("GSM", "GSM", "GSM full rate, 13 kbit/s, narrowband."),
    ("PCMA", "G.711 A-law", "64 kbit/s, narrowband: the usual codec in Europe."),
    ("PCMU", "G.711 μ-law", "64 kbit/s, narrowband: the usual codec in North America and Japan."),
    ("OPUS", "Opus", "Wideband, adapts its bit rate to the network."),
    ("telephone-event", "DTMF events", "Key presses sent as events (RFC 4733), not as sound."),
];

fn entry(value: &str) -> Option<&'static (&'static str, &'static str, &'static str)> {
    TEXTS.iter().find(|(v, _, _)| *v == value)
}

/// The English label of an enum value (the value itself if unknown).
pub fn label(value: &str) -> &str {
    entry(value).map_or(value, |e| e.1)
}

/// The English one-line help of an enum value.
pub fn help(value: &str) -> Option<&'static str> {
    entry(value).map(|e| e.2)
}

/// An enum value as the viewer reads it, in its language.
pub fn shown<'a>(v: &'a Viewer, value: &'a str) -> &'a str {
    v.t(label(value))
}

/// A select of an enum field, each option with its help in `data-help`,
/// and below it the help of the chosen value (app.js follows changes).
/// `error_id` is the id of the field's error message, if it has one.
pub fn select(v: &Viewer, f: &Field, values: &[&str], id: &str, value: &str, error_id: Option<&str>, b: &mut String) {
    let help_id = format!("{id}-help");
    let described = match error_id {
        Some(e) => format!(" aria-invalid=\"true\" aria-describedby=\"{e} {help_id}\""),
        None => format!(" aria-describedby=\"{help_id}\""),
    };
    let req = if f.required { " required" } else { "" };
    let _ = write!(b, "<select id=\"{id}\" name=\"{}\" data-help-for=\"{help_id}\"{req}{described}>", Esc(f.name));
    if f.nullable {
        let _ = write!(b, "<option value=\"\" data-help=\"\">{}</option>", Esc(v.t("— none —")));
    }
    for val in values {
        let sel = if *val == value { " selected" } else { "" };
        let h = help(val).map_or("", |h| v.t(h));
        let _ = write!(b, "<option value=\"{}\"{sel} data-help=\"{}\">{}</option>", Esc(val), Esc(h), Esc(shown(v, val)));
    }
    b.push_str("</select>");
    let chosen = if value.is_empty() && !f.nullable { values.first().copied().unwrap_or("") } else { value };
    let text = help(chosen).map_or("", |h| v.t(h));
    let _ = write!(b, "<p class=\"hint enum-help\" id=\"{help_id}\" aria-live=\"polite\">{}</p>", Esc(text));
}

/// Under a codec list input: what each codec is, by its typed name.
pub fn codecs(v: &Viewer, b: &mut String) {
    b.push_str("<ul class=\"hint codecs\">");
    for c in domain::codec::CODECS {
        let _ = write!(b, "<li><code>{c}</code> {}: {}</li>", Esc(shown(v, c)), Esc(help(c).map_or("", |h| v.t(h))));
    }
    b.push_str("</ul>");
}

#[cfg(test)]
pub const ALL_TEXTS: &[(&str, &str, &str)] = TEXTS;

#[cfg(test)]
mod tests {
    use super::*;
    use domain::schema::{Kind, RESOURCES};

    /// A new enum value in the schema without a label and a help fails here.
    #[test]
    fn every_enum_value_of_the_schema_has_a_label_and_a_help() {
        let mut seen = 0;
        for res in RESOURCES {
            for f in res.fields {
                let Kind::Enum(values) = f.kind else { continue };
                for val in values {
                    let e = entry(val).unwrap_or_else(|| panic!("{}.{} = {val} has no label", res.kind, f.name));
                    assert!(!e.1.is_empty() && !e.2.is_empty(), "{}.{} = {val}", res.kind, f.name);
                    seen += 1;
                }
            }
        }
        assert!(seen >= 20, "the schema's enum fields were found ({seen})");
        for c in domain::codec::CODECS {
            assert!(entry(c).is_some(), "codec {c} has no label");
        }
    }

    #[test]
    fn no_text_is_listed_twice() {
        for (i, (v, _, _)) in TEXTS.iter().enumerate() {
            assert!(!TEXTS[..i].iter().any(|(w, _, _)| w == v), "{v}");
        }
    }
}
