//! Sans-IO readers for the request headers a registrar needs: Contact
//! (including `*`), Expires, From/To addresses, User-Agent and the
//! (Proxy-)Authorization values that feed [`crate::digest::Authorization::parse`].

use std::fmt;

#[cfg(test)]
mod tests;

/// Why a header value could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MessageError {
    /// A header the operation needs is absent.
    #[error("missing {0} header")]
    Missing(&'static str),
    /// A header is present but does not follow its grammar.
    #[error("malformed {header} header: {reason}")]
    Malformed {
        /// Canonical header name.
        header: &'static str,
        /// What was wrong with it.
        reason: &'static str,
    },
}

/// The header fields of a received message, in wire order, with compact
/// names (`m`, `f`, `v`, …) expanded to their canonical form.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Headers {
    entries: Vec<(String, String)>,
}

impl Headers {
    /// An empty header list.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends a field; a compact name is stored in its canonical form.
    pub fn push(&mut self, name: &str, value: impl Into<String>) {
        self.entries.push((canonical_name(name).to_string(), value.into()));
    }

    /// The first value of `name` (case-insensitive, compact forms accepted).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.get_all(name).next()
    }

    /// Every value of `name`, in wire order. A field that carries several
    /// comma-separated values is returned as one item.
    pub fn get_all<'a>(&'a self, name: &str) -> impl Iterator<Item = &'a str> + 'a {
        let name = canonical_name(name).to_ascii_lowercase();
        self.entries.iter().filter(move |(n, _)| n.eq_ignore_ascii_case(&name)).map(|(_, v)| v.as_str())
    }

    /// All fields as `(name, value)`, in wire order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.entries.iter().map(|(n, v)| (n.as_str(), v.as_str()))
    }

    /// Number of fields.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are no fields.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// Fields in order, as [`Headers::push`] takes them.
impl<'a> FromIterator<(&'a str, &'a str)> for Headers {
    fn from_iter<I: IntoIterator<Item = (&'a str, &'a str)>>(fields: I) -> Self {
        let mut h = Headers::new();
        for (name, value) in fields {
            h.push(name, value);
        }
        h
    }
}

/// Expands RFC 3261 §7.3.3 compact header names; other names pass through.
pub fn canonical_name(name: &str) -> &str {
    let compact = match name.as_bytes() {
        [c] => c.to_ascii_lowercase(),
        _ => return name,
    };
    match compact {
        b'i' => "Call-ID",
        b'm' => "Contact",
        b'e' => "Content-Encoding",
        b'l' => "Content-Length",
        b'c' => "Content-Type",
        b'f' => "From",
        b's' => "Subject",
        b'k' => "Supported",
        b't' => "To",
        b'v' => "Via",
        b'o' => "Event",
        b'u' => "Allow-Events",
        b'r' => "Refer-To",
        b'b' => "Referred-By",
        b'x' => "Session-Expires",
        _ => name,
    }
}

/// A SIP or SIPS URI reduced to the parts routing and registration use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SipUri {
    /// `sip` or `sips` (lower case).
    pub scheme: String,
    /// The userinfo user part, without password; `None` when absent.
    pub user: Option<String>,
    /// Host name or address as written (IPv6 keeps its brackets), lower case.
    pub host: String,
    /// Explicit port, if any.
    pub port: Option<u16>,
}

impl SipUri {
    /// Parses `sip:` / `sips:` URIs; other schemes are rejected because the
    /// registrar has nothing to do with them.
    pub fn parse(uri: &str) -> Result<Self, MessageError> {
        fn bad(reason: &'static str) -> MessageError {
            MessageError::Malformed { header: "URI", reason }
        }
        let uri = uri.trim();
        let (scheme, rest) = uri.split_once(':').ok_or(bad("no scheme"))?;
        let scheme = scheme.to_ascii_lowercase();
        if scheme != "sip" && scheme != "sips" {
            return Err(bad("not a sip or sips URI"));
        }
        // Parameters and headers follow the host part.
        let end = rest.find([';', '?']).unwrap_or(rest.len());
        let rest = &rest[..end];
        let (user, hostport) = match rest.rsplit_once('@') {
            Some((userinfo, hostport)) => {
                let user = userinfo.split(':').next().unwrap_or(userinfo);
                if user.is_empty() {
                    return Err(bad("empty user"));
                }
                (Some(user.to_string()), hostport)
            }
            None => (None, rest),
        };
        let (host, port) = split_host_port(hostport).ok_or(bad("bad host or port"))?;
        Ok(SipUri { scheme, user, host: host.to_ascii_lowercase(), port })
    }
}

impl fmt::Display for SipUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:", self.scheme)?;
        if let Some(user) = &self.user {
            write!(f, "{user}@")?;
        }
        write!(f, "{}", self.host)?;
        if let Some(port) = self.port {
            write!(f, ":{port}")?;
        }
        Ok(())
    }
}

/// Splits `host[:port]`, keeping IPv6 brackets. `None` when malformed.
pub(crate) fn split_host_port(s: &str) -> Option<(&str, Option<u16>)> {
    let s = s.trim();
    let (host, port) = if s.starts_with('[') {
        let close = s.find(']')?;
        let (host, rest) = s.split_at(close + 1);
        match rest {
            "" => (host, None),
            _ => (host, Some(rest.strip_prefix(':')?)),
        }
    } else {
        match s.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (s, None),
        }
    };
    let valid_host = !host.is_empty() && host.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._[]:".contains(&b));
    if !valid_host {
        return None;
    }
    let port = match port {
        Some(p) => Some(p.parse::<u16>().ok()?),
        None => None,
    };
    Some((host, port))
}

/// A `name-addr` / `addr-spec` with its header parameters, as found in
/// Contact, From and To.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameAddr {
    /// Display name without quotes, if given.
    pub display_name: Option<String>,
    /// The URI exactly as written (without angle brackets).
    pub uri: String,
    /// Header parameters (after the URI), names lower-cased.
    pub params: Vec<(String, Option<String>)>,
}

impl NameAddr {
    /// Parses one value, e.g. `"Alice" <sip:a@b>;tag=1` or `sip:a@b;expires=60`.
    pub fn parse(value: &str, header: &'static str) -> Result<Self, MessageError> {
        let bad = |reason| MessageError::Malformed { header, reason };
        let value = value.trim();
        if value.is_empty() {
            return Err(bad("empty value"));
        }
        let (display_name, uri, params) = if let Some(open) = find_unquoted(value, '<') {
            let display = value[..open].trim();
            let display = display.strip_prefix('"').and_then(|d| d.strip_suffix('"')).unwrap_or(display);
            let after = &value[open + 1..];
            let close = after.find('>').ok_or(bad("unclosed <"))?;
            let display_name = (!display.is_empty()).then(|| display.to_string());
            (display_name, &after[..close], &after[close + 1..])
        } else {
            // addr-spec form: URI parameters cannot be told from header
            // parameters, so RFC 3261 §20 makes them header parameters.
            let split = value.find(';').unwrap_or(value.len());
            (None, &value[..split], &value[split..])
        };
        let uri = uri.trim();
        if uri.is_empty() || !uri.contains(':') {
            return Err(bad("no URI"));
        }
        Ok(NameAddr { display_name, uri: uri.to_string(), params: parse_params(params) })
    }

    /// The value of parameter `name` (case-insensitive); `Some(None)` for a
    /// flag parameter without value.
    pub fn param(&self, name: &str) -> Option<Option<&str>> {
        self.params.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_deref())
    }

    /// The `tag` parameter (From/To).
    pub fn tag(&self) -> Option<&str> {
        self.param("tag").flatten()
    }

    /// The contact `expires` parameter; `Err` when present but not a number.
    pub fn expires(&self) -> Result<Option<u32>, MessageError> {
        match self.param("expires") {
            None => Ok(None),
            Some(v) => parse_delta_seconds(v.unwrap_or(""), "Contact").map(Some),
        }
    }

    /// The parsed URI.
    pub fn sip_uri(&self) -> Result<SipUri, MessageError> {
        SipUri::parse(&self.uri)
    }
}

fn find_unquoted(s: &str, needle: char) -> Option<usize> {
    let mut quoted = false;
    let mut escaped = false;
    for (i, c) in s.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            c if c == needle && !quoted => return Some(i),
            _ => {}
        }
    }
    None
}

fn parse_params(s: &str) -> Vec<(String, Option<String>)> {
    s.split(';')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('=') {
            Some((n, v)) => (n.trim().to_ascii_lowercase(), Some(v.trim().trim_matches('"').to_string())),
            None => (p.to_ascii_lowercase(), None),
        })
        .collect()
}

/// Splits a header value at commas that are outside quotes and `<…>`.
pub(crate) fn split_list(value: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut quoted, mut escaped, mut angle) = (false, false, false);
    let mut start = 0;
    for (i, c) in value.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            '<' if !quoted => angle = true,
            '>' if !quoted => angle = false,
            ',' if !quoted && !angle => {
                out.push(value[start..i].trim());
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(value[start..].trim());
    out.retain(|v| !v.is_empty());
    out
}

fn parse_delta_seconds(v: &str, header: &'static str) -> Result<u32, MessageError> {
    let v = v.trim();
    if v.is_empty() || !v.bytes().all(|b| b.is_ascii_digit()) {
        return Err(MessageError::Malformed { header, reason: "not a delta-seconds number" });
    }
    // RFC 3261 §20.19: values too large for 32 bits mean "as long as possible".
    Ok(v.parse::<u32>().unwrap_or(u32::MAX))
}

/// What the Contact headers of a REGISTER ask for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Contacts {
    /// No Contact header: a query for the current bindings.
    None,
    /// `Contact: *`: remove all bindings (valid only with `Expires: 0`).
    Wildcard,
    /// One or more contact addresses.
    List(Vec<NameAddr>),
}

/// Reads every Contact header (several per field allowed). A `*` mixed
/// with other contacts is malformed (RFC 3261 §10.3 step 6).
pub fn contacts(headers: &Headers) -> Result<Contacts, MessageError> {
    let mut list = Vec::new();
    let mut wildcard = false;
    for value in headers.get_all("Contact") {
        for item in split_list(value) {
            if item == "*" {
                wildcard = true;
            } else {
                list.push(NameAddr::parse(item, "Contact")?);
            }
        }
    }
    match (wildcard, list.is_empty()) {
        (true, true) => Ok(Contacts::Wildcard),
        (true, false) => Err(MessageError::Malformed { header: "Contact", reason: "* mixed with other contacts" }),
        (false, true) => Ok(Contacts::None),
        (false, false) => Ok(Contacts::List(list)),
    }
}

/// The Expires header in seconds, if present.
pub fn expires(headers: &Headers) -> Result<Option<u32>, MessageError> {
    headers.get("Expires").map(|v| parse_delta_seconds(v, "Expires")).transpose()
}

/// The From header as an address.
pub fn from(headers: &Headers) -> Result<NameAddr, MessageError> {
    let value = headers.get("From").ok_or(MessageError::Missing("From"))?;
    NameAddr::parse(value, "From")
}

/// The To header as an address.
pub fn to(headers: &Headers) -> Result<NameAddr, MessageError> {
    let value = headers.get("To").ok_or(MessageError::Missing("To"))?;
    NameAddr::parse(value, "To")
}

/// The sent-by of the topmost Via (`host` and `port`, brackets dropped
/// from an IPv6 host): where the sender believes it is. `None` when there
/// is no Via or it does not parse.
pub fn top_via_sent_by(headers: &Headers) -> Option<(&str, Option<u16>)> {
    let via = headers.get("Via")?;
    // Several Vias may share one line; the first is the topmost.
    let first = via.split(',').next()?.trim();
    let (_protocol, rest) = first.split_once(char::is_whitespace)?;
    let sent_by = rest.trim_start().split(';').next()?.trim();
    let (host, port) = match sent_by.strip_prefix('[') {
        Some(v6) => {
            let (host, after) = v6.split_once(']')?;
            (host, after.strip_prefix(':'))
        }
        None => match sent_by.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (sent_by, None),
        },
    };
    let port = match port {
        Some(p) => Some(p.trim().parse().ok()?),
        None => None,
    };
    (!host.is_empty()).then_some((host, port))
}

/// The User-Agent header value.
pub fn user_agent(headers: &Headers) -> Option<&str> {
    headers.get("User-Agent").map(str::trim)
}

/// Every Authorization value, for [`crate::digest::Authorization::parse`].
/// Several may be present, one per realm.
pub fn authorization(headers: &Headers) -> impl Iterator<Item = &str> {
    headers.get_all("Authorization")
}

/// Every Proxy-Authorization value, for [`crate::digest::Authorization::parse`].
pub fn proxy_authorization(headers: &Headers) -> impl Iterator<Item = &str> {
    headers.get_all("Proxy-Authorization")
}
