#!/usr/bin/env bash
# Calls per second through the B2BUA (INVITE/100/180/200/ACK/hold/BYE/200)
# at < 0.1 % failed calls: Kamailio's stateful proxy with dialog tracking
# (KAM_MODE=proxy-dialog) and `switchboard serve` (a carrier DID call over
# an incoming trunk to a registered phone, with the media relay and
# without), each pinned to CPU 1, the same SIPp UAC and UAS (the anchor's
# uac.xml with the trunk domain as Request-URI host, uas.xml) on CPU 0, in
# one run. Steps the rate up until a step fails.
#
# Usage: bench/calls.sh [RATES…]     default: 100 200 400 600 800 1000 1500 2000 2500 3000
#        ANCHOR=../shared/bench/kamailio-anchor COUNT=<10 s of calls per step, at least 2000>
#        MODE=memory bench/calls.sh: instead, hold HELD=50000 calls at once (no
#        media relay, placed at 500/s) and report RSS per call held.
#        MODE=outbound bench/calls.sh: instead of DID calls, phones' calls out:
#        SIPp as the phone authenticating its INVITE (digest), a route with a
#        rewrite, SIPp as the gateway challenging with 401 and checking the
#        credentials (tests/sipp/phone-call.xml and gateway-answer.xml); media
#        relay off. Kamailio proxy-dialog in the same run as the baseline.
# Needs: sip-tester kamailio kamailio-extra-modules kamailio-utils-modules sysstat bc
set -euo pipefail
cd "$(dirname "$0")/.."
read -r -a rates <<<"${*:-100 200 400 600 800 1000 1500 2000 2500 3000}"
anchor=$(cd "${ANCHOR:-../shared/bench/kamailio-anchor}" && pwd)
. "$anchor/lib.sh"
dir=${BENCH_DIR:-/tmp/sb-bench-calls}
rm -rf "$dir" && mkdir -p "$dir"
cargo build --release -q -p switchboard
root=$PWD
bin=$root/target/release/switchboard
export QUIET_WAIT=${QUIET_WAIT:-30}

# The anchor's UACs, dialling [service]@[trunk] instead of the server's address.
for f in uac uac-hold; do
    sed -e 's/sip:\[service\]@\[remote_ip\]:\[remote_port\]/sip:[service]@[trunk]/g' "$anchor/$f.xml" >"$dir/$f-trunk.xml"
done

# What a step runs (MODE=outbound changes them).
uas_xml=$anchor/uas.xml
uac_xml=$dir/uac-trunk.xml
uac_args=(-s 15550001)

# One step: prints "ok failed achieved_rate server_cpu"; exit 1 if it failed.
step() { # target server_pid rate trunk_domain label
    local run="$dir/runs/$5-r$3" count=${COUNT:-$(( $3 * 10 > 2000 ? $3 * 10 : 2000 ))}
    mkdir -p "$run"
    (cd "$run" && exec taskset -c 0 sipp -sf "$uas_xml" -i 127.0.0.1 -p 5090 -m "$count" -timeout "$(( count / $3 + 60 ))s" \
        -buff_size 4194304 -nostdin -trace_stat -stf uas.csv >uas.out 2>&1) &
    local uas=$!
    sleep 0.5
    wait_quiet
    local s0 t0; s0=$(ticks "$2"); t0=$(now)
    local rc=0
    (cd "$run" && exec taskset -c 0 sipp "$1" -sf "$uac_xml" "${uac_args[@]}" -key trunk "$4" -i 127.0.0.1 -p 5091 \
        -r "$3" -m "$count" -timeout "$(( count / $3 + 40 ))s" -recv_timeout 10000 -buff_size 4194304 -nostdin \
        -trace_stat -stf stat.csv >uac.out 2>&1) || rc=$?
    local t1 s1; t1=$(now); s1=$(ticks "$2")
    kill "$uas" 2>/dev/null || true
    wait "$uas" 2>/dev/null || true
    local sum; sum=$(sipp_summary "$run/stat.csv" 2>/dev/null || echo "no-stats")
    local cpu; cpu=$(echo "($s1 - $s0) * 100 / $HZ / ($t1 - $t0)" | bc -l)
    echo "  $5 rate=$3 rc=$rc $sum server_cpu=$(printf %.0f "$cpu")%" >&2
    # Passed: every call placed, < 0.1 % failed, and on time (the offered
    # rate kept up; calls hold up to 1 s, so allow 5 s past the last one).
    python3 - "$sum" "$3" "$count" <<'PY'
import sys
kv = dict(p.split("=", 1) for p in sys.argv[1].split() if "=" in p)
rate, count = float(sys.argv[2]), int(sys.argv[3])
created, failed, elapsed = int(kv.get("created", 0)), int(kv.get("failed", 1)), float(kv.get("elapsed_s", 1e9))
sys.exit(0 if created == count and failed / created < 0.001 and elapsed <= count / rate + 5 else 1)
PY
}

best() { # target pid trunk label -> best passing rate
    local b=0
    for r in "${rates[@]}"; do
        if step "$1" "$2" "$r" "$3" "$4"; then b=$r; else break; fi
    done
    echo "$b"
}

sb=
trap 'kill $sb 2>/dev/null || true' EXIT
start_switchboard() { # label rtp_ports -> sets $sb, prints the trunk domain
    rm -f "$dir/sb.db"*
    SWITCHBOARD_LOG=${SB_LOG:-warn} SWITCHBOARD_DATABASE_URL="sqlite://$dir/sb.db" SWITCHBOARD_HTTP_LISTEN=127.0.0.1:18112 \
        SWITCHBOARD_SIP_LISTEN=127.0.0.1:5080 SWITCHBOARD_OPERATOR_USER=bench SWITCHBOARD_OPERATOR_PASSWORD=bench-secret-1 \
        SWITCHBOARD_RTP_PORTS="$2" taskset -c 1 "$bin" serve >"$dir/serve-$1.log" 2>&1 &
    sb=$!
    for _ in $(seq 100); do curl -sf http://127.0.0.1:18112/healthz >/dev/null && break; sleep 0.1; done
    # A customer (unlimited), its phone on 127.0.0.1:5090 and DID 15550001 ringing it.
    local trunk
    trunk=$(python3 - <<'PY'
import base64, http.client, json, os
auth = {"Authorization": "Basic " + base64.b64encode(b"bench:bench-secret-1").decode(), "Content-Type": "application/vnd.api+json"}
c = http.client.HTTPConnection("127.0.0.1", 18112)
def call(method, path, doc=None):
    c.request(method, "/api/rest/public/operator/" + path, json.dumps(doc) if doc else None, auth)
    r = c.getresponse(); body = r.read()
    assert r.status in (200, 201), body
    return json.loads(body)["data"]
cust = call("POST", "customers", {"data": {"type": "customers", "attributes": {"name": "bench"}}})["id"]
rel = {"customer": {"data": {"type": "customers", "id": cust}}}
phone = call("POST", "sip_device_routes", {"data": {"type": "sip_device_routes", "attributes": {"username": "bench-phone", "password": "Bench-pw-1"}, "relationships": rel}})["id"]
call("POST", "available_did_numbers", {"data": {"type": "available_did_numbers", "attributes": {"number": "15550001"},
     "relationships": dict(rel, destination={"data": {"type": "sip_device_routes", "id": phone}})}})
if os.environ.get("OUTBOUND"):
    # A phone that may call out, a gateway on the UAS port with credentials, a route rewriting 49... to 0049....
    call("POST", "sip_device_routes", {"data": {"type": "sip_device_routes", "attributes": {"username": "bench-out", "password": "Bench-out-1",
         "allow_external_calls": True, "external_caller_id": "4930111"}, "relationships": rel}})
    gw = call("POST", "termination_gateways", {"data": {"type": "termination_gateways", "attributes": {"name": "bench-gw", "host": "127.0.0.1",
              "port": 5090, "codecs": ["PCMA", "telephone-event"], "authorization_name": "gw-user", "authorization_password": "gw-pass"}}})["id"]
    call("POST", "termination_routes", {"data": {"type": "termination_routes", "attributes": {"name": "bench-route",
         "dst_rewrite_rule": "^49(\\d+)$", "dst_rewrite_result": "0049\\1"},
         "relationships": {"gateway": {"data": {"type": "termination_gateways", "id": gw}}}}})
print(call("GET", f"incoming_trunks?filter[customer.id]={cust}")[0]["attributes"]["domain"])
PY
)
    printf 'SEQUENTIAL\nbench-phone;Bench-pw-1;3600;\n' >"$dir/phone.csv"
    (cd "$dir" && sipp 127.0.0.1:5080 -sf "$root/crates/switch/tests/sipp/register.xml" -inf "$dir/phone.csv" -au bench-phone -ap Bench-pw-1 \
        -i 127.0.0.1 -p 5090 -m 1 -timeout 10 -nostdin >/dev/null 2>&1) || { echo "the bench phone did not register" >&2; exit 1; }
    echo "$trunk"
}
switchboard() { # label rtp_ports -> best rate
    local trunk
    start_switchboard "$1" "$2" >"$dir/trunk"
    trunk=$(cat "$dir/trunk")
    best 127.0.0.1:5080 "$sb" "$trunk" "$1"
    kill "$sb"; wait "$sb" 2>/dev/null || true
}

if [ "${MODE:-rate}" = memory ]; then
    held=${HELD:-50000} rate=500
    start_switchboard memory off >"$dir/trunk"
    trunk=$(cat "$dir/trunk")
    rss0=$(awk '/^VmRSS:/ {print $2}' "/proc/$sb/status")
    hold_ms=$(( (held / rate + 45) * 1000 ))
    run="$dir/runs/memory"; mkdir -p "$run"
    (cd "$run" && exec taskset -c 0 sipp -sf "$anchor/uas.xml" -i 127.0.0.1 -p 5090 -m "$held" -timeout "$(( hold_ms / 1000 + 120 ))s" \
        -buff_size 4194304 -nostdin >uas.out 2>&1) &
    uas=$!
    sleep 0.5
    (cd "$run" && exec taskset -c 0 sipp 127.0.0.1:5080 -sf "$dir/uac-hold-trunk.xml" -d "$hold_ms" -s 15550001 -key trunk "$trunk" \
        -i 127.0.0.1 -p 5091 -r "$rate" -m "$held" -l "$held" -timeout "$(( hold_ms / 1000 + 120 ))s" -recv_timeout 20000 \
        -buff_size 4194304 -nostdin -trace_stat -stf stat.csv -fd 1 -trace_err >uac.out 2>&1) &
    uac=$!
    # All placed, none hung up yet, and the last INVITE transactions ended
    # (32 s, Timer L/M): sample then, so RSS is what held calls keep.
    sleep $(( held / rate + 38 ))
    rss1=$(awk '/^VmRSS:/ {print $2}' "/proc/$sb/status")
    up=$(python3 -c 'import csv,sys; r=list(csv.reader(open(sys.argv[1]), delimiter=";")); print(dict(zip(r[0], r[-1])).get("CurrentCall", "?"))' "$run/stat.csv")
    wait "$uac" && rc=0 || rc=$?
    echo "calls held at the sample (SIPp CurrentCall): $up of $held; SIPp exit $rc (0 = every call completed)"
    echo "RSS: idle $((rss0 / 1024)) MiB, $held calls up $((rss1 / 1024)) MiB: $(( (rss1 - rss0) * 1024 / held )) B per call (Kamailio dialog: ~1.7 KB)"
    kill "$sb" "$uas" 2>/dev/null; wait "$sb" 2>/dev/null || true
    exit 0
fi

if [ "${MODE:-rate}" = outbound ]; then
    echo "== Kamailio proxy-dialog"
    "$anchor/run-kamailio.sh" proxy-dialog >/dev/null
    kam=$(best 127.0.0.1:5070 "$(cat /tmp/kam-anchor/kamailio.pid)" 1.in.switchboard.local kamailio)
    "$anchor/stop-kamailio.sh" >/dev/null
    echo "== switchboard serve, phones calling out through a gateway (digest both ways), media relay off"
    sipp_dir=$root/crates/switch/tests/sipp
    sed -e 's/USERNAME/bench-out/g; s/PASSWORD/Bench-out-1/g' "$sipp_dir/phone-call.xml" >"$dir/phone-call.xml"
    sed -e 's/CHALLENGE_CODE/401/; s/CHALLENGE_HEADER/WWW-Authenticate/; s/GW_USER/gw-user/g; s/GW_PASS/gw-pass/g; s/DIALLED/004930123456/' \
        -e 's/OPEN_401//; s/CLOSE_401//; s/OPEN_407/<!--/; s/CLOSE_407/-->/' "$sipp_dir/gateway-answer.xml" >"$dir/gateway.xml"
    printf 'SEQUENTIAL\n4930123456@127.0.0.1:5080;\n' >"$dir/dial.csv"
    uas_xml=$dir/gateway.xml uac_xml=$dir/phone-call.xml uac_args=(-inf "$dir/dial.csv")
    OUTBOUND=1 start_switchboard outbound off >"$dir/trunk"
    out=$(best 127.0.0.1:5080 "$sb" unused switchboard-outbound)
    kill "$sb"; wait "$sb" 2>/dev/null || true
    echo
    echo "Highest calls/s with < 0.1 % failed calls: Kamailio proxy-dialog $kam/s; Switchboard outbound (digest, route, gateway digest) $out/s"
    python3 -c "print(f'ratio: {$out / max($kam, 1):.2f}')"
    exit 0
fi

echo "== Kamailio proxy-dialog"
"$anchor/run-kamailio.sh" proxy-dialog >/dev/null
kam=$(best 127.0.0.1:5070 "$(cat /tmp/kam-anchor/kamailio.pid)" 1.in.switchboard.local kamailio)
"$anchor/stop-kamailio.sh" >/dev/null

echo "== switchboard serve, media relay on"
relay=$(switchboard switchboard-relay 20000-29999)
echo "== switchboard serve, media relay off"
direct=$(switchboard switchboard-direct off)

echo
echo "Highest calls/s with < 0.1 % failed calls: Kamailio proxy-dialog $kam/s; Switchboard $relay/s with the media relay, $direct/s without"
python3 -c "print(f'ratios: relay {$relay / max($kam, 1):.2f}, no relay {$direct / max($kam, 1):.2f}')"
