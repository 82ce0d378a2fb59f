#!/usr/bin/env bash
# Memory per registered SIP account: RSS of `switchboard serve` with N
# accounts in its store (N=100000 by default), before and after every one
# of them registered once (SIPp, digest, one binding each), against the
# same server with an empty store, all in one run.
#
# Usage: bench/register-memory.sh      env: N=100000 RATE=3000
# Needs: sip-tester sqlite3 (and ../shared/bench/kamailio-anchor for SIPp's scenario)
set -euo pipefail
cd "$(dirname "$0")/.."
n=${N:-100000}
rate=${RATE:-3000}
anchor=$(cd "${ANCHOR:-../shared/bench/kamailio-anchor}" && pwd)
dir=${BENCH_DIR:-/tmp/sb-bench-memory}
rm -rf "$dir" && mkdir -p "$dir"
cargo build --release -q -p switchboard
bin=$PWD/target/release/switchboard
"$anchor/gen-users.sh" "$n" 127.0.0.1 "$dir/users" >/dev/null

pid=
serve() {
    SWITCHBOARD_LOG=warn SWITCHBOARD_DATABASE_URL="sqlite://$dir/sb.db" SWITCHBOARD_HTTP_LISTEN=127.0.0.1:18111 \
        SWITCHBOARD_SIP_LISTEN=127.0.0.1:5081 SWITCHBOARD_OPERATOR_USER=bench SWITCHBOARD_OPERATOR_PASSWORD=bench-secret-1 \
        taskset -c 1 "$bin" serve >>"$dir/serve.log" 2>&1 &
    pid=$!
    for _ in $(seq 200); do curl -sf http://127.0.0.1:18111/healthz >/dev/null && break; sleep 0.1; done
    sleep 2
}
stop() { kill "$pid"; wait "$pid" || true; }
trap 'kill $pid 2>/dev/null || true' EXIT
rss() { awk '/^VmRSS:/ {print $2}' "/proc/$pid/status"; }

serve
empty=$(rss)
curl -sf -u bench:bench-secret-1 -H 'Content-Type: application/vnd.api+json' \
    -d '{"data":{"type":"customers","attributes":{"name":"bench"}}}' http://127.0.0.1:18111/api/rest/public/operator/customers >/dev/null
stop

# Accounts go straight into the file: the API would take minutes for 100k
# creates, and the registrar reads accounts from the store either way.
sqlite3 "$dir/sb.db" "WITH RECURSIVE i(k) AS (SELECT 1 UNION ALL SELECT k + 1 FROM i WHERE k < $n)
    INSERT INTO sip_accounts (customer_id, username, password, created_at)
    SELECT (SELECT id FROM customers LIMIT 1), printf('user%05d', k), printf('pw%05d', k), 0 FROM i;"

serve
loaded=$(rss)
mkdir -p "$dir/sipp"
(cd "$dir/sipp" && taskset -c 0 sipp 127.0.0.1:5081 -sf "$anchor/register.xml" -inf "$dir/users/users.csv" -i 127.0.0.1 -p 5062 \
    -r "$rate" -m "$n" -auth_uri 127.0.0.1 -recv_timeout 10000 -nd -nostdin -trace_stat -stf stat.csv >/dev/null 2>&1) || {
    echo "SIPp reported failed registrations; see $dir/sipp" >&2
    exit 1
}
sleep 5 # the binding writer drains
burst=$(rss)
# Completed UDP transactions are kept 32 s (Timer J) to absorb retransmissions.
sleep 35
registered=$(rss)
online=$(curl -s -u bench:bench-secret-1 "http://127.0.0.1:18111/api/rest/public/operator/sip_device_routes?filter%5Bis_online%5D=true&page%5Bsize%5D=1" \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["meta"]["record_count"])')
stop

python3 - "$n" "$empty" "$loaded" "$burst" "$registered" "$online" <<'PY'
import sys
n, empty, loaded, burst, registered, online = map(int, sys.argv[1:])
print(f"RSS: empty store {empty / 1024:.0f} MiB, {n} accounts loaded {loaded / 1024:.0f} MiB, all registered {burst / 1024:.0f} MiB"
      f" right after the burst and {registered / 1024:.0f} MiB once its transactions ended ({online} online)")
print(f"per account: {(loaded - empty) * 1024 / n:.0f} B cached; per registration {(registered - loaded) * 1024 / n:.0f} B;"
      f" in all {(registered - empty) * 1024 / n:.0f} B per registered account")
PY
