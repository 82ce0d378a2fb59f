//! The ACK of our 2xx, driven by SIPp over real sockets. A late offer:
//! the carrier's INVITE has no SDP, the phone offers in its 200, the
//! carrier answers in its ACK, and that answer reaches the phone in the
//! ACK we send it, with audio through the relay both ways; without an
//! answer in the ACK, or without an ACK, both legs are hung up. And a 200
//! never ACKed (RFC 3261 §13.3.1.4): after 64*T1 both legs get BYE and the
//! channel is free.

mod common;

use common::calls::{call_phones_for, caller_hangs_up, did_to_phone, last_cdr, part, DidToPhone as Setup};
use common::sipp_available;
use switch::SwitchConfig;

/// The carrier's answer in its ACK (SIPp fills in its media address).
const CARRIER_ANSWER: &str = "      v=0\n      o=carrier 1 1 IN IP[local_ip_type] [local_ip]\n      s=-\n      \
    c=IN IP[media_ip_type] [media_ip]\n      t=0 0\n      m=audio [media_port] RTP/AVP 8 101\n      \
    a=rtpmap:101 telephone-event/8000\n";

/// One call within `secs`: (carrier passed, phone passed).
async fn call(s: &Setup, carrier: (&str, &str), phone: (&str, &str), secs: u32) -> (bool, bool) {
    let (carrier, phones) = call_phones_for(s.sw.udp_addr(), &s.target(), carrier, &[(s.phone_port, phone.0, phone.1)], secs).await;
    (carrier, phones[0])
}

#[tokio::test(flavor = "multi_thread")]
async fn a_late_offer_is_answered_in_the_acks_with_audio_both_ways() {
    if !sipp_available() {
        return;
    }
    let s = did_to_phone(store::testing::sqlite().await, SwitchConfig::default()).await;
    let (carrier_bye, phone_waits) = caller_hangs_up();
    let carrier = format!("carrier-late-offer.xml?ACK_SDP={CARRIER_ANSWER}");
    // The phone's ACK carries the carrier's answer re-pointed at the relay (ports 20000 and up).
    let phone = "phone-late-offer.xml?ACK_CHECK=c=IN IP4 127\\.0\\.0\\.1.*m=audio 2[0-9]{4} RTP/AVP 8 101";
    let r = call(&s, (&carrier, &carrier_bye), (phone, &phone_waits), 20).await;
    assert_eq!(r, (true, true), "carrier (no offer, answer in its ACK) and phone (offer in its 200, answer in our ACK)");
    let cdr = last_cdr(&s.store, 1).await;
    assert_eq!(cdr.get("success").as_bool(), Some(true));
    assert_eq!(cdr.get("internal_reason").as_str(), Some("Caller hung up"));
    let (to_phone, to_carrier, ports) = s.sw.media_stats();
    assert!(to_phone > 0 && to_carrier > 0, "RTP relayed both ways: {to_phone} to the phone, {to_carrier} back");
    assert_eq!(ports, 0, "the call's relay ports are free again");
    assert_eq!(s.sw.active_calls(), 0);
    s.sw.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_late_offer_whose_ack_brings_no_answer_hangs_up_both_legs() {
    if !sipp_available() {
        return;
    }
    let s = did_to_phone(store::testing::sqlite().await, SwitchConfig::default()).await;
    let waits = part("hangup-recv-bye.part");
    // The phone's offer is declined stream by stream in our ACK, then BYE.
    let phone = "phone-late-offer.xml?ACK_CHECK=m=audio 0 RTP/AVP 8 0 101";
    let r = call(&s, ("carrier-late-offer.xml?ACK_SDP=", &waits), (phone, &waits), 20).await;
    assert_eq!(r, (true, true), "carrier and phone each got a BYE");
    let cdr = last_cdr(&s.store, 1).await;
    assert_eq!(cdr.get("internal_reason").as_str(), Some("Caller's ACK has no SDP answer"));
    assert_eq!(s.sw.active_calls(), 0, "the channel is free");
    assert!(s.store.live_calls().await.unwrap().is_empty());
    s.sw.shutdown().await;
}

/// The carrier's offer in its INVITE.
const CARRIER_OFFER: &str = "      v=0\n      o=carrier 1 1 IN IP[local_ip_type] [local_ip]\n      s=-\n      \
    c=IN IP[media_ip_type] [media_ip]\n      t=0 0\n      m=audio [media_port] RTP/AVP 8 0 101\n      \
    a=rtpmap:101 telephone-event/8000\n";

/// 64*T1 is 32 s: this test waits it out once per backend, at once (and
/// beside the next, which runs in parallel).
#[tokio::test(flavor = "multi_thread")]
async fn a_200_never_acked_hangs_up_both_legs_after_64_t1() {
    if !sipp_available() {
        return;
    }
    let mut runs = Vec::new();
    for (backend, store, db) in store::testing::stores().await {
        runs.push(tokio::spawn(async move {
            let s = did_to_phone((store, db), SwitchConfig::default()).await;
            let started = std::time::Instant::now();
            let waits = part("hangup-recv-bye.part");
            let carrier = format!("carrier-no-ack.xml?OFFER={CARRIER_OFFER}");
            let r = call(&s, (&carrier, ""), ("phone-answer.xml", &waits), 60).await;
            assert_eq!(r, (true, true), "{backend}: the carrier that never ACKed and the phone each got a BYE");
            assert!(started.elapsed() >= std::time::Duration::from_secs(32), "{backend}: the 2xx had its 64*T1");
            let cdr = last_cdr(&s.store, 1).await;
            assert_eq!(cdr.get("internal_reason").as_str(), Some("No ACK for the 2xx"), "{backend}");
            assert_eq!(s.sw.active_calls(), 0, "{backend}: the channel is free");
            assert!(s.store.live_calls().await.unwrap().is_empty(), "{backend}: the call is closed");
            s.sw.shutdown().await;
        }));
    }
    for run in runs {
        run.await.unwrap();
    }
}

/// Leg B waits for its ACK as long as we wait for the caller's: we give up
/// on the caller's answer first (28 s), so that leg B gets its ACK and BYE.
#[tokio::test(flavor = "multi_thread")]
async fn a_late_offer_never_acked_declines_the_offer_and_hangs_up_both_legs() {
    if !sipp_available() {
        return;
    }
    let s = did_to_phone(store::testing::sqlite().await, SwitchConfig::default()).await;
    let waits = part("hangup-recv-bye.part");
    let phone = "phone-late-offer.xml?ACK_CHECK=m=audio 0 RTP/AVP 8 0 101";
    let r = call(&s, ("carrier-no-ack.xml?OFFER=", ""), (phone, &waits), 60).await;
    assert_eq!(r, (true, true), "the carrier got a BYE; the phone an ACK declining its offer, then a BYE");
    let cdr = last_cdr(&s.store, 1).await;
    assert_eq!(cdr.get("internal_reason").as_str(), Some("No ACK for the 2xx"));
    assert_eq!(s.sw.active_calls(), 0, "the channel is free");
    s.sw.shutdown().await;
}
