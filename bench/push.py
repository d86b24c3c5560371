"""Pushes N distinct 1 MB blobs (POST then PUT with the body) with C
concurrent clients and prints pushes per second.
Usage: push.py HOST:PORT REPO N C [BASIC_AUTH_B64]"""

import hashlib
import http.client
import os
import sys
import threading
import time


def main() -> None:
    host, repo, n, c = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    auth = sys.argv[5] if len(sys.argv) > 5 else None
    headers = {"Authorization": f"Basic {auth}"} if auth else {}
    blobs = []
    for _ in range(n):
        data = os.urandom(1024 * 1024)
        blobs.append((data, "sha256:" + hashlib.sha256(data).hexdigest()))
    lock = threading.Lock()
    next_index = [0]
    failures = [0]

    def worker() -> None:
        conn = http.client.HTTPConnection(host)
        while True:
            with lock:
                i = next_index[0]
                next_index[0] += 1
            if i >= n:
                break
            data, digest = blobs[i]
            conn.request("POST", f"/v2/{repo}/blobs/uploads/", headers={**headers, "Content-Length": "0"})
            r = conn.getresponse()
            r.read()
            location = r.getheader("Location")
            if r.status != 202 or not location:
                failures[0] += 1
                continue
            if location.startswith("http"):
                location = "/" + location.split("/", 3)[3]
            sep = "&" if "?" in location else "?"
            conn.request("PUT", f"{location}{sep}digest={digest}", body=data,
                         headers={**headers, "Content-Type": "application/octet-stream"})
            r = conn.getresponse()
            r.read()
            if r.status != 201:
                failures[0] += 1

    start = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(c)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - start
    if failures[0]:
        print(f"failures: {failures[0]}", file=sys.stderr)
        sys.exit(1)
    print(f"{n / elapsed:.1f}")


if __name__ == "__main__":
    main()
