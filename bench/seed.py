"""Seeds a Portcullis database (org `acme`, which must exist) at the issue's
scale, straight into the schema: 1k artifacts x 100 tags (each a small OCI
image manifest with tag history and references), 10k customers and 50k
entitlements (1-3 artifacts each, half all-tags, half 1-5 specific tags).
Usage: seed.py DB_PATH [CUSTOMERS ARTIFACTS TAGS_PER_ARTIFACT ENTITLEMENTS_PER_CUSTOMER]"""

import hashlib
import json
import random
import sqlite3
import sys
from datetime import datetime, timedelta, timezone


def main() -> None:
    db = sys.argv[1]
    customers, artifacts, tags, per_customer = (int(a) for a in (sys.argv[2:6] or [10_000, 1_000, 100, 5]))
    rng = random.Random(7)
    conn = sqlite3.connect(db, timeout=30)
    conn.execute("PRAGMA journal_mode=WAL")
    (org_id,) = conn.execute("SELECT id FROM orgs WHERE slug = 'acme'").fetchone()
    start = datetime(2026, 1, 1, tzinfo=timezone.utc)
    stamp = lambda i: (start + timedelta(seconds=i)).isoformat()  # noqa: E731
    cur = conn.cursor()
    cur.execute("BEGIN")

    def insert(sql, row):
        """Inserts one row; its id."""
        cur.execute(sql, row)
        return cur.lastrowid

    for a in range(artifacts):
        repo = insert(
            "INSERT INTO repositories (org_id, name, kind, created_at) VALUES (?, ?, 'container-image', ?)",
            (org_id, f"art-{a}", stamp(0)),
        )
        for t in range(tags):
            config = "sha256:" + hashlib.sha256(f"config {a} {t}".encode()).hexdigest()
            layer = "sha256:" + hashlib.sha256(f"layer {a} {t}".encode()).hexdigest()
            body = json.dumps({
                "schemaVersion": 2,
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config, "size": 100},
                "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": layer, "size": 1000}],
            }, separators=(",", ":")).encode()
            digest = "sha256:" + hashlib.sha256(body).hexdigest()
            manifest = insert(
                "INSERT INTO manifests (repository_id, digest, media_type, size, content, created_at) VALUES (?, ?, ?, ?, ?, ?)",
                (repo, digest, "application/vnd.oci.image.manifest.v1+json", len(body), body, stamp(t)),
            )
            cur.executemany(
                "INSERT INTO manifest_refs (manifest_id, digest, kind) VALUES (?, ?, ?)",
                [(manifest, config, "config"), (manifest, layer, "layer")],
            )
            cur.execute(
                "INSERT INTO tags (repository_id, name, manifest_id, pushed_at) VALUES (?, ?, ?, ?)",
                (repo, f"1.{t}", manifest, stamp(t)),
            )
            cur.execute(
                "INSERT INTO tag_history (repository_id, tag, digest, pushed_at) VALUES (?, ?, ?, ?)",
                (repo, f"1.{t}", digest, stamp(t)),
            )
    (first_repo,) = conn.execute("SELECT MIN(id) FROM repositories WHERE org_id = ?", (org_id,)).fetchone()
    for c in range(customers):
        customer = insert(
            "INSERT INTO customers (org_id, name, created_at) VALUES (?, ?, ?)",
            (org_id, f"seeded customer {c}", stamp(0)),
        )
        for e in range(per_customer):
            entitlement = insert(
                "INSERT INTO entitlements (customer_id, name, created_at, updated_at) VALUES (?, ?, ?, ?)",
                (customer, f"e{e}", stamp(0), stamp(0)),
            )
            for position, repo in enumerate(rng.sample(range(artifacts), rng.randint(1, 3))):
                all_tags = rng.random() < 0.5
                chosen = sorted({f"1.{rng.randrange(tags)}" for _ in range(rng.randint(1, 5))})
                cur.execute(
                    "INSERT INTO entitlement_grants (entitlement_id, repository_id, position, all_tags, tags) VALUES (?, ?, ?, ?, ?)",
                    (entitlement, first_repo + repo, position, int(all_tags), json.dumps(chosen)),
                )
    conn.commit()
    print(f"seeded {artifacts} artifacts x {tags} tags, {customers} customers, {customers * per_customer} entitlements")


if __name__ == "__main__":
    main()
