//! Tests for the header helpers: Contact, Expires, From/To and URI parsing,
//! with property tests that the parsers never panic and Contacts round-trip.

use super::*;
use proptest::prelude::*;

fn headers(fields: &[(&str, &str)]) -> Headers {
    fields.iter().copied().collect()
}

#[test]
fn compact_names_are_expanded_and_lookup_is_case_insensitive() {
    let h = headers(&[("m", "<sip:a@b>"), ("CONTACT", "<sip:c@d>"), ("f", "<sip:x@y>")]);
    assert_eq!(h.get_all("contact").count(), 2);
    assert_eq!(h.get("m"), Some("<sip:a@b>"));
    assert_eq!(h.get("From"), Some("<sip:x@y>"));
    assert_eq!(h.len(), 3);
}

#[test]
fn contacts_reads_lists_params_and_several_fields() {
    let h = headers(&[
        ("Contact", r#""Alice, desk" <sip:alice@10.0.0.1:5062;transport=tcp>;expires=60;q=0.5, <sip:alice@10.0.0.2>"#),
        ("m", "sip:alice@10.0.0.3;expires=0"),
    ]);
    let Contacts::List(list) = contacts(&h).unwrap() else {
        panic!("expected a list");
    };
    assert_eq!(list.len(), 3);
    assert_eq!(list[0].display_name.as_deref(), Some("Alice, desk"));
    assert_eq!(list[0].uri, "sip:alice@10.0.0.1:5062;transport=tcp");
    assert_eq!(list[0].expires(), Ok(Some(60)));
    assert_eq!(list[0].param("q"), Some(Some("0.5")));
    assert_eq!(list[1].expires(), Ok(None));
    // addr-spec form: ;expires belongs to the header, not the URI.
    assert_eq!(list[2].uri, "sip:alice@10.0.0.3");
    assert_eq!(list[2].expires(), Ok(Some(0)));
    let uri = list[0].sip_uri().unwrap();
    assert_eq!(uri.user.as_deref(), Some("alice"));
    assert_eq!((uri.host.as_str(), uri.port), ("10.0.0.1", Some(5062)));
}

#[test]
fn contacts_wildcard_none_and_mixed() {
    assert_eq!(contacts(&headers(&[("Contact", " * ")])), Ok(Contacts::Wildcard));
    assert_eq!(contacts(&Headers::new()), Ok(Contacts::None));
    assert!(contacts(&headers(&[("Contact", "*"), ("Contact", "<sip:a@b>")])).is_err());
    assert!(contacts(&headers(&[("Contact", "<sip:a@b")])).is_err());
    let bad_expires = contacts(&headers(&[("Contact", "<sip:a@b>;expires=soon")])).unwrap();
    let Contacts::List(list) = bad_expires else {
        panic!("expected a list");
    };
    assert!(list[0].expires().is_err());
}

#[test]
fn expires_header() {
    assert_eq!(expires(&headers(&[("Expires", "3600")])), Ok(Some(3600)));
    assert_eq!(expires(&Headers::new()), Ok(None));
    assert!(expires(&headers(&[("Expires", "-1")])).is_err());
    assert!(expires(&headers(&[("Expires", "")])).is_err());
    assert_eq!(expires(&headers(&[("Expires", "99999999999")])), Ok(Some(u32::MAX)));
}

#[test]
fn from_to_user_and_host() {
    let h = headers(&[("From", r#""Bob" <sip:bob:secret@Example.COM>;tag=abc"#), ("t", "sips:bob@[2001:db8::1]:5061")]);
    let f = from(&h).unwrap();
    assert_eq!(f.tag(), Some("abc"));
    let uri = f.sip_uri().unwrap();
    assert_eq!(uri.user.as_deref(), Some("bob"));
    assert_eq!(uri.host, "example.com");
    assert_eq!(uri.to_string(), "sip:bob@example.com");
    let uri = to(&h).unwrap().sip_uri().unwrap();
    assert_eq!(uri.scheme, "sips");
    assert_eq!((uri.host.as_str(), uri.port), ("[2001:db8::1]", Some(5061)));
    assert_eq!(to(&Headers::new()), Err(MessageError::Missing("To")));
}

#[test]
fn uri_rejects_garbage() {
    for bad in ["", "bob@example.com", "tel:+123", "sip:", "sip:@h", "sip:a@h:99999", "sip:a@h o"] {
        assert!(SipUri::parse(bad).is_err(), "{bad}");
    }
    let uri = SipUri::parse("sip:example.com;transport=udp").unwrap();
    assert_eq!((uri.user, uri.host.as_str()), (None, "example.com"));
}

#[test]
fn user_agent_and_authorization_values() {
    let h = headers(&[
        ("User-Agent", " baresip v3 "),
        ("Authorization", r#"Digest username="a", realm="r1""#),
        ("authorization", r#"Digest username="a", realm="r2""#),
        ("Proxy-Authorization", r#"Digest username="p""#),
    ]);
    assert_eq!(user_agent(&h), Some("baresip v3"));
    assert_eq!(authorization(&h).count(), 2);
    let value = proxy_authorization(&h).next().unwrap();
    assert_eq!(crate::digest::Authorization::parse(value).is_ok(), crate::digest::Authorization::parse(r#"Digest username="p""#).is_ok());
}

proptest! {
    #[test]
    fn readers_never_panic(value in "\\PC{0,80}") {
        let h = headers(&[("Contact", &value), ("From", &value), ("Expires", &value)]);
        let _ = contacts(&h);
        let _ = from(&h).map(|f| f.sip_uri());
        let _ = expires(&h);
        let _ = SipUri::parse(&value);
    }

    #[test]
    fn contact_list_round_trips(users in proptest::collection::vec("[a-z0-9]{1,8}", 1..5), exp in 0u32..100_000) {
        let value = users
            .iter()
            .map(|u| format!("<sip:{u}@192.0.2.1:5060>;expires={exp}"))
            .collect::<Vec<_>>()
            .join(", ");
        let Ok(Contacts::List(list)) = contacts(&headers(&[("Contact", &value)])) else {
            panic!("expected a list for {value}");
        };
        prop_assert_eq!(list.len(), users.len());
        for (c, u) in list.iter().zip(&users) {
            prop_assert_eq!(c.expires(), Ok(Some(exp)));
            let uri = c.sip_uri().unwrap();
            prop_assert_eq!(uri.user.as_deref(), Some(u.as_str()));
        }
    }
}

#[test]
fn the_top_via_names_where_the_sender_thinks_it_is() {
    let via = |v: &str| top_via_sent_by(&headers(&[("Via", v)])).map(|(h, p)| (h.to_owned(), p));
    assert_eq!(via("SIP/2.0/UDP 10.0.0.5:5062;branch=z9hG4bKa;rport"), Some(("10.0.0.5".into(), Some(5062))));
    assert_eq!(via("SIP/2.0/TCP phone.local;branch=z9"), Some(("phone.local".into(), None)));
    assert_eq!(via("SIP/2.0/UDP [2001:db8::5]:5070;branch=z9, SIP/2.0/UDP 10.0.0.1"), Some(("2001:db8::5".into(), Some(5070))));
    assert_eq!(via("SIP/2.0/UDP  [2001:db8::5];branch=z9"), Some(("2001:db8::5".into(), None)));
    assert_eq!(via("SIP/2.0/UDP 10.0.0.5:port"), None);
    assert_eq!(via("garbage"), None);
    assert_eq!(top_via_sent_by(&Headers::new()), None);
}
