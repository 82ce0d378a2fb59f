#!/usr/bin/env bash
# API benchmarks of issue 2, on SQLite and PostgreSQL:
#  - latency (p50/p99) of a page of 50 termination CDRs filtered by a one-day
#    window + customer, sorted by time_start, at each CDR count given;
#    baseline: GET /healthz on the same server in the same run;
#  - issue 16: the first, next (one cursor followed) and 20th (19 cursors
#    followed) page of a one-day window of all customers, and its totals
#    (GET .../termination_cdrs/totals), p50/p99, same server and run;
#  - CSV export rate of 1,000,000 CDRs and the server's peak RSS while
#    exporting (baseline: RSS before the export);
#  - requests/s of GET on a customers list page with wrk (baseline: /healthz).
# The server runs pinned to CPU 0, the load generators to CPU 1.
#
# Usage: bench/api.sh [CDR counts...]        (default: 1000000 10000000)
#        BENCH_BACKENDS="sqlite postgres" BENCH_DIR=/tmp/sb-bench BENCH_KEEP=1 BENCH_PROFILE=release
# Seeded stores are kept in BENCH_DIR and reused when BENCH_KEEP=1.
set -euo pipefail
cd "$(dirname "$0")/.."
counts=("${@:-1000000 10000000}")
read -r -a counts <<<"${counts[*]}"
backends=${BENCH_BACKENDS:-sqlite postgres}
dir=${BENCH_DIR:-/tmp/sb-bench}
pg=${BENCH_PG:-postgres://postgres@127.0.0.1:5432}
mkdir -p "$dir"
# BENCH_PROFILE=dev checks the script end to end without a release build
# (its numbers are not the ones to report).
profile=${BENCH_PROFILE:-release}
cargo build --profile "$profile" -q -p switchboard
bin=$PWD/target/$([ "$profile" = dev ] && echo debug || echo "$profile")/switchboard
user=bench pass=bench-secret-1
port=${BENCH_PORT:-18089}
export SWITCHBOARD_LOG=warn

url_for() { # backend count
    if [ "$1" = sqlite ]; then echo "sqlite://$dir/cdr-$2.db"; else echo "$pg/sb_bench_$2"; fi
}

seed() { # backend count url
    local marker="$dir/seeded-$1-$2"
    if [ "${BENCH_KEEP:-}" = 1 ] && [ -f "$marker" ]; then return; fi
    if [ "$1" = sqlite ]; then rm -f "$dir/cdr-$2.db"*; else
        psql -q -h 127.0.0.1 -U postgres -c "DROP DATABASE IF EXISTS sb_bench_$2 WITH (FORCE)" -c "CREATE DATABASE sb_bench_$2"
    fi
    local t0=$SECONDS
    "$bin" seed --database-url "$3" --customers 100 --numbers 5 --accounts 5 --gateways 5 --routes 2 \
        --incoming-cdrs 0 --termination-cdrs "$2" --days 30 >/dev/null
    echo "  seeded $2 CDRs on $1 in $((SECONDS - t0)) s"
    [ "$1" = postgres ] && psql -q -h 127.0.0.1 -U postgres -d "sb_bench_$2" -c "VACUUM ANALYZE"
    touch "$marker"
}

start() { # url
    SWITCHBOARD_DATABASE_URL=$1 SWITCHBOARD_HTTP_LISTEN=127.0.0.1:$port SWITCHBOARD_SIP_LISTEN=127.0.0.1:0 \
        SWITCHBOARD_OPERATOR_USER=$user SWITCHBOARD_OPERATOR_PASSWORD=$pass \
        taskset -c 0 "$bin" serve >"$dir/serve.log" 2>&1 &
    server=$!
    # A kept store may first run a new migration over millions of CDRs
    # (the hourly rollup's backfill): wait while the server lives.
    for _ in $(seq 9000); do
        curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && return
        kill -0 "$server" 2>/dev/null || break
        sleep 0.1
    done
    echo "server did not start"; cat "$dir/serve.log"; exit 1
}

server=
stop() {
    if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
    server=
}
# The server goes down with the script, also when a step fails.
trap stop EXIT

rss_kb() { awk "/^$1:/ {print \$2}" "/proc/$server/status"; }

for backend in $backends; do
    for n in "${counts[@]}"; do
        url=$(url_for "$backend" "$n")
        echo "== $backend, $n termination CDRs"
        seed "$backend" "$n" "$url"
        start "$url"
        lat() { taskset -c 1 python3 bench/list_latency.py 127.0.0.1:$port $user $pass "$@"; }
        out=$(lat healthz 300); read -r hp50 hp99 _ <<<"$out"
        out=$(lat cdr 300 100 30); read -r p50 p99 rows <<<"$out"
        echo "  CDR page (50, window+customer, by time_start): p50 ${p50} ms, p99 ${p99} ms (mean ${rows} rows/page)"
        echo "  baseline /healthz: p50 ${hp50} ms, p99 ${hp99} ms; ratio p50 $(python3 -c "print(round($p50/$hp50,1))")x"
        for mode in first next page20 totals; do
            samples=300; [ "$mode" = page20 ] && samples=100
            out=$(lat $mode $samples 100 30); read -r m50 m99 mrows <<<"$out"
            what="rows/page"; [ "$mode" = totals ] && what="calls counted"
            echo "  CDR $mode (one-day window, all customers): p50 ${m50} ms, p99 ${m99} ms (mean ${mrows} ${what}); p50 $(python3 -c "print(round($m50/$hp50,1))")x /healthz"
        done
        if [ "$n" = 1000000 ]; then
            before=$(rss_kb VmRSS)
            echo 5 >"/proc/$server/clear_refs" 2>/dev/null || true
            t0=$(date +%s.%N)
            lines=$(curl -sf -u $user:$pass "http://127.0.0.1:$port/api/rest/public/operator/termination_cdrs.csv?filter%5Btime_start_gteq%5D=2000-01-01%2000:00:00" | wc -l)
            t1=$(date +%s.%N)
            peak=$(rss_kb VmHWM)
            python3 -c "r=$lines-1; s=$t1-$t0; print(f'  CSV export: {r} rows in {s:.1f} s = {r/s:,.0f} rows/s; RSS before {$before/1024:.0f} MiB, peak while exporting {$peak/1024:.0f} MiB')"
            out=$(taskset -c 1 wrk -t1 -c32 -d10s -H "Authorization: Basic $(printf %s "$user:$pass" | base64)" \
                "http://127.0.0.1:$port/api/rest/public/operator/customers?page%5Bsize%5D=50" | awk '/Requests\/sec/ {print $2}')
            base=$(taskset -c 1 wrk -t1 -c32 -d10s "http://127.0.0.1:$port/healthz" | awk '/Requests\/sec/ {print $2}')
            python3 -c "print(f'  wrk customers list (page of 50): {float(\"$out\"):,.0f} req/s; baseline /healthz {float(\"$base\"):,.0f} req/s; ratio {float(\"$out\")/float(\"$base\"):.2f}')"
        fi
        stop
    done
done
