#!/usr/bin/env python3
"""Latency of API requests over one keep-alive connection.

Usage: list_latency.py HOST:PORT USER PASSWORD MODE N [CUSTOMERS DAYS]
MODE cdr:     a page of 50 termination CDRs of a random customer in a random
              one-day window of the last DAYS days, sorted by time_start.
MODE healthz: GET /healthz (the HTTP floor, the baseline).
Prints: p50_ms p99_ms mean_rows
"""
import base64, http.client, random, sys, time, json, urllib.parse

host, user, password, mode, n = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])
customers = int(sys.argv[6]) if len(sys.argv) > 6 else 100
days = int(sys.argv[7]) if len(sys.argv) > 7 else 30
auth = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
h, p = host.split(":")
conn = http.client.HTTPConnection(h, int(p))
rng = random.Random(7)
now = time.time()
lat, rows = [], 0
for i in range(n + 20):
    if mode == "cdr":
        start = now - rng.uniform(1, days) * 86400
        fmt = lambda t: time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(t))
        q = urllib.parse.urlencode({
            "filter[time_start_gteq]": fmt(start),
            "filter[time_start_lted]": fmt(start + 86400),
            "filter[customer.id]": str(rng.randint(1, customers)),
            "sort": "-time_start",
            "page[size]": "50",
        })
        path = "/api/rest/public/operator/termination_cdrs?" + q
    else:
        path = "/healthz"
    t0 = time.perf_counter()
    conn.request("GET", path, headers={"Authorization": auth})
    r = conn.getresponse()
    body = r.read()
    dt = time.perf_counter() - t0
    if r.status != 200:
        sys.exit(f"HTTP {r.status}: {body[:300]!r}")
    if i >= 20:  # warm-up excluded
        lat.append(dt * 1000)
        if mode == "cdr":
            rows += len(json.loads(body)["data"])
lat.sort()
pct = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))]
print(f"{pct(0.50):.2f} {pct(0.99):.2f} {rows / max(1, len(lat)):.1f}")
