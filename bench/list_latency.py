#!/usr/bin/env python3
"""Latency of API requests over one keep-alive connection.

Usage: list_latency.py HOST:PORT USER PASSWORD MODE N [CUSTOMERS DAYS]
MODE cdr:     a page of 50 termination CDRs of a random customer in a random
              one-day window of the last DAYS days, sorted by time_start.
MODE first:   the first page of 50 termination CDRs of a random one-day
              window (all customers), newest first.
MODE next:    that list's second page: links.next of the first followed
              (only the followed request is timed).
MODE page20:  its 20th page: 19 links.next followed, the 20th timed. A
              window with fewer pages is not the end: the walk goes on
              with the first page of another window, so every sample is
              the 20th request of a chain of cursors.
MODE totals:  GET .../termination_cdrs/totals of a random one-day window
              (calls, answered, ASR, ACD, minutes).
MODE healthz: GET /healthz (the HTTP floor, the baseline).
Prints: p50_ms p99_ms mean_rows (mean_rows: rows per timed page; for
totals, the mean calls counted)
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
BASE = "/api/rest/public/operator/termination_cdrs"
fmt = lambda t: time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(t))


def get(path):
    """(milliseconds, parsed body) of one GET; any status but 200 ends the run."""
    t0 = time.perf_counter()
    conn.request("GET", path, headers={"Authorization": auth})
    r = conn.getresponse()
    body = r.read()
    dt = (time.perf_counter() - t0) * 1000
    if r.status != 200:
        sys.exit(f"HTTP {r.status} for {path}: {body[:300]!r}")
    return dt, (json.loads(body) if path != "/healthz" else None)


def window(customer=False):
    start = now - rng.uniform(1, days) * 86400
    q = {"filter[time_start_gteq]": fmt(start), "filter[time_start_lted]": fmt(start + 86400)}
    if customer:
        q["filter[customer.id]"] = str(rng.randint(1, customers))
    return q


def list_path(q):
    return BASE + "?" + urllib.parse.urlencode({**q, "sort": "-time_start", "page[size]": "50"})


def next_path(doc):
    nxt = doc.get("links", {}).get("next")
    if not nxt:
        return None
    u = urllib.parse.urlsplit(nxt)
    return u.path + "?" + u.query


def sample():
    """(ms, rows) of one timed request of the mode."""
    if mode == "healthz":
        return get("/healthz")[0], 0
    if mode == "cdr":
        dt, doc = get(list_path(window(customer=True)))
        return dt, len(doc["data"])
    if mode == "first":
        dt, doc = get(list_path(window()))
        return dt, len(doc["data"])
    if mode == "totals":
        dt, doc = get(BASE + "/totals?" + urllib.parse.urlencode(window()))
        return dt, doc["meta"]["calls"]
    depth = {"next": 2, "page20": 20}[mode]
    path = list_path(window())
    for i in range(1, depth + 1):
        dt, doc = get(path)
        if i == depth:
            return dt, len(doc["data"])
        # A short window: carry on through another one.
        path = next_path(doc) or list_path(window())


if mode not in ("healthz", "cdr", "first", "next", "page20", "totals"):
    sys.exit(f"unknown mode {mode}")
lat, rows = [], 0
for i in range(n + 20):
    dt, k = sample()
    if i >= 20:  # warm-up excluded
        lat.append(dt)
        rows += k
lat.sort()
pct = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))]
print(f"{pct(0.50):.2f} {pct(0.99):.2f} {rows / max(1, len(lat)):.1f}")
