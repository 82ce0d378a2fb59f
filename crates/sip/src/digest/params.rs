//! The auth-param grammar under both digest headers (RFC 7616 §3.3,
//! RFC 3261 §25.1 quoting): splitting, unquoting and quoting, and the
//! rules for single values (`nc`, `qop` lists, no duplicate names).

use super::{DigestError, Qop};

pub(super) fn set<T>(slot: &mut Option<T>, name: &'static str, value: T) -> Result<(), DigestError> {
    if slot.is_some() {
        return Err(DigestError::DuplicateParam(name));
    }
    *slot = Some(value);
    Ok(())
}

pub(super) fn parse_nc(v: &str) -> Result<u32, DigestError> {
    // Exactly 8LHEX: the digest hashes nc as sent, and we rehash it as
    // `{:08x}`, so any other spelling would fail verification silently.
    let ok = v.len() == 8 && v.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    if !ok {
        return Err(DigestError::BadNonceCount);
    }
    u32::from_str_radix(v, 16).map_err(|_| DigestError::BadNonceCount)
}

pub(super) fn parse_qop_list(v: &str) -> Result<Vec<Qop>, DigestError> {
    // Options we do not know (a future qop) are skipped, but a list with
    // none we know must not read as "no qop" (RFC 2069 mode).
    let list: Vec<Qop> = v.split(',').filter_map(|q| q.trim().parse().ok()).collect();
    if list.is_empty() {
        return Err(DigestError::UnsupportedQop(v.to_owned()));
    }
    Ok(list)
}

pub(super) fn push_quoted(out: &mut String, name: &str, value: &str) {
    out.push_str(name);
    out.push_str("=\"");
    for c in value.chars() {
        match c {
            // A header cannot carry these, even escaped (RFC 3261 §25.1).
            '\r' | '\n' => out.push(' '),
            '"' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            '\t' => out.push(c),
            c if c.is_ascii_control() => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

fn is_ws(b: u8) -> bool {
    // CR and LF count as space outside quoted strings, for values that
    // still hold a folded line.
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

/// RFC 3261 §25.1 `token` characters.
fn is_token(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'!' | b'%' | b'*' | b'_' | b'+' | b'`' | b'\'' | b'~')
}

/// Splits `Digest name=value, …` into lowercased names and unescaped
/// values. Works on bytes but only cuts at ASCII delimiters, so every cut
/// is a char boundary; `get` keeps that from ever panicking regardless.
pub(super) fn parse_params(input: &str) -> Result<Vec<(String, String)>, DigestError> {
    let b = input.as_bytes();
    let syntax = |position, expected| DigestError::Syntax { position, expected };
    let mut i = skip_ws(b, 0);
    let start = i;
    while i < b.len() && is_token(b[i]) {
        i += 1;
    }
    let scheme = input.get(start..i).unwrap_or_default();
    if !scheme.eq_ignore_ascii_case("digest") {
        return Err(DigestError::NotDigest);
    }
    if i < b.len() && !is_ws(b[i]) {
        return Err(syntax(i, "whitespace after `Digest`"));
    }
    let mut params = Vec::new();
    loop {
        // Empty list elements (`a=1,,b=2`, a trailing comma) are allowed.
        while i < b.len() && (is_ws(b[i]) || b[i] == b',') {
            i += 1;
        }
        if i == b.len() {
            return Ok(params);
        }
        let start = i;
        while i < b.len() && is_token(b[i]) {
            i += 1;
        }
        if start == i {
            return Err(syntax(i, "a parameter name"));
        }
        let name = input.get(start..i).ok_or(syntax(start, "a parameter name"))?.to_ascii_lowercase();
        i = skip_ws(b, i);
        if b.get(i) != Some(&b'=') {
            return Err(syntax(i, "`=`"));
        }
        i = skip_ws(b, i + 1);
        let value = if b.get(i) == Some(&b'"') {
            let (value, next) = parse_quoted(input, i + 1)?;
            i = next;
            value
        } else {
            // Tokens are tolerated beyond RFC `token` (e.g. an unquoted
            // base64 nonce with `/` and `=`); only the delimiters end one.
            let start = i;
            while i < b.len() && !is_ws(b[i]) && b[i] != b',' && b[i] != b'"' {
                i += 1;
            }
            if start == i {
                return Err(syntax(i, "a value"));
            }
            input.get(start..i).ok_or(syntax(start, "a value"))?.to_owned()
        };
        params.push((name, value));
        i = skip_ws(b, i);
        if i < b.len() && b[i] != b',' {
            return Err(syntax(i, "`,`"));
        }
    }
}

/// Reads a quoted string whose opening quote is just before `i`; returns
/// the unescaped value and the index after the closing quote.
fn parse_quoted(input: &str, mut i: usize) -> Result<(String, usize), DigestError> {
    let b = input.as_bytes();
    let syntax = |position, expected| DigestError::Syntax { position, expected };
    let mut value = Vec::new();
    loop {
        match b.get(i).copied() {
            None => return Err(syntax(i, "a closing `\"`")),
            Some(b'"') => break,
            Some(b'\\') => {
                // quoted-pair: any char but CR and LF.
                match b.get(i + 1).copied() {
                    None | Some(b'\r' | b'\n') => return Err(syntax(i + 1, "an escaped character")),
                    Some(c) => value.push(c),
                }
                i += 2;
            }
            Some(c) if c != b'\t' && (c < 0x20 || c == 0x7f) => {
                return Err(syntax(i, "a printable character"));
            }
            Some(c) => {
                value.push(c);
                i += 1;
            }
        }
    }
    // Only ASCII bytes were dropped, so this is valid UTF-8; map anyway.
    let value = String::from_utf8(value).map_err(|_| syntax(i, "UTF-8"))?;
    Ok((value, i + 1))
}

fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && is_ws(b[i]) {
        i += 1;
    }
    i
}
