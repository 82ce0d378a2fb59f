//! Times and durations as the UIs show them: one format everywhere
//! (`2026-12-04 19:05:09 EET`, the zone always named) in the viewer's IANA
//! time zone, filter inputs read in that zone and turned into UTC for the
//! query, `m:ss` durations, and "2 min ago" for recent moments. The API
//! itself stays UTC.

use chrono::{LocalResult, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};
pub use chrono_tz::Tz;

/// An IANA zone name as a zone; `None` for anything unknown.
pub fn zone(name: &str) -> Option<Tz> {
    let name = name.trim();
    if name.is_empty() || name.len() > 64 {
        return None;
    }
    name.parse::<Tz>().ok()
}

fn at(ms: i64, tz: Tz) -> chrono::DateTime<Tz> {
    let utc = Utc.timestamp_millis_opt(ms).single().unwrap_or_default();
    utc.with_timezone(&tz)
}

/// `YYYY-MM-DD hh:mm:ss ZONE`, the zone's abbreviation (`UTC`, `EET`,
/// `EEST`, or an offset such as `+04` where the zone has no letters).
pub fn show(ms: i64, tz: Tz) -> String {
    at(ms, tz).format("%Y-%m-%d %H:%M:%S %Z").to_string()
}

/// The RFC 3339 UTC form, for `<time datetime>`.
pub fn machine(ms: i64) -> String {
    domain::time::format_rfc3339(ms)
}

/// `YYYY-MM-DDThh:mm:ss` in the zone: the value of a `datetime-local` input.
pub fn input(ms: i64, tz: Tz) -> String {
    at(ms, tz).format("%Y-%m-%dT%H:%M:%S").to_string()
}

/// A wall-clock time typed in the zone (`YYYY-MM-DD`, with `hh:mm` or
/// `hh:mm:ss` after a `T` or a space) as UTC milliseconds. A time that
/// the clocks skip (spring forward) is read after the jump; one they pass
/// twice (autumn) as its first passing.
pub fn parse_local(s: &str, tz: Tz) -> Option<i64> {
    let s = s.trim();
    let naive = if s.len() == 10 {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()?.and_time(NaiveTime::MIN)
    } else {
        let s = s.replacen(' ', "T", 1);
        NaiveDateTime::parse_from_str(&s, "%Y-%m-%dT%H:%M:%S").or_else(|_| NaiveDateTime::parse_from_str(&s, "%Y-%m-%dT%H:%M")).ok()?
    };
    let local = match tz.from_local_datetime(&naive) {
        LocalResult::Single(t) => t,
        LocalResult::Ambiguous(first, _) => first,
        // In a gap: an hour later is past it (no zone jumps by more).
        LocalResult::None => tz.from_local_datetime(&(naive + chrono::Duration::hours(1))).earliest()?,
    };
    Some(local.timestamp_millis())
}

/// Seconds as `m:ss`, or `h:mm:ss` from an hour on.
pub fn duration(secs: i64) -> String {
    let s = secs.max(0);
    let (h, m, s) = (s / 3600, s / 60 % 60, s % 60);
    if h > 0 {
        format!("{h}:{m:02}:{s:02}")
    } else {
        format!("{m}:{s:02}")
    }
}

/// How long ago `ms` was, for moments within the last week: the number
/// and the unit's message id ("min ago"); `None` for older or future times.
pub fn ago(ms: i64, now: i64) -> Option<(i64, &'static str)> {
    let secs = (now - ms) / 1000;
    match secs {
        s if s < -60 => None,
        s if s < 60 => Some((s.max(0), "s ago")),
        s if s < 3600 => Some((s / 60, "min ago")),
        s if s < 86_400 => Some((s / 3600, "h ago")),
        s if s < 7 * 86_400 => Some((s / 86_400, "d ago")),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const VILNIUS: Tz = chrono_tz::Europe::Vilnius;

    #[test]
    fn durations_read_as_minutes_and_seconds() {
        assert_eq!(duration(0), "0:00");
        assert_eq!(duration(7), "0:07");
        assert_eq!(duration(65), "1:05");
        assert_eq!(duration(3599), "59:59");
        assert_eq!(duration(3600), "1:00:00");
        assert_eq!(duration(3 * 3600 + 62), "3:01:02");
        assert_eq!(duration(-5), "0:00");
    }

    #[test]
    fn times_name_their_zone_across_daylight_saving() {
        let winter = domain::time::parse("2026-12-04 17:05:09").unwrap();
        assert_eq!(show(winter, Tz::UTC), "2026-12-04 17:05:09 UTC");
        assert_eq!(show(winter, VILNIUS), "2026-12-04 19:05:09 EET");
        let summer = domain::time::parse("2026-07-01 09:00:00").unwrap();
        assert_eq!(show(summer, VILNIUS), "2026-07-01 12:00:00 EEST");
        assert_eq!(input(summer, VILNIUS), "2026-07-01T12:00:00");
        assert_eq!(show(summer, zone("America/New_York").unwrap()), "2026-07-01 05:00:00 EDT");
    }

    #[test]
    fn typed_local_times_become_utc() {
        let utc = |s| domain::time::parse(s).unwrap();
        assert_eq!(parse_local("2026-12-04T19:05:09", VILNIUS), Some(utc("2026-12-04 17:05:09")));
        assert_eq!(parse_local("2026-12-04 19:05", VILNIUS), Some(utc("2026-12-04 17:05:00")));
        assert_eq!(parse_local("2026-07-01", VILNIUS), Some(utc("2026-06-30 21:00:00")));
        // 2026-03-29 03:30 does not exist in Vilnius (03:00 -> 04:00).
        assert_eq!(parse_local("2026-03-29T03:30:00", VILNIUS), Some(utc("2026-03-29 01:30:00")));
        // 2026-10-25 03:30 happens twice: the first (EEST) is taken.
        assert_eq!(parse_local("2026-10-25T03:30:00", VILNIUS), Some(utc("2026-10-25 00:30:00")));
        assert_eq!(parse_local("2026-12-04T19:05:09", Tz::UTC), Some(utc("2026-12-04 19:05:09")));
        assert_eq!(parse_local("yesterday", VILNIUS), None);
        assert_eq!(parse_local("2026-13-01", VILNIUS), None);
    }

    #[test]
    fn zones_are_iana_names() {
        assert_eq!(zone("Europe/Vilnius"), Some(VILNIUS));
        assert_eq!(zone("UTC"), Some(Tz::UTC));
        assert_eq!(zone("Mars/Olympus"), None);
        assert_eq!(zone(""), None);
    }

    #[test]
    fn recent_moments_read_as_ago() {
        let now = 1_000_000_000_000;
        assert_eq!(ago(now - 5_000, now), Some((5, "s ago")));
        assert_eq!(ago(now - 125_000, now), Some((2, "min ago")));
        assert_eq!(ago(now - 3 * 3_600_000, now), Some((3, "h ago")));
        assert_eq!(ago(now - 2 * 86_400_000, now), Some((2, "d ago")));
        assert_eq!(ago(now - 8 * 86_400_000, now), None);
        assert_eq!(ago(now + 3_600_000, now), None);
    }
}
