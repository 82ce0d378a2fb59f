//! Untrusted bytes through every SIP reader we have: the stack's parser,
//! our framing, Via rewrite, stateless answers, message helpers, digest.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| sip::fuzzing::message(data));
