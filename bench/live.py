"""The delay from an entitlement save to the open portal showing it, as a
browser sees it: a server-sent-events client holds the portal's live stream
open (with the customer's session cookie); each round the vendor saves the
entitlement through the API with or without tag 1.60 of art-3, and the clock
stops when the event has arrived and the refetched /portal page shows the
change. Prints p50/p95/max over ROUNDS rounds.
Usage: live.py BASE_URL VENDOR_TOKEN ENTITLEMENT_ID SESSION_COOKIE [ROUNDS]
With PORTAL_BASE set, the portal (stream and page) is that server's while
the saves go to BASE_URL (two instances of one deployment)."""

import os

import http.client
import json
import queue
import statistics
import sys
import threading
import time
import urllib.parse


def main() -> None:
    base, vendor, entitlement, cookie = sys.argv[1:5]
    rounds = int(sys.argv[5]) if len(sys.argv) > 5 else 100
    host = urllib.parse.urlparse(base).netloc
    portal = urllib.parse.urlparse(os.environ.get("PORTAL_BASE") or base).netloc
    events: "queue.Queue[float]" = queue.Queue()
    connected = threading.Event()

    def listen() -> None:
        conn = http.client.HTTPConnection(portal)
        conn.request("GET", "/events", headers={"Cookie": cookie, "Accept": "text/event-stream"})
        resp = conn.getresponse()
        assert resp.status == 200, resp.status
        connected.set()
        while True:
            line = resp.fp.readline()
            if not line:
                return
            if line.startswith(b"data:"):
                events.put(time.perf_counter())

    threading.Thread(target=listen, daemon=True).start()
    api = http.client.HTTPConnection(host)
    page = http.client.HTTPConnection(portal)

    def save(with_tag: bool) -> None:
        tags = ["1.50", "1.60"] if with_tag else ["1.50"]
        body = json.dumps({"name": "bench", "artifacts": [
            {"artifact": "art-1", "tags": [f"1.{i}" for i in range(10)]},
            {"artifact": "art-2", "tags": "all"},
            {"artifact": "art-3", "tags": tags},
        ]})
        api.request("PUT", f"/api/v1/entitlements/{entitlement}", body=body,
                    headers={"Authorization": f"Bearer {vendor}", "Content-Type": "application/json"})
        resp = api.getresponse()
        resp.read()
        assert resp.status == 200, resp.status

    def portal_shows(with_tag: bool) -> bool:
        page.request("GET", "/portal/artifacts/art-3", headers={"Cookie": cookie})
        resp = page.getresponse()
        html = resp.read().decode()
        assert resp.status == 200, resp.status
        return ("1.60" in html) == with_tag

    assert connected.wait(5), "the event stream did not connect"
    delays = []
    for i in range(rounds):
        with_tag = i % 2 == 0
        while not events.empty():
            events.get_nowait()
        start = time.perf_counter()
        save(with_tag)
        events.get(timeout=5)
        while not portal_shows(with_tag):
            pass
        delays.append((time.perf_counter() - start) * 1000)
    delays.sort()
    p95 = delays[int(len(delays) * 0.95) - 1]
    print(f"save -> portal shows it: p50 {statistics.median(delays):.1f} ms, "
          f"p95 {p95:.1f} ms, max {delays[-1]:.1f} ms over {rounds} saves")


if __name__ == "__main__":
    main()
