use super::*;

fn limits(per_source: usize, max: usize) -> ConnectionLimits {
    ConnectionLimits { per_source, max: Some(max), ..ConnectionLimits::default() }
}

#[test]
fn a_source_gets_its_quota_and_gets_it_back_when_a_connection_closes() {
    let admission = Admission::new(&limits(2, 100));
    let a: IpAddr = "192.0.2.1".parse().unwrap();
    let b: IpAddr = "192.0.2.2".parse().unwrap();
    let first = admission.admit(a).unwrap();
    let _second = admission.admit(a).unwrap();
    assert_eq!(admission.admit(a).err(), Some(Refusal::Source));
    let _other = admission.admit(b).expect("another source has its own quota");
    drop(first);
    assert!(admission.admit(a).is_ok(), "a closed connection frees its place");
}

#[test]
fn the_global_cap_holds_across_sources() {
    let admission = Admission::new(&limits(10, 2));
    let _a = admission.admit("192.0.2.1".parse().unwrap()).unwrap();
    let b = admission.admit("192.0.2.2".parse().unwrap()).unwrap();
    assert_eq!(admission.admit("192.0.2.3".parse().unwrap()).err(), Some(Refusal::Total));
    drop(b);
    assert!(admission.admit("192.0.2.3".parse().unwrap()).is_ok());
}

#[test]
fn an_ipv6_slash_64_is_one_source_and_mapped_ipv4_is_ipv4() {
    let admission = Admission::new(&limits(1, 100));
    let _a = admission.admit("2001:db8:1:2::1".parse().unwrap()).unwrap();
    assert_eq!(admission.admit("2001:db8:1:2:ffff::9".parse().unwrap()).err(), Some(Refusal::Source));
    assert!(admission.admit("2001:db8:1:3::1".parse().unwrap()).is_ok(), "the next /64 is another source");
    let _v4 = admission.admit("192.0.2.7".parse().unwrap()).unwrap();
    assert_eq!(admission.admit("::ffff:192.0.2.7".parse().unwrap()).err(), Some(Refusal::Source));
}

#[test]
fn the_default_cap_is_half_the_file_limit() {
    let procfs = "Limit                     Soft Limit           Hard Limit           Units     \n\
                  Max processes             63448                63448                processes \n\
                  Max open files            64                   524288               files     \n";
    assert_eq!(parse_open_files(procfs), Some(64));
    assert_eq!(parse_open_files("Max open files            unlimited            unlimited            files\n"), None);
    assert_eq!(parse_open_files("garbage"), None);
    assert_eq!(default_max(Some(64)), 32);
    assert_eq!(default_max(Some(1)), 1, "never zero");
    assert_eq!(default_max(Some(1 << 20)), DEFAULT_MAX_CONNECTIONS);
    assert_eq!(default_max(None), DEFAULT_MAX_CONNECTIONS);
    assert_eq!(limits(1, 5).effective_max(), 5, "a set cap wins");
}

#[test]
fn backoff_grows_to_a_second_and_resets() {
    let mut b = Backoff::default();
    let delays: Vec<u64> = (0..6).map(|_| b.failed().as_millis() as u64).collect();
    assert_eq!(delays, [100, 200, 400, 800, 1000, 1000]);
    b.succeeded();
    assert_eq!(b.failed(), Duration::from_millis(100));
}

#[test]
fn running_out_of_descriptors_pauses_and_a_reset_peer_does_not() {
    use std::io::{Error, ErrorKind};
    // EMFILE, ENFILE, ENOBUFS and ENOMEM on Linux.
    for errno in [24, 23, 105, 12] {
        assert!(pauses(&Error::from_raw_os_error(errno)), "errno {errno}");
    }
    assert!(!pauses(&Error::from(ErrorKind::ConnectionAborted)));
    assert!(!pauses(&Error::from(ErrorKind::ConnectionReset)));
}

#[tokio::test(start_paused = true)]
async fn the_throttle_lets_one_line_a_second_through_and_counts_the_rest() {
    let mut t = Throttle::default();
    assert_eq!(t.ready(), Some(0));
    let mut quiet = 0;
    for _ in 0..9 {
        tokio::time::advance(Duration::from_millis(100)).await;
        quiet += u64::from(t.ready().is_none());
    }
    assert_eq!(quiet, 9, "within the second");
    tokio::time::advance(Duration::from_millis(100)).await;
    assert_eq!(t.ready(), Some(9), "a second later, with what was held back");
}

#[tokio::test(start_paused = true)]
async fn silence_closes_at_30_s_before_a_message_and_after_the_idle_timeout_once_spoken() {
    let limits = ConnectionLimits { idle_timeout: Duration::from_secs(600), ..ConnectionLimits::default() };
    let start = Instant::now();
    let mut idle = Idle::new(&limits);
    assert_eq!(idle.deadline(), start + Duration::from_secs(30));
    tokio::time::advance(Duration::from_secs(20)).await;
    idle.bytes();
    assert_eq!(idle.deadline(), start + Duration::from_secs(30), "bytes without a message do not buy time");
    idle.message();
    assert!(idle.spoke());
    assert_eq!(idle.deadline(), start + Duration::from_secs(620));
    tokio::time::advance(Duration::from_secs(300)).await;
    idle.bytes();
    assert_eq!(idle.deadline(), start + Duration::from_secs(920), "a keep-alive is activity");
}
