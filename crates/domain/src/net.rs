//! IP networks as an operator writes them: an address or a CIDR range
//! (`192.0.2.10`, `198.51.100.0/24`, `2001:db8::/32`), e.g. the sources an
//! incoming trunk takes calls from.

use std::fmt;
use std::net::IpAddr;

/// An address range; a single address is a full-length prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Net {
    /// The first address of the range (host bits cleared).
    addr: IpAddr,
    prefix: u8,
}

impl Net {
    /// Parses `addr` or `addr/prefix`; host bits are cleared, so
    /// `192.0.2.7/24` is `192.0.2.0/24`.
    pub fn parse(s: &str) -> Result<Net, String> {
        let s = s.trim();
        let (addr, prefix) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let addr: IpAddr =
            addr.trim_start_matches('[').trim_end_matches(']').parse().map_err(|_| format!("'{s}' is not an IP address or CIDR range"))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) => p.parse::<u8>().ok().filter(|p| *p <= max).ok_or_else(|| format!("'{s}' has a prefix length outside 0..={max}"))?,
        };
        Ok(Net { addr: mask(addr, prefix), prefix })
    }

    /// Whether `ip` is in the range. An IPv4 source seen as an IPv4-mapped
    /// IPv6 address (a dual-stack socket) counts as IPv4.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        ip.is_ipv4() == self.addr.is_ipv4() && mask(ip, self.prefix) == self.addr
    }
}

fn mask(ip: IpAddr, prefix: u8) -> IpAddr {
    match ip {
        IpAddr::V4(a) => {
            let bits = u32::from(a) & u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
            IpAddr::V4(bits.into())
        }
        IpAddr::V6(a) => {
            let bits = u128::from(a) & u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
            IpAddr::V6(bits.into())
        }
    }
}

impl fmt::Display for Net {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let full = if self.addr.is_ipv4() { 32 } else { 128 };
        if self.prefix == full {
            write!(f, "{}", self.addr)
        } else {
            write!(f, "{}/{}", self.addr, self.prefix)
        }
    }
}

/// The ranges of a stored list (comma-separated, as validation wrote it);
/// an entry that does not parse is skipped, since validation let none in.
pub fn parse_list(stored: &str) -> Vec<Net> {
    stored.split(',').filter(|s| !s.trim().is_empty()).filter_map(|s| Net::parse(s).ok()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn addresses_and_ranges_match_what_they_cover() {
        let one = Net::parse("192.0.2.10").unwrap();
        assert!(one.contains(ip("192.0.2.10")) && !one.contains(ip("192.0.2.11")));
        let range = Net::parse("198.51.100.7/24").unwrap();
        assert_eq!(range.to_string(), "198.51.100.0/24", "host bits cleared");
        assert!(range.contains(ip("198.51.100.255")) && !range.contains(ip("198.51.101.0")));
        assert!(range.contains(ip("::ffff:198.51.100.9")), "a v4-mapped source is the v4 address");
        let v6 = Net::parse("2001:db8::/32").unwrap();
        assert!(v6.contains(ip("2001:db8:1::5")) && !v6.contains(ip("2001:db9::1")) && !v6.contains(ip("192.0.2.10")));
        assert!(Net::parse("0.0.0.0/0").unwrap().contains(ip("203.0.113.1")));
        assert_eq!(Net::parse("[2001:db8::1]").unwrap().to_string(), "2001:db8::1");
    }

    #[test]
    fn bad_ranges_are_refused() {
        for bad in ["", "host.example.com", "192.0.2.300", "192.0.2.0/33", "2001:db8::/129", "192.0.2.0/", "192.0.2.0/-1", "10/8"] {
            assert!(Net::parse(bad).is_err(), "{bad}");
        }
    }
}
