"""Pushes N distinct 1 MB blobs with C concurrent clients and prints pushes
per second.
Usage: push.py HOST:PORT REPO N C [BASIC_AUTH_B64] [MODE]
MODE (default monolithic):
  monolithic  POST, then PUT with the body and the digest
  patch       POST, one PATCH with the body, then PUT with the digest (docker's way)
  chunks      POST, four 256 KiB PATCHes with Content-Range, then PUT"""

import hashlib
import http.client
import os
import sys
import threading
import time

SIZE = 1024 * 1024


def cpu_ticks() -> dict[str, tuple[int, int, int]] | None:
    """Busy, idle (with iowait) and iowait clock ticks so far, of the whole
    machine ("cpu") and of each CPU ("cpu0", "cpu1", ...)."""
    try:
        with open("/proc/stat") as f:
            lines = [l.split() for l in f if l.startswith("cpu")]
    except OSError:
        return None
    out = {}
    for name, *rest in lines:
        ticks = [int(x) for x in rest]
        idle = ticks[3] + ticks[4]
        out[name] = (sum(ticks[:8]) - idle, idle, ticks[4])
    return out


def main() -> None:
    host, repo, n, c = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    auth = sys.argv[5] if len(sys.argv) > 5 and sys.argv[5] else None
    mode = sys.argv[6] if len(sys.argv) > 6 else "monolithic"
    if mode not in ("monolithic", "patch", "chunks"):
        sys.exit(f"unknown mode {mode}")
    headers = {"Authorization": f"Basic {auth}"} if auth else {}
    blobs = []
    for _ in range(n):
        data = os.urandom(SIZE)
        blobs.append((data, "sha256:" + hashlib.sha256(data).hexdigest()))
    lock = threading.Lock()
    next_index = [0]
    failures = []

    def path_of(location: str) -> str:
        if location.startswith("http"):
            return "/" + location.split("/", 3)[3]
        return location

    def send(conn, method, path, body=None, extra=None):
        h = {**headers, **(extra or {})}
        if body is None:
            h["Content-Length"] = "0"
        conn.request(method, path, body=body, headers=h)
        r = conn.getresponse()
        r.read()
        return r

    def push(conn, data: bytes, digest: str) -> str | None:
        r = send(conn, "POST", f"/v2/{repo}/blobs/uploads/")
        location = r.getheader("Location")
        if r.status != 202 or not location:
            return f"POST {r.status}"
        location = path_of(location)
        octets = {"Content-Type": "application/octet-stream"}
        if mode == "patch":
            r = send(conn, "PATCH", location, data, octets)
            if r.status != 202:
                return f"PATCH {r.status}"
            location, data = path_of(r.getheader("Location")), None
        elif mode == "chunks":
            step = SIZE // 4
            for start in range(0, SIZE, step):
                piece = data[start:start + step]
                rng = {"Content-Range": f"{start}-{start + len(piece) - 1}"}
                r = send(conn, "PATCH", location, piece, {**octets, **rng})
                if r.status != 202:
                    return f"PATCH {r.status}"
                location = path_of(r.getheader("Location"))
            data = None
        sep = "&" if "?" in location else "?"
        r = send(conn, "PUT", f"{location}{sep}digest={digest}", data, octets)
        if r.status != 201:
            return f"PUT {r.status}"
        return None

    def worker() -> None:
        conn = http.client.HTTPConnection(host)
        while True:
            with lock:
                i = next_index[0]
                next_index[0] += 1
            if i >= n:
                break
            failure = push(conn, *blobs[i])
            if failure:
                with lock:
                    failures.append(failure)

    cpu0, stat0 = time.process_time(), cpu_ticks()
    start = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(c)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - start
    cpu1, stat1 = time.process_time(), cpu_ticks()
    # On stderr, for the benchmark scripts that read it: what this client
    # spent per push, and how idle the machine, then each CPU, was while
    # pushing.
    if stat0 and stat1:
        def idle(name: str) -> tuple[float, float]:
            busy, idle, iowait = (b - a for a, b in zip(stat0[name], stat1[name]))
            total = max(busy + idle, 1)
            return 100 * idle / total, 100 * iowait / total
        whole, waiting = idle("cpu")
        each = ", ".join(f"{name} {idle(name)[0]:.0f} %" for name in stat1 if name != "cpu")
        print(f"push.py: client CPU {(cpu1 - cpu0) * 1e3 / n:.3f} ms per push, "
              f"machine idle {whole:.0f} % (waiting for I/O {waiting:.0f} %)", file=sys.stderr)
        print(f"push.py: idle by CPU: {each}", file=sys.stderr)
    if failures:
        print(f"failures: {len(failures)}, first: {failures[0]}", file=sys.stderr)
        sys.exit(1)
    print(f"{n / elapsed:.1f}")


if __name__ == "__main__":
    main()
