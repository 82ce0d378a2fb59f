//! Tests for digest auth: RFC test vectors, SIP REGISTER values computed
//! independently with Python's hashlib, nonce lifecycle, parser behaviour
//! and property tests.

use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use proptest::prelude::*;

use super::*;

const RFC7616_NONCE: &str = "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v";
const RFC7616_CNONCE: &str = "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ";
const RFC7616_OPAQUE: &str = "FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS";

fn rfc7616_challenge(algorithm: &str) -> Challenge {
    // RFC 7616 §3.9.1, as the server sends it (folded onto one line).
    let header = format!(
        "Digest\n    realm=\"http-auth@example.org\",\n    qop=\"auth, auth-int\",\n    \
         algorithm={algorithm},\n    nonce=\"{RFC7616_NONCE}\",\n    opaque=\"{RFC7616_OPAQUE}\""
    );
    Challenge::parse(&header).expect("RFC challenge parses")
}

// ---- RFC test vectors ----------------------------------------------------

#[test]
fn rfc7616_md5_and_sha256_vectors() {
    for (alg, expected) in
        [("MD5", "8ca523f5e9506fed4657c9700eebdbec"), ("SHA-256", "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1")]
    {
        let challenge = rfc7616_challenge(alg);
        let auth = respond(&challenge, "GET", "/dir/index.html", "Mufasa", "Circle of Life", RFC7616_CNONCE, 1).expect("respond");
        assert_eq!(auth.response, expected, "{alg}");
        assert_eq!(auth.qop, Some(Qop::Auth));
        assert_eq!(auth.opaque.as_deref(), Some(RFC7616_OPAQUE));
        assert!(verify(&auth, "GET", Secret::Password("Circle of Life")));
        assert!(!verify(&auth, "GET", Secret::Password("Circle Of Life")));
    }
}

#[test]
fn rfc7616_sha256_authorization_header_parses_and_verifies() {
    // The client's header of RFC 7616 §3.9.1, line breaks and all.
    let header = format!(
        "Digest username=\"Mufasa\",\n       realm=\"http-auth@example.org\",\n       \
         uri=\"/dir/index.html\",\n       algorithm=SHA-256,\n       \
         nonce=\"{RFC7616_NONCE}\",\n       nc=00000001,\n       cnonce=\"{RFC7616_CNONCE}\",\n       \
         qop=auth,\n       \
         response=\"753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1\",\n       \
         opaque=\"{RFC7616_OPAQUE}\""
    );
    let auth = Authorization::parse(&header).expect("parses");
    assert_eq!(auth.username, "Mufasa");
    assert_eq!(auth.algorithm, Algorithm::Sha256);
    assert_eq!(auth.nc, Some(1));
    assert!(verify(&auth, "GET", Secret::Password("Circle of Life")));
    assert!(!verify(&auth, "POST", Secret::Password("Circle of Life")));
    let stored = ha1(Algorithm::Sha256, "Mufasa", "http-auth@example.org", "Circle of Life");
    assert!(verify(&auth, "GET", Secret::Ha1(&stored)));
    // An MD5 HA1 for a SHA-256 credential must not pass.
    let md5 = ha1(Algorithm::Md5, "Mufasa", "http-auth@example.org", "Circle of Life");
    assert!(!verify(&auth, "GET", Secret::Ha1(&md5)));
}

#[test]
fn rfc2617_md5_qop_auth_vector() {
    let auth = Authorization::parse(
        "Digest username=\"Mufasa\", realm=\"testrealm@host.com\", \
         nonce=\"dcd98b7102dd2f0e8b11d0f600bfb0c093\", uri=\"/dir/index.html\", \
         qop=auth, nc=00000001, cnonce=\"0a4f113b\", \
         response=\"6629fae49393a05397450978507c4ef1\", \
         opaque=\"5ccc069c403ebaf9f0171e9517f40e41\"",
    )
    .expect("parses");
    assert_eq!(auth.algorithm, Algorithm::Md5, "absent algorithm is MD5");
    assert!(verify(&auth, "GET", Secret::Password("Circle Of Life")));
}

#[test]
fn rfc2069_no_qop_vector() {
    let challenge = Challenge { qop: vec![], ..Challenge::new("testrealm@host.com", "dcd98b7102dd2f0e8b11d0f600bfb0c093", Algorithm::Md5) };
    let auth = respond(&challenge, "GET", "/dir/index.html", "Mufasa", "Circle Of Life", "ignored", 1).expect("respond");
    assert_eq!(auth.response, "670fd8c2df070c60b045671b8b24ff02");
    assert_eq!((auth.qop, auth.nc, auth.cnonce.as_deref()), (None, None, None));
    assert!(verify(&auth, "GET", Secret::Password("Circle Of Life")));
}

#[test]
fn rfc7616_inputs_with_sess_algorithms() {
    // Expected values from Python: H(H(H(A1):nonce:cnonce):nonce:nc:cnonce:auth:H(A2)).
    for (alg, expected) in [
        ("MD5-sess", "e783283f46242139c486a698fec7211d"),
        ("SHA-256-sess", "2fd51b3a77ad75bad6afad6003e818d767133c46d9e2749e7f5232ae1ea3efd7"),
    ] {
        let auth =
            respond(&rfc7616_challenge(alg), "GET", "/dir/index.html", "Mufasa", "Circle of Life", RFC7616_CNONCE, 1).expect("respond");
        assert_eq!(auth.response, expected, "{alg}");
        assert!(verify(&auth, "GET", Secret::Password("Circle of Life")));
        // The session key depends on the cnonce.
        let other = Authorization { cnonce: Some("other".into()), ..auth };
        assert!(!verify(&other, "GET", Secret::Password("Circle of Life")));
    }
}

// ---- SIP REGISTER, expected values from Python hashlib -------------------

const REG_USER: &str = "alice";
const REG_REALM: &str = "pbx.example.com";
const REG_PASSWORD: &str = "s3cret-Pa55";
const REG_URI: &str = "sip:pbx.example.com";
const REG_NONCE: &str = "Zm9vYmFyLW5vbmNlLTEyMzQ";
const REG_CNONCE: &str = "6b8b4567";

#[test]
fn sip_register_vectors() {
    let cases = [
        (Algorithm::Md5, true, "74d6f5db76abd1694983c85f19ba5986"),
        (Algorithm::Md5, false, "45cad68096a5d57faafa1a83279625cc"),
        (Algorithm::Md5Sess, true, "6c54dd447be8b9eb00d8004b30210e67"),
        (Algorithm::Sha256, true, "0a254f315a169ff7a9b9f31905afa24a7ec47a27470d634a113f53b88793e8ea"),
        (Algorithm::Sha256, false, "23f7b827d2ed25a8da68e45c74cb258dfa1827cea2bf42259f9060f35f0fcd43"),
        (Algorithm::Sha256Sess, true, "83757c2ade9b6c55602a9103da2e96b986b043d67980c97702cfe118aecd7686"),
    ];
    for (alg, with_qop, expected) in cases {
        let mut challenge = Challenge::new(REG_REALM, REG_NONCE, alg);
        if !with_qop {
            challenge.qop.clear();
        }
        let auth = respond(&challenge, "REGISTER", REG_URI, REG_USER, REG_PASSWORD, REG_CNONCE, 1).expect("respond");
        assert_eq!(auth.response, expected, "{alg} qop={with_qop}");
        // The server side, from the printed header as it arrives on the wire.
        let parsed = Authorization::parse(&auth.to_header()).expect("parses");
        assert_eq!(parsed, auth);
        assert!(verify(&parsed, "REGISTER", Secret::Password(REG_PASSWORD)));
        let stored = ha1(alg, REG_USER, REG_REALM, REG_PASSWORD);
        assert!(verify(&parsed, "REGISTER", Secret::Ha1(&stored)));
        assert!(!verify(&parsed, "INVITE", Secret::Password(REG_PASSWORD)));
        assert!(!verify(&parsed, "REGISTER", Secret::Password("s3cret-pa55")));
    }
}

#[test]
fn ha1_matches_python() {
    assert_eq!(ha1(Algorithm::Md5, REG_USER, REG_REALM, REG_PASSWORD), "5f10cac339293a709a9bcc88ce83ec7e");
    // The -sess variants store the same base HA1.
    assert_eq!(
        ha1(Algorithm::Sha256Sess, REG_USER, REG_REALM, REG_PASSWORD),
        "c43998b85de0bf9ca7eecb701f533f94a59e88bbe0e410b3ec1751a7e8c80f19"
    );
}

#[test]
fn parses_a_phone_style_register_header() {
    let header = "digest  USERNAME = \"alice\" ,realm=\"pbx.example.com\",\
                  nonce=\"Zm9vYmFyLW5vbmNlLTEyMzQ\",uri=\"sip:pbx.example.com\",\
                  response=\"74D6F5DB76ABD1694983C85F19BA5986\",algorithm=md5,\
                  cnonce=\"6b8b4567\",qop=\"auth\",nc=00000001,x-vendor=\"yes\",";
    let auth = Authorization::parse(header).expect("parses");
    assert_eq!(auth.username, "alice");
    assert_eq!(auth.qop, Some(Qop::Auth));
    // Uppercase hex in the response is the peer's spelling, not an error.
    assert!(verify(&auth, "REGISTER", Secret::Password(REG_PASSWORD)));
}

// ---- verify / respond edge cases -----------------------------------------

fn register_auth() -> Authorization {
    respond(&Challenge::new(REG_REALM, REG_NONCE, Algorithm::Md5), "REGISTER", REG_URI, REG_USER, REG_PASSWORD, REG_CNONCE, 1)
        .expect("respond")
}

#[test]
fn verify_rejects_altered_fields() {
    let ok = register_auth();
    let pw = Secret::Password(REG_PASSWORD);
    assert!(verify(&ok, "REGISTER", pw));
    let altered = [
        Authorization { uri: "sip:evil.example".into(), ..ok.clone() },
        Authorization { nonce: "other".into(), ..ok.clone() },
        Authorization { nc: Some(2), ..ok.clone() },
        Authorization { cnonce: Some("x".into()), ..ok.clone() },
        Authorization { username: "bob".into(), ..ok.clone() },
        Authorization { qop: None, ..ok.clone() },
        Authorization { algorithm: Algorithm::Sha256, ..ok.clone() },
        Authorization { response: String::new(), ..ok.clone() },
        Authorization { response: format!("{}0", ok.response), ..ok.clone() },
        // qop=auth without its cnonce / nc cannot be checked.
        Authorization { cnonce: None, ..ok.clone() },
        Authorization { nc: None, ..ok.clone() },
        // auth-int is not implemented, so never accepted.
        Authorization { qop: Some(Qop::AuthInt), ..ok.clone() },
    ];
    for a in altered {
        assert!(!verify(&a, "REGISTER", pw), "{a:?}");
    }
}

#[test]
fn respond_picks_auth_and_echoes_opaque() {
    let challenge = Challenge {
        qop: vec![Qop::AuthInt, Qop::Auth],
        opaque: Some("op\"aque".into()),
        ..Challenge::new(REG_REALM, REG_NONCE, Algorithm::Sha256)
    };
    let auth = respond(&challenge, "INVITE", "sip:bob@x", "alice", "pw", "c", 7).expect("respond");
    assert_eq!(auth.qop, Some(Qop::Auth));
    assert_eq!(auth.nc, Some(7));
    assert_eq!(auth.opaque.as_deref(), Some("op\"aque"));
    assert_eq!(auth.algorithm, Algorithm::Sha256);
    assert!(auth.to_header().contains("nc=00000007"));
}

#[test]
fn respond_refuses_what_it_cannot_answer() {
    let only_int = Challenge { qop: vec![Qop::AuthInt], ..Challenge::new("r", "n", Algorithm::Md5) };
    assert!(matches!(respond(&only_int, "INVITE", "sip:x", "u", "p", "c", 1), Err(DigestError::UnsupportedQop(_))));
    let sess_no_qop = Challenge { qop: vec![], ..Challenge::new("r", "n", Algorithm::Md5Sess) };
    assert_eq!(respond(&sess_no_qop, "INVITE", "sip:x", "u", "p", "c", 1), Err(DigestError::SessWithoutQop));
}

// ---- header printing and parsing -----------------------------------------

#[test]
fn authorization_to_header_format() {
    let auth = Authorization { username: "a\"b\\c".into(), opaque: Some("o".into()), ..register_auth() };
    assert_eq!(
        auth.to_header(),
        format!(
            "Digest username=\"a\\\"b\\\\c\", realm=\"pbx.example.com\", \
             nonce=\"{REG_NONCE}\", uri=\"sip:pbx.example.com\", response=\"{}\", \
             algorithm=MD5, cnonce=\"6b8b4567\", opaque=\"o\", qop=auth, nc=00000001",
            auth.response
        )
    );
}

#[test]
fn challenge_to_header_format() {
    let plain = Challenge::new("pbx.example.com", "abc", Algorithm::Sha256);
    assert_eq!(plain.to_header(), "Digest realm=\"pbx.example.com\", nonce=\"abc\", algorithm=SHA-256, qop=\"auth\"");
    let stale = Challenge { opaque: Some("xyz".into()), stale: true, ..plain };
    assert_eq!(
        stale.to_header(),
        "Digest realm=\"pbx.example.com\", nonce=\"abc\", algorithm=SHA-256, qop=\"auth\", \
         opaque=\"xyz\", stale=true"
    );
}

#[test]
fn escaped_quotes_and_backslashes_unescape() {
    let auth = Authorization::parse(r#"Digest username="al\"ice\\", realm="r", nonce="n", uri="u", response="\x""#).expect("parses");
    assert_eq!(auth.username, "al\"ice\\");
    assert_eq!(auth.response, "x");
}

#[test]
fn algorithm_names() {
    assert_eq!("sha-256".parse(), Ok(Algorithm::Sha256));
    assert_eq!("SHA-256-SESS".parse(), Ok(Algorithm::Sha256Sess));
    assert_eq!("md5-Sess".parse(), Ok(Algorithm::Md5Sess));
    assert_eq!("MD5".parse(), Ok(Algorithm::Md5));
    assert!("SHA256".parse::<Algorithm>().is_err());
    assert!("SHA-512-256".parse::<Algorithm>().is_err());
    assert_eq!(Algorithm::Sha256Sess.to_string(), "SHA-256-sess");
    assert_eq!(Algorithm::default(), Algorithm::Md5);
}

#[test]
fn malformed_authorization_is_an_error() {
    let base = "username=\"a\", realm=\"r\", nonce=\"n\", uri=\"u\", response=\"x\"";
    let cases: Vec<(String, DigestError)> = vec![
        ("Basic YWxhZGRpbjpvcGVuc2VzYW1l".into(), DigestError::NotDigest),
        (String::new(), DigestError::NotDigest),
        ("Digest".into(), DigestError::MissingParam("username")),
        ("Digest realm=\"r\", nonce=\"n\", uri=\"u\", response=\"x\"".into(), DigestError::MissingParam("username")),
        (format!("Digest {base}, response=\"y\""), DigestError::DuplicateParam("response")),
        (format!("Digest {base}, qop=auth, nc=00000001"), DigestError::MissingParam("cnonce")),
        (format!("Digest {base}, qop=auth, cnonce=\"c\""), DigestError::MissingParam("nc")),
        (format!("Digest {base}, nc=1"), DigestError::BadNonceCount),
        (format!("Digest {base}, nc=0000000A"), DigestError::BadNonceCount),
        (format!("Digest {base}, nc=0000000g"), DigestError::BadNonceCount),
        (format!("Digest {base}, nc=000000001"), DigestError::BadNonceCount),
        (format!("Digest {base}, algorithm=SHA-512-256"), DigestError::UnsupportedAlgorithm("SHA-512-256".into())),
        (format!("Digest {base}, qop=auth-conf"), DigestError::UnsupportedQop("auth-conf".into())),
    ];
    for (input, expected) in cases {
        assert_eq!(Authorization::parse(&input), Err(expected), "{input:?}");
    }
    let syntax = [
        "Digest,username=\"a\"".to_owned(),
        format!("Digest {base}, cnonce=\"unterminated"),
        format!("Digest {base}, cnonce"),
        format!("Digest {base}, cnonce="),
        format!("Digest {base}, =\"x\""),
        format!("Digest {base}, cnonce=\"a\" b"),
        format!("Digest {base}, cnonce=\"a\"\"b\""),
        format!("Digest {base}, cnonce=\"a\x01b\""),
        format!("Digest {base}, cnonce=\"a\nb\""),
        format!("Digest {base}, cnonce=\"a\\\nb\""),
        format!("Digest {base}, cnonce=\"a\\"),
    ];
    for input in syntax {
        assert!(matches!(Authorization::parse(&input), Err(DigestError::Syntax { .. })), "{input:?}: {:?}", Authorization::parse(&input));
    }
}

#[test]
fn challenge_parsing() {
    let c = rfc7616_challenge("SHA-256");
    assert_eq!(c.realm, "http-auth@example.org");
    assert_eq!(c.qop, vec![Qop::Auth, Qop::AuthInt]);
    assert_eq!(c.algorithm, Algorithm::Sha256);
    assert!(!c.stale);

    let c = Challenge::parse("Digest realm=r, nonce=n, stale=TRUE, domain=\"sip:a sip:b\", qop=\"auth,auth-conf\"").expect("parses");
    assert!(c.stale);
    assert_eq!(c.algorithm, Algorithm::Md5);
    assert_eq!(c.qop, vec![Qop::Auth]);

    assert!(matches!(Challenge::parse("Digest realm=r, nonce=n, qop=\"auth-conf\""), Err(DigestError::UnsupportedQop(_))));
    assert!(matches!(Challenge::parse("Digest realm=r, nonce=n, algorithm=SHA-512-256"), Err(DigestError::UnsupportedAlgorithm(_))));
    assert_eq!(Challenge::parse("Digest nonce=n"), Err(DigestError::MissingParam("realm")));
    assert_eq!(Challenge::parse("Bearer realm=r"), Err(DigestError::NotDigest));
}

// ---- nonces ----------------------------------------------------------------

const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";
const T0: u64 = 1_700_000_000;

fn nonces() -> NonceSource {
    NonceSource::new(SECRET, Duration::from_secs(300))
}

/// The client every nonce of these tests is issued to.
const CLIENT: std::net::IpAddr = std::net::IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 10));

#[test]
fn nonce_valid_until_its_lifetime_then_stale() {
    let source = nonces();
    let nonce = source.issue(T0, CLIENT);
    assert_eq!(nonce.len(), 43, "32 bytes in base64url without padding");
    assert_eq!(source.check(&nonce, T0, CLIENT), NonceStatus::Valid);
    assert_eq!(source.check(&nonce, T0 + 299, CLIENT), NonceStatus::Valid);
    assert_eq!(source.check(&nonce, T0 + 300, CLIENT), NonceStatus::Stale);
    assert_eq!(source.check(&nonce, u64::MAX, CLIENT), NonceStatus::Stale);
    // Issued "in the future" (another node's clock is ahead): still ours.
    assert_eq!(source.check(&nonce, T0 - 5, CLIENT), NonceStatus::Valid);
}

#[test]
fn nonces_are_unique_and_deterministic_per_salt() {
    let source = nonces();
    assert_ne!(source.issue(T0, CLIENT), source.issue(T0, CLIENT));
    assert_eq!(source.issue_with_salt(T0, CLIENT, [1; 8]), source.issue_with_salt(T0, CLIENT, [1; 8]));
    assert_ne!(source.issue_with_salt(T0, CLIENT, [1; 8]), source.issue_with_salt(T0, CLIENT, [2; 8]));
}

#[test]
fn a_nonce_holds_only_for_the_address_it_was_issued_to() {
    let source = nonces();
    let nonce = source.issue(T0, CLIENT);
    for other in ["192.0.2.11", "10.0.0.1", "2001:db8::1", "::"] {
        assert_eq!(source.check(&nonce, T0, other.parse().unwrap()), NonceStatus::Invalid, "{other}");
    }
    // The same IPv4 client seen through a dual-stack socket.
    assert_eq!(source.check(&nonce, T0, "::ffff:192.0.2.10".parse().unwrap()), NonceStatus::Valid);
    let v6: std::net::IpAddr = "2001:db8::7".parse().unwrap();
    assert_eq!(source.check(&source.issue(T0, v6), T0, v6), NonceStatus::Valid);
}

#[test]
fn forged_or_tampered_nonces_are_invalid() {
    let source = nonces();
    let nonce = source.issue_with_salt(T0, CLIENT, [7; 8]);
    let other = NonceSource::new(b"another secret", Duration::from_secs(300));
    assert_eq!(other.check(&nonce, T0, CLIENT), NonceStatus::Invalid);

    // Flip each character in turn.
    for i in 0..nonce.len() {
        let mut chars: Vec<char> = nonce.chars().collect();
        chars[i] = if chars[i] == 'A' { 'B' } else { 'A' };
        let tampered: String = chars.into_iter().collect();
        assert_eq!(source.check(&tampered, T0, CLIENT), NonceStatus::Invalid, "at {i}");
    }

    // Re-dating an expired nonce without the secret does not revive it.
    let mut raw = URL_SAFE_NO_PAD.decode(&nonce).expect("base64");
    raw[..8].copy_from_slice(&(T0 + 1000).to_be_bytes());
    let redated = URL_SAFE_NO_PAD.encode(&raw);
    assert_eq!(source.check(&redated, T0 + 1000, CLIENT), NonceStatus::Invalid);

    for garbage in ["", "!!!", "AAAA", &format!("{nonce}AA"), &nonce[..40], "dcd98b7102dd2f0e8b11d0f600bfb0c093"] {
        assert_eq!(source.check(garbage, T0, CLIENT), NonceStatus::Invalid, "{garbage:?}");
    }
}

#[test]
fn secrets_stay_out_of_debug_output() {
    let source = nonces();
    let shown = format!("{source:?} {:?} {:?}", Secret::Password("hunter2"), Secret::Ha1("abcd"));
    assert!(!shown.contains("hunter2") && !shown.contains("abcd"), "{shown}");
    assert!(!shown.contains("0123456789"), "{shown}");
}

// ---- authenticate: the server's whole decision -----------------------------

/// Server challenge → printed → client parses and answers → printed →
/// server parses and decides, at `answered_at`.
fn round(password: &str, algorithm: Algorithm, issued_at: u64, answered_at: u64) -> Outcome {
    round_from(password, algorithm, issued_at, answered_at, CLIENT)
}

/// [`round`] with the answer coming from `answered_by`.
fn round_from(password: &str, algorithm: Algorithm, issued_at: u64, answered_at: u64, answered_by: std::net::IpAddr) -> Outcome {
    let source = nonces();
    let challenge = source.challenge(REG_REALM, algorithm, issued_at, CLIENT);
    let seen = Challenge::parse(&challenge.to_header()).expect("challenge parses");
    let answer = respond(&seen, "REGISTER", REG_URI, REG_USER, password, "deadbeef", 1).expect("respond");
    let received = Authorization::parse(&answer.to_header()).expect("credentials parse");
    authenticate(&received, "REGISTER", Secret::Password(REG_PASSWORD), &source, answered_at, answered_by)
}

#[test]
fn authenticate_outcomes() {
    for alg in [Algorithm::Md5, Algorithm::Md5Sess, Algorithm::Sha256, Algorithm::Sha256Sess] {
        assert_eq!(round(REG_PASSWORD, alg, T0, T0 + 1), Outcome::Authenticated, "{alg}");
        assert_eq!(round(REG_PASSWORD, alg, T0, T0 + 301), Outcome::Stale, "{alg}");
        assert_eq!(round("wrong", alg, T0, T0 + 1), Outcome::Rejected, "{alg}");
        // A wrong password never learns "stale", even on an old nonce.
        assert_eq!(round("wrong", alg, T0, T0 + 301), Outcome::Rejected, "{alg}");
        // Answered from elsewhere: nothing proven, right or wrong.
        let elsewhere = "198.51.100.1".parse().unwrap();
        assert_eq!(round_from(REG_PASSWORD, alg, T0, T0 + 1, elsewhere), Outcome::Unchallenged, "{alg}");
        assert_eq!(round_from("wrong", alg, T0, T0 + 1, elsewhere), Outcome::Unchallenged, "{alg}");
    }
}

#[test]
fn authenticate_never_takes_a_correct_digest_over_a_foreign_nonce() {
    let challenge = Challenge::new(REG_REALM, "not-one-of-ours", Algorithm::Sha256);
    let auth = respond(&challenge, "REGISTER", REG_URI, REG_USER, REG_PASSWORD, "c", 1).expect("respond");
    assert!(verify(&auth, "REGISTER", Secret::Password(REG_PASSWORD)));
    assert_eq!(authenticate(&auth, "REGISTER", Secret::Password(REG_PASSWORD), &nonces(), T0, CLIENT), Outcome::Unchallenged);
}

// ---- properties ------------------------------------------------------------

/// Header-safe text: anything but CR and LF, which `to_header` replaces.
fn text() -> impl Strategy<Value = String> {
    "[^\r\n]{0,24}"
}

fn algorithm() -> impl Strategy<Value = Algorithm> {
    prop_oneof![Just(Algorithm::Md5), Just(Algorithm::Md5Sess), Just(Algorithm::Sha256), Just(Algorithm::Sha256Sess),]
}

fn qop() -> impl Strategy<Value = Qop> {
    prop_oneof![Just(Qop::Auth), Just(Qop::AuthInt)]
}

prop_compose! {
    fn authorization()(
        username in text(), realm in text(), nonce in text(), uri in text(),
        response in text(), algorithm in algorithm(),
        qop in proptest::option::of(qop()), nc in proptest::option::of(any::<u32>()),
        cnonce in proptest::option::of(text()), opaque in proptest::option::of(text()),
        fill_nc in any::<u32>(), fill_cnonce in text(),
    ) -> Authorization {
        // With qop, cnonce and nc are mandatory, so fill them in.
        let (nc, cnonce) = if qop.is_some() {
            (nc.or(Some(fill_nc)), cnonce.or(Some(fill_cnonce)))
        } else {
            (nc, cnonce)
        };
        Authorization { username, realm, nonce, uri, response, algorithm, qop, nc, cnonce, opaque }
    }
}

prop_compose! {
    fn challenge()(
        realm in text(), nonce in text(), algorithm in algorithm(),
        qop in proptest::collection::vec(qop(), 0..3),
        opaque in proptest::option::of(text()), stale in any::<bool>(),
    ) -> Challenge {
        Challenge { realm, nonce, algorithm, qop, opaque, stale }
    }
}

/// Inputs near the grammar, so the parser gets past the scheme often.
fn header_like() -> impl Strategy<Value = String> {
    proptest::collection::vec(
        prop_oneof![
            Just("Digest ".to_owned()),
            Just("username".to_owned()),
            Just("nc".to_owned()),
            Just("qop".to_owned()),
            Just("algorithm".to_owned()),
            Just("=".to_owned()),
            Just(",".to_owned()),
            Just("\"".to_owned()),
            Just("\\".to_owned()),
            Just(" ".to_owned()),
            "[a-zA-Z0-9\\-é\u{0}\r\n\t]{1,4}",
        ],
        0..24,
    )
    .prop_map(|parts| parts.concat())
}

proptest! {
    #[test]
    fn parsers_never_panic(s in any::<String>()) {
        let _ = Authorization::parse(&s);
        let _ = Challenge::parse(&s);
        let _ = nonces().check(&s, T0, CLIENT);
    }

    #[test]
    fn parsers_never_panic_on_near_headers(s in header_like()) {
        let _ = Authorization::parse(&s);
        let _ = Challenge::parse(&s);
    }

    #[test]
    fn authorization_round_trips(auth in authorization()) {
        let header = auth.to_header();
        prop_assert_eq!(Authorization::parse(&header), Ok(auth), "{}", header);
    }

    #[test]
    fn challenge_round_trips(challenge in challenge()) {
        let header = challenge.to_header();
        prop_assert_eq!(Challenge::parse(&header), Ok(challenge), "{}", header);
    }

    #[test]
    fn respond_then_verify(
        username in any::<String>(), password in any::<String>(), realm in any::<String>(),
        uri in any::<String>(), cnonce in any::<String>(), nc in any::<u32>(),
        algorithm in algorithm(),
    ) {
        let challenge = Challenge::new(realm, "n", algorithm);
        let auth = respond(&challenge, "INVITE", &uri, &username, &password, &cnonce, nc)
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert!(verify(&auth, "INVITE", Secret::Password(&password)));
        let other = format!("{password}x");
        prop_assert!(!verify(&auth, "INVITE", Secret::Password(&other)));
    }
}
