//! A small HTML writer: pages are built into a `String` with `write!`, and
//! every value that did not come from this crate goes through [`Esc`], so
//! no template engine (and its compile time) is needed.

use std::fmt;

/// Text escaped for HTML element content and double- or single-quoted
/// attribute values.
pub struct Esc<'a>(pub &'a str);

impl fmt::Display for Esc<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.0;
        let mut start = 0;
        for (i, b) in s.bytes().enumerate() {
            let rep = match b {
                b'&' => "&amp;",
                b'<' => "&lt;",
                b'>' => "&gt;",
                b'"' => "&quot;",
                b'\'' => "&#39;",
                _ => continue,
            };
            f.write_str(&s[start..i])?;
            f.write_str(rep)?;
            start = i + 1;
        }
        f.write_str(&s[start..])
    }
}

/// Percent-encodes a query-string component (`application/x-www-form-urlencoded`).
pub fn url_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(b as char),
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// A query string from pairs, keys and values encoded.
pub fn query(pairs: &[(String, String)]) -> String {
    pairs.iter().map(|(k, v)| format!("{}={}", url_encode(k), url_encode(v))).collect::<Vec<_>>().join("&")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_quotes() {
        assert_eq!(
            Esc("<script>alert('x')</script> & \"y\"").to_string(),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;y&quot;"
        );
        assert_eq!(Esc("plain ☎").to_string(), "plain ☎");
        assert_eq!(Esc("").to_string(), "");
    }

    #[test]
    fn encodes_query_components() {
        assert_eq!(url_encode("filter[name_cont]"), "filter%5Bname_cont%5D");
        assert_eq!(url_encode("a b&c=d/é"), "a+b%26c%3Dd%2F%C3%A9");
        let q = query(&[("sort".into(), "-id".into()), ("filter[x]".into(), "2026-01-01 00:00:00".into())]);
        assert_eq!(q, "sort=-id&filter%5Bx%5D=2026-01-01+00%3A00%3A00");
        let back: Vec<(String, String)> = serde_urlencoded::from_str(&q).unwrap();
        assert_eq!(back[1].1, "2026-01-01 00:00:00");
    }
}
