//! Audio codecs a trunk or gateway may allow, with the Operator API's
//! spellings (`g729` lower-case, `telephone-event` with or without `/8000`).

/// The canonical names, as we answer them.
pub const CODECS: &[&str] = &["g729", "G722", "GSM", "PCMA", "PCMU", "OPUS", "telephone-event"];

/// The canonical spelling of a codec name as clients send it, if allowed.
pub fn canonical(name: &str) -> Option<&'static str> {
    let n = name.trim();
    let n = n.strip_suffix("/8000").filter(|b| b.eq_ignore_ascii_case("telephone-event")).unwrap_or(n);
    CODECS.iter().copied().find(|c| c.eq_ignore_ascii_case(n))
}

/// Parses an ordered codec list (order is priority); duplicates are refused
/// because they would make the order ambiguous.
pub fn parse_list<'a>(names: impl IntoIterator<Item = &'a str>) -> Result<Vec<&'static str>, String> {
    let mut out = Vec::new();
    for n in names {
        let c = canonical(n).ok_or_else(|| format!("unknown codec '{n}' (allowed: {})", CODECS.join(", ")))?;
        if out.contains(&c) {
            return Err(format!("codec '{c}' is listed twice"));
        }
        out.push(c);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_client_spellings_and_keeps_order() {
        assert_eq!(parse_list(["pcmu", "G729", "telephone-event/8000"]).unwrap(), vec!["PCMU", "g729", "telephone-event"]);
        assert!(parse_list(["PCMU", "pcmu"]).is_err());
        assert!(parse_list(["AMR"]).is_err());
    }
}
