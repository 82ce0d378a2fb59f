//! The limits' decisions on a snapshot built by hand.

use super::*;
use store::directory::{CustomerRow, DidRow};

fn snap(customer: CustomerRow, domain_blocked: &[&str]) -> Snapshot {
    let mut s = Snapshot { blocked_prefixes: domain_blocked.iter().map(|p| (*p).to_owned()).collect(), ..Snapshot::default() };
    s.customers.insert(customer.id, customer);
    let did = DidRow {
        id: 1,
        customer_id: 7,
        number: "4930111".into(),
        enabled: true,
        destination_type: None,
        destination_id: None,
        forward_number: None,
    };
    s.dids.insert(did.number.clone(), did);
    s
}

fn limits(f: impl FnOnce(&mut CustomerRow)) -> CustomerRow {
    let mut c = CustomerRow { id: 7, ..CustomerRow::default() };
    f(&mut c);
    c
}

#[tokio::test]
async fn blocked_prefixes_match_the_dialled_or_sent_number_from_either_list() {
    let fraud = Fraud::new(Arc::default());
    let s = snap(limits(|c| c.blocked_prefixes = vec!["882".into(), "4990".into()]), &["979"]);
    let refused = |numbers: &[&str]| fraud.admit_out(&s, 7, numbers, 0).err().map(|r| (r.code, r.internal));
    assert_eq!(refused(&["882123"]), Some((403, BLOCKED_BY_CUSTOMER)));
    assert_eq!(refused(&["+4990123"]), Some((403, BLOCKED_BY_CUSTOMER)), "a + is no way around it");
    assert_eq!(refused(&["00882123", "882123"]), Some((403, BLOCKED_BY_CUSTOMER)), "as a route sends it");
    assert_eq!(refused(&["979000"]), Some((403, BLOCKED_BY_DOMAIN)));
    assert_eq!(refused(&["4930123"]), None);
    assert_eq!(fraud.admit_out(&s, 8, &["979"], 0).err().map(|r| r.internal), Some(BLOCKED_BY_DOMAIN), "every customer");
}

#[tokio::test]
async fn the_daily_cap_refuses_when_used_and_shortens_the_call_otherwise() {
    let daily = Arc::new(DailyUsage::default());
    let fraud = Fraud::new(daily.clone());
    let now = domain::time::now_ms();
    let s = snap(
        limits(|c| {
            c.daily_minutes_limit = Some(2);
            c.max_call_duration = Some(100);
        }),
        &[],
    );
    assert_eq!(fraud.admit_out(&s, 7, &["49"], now), Ok(Some(CallLimit { seconds: 100, why: MAX_DURATION })));
    daily.add(7, now, 50);
    assert_eq!(fraud.admit_out(&s, 7, &["49"], now), Ok(Some(CallLimit { seconds: 70, why: DAILY_LIMIT })), "70 s left today");
    daily.add(7, now, 70);
    let r = fraud.admit_out(&s, 7, &["49"], now).unwrap_err();
    assert_eq!((r.code, r.internal, r.headers()), (403, DAILY_LIMIT, vec![]));
    assert_eq!(fraud.admit_out(&s, 7, &["49"], now + 86_400_000).map(|l| l.map(|l| l.why)), Ok(Some(MAX_DURATION)), "tomorrow");
}

#[tokio::test]
async fn calls_per_second_are_checked_last_and_answered_with_retry_after() {
    let fraud = Fraud::new(Arc::default());
    let s = snap(
        limits(|c| {
            c.max_cps = Some(1);
            c.blocked_prefixes = vec!["882".into()];
        }),
        &[],
    );
    assert_eq!(fraud.admit_out(&s, 7, &["882"], 0).unwrap_err().internal, BLOCKED_BY_CUSTOMER, "a blocked call takes no token");
    assert_eq!(fraud.admit_out(&s, 7, &["49"], 0), Ok(None));
    let r = fraud.admit_out(&s, 7, &["49"], 0).unwrap_err();
    assert_eq!((r.code, r.internal, r.headers()), (503, CPS_LIMIT, vec![("Retry-After", "1")]));
    assert_eq!(fraud.admit_out(&s, 8, &["49"], 0), Ok(None), "no limits: nothing refused");
}

#[test]
fn only_own_dids_leave_as_caller_ids_unless_any_is_allowed() {
    let mut s = snap(limits(|_| {}), &[]);
    assert_eq!(caller_number(&s, 7, Some("4930111")), Some("4930111"));
    assert_eq!(caller_number(&s, 8, Some("4930111")), None, "another customer's DID");
    assert_eq!(caller_number(&s, 7, Some("4930999")), None, "nobody's");
    assert_eq!(caller_number(&s, 7, None), None);
    s.customers.get_mut(&7).unwrap().allow_any_caller_id = true;
    assert_eq!(caller_number(&s, 7, Some("4930999")), Some("4930999"), "wholesale");
    s.customers.get_mut(&7).unwrap().max_call_duration = Some(2);
    assert_eq!(call_limit(&s, 7), Some(CallLimit { seconds: 2, why: MAX_DURATION }));
    assert_eq!(call_limit(&s, 8), None);
}
