"""Push a file as a generic OCI artifact with the oras Python SDK, pull it
back, and check the content. Usage: oras_roundtrip.py HOST EMAIL TOKEN REF"""

import os
import sys
import tempfile

import oras.client
import oras.provider


def main() -> int:
    host, email, token, ref = sys.argv[1:5]
    # The registry challenges with Basic auth, so use the SDK's basic backend.
    client = oras.client.OrasClient(hostname=host, insecure=True, auth_backend="basic")
    client.login(username=email, password=token, hostname=host)
    with tempfile.TemporaryDirectory() as work:
        src = os.path.join(work, "notes.txt")
        content = b"release notes for 1.0\n" * 50
        with open(src, "wb") as f:
            f.write(content)
        os.chdir(work)
        client.push(target=f"{host}/{ref}", files=["notes.txt:text/plain"])
        out = os.path.join(work, "out")
        client.pull(target=f"{host}/{ref}", outdir=out)
        with open(os.path.join(out, "notes.txt"), "rb") as f:
            pulled = f.read()
        if pulled != content:
            print("pulled content differs", file=sys.stderr)
            return 1
    print("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
