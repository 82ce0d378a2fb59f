//! A phone behind a real NAT. The test builds, in network namespaces, a
//! home network (the phone, 10.N.1.2) behind a router that masquerades
//! it onto the "internet" (10.N.2.0/24) where the server runs (10.N.2.2,
//! in the test's own namespace), and that drops whatever arrives unasked
//! (port-restricted, like a home router). The router forgets idle UDP
//! mappings after 5 s, so a call to the phone after a quiet spell gets in
//! only if our keep-alives held the mapping open and the INVITE leaves from
//! the socket the phone registered to. baresip is the phone: it is
//! called by a carrier (SIPp) and calls out through a gateway (SIPp),
//! and the audio it hears, recorded by its sndfile module, is checked to be
//! sound, not silence; the relay counts the phone's packets the other way.
//!
//! Needs root (or CAP_NET_ADMIN) for `ip netns` and iptables; where the
//! kernel refuses, the test says so and skips, unless
//! SWITCHBOARD_REQUIRE_TOOLS is set (as `.ci/run` does), where it fails.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

mod common;

use domain::schema;
use store::{Actor, Input, RelInput};
use switch::{Location, RegistrarConfig, Switch};

/// The namespaces and links of one test; removed on drop.
struct Nat {
    phone_ns: String,
    router_ns: String,
    /// Our end of the router's "internet" link, in the test's namespace.
    host_if: String,
    /// 10.N: the phone is 10.N.1.2, the router 10.N.1.1 and 10.N.2.1, we 10.N.2.2.
    net: String,
}

fn run(args: &[&str]) -> Result<Output, String> {
    let out = Command::new(args[0]).args(&args[1..]).output().map_err(|e| format!("{}: {e}", args.join(" ")))?;
    if out.status.success() {
        Ok(out)
    } else {
        Err(format!("{}: {}", args.join(" "), String::from_utf8_lossy(&out.stderr).trim()))
    }
}

impl Nat {
    fn new(tag: &str) -> Result<Nat, String> {
        let id = std::process::id() % 100_000;
        let n = 100 + (std::process::id() % 50) * 2 + u32::from(tag == "b");
        let nat = Nat {
            phone_ns: format!("sb{id}{tag}-phone"),
            router_ns: format!("sb{id}{tag}-router"),
            host_if: format!("sb{id}{tag}h"),
            net: format!("10.{n}"),
        };
        nat.build(id, tag)?;
        Ok(nat)
    }

    fn build(&self, id: u32, tag: &str) -> Result<(), String> {
        let (p, r, net) = (self.phone_ns.as_str(), self.router_ns.as_str(), self.net.as_str());
        let (phone_if, router_in, router_out) = (format!("sb{id}{tag}p"), format!("sb{id}{tag}i"), format!("sb{id}{tag}o"));
        let in_ns = |ns: &str, cmd: &str| -> Result<(), String> {
            let mut args = vec!["ip", "netns", "exec", ns];
            args.extend(cmd.split_whitespace());
            run(&args).map(|_| ())
        };
        run(&["ip", "netns", "add", p])?;
        run(&["ip", "netns", "add", r])?;
        run(&["ip", "link", "add", &phone_if, "type", "veth", "peer", "name", &router_in])?;
        run(&["ip", "link", "set", &phone_if, "netns", p])?;
        run(&["ip", "link", "set", &router_in, "netns", r])?;
        run(&["ip", "link", "add", &self.host_if, "type", "veth", "peer", "name", &router_out])?;
        run(&["ip", "link", "set", &router_out, "netns", r])?;
        run(&["ip", "addr", "add", &format!("{net}.2.2/24"), "dev", &self.host_if])?;
        run(&["ip", "link", "set", &self.host_if, "up"])?;
        for cmd in [
            "ip link set lo up".to_owned(),
            format!("ip addr add {net}.1.2/24 dev {phone_if}"),
            format!("ip link set {phone_if} up"),
            format!("ip route add default via {net}.1.1"),
        ] {
            in_ns(p, &cmd)?;
        }
        for cmd in [
            "ip link set lo up".to_owned(),
            format!("ip addr add {net}.1.1/24 dev {router_in}"),
            format!("ip addr add {net}.2.1/24 dev {router_out}"),
            format!("ip link set {router_in} up"),
            format!("ip link set {router_out} up"),
            "sysctl -q -w net.ipv4.ip_forward=1".to_owned(),
            format!("iptables -t nat -A POSTROUTING -o {router_out} -j MASQUERADE"),
            format!("iptables -A FORWARD -i {router_out} -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT"),
            format!("iptables -A FORWARD -i {router_out} -j DROP"),
            // Forget idle UDP mappings fast, as a stingy home router does.
            "sysctl -q -w net.netfilter.nf_conntrack_udp_timeout=5".to_owned(),
            "sysctl -q -w net.netfilter.nf_conntrack_udp_timeout_stream=5".to_owned(),
        ] {
            in_ns(r, &cmd)?;
        }
        Ok(())
    }

    fn server_ip(&self) -> String {
        format!("{}.2.2", self.net)
    }

    fn phone_ip(&self) -> String {
        format!("{}.1.2", self.net)
    }

    /// The address the phone's packets reach us from.
    fn router_ip(&self) -> String {
        format!("{}.2.1", self.net)
    }

    /// A baresip phone inside the home network that answers by itself,
    /// sends a tone and records what it hears into `dir`; quits after `secs`.
    fn baresip(&self, dir: &Path, aor: &str, pass: &str, commands: &[&str], secs: u32) -> std::process::Child {
        std::fs::create_dir_all(dir).unwrap();
        std::fs::write(
            dir.join("config"),
            format!(
                "module_path /usr/lib/baresip/modules\nsip_listen {}:0\nmodule g711.so\nmodule account.so\nmodule menu.so\n\
                 module ausine.so\nmodule aufile.so\nmodule sndfile.so\nsnd_path {}\naudio_player aufile,/dev/null\n\
                 audio_source ausine,440\nausrc_srate 48000\nauplay_srate 48000\nausrc_channels 2\nauplay_channels 2\n",
                self.phone_ip(),
                dir.display()
            ),
        )
        .unwrap();
        std::fs::write(dir.join("accounts"), format!("<{aor}>;auth_pass={pass};regint=300;answermode=auto\n")).unwrap();
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", &self.phone_ns, "baresip", "-f"]).arg(dir).args(["-t", &secs.to_string()]);
        for c in commands {
            cmd.args(["-e", c]);
        }
        cmd.stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap()
    }
}

impl Drop for Nat {
    fn drop(&mut self) {
        // Deleting a namespace deletes its ends of the links, and so the pairs.
        let _ = run(&["ip", "netns", "del", &self.phone_ns]);
        let _ = run(&["ip", "netns", "del", &self.router_ns]);
        let _ = run(&["ip", "link", "del", &self.host_if]);
    }
}

/// The NAT of this test, or None (with a note) where namespaces or the
/// tools are not available and the environment allows skipping.
fn nat_or_skip(tag: &str) -> Option<Nat> {
    let baresip = Command::new("baresip").arg("-h").stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok();
    let tools = baresip && common::sipp_available();
    let nat = if tools { Nat::new(tag) } else { Err("baresip or sipp is not installed".into()) };
    match nat {
        Ok(nat) => Some(nat),
        Err(e) => {
            assert!(std::env::var_os("SWITCHBOARD_REQUIRE_TOOLS").is_none(), "the NAT test must run here: {e}");
            eprintln!("note: no network namespaces with NAT here ({e}); the NAT test is skipped");
            None
        }
    }
}

/// Root mean square of a 16-bit PCM WAV file's samples (0 for silence or
/// no file); baresip's sndfile writes plain RIFF/WAVE.
fn wav_rms(path: &Path) -> f64 {
    let Ok(bytes) = std::fs::read(path) else { return 0.0 };
    let Some(at) = bytes.windows(4).position(|w| w == b"data") else { return 0.0 };
    let samples: Vec<f64> =
        bytes[(at + 8).min(bytes.len())..].chunks_exact(2).map(|c| f64::from(i16::from_le_bytes([c[0], c[1]]))).collect();
    if samples.is_empty() {
        return 0.0;
    }
    (samples.iter().map(|s| s * s).sum::<f64>() / samples.len() as f64).sqrt()
}

/// The loudest of the files baresip wrote of what it heard (`*-dec.wav`).
fn heard(dir: &Path) -> (f64, Vec<PathBuf>) {
    let files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|d| d.flatten().map(|e| e.path()).filter(|p| p.to_string_lossy().ends_with("-dec.wav")).collect())
        .unwrap_or_default();
    (files.iter().map(|f| wav_rms(f)).fold(0.0, f64::max), files)
}

fn sipp(dir: &Path, ip: &str, args: &[&str]) -> Output {
    Command::new("timeout")
        .current_dir(dir)
        .args(["60", "sipp"])
        .args(args)
        .args(["-i", ip, "-m", "1", "-timeout", "20", "-nostdin", "-trace_err", "-mp", &common::media_port().to_string()])
        .output()
        .expect("run sipp")
}

async fn nat_keepalive(store: &store::Store, seconds: i64) {
    let input = Input::default().with(&schema::DOMAIN_SETTINGS, "nat_keepalive", seconds);
    store.update(&schema::DOMAIN_SETTINGS, &Actor::system(), 1, input).await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_phone_behind_nat_is_called_after_a_quiet_spell_with_audio_both_ways() {
    let Some(nat) = nat_or_skip("a") else { return };
    let (store, _db) = store::testing::sqlite().await;
    let id = common::account(&store, "home-1", "Home-Pass-1").await;
    let c = common::customer_of(&store, id).await;
    store.create(&schema::DID_NUMBERS, &Actor::system(), common::did(c, "15550042", true, Some(id))).await.unwrap();
    let (_, domain) = common::trunk_of(&store, c).await;
    nat_keepalive(&store, 2).await;
    let listen = format!("{}:0", nat.server_ip()).parse().unwrap();
    let sw = Switch::start(store.clone(), listen, RegistrarConfig::default()).await.unwrap();

    let dir = std::env::temp_dir().join(format!("sb-nat-called-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let mut phone = nat.baresip(&dir.join("phone"), &format!("sip:home-1@{};transport=udp", sw.udp_addr()), "Home-Pass-1", &[], 25);
    assert!(common::wait_for(&store, id, |p| p.0).await.0, "the phone registered through the NAT");
    let binding = sw.location().bindings(id, tokio::time::Instant::now()).pop().expect("a binding");
    assert_eq!(binding.source.ip().to_string(), nat.router_ip(), "it registered from the router's address");
    assert!(binding.behind_nat, "its Via names {} where its packets come from {}", nat.phone_ip(), binding.source);

    // Longer than the router keeps an idle mapping: only keep-alives hold it.
    tokio::time::sleep(Duration::from_secs(8)).await;
    let template = std::fs::read_to_string(common::scenario("carrier-call.xml")).unwrap();
    std::fs::write(dir.join("carrier.xml"), template.replace("HANGUP", &common::calls::part("hangup-carrier-bye.part"))).unwrap();
    std::fs::write(dir.join("call.csv"), format!("SEQUENTIAL\n15550042@{domain};4930888;\n")).unwrap();
    let (d, server, ip) = (dir.clone(), sw.udp_addr().to_string(), nat.server_ip());
    let out = tokio::task::spawn_blocking(move || {
        sipp(&d, &ip, &[&server, "-sf", "carrier.xml", "-inf", "call.csv", "-p", &common::free_udp_port().to_string()])
    })
    .await
    .unwrap();
    assert!(common::calls::report("carrier", &dir, &out), "the phone behind NAT answered the carrier's call");
    let (to_phone, from_phone, _) = sw.media_stats();
    assert!(from_phone > 20, "the phone's RTP crossed the NAT to the relay: {from_phone} packets (to it: {to_phone})");
    let _ = phone.kill();
    let _ = phone.wait();
    let (rms, files) = heard(&dir.join("phone"));
    assert!(rms > 100.0, "the phone heard the carrier's audio, not silence: RMS {rms:.1} in {files:?}");
    let cdr = common::calls::last_cdr(&store, 1).await;
    assert_eq!(cdr.get("success").as_bool(), Some(true));
    sw.shutdown().await;
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_phone_behind_nat_calls_out_and_hears_the_far_end() {
    let Some(nat) = nat_or_skip("b") else { return };
    let (store, _db) = store::testing::sqlite().await;
    let seed = common::account(&store, "seed-nat", "Seed-Pass-N").await;
    let c = common::customer_of(&store, seed).await;
    // Its external caller id is one of its customer's DIDs.
    store.create(&schema::DID_NUMBERS, &Actor::system(), common::did(c, "4930777", true, None)).await.unwrap();
    let input = Input::default()
        .with(&schema::SIP_ACCOUNTS, "username", "home-2")
        .with(&schema::SIP_ACCOUNTS, "password", "Home-Pass-2")
        .with(&schema::SIP_ACCOUNTS, "allow_external_calls", true)
        .with(&schema::SIP_ACCOUNTS, "external_caller_id", "4930777")
        .with_rel(&schema::SIP_ACCOUNTS, "customer", RelInput::To("customers", c));
    store.create(&schema::SIP_ACCOUNTS, &Actor::system(), input).await.unwrap();
    let port = common::free_udp_port();
    let gw = common::gateway(&store, "Carrier", port, "PCMA,telephone-event", Some(("gw-user", "gw-pass"))).await;
    store.update(&schema::GATEWAYS, &Actor::system(), gw, Input::default().with(&schema::GATEWAYS, "host", nat.server_ip())).await.unwrap();
    common::route(&store, "All", "", gw, None).await;
    let listen = format!("{}:0", nat.server_ip()).parse().unwrap();
    let sw = Switch::start(store.clone(), listen, RegistrarConfig::default()).await.unwrap();

    // The far end echoes what it gets: the phone hears its own tone back.
    let dir = std::env::temp_dir().join(format!("sb-nat-calls-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let gateway_xml = common::calls::write_filled(&dir, &common::calls::gateway_answer(401, "4930123456"), &[]);
    let (d, ip) = (dir.clone(), nat.server_ip());
    let gateway = tokio::task::spawn_blocking(move || {
        let out = sipp(&d, &ip, &["-sf", &gateway_xml, "-p", &port.to_string(), "-rtp_echo"]);
        common::calls::report("gateway", &d, &out)
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut phone =
        nat.baresip(&dir.join("phone"), &format!("sip:home-2@{};transport=udp", sw.udp_addr()), "Home-Pass-2", &["/dial 4930123456"], 6);
    let _ = tokio::task::spawn_blocking(move || phone.wait()).await;
    assert!(gateway.await.unwrap(), "the gateway got the call from behind the NAT, and its BYE");
    let (from_phone, to_phone, _) = sw.media_stats();
    assert!(from_phone > 20 && to_phone > 20, "RTP both ways through the relay: {from_phone} / {to_phone}");
    let (rms, files) = heard(&dir.join("phone"));
    assert!(rms > 100.0, "the phone heard the echo of its tone across the NAT: RMS {rms:.1} in {files:?}");
    sw.shutdown().await;
    let _ = std::fs::remove_dir_all(dir);
}
