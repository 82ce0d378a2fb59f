#!/usr/bin/env bash
# REGISTER with digest (challenge + authenticated REGISTER) per second at zero
# failures: Kamailio's registrar (in-memory usrloc; credentials in an
# in-memory htable, KAM_MODE=registrar-htable, or from db_text with
# KAM_MODE=registrar) and switchboard serve (credentials from its store), each pinned to CPU 1,
# the same SIPp load from ../shared/bench/kamailio-anchor pinned to CPU 0, in
# one run. Steps the rate up until a run has a failed call.
#
# Usage: bench/register.sh [RATES…]   default: 1000 2000 3000 4000 6000 8000 12000 16000 20000
#        ANCHOR=../shared/bench/kamailio-anchor COUNT=20000 USERS=10000
# Needs: sip-tester kamailio kamailio-extra-modules kamailio-utils-modules sysstat bc
set -euo pipefail
cd "$(dirname "$0")/.."
read -r -a rates <<<"${*:-1000 2000 3000 4000 6000 8000 12000 16000 20000}"
anchor=$(cd "${ANCHOR:-../shared/bench/kamailio-anchor}" && pwd)
count=${COUNT:-20000}
users=${USERS:-10000}
dir=${BENCH_DIR:-/tmp/sb-bench-register}
rm -rf "$dir" && mkdir -p "$dir"
cargo build --release -q -p switchboard
bin=$PWD/target/release/switchboard
"$anchor/gen-users.sh" "$users" 127.0.0.1 /tmp/kam-anchor >/dev/null
# sipp prefixes -auth_uri with "sip:" itself; the anchor default would send
# uri="sip:sip:127.0.0.1", which we refuse as not naming the Request-URI.
export QUIET_WAIT=${QUIET_WAIT:-30} OUTDIR=$dir/runs AUTH_URI=${AUTH_URI:-127.0.0.1}

# A step passes with no failed registration and the offered rate achieved
# (within 5 %): an overloaded server that drowns in retransmissions fails.
step() { # label target pid -> prints the best passing rate; run lines on stderr
    local best=0 line rc achieved
    for r in "${rates[@]}"; do
        rc=0; line=$(TARGET=$2 SERVER_PID=$3 LABEL=$1 "$anchor/sipp-register.sh" "$r" "$count") || rc=$?
        achieved=$(sed -n 's/.*sipp_rate=\([0-9.]*\).*/\1/p' <<<"$line")
        echo "  $1 $(sed 's/ dir=.*//' <<<"$line")" >&2
        if [ "$rc" = 0 ] && python3 -c "import sys; sys.exit(0 if float('${achieved:-0}') >= 0.95 * $r else 1)"; then
            best=$r
        else
            break
        fi
    done
    echo "$best"
}

kam_mode=${KAM_MODE:-registrar-htable}
echo "== Kamailio $kam_mode"
"$anchor/run-kamailio.sh" "$kam_mode" >/dev/null
kam=$(step kamailio 127.0.0.1:5070 "$(cat /tmp/kam-anchor/kamailio.pid)")
"$anchor/stop-kamailio.sh" >/dev/null

echo "== switchboard serve (SQLite store)"
SWITCHBOARD_LOG=warn SWITCHBOARD_DATABASE_URL="sqlite://$dir/sb.db" SWITCHBOARD_HTTP_LISTEN=127.0.0.1:18110 \
    SWITCHBOARD_SIP_LISTEN=127.0.0.1:5080 SWITCHBOARD_OPERATOR_USER=bench SWITCHBOARD_OPERATOR_PASSWORD=bench-secret-1 \
    taskset -c 1 "$bin" serve >"$dir/serve.log" 2>&1 &
sb=$!
trap 'kill $sb 2>/dev/null || true' EXIT
for _ in $(seq 100); do curl -sf http://127.0.0.1:18110/healthz >/dev/null && break; sleep 0.1; done
python3 - "$users" <<'PY'
import base64, http.client, json, sys
n = int(sys.argv[1])
auth = {"Authorization": "Basic " + base64.b64encode(b"bench:bench-secret-1").decode(), "Content-Type": "application/vnd.api+json"}
c = http.client.HTTPConnection("127.0.0.1", 18110)
def post(path, doc):
    c.request("POST", "/api/rest/public/operator/" + path, json.dumps(doc), auth)
    r = c.getresponse(); body = r.read()
    assert r.status == 201, body
    return json.loads(body)["data"]["id"]
cust = post("customers", {"data": {"type": "customers", "attributes": {"name": "bench"}}})
for i in range(1, n + 1):
    post("sip_device_routes", {"data": {"type": "sip_device_routes", "attributes": {"username": f"user{i:05d}", "password": f"pw{i:05d}"},
         "relationships": {"customer": {"data": {"type": "customers", "id": cust}}}}})
PY
sbbest=$(step switchboard 127.0.0.1:5080 "$sb")
rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$sb/status")
online=$(curl -s -u bench:bench-secret-1 "http://127.0.0.1:18110/api/rest/public/operator/sip_device_routes?filter%5Bis_online%5D=true&page%5Bsize%5D=1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["meta"]["record_count"])')
echo
echo "Highest rate with zero failed registrations (offered rate achieved): Kamailio $kam/s, Switchboard $sbbest/s; ratio $(python3 -c "print(round($sbbest/max($kam,1),2))")"
echo "Switchboard RSS after the runs: $((rss / 1024)) MiB with $online accounts online"
