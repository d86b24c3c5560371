//! Upload ids. A session with no chunk yet is not stored (its POST writes
//! nothing): its id says which repository it is for and when it started,
//! `<uuid>-<start, unix seconds in hex>-<check>`, where the check is the
//! first 8 bytes of a sha256 over the rest and the repository's name. Any
//! instance can read it. An id that was not made here, was made for
//! another repository, or started longer ago than an idle session lives
//! ([`super::UPLOAD_IDLE`]) is unknown, as a stored session would be.
//!
//! The check is not a secret and need not be: it catches ids that are
//! mistyped, stale or used on the wrong repository. Someone who computes an
//! id gets no more than a POST would give them, as every upload request is
//! authorized against the repository in its path.

use chrono::{DateTime, Utc};
use sha2::Digest as _;

/// A start this far ahead of this instance's clock is still accepted
/// (another instance's clock may run ahead).
const CLOCK_SKEW_SECS: i64 = 60;

fn check(name: &str, uuid: &str, start: &str) -> String {
    let mut h = sha2::Sha256::new();
    for part in ["portcullis upload", name, uuid, start] {
        h.update(part.as_bytes());
        h.update([0]);
    }
    hex::encode(&h.finalize()[..8])
}

fn is_hex(s: &str, len: std::ops::RangeInclusive<usize>) -> bool {
    len.contains(&s.len()) && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// The parts of a well-formed id: uuid, start, check.
fn parts(id: &str) -> Option<(&str, &str, &str)> {
    let mut it = id.split('-');
    let (uuid, start, check) = (it.next()?, it.next()?, it.next()?);
    (it.next().is_none()
        && is_hex(uuid, 32..=32)
        && is_hex(start, 1..=16)
        && is_hex(check, 16..=16))
    .then_some((uuid, start, check))
}

/// A new upload id for repository `name`, started `now`.
pub fn mint(name: &str, now: DateTime<Utc>) -> String {
    let uuid = uuid::Uuid::new_v4().simple().to_string();
    let start = format!("{:x}", now.timestamp().max(0));
    let check = check(name, &uuid, &start);
    format!("{uuid}-{start}-{check}")
}

/// Whether `id` has the shape of an upload id: one of [`mint`]'s, or a
/// plain UUID (the ids of sessions stored by an earlier version).
pub fn well_formed(id: &str) -> bool {
    parts(id).is_some() || uuid::Uuid::parse_str(id).is_ok()
}

/// Whether `id` is one of [`mint`]'s for repository `name`, started at most
/// `idle` before `now`.
pub fn valid(id: &str, name: &str, now: DateTime<Utc>, idle: std::time::Duration) -> bool {
    let Some((uuid, start, sum)) = parts(id) else {
        return false;
    };
    let Ok(secs) = i64::from_str_radix(start, 16) else {
        return false;
    };
    let age = now.timestamp() - secs;
    let idle = i64::try_from(idle.as_secs()).unwrap_or(i64::MAX);
    (-CLOCK_SKEW_SECS..=idle).contains(&age) && check(name, uuid, start) == sum
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    const HOUR: Duration = Duration::from_secs(3600);

    #[test]
    fn an_id_is_valid_for_its_repository_while_fresh() {
        let t = Utc::now();
        let id = mint("acme/web", t);
        assert!(well_formed(&id));
        assert!(valid(&id, "acme/web", t, HOUR));
        assert!(valid(
            &id,
            "acme/web",
            t + chrono::Duration::minutes(59),
            HOUR
        ));
        // Another repository's, or too old.
        assert!(!valid(&id, "acme/web2", t, HOUR));
        assert!(!valid(
            &id,
            "acme/web",
            t + chrono::Duration::minutes(61),
            HOUR
        ));
        // Started ahead of this clock: within the skew only.
        assert!(valid(
            &id,
            "acme/web",
            t - chrono::Duration::seconds(30),
            HOUR
        ));
        assert!(!valid(
            &id,
            "acme/web",
            t - chrono::Duration::minutes(5),
            HOUR
        ));
        // Two ids differ.
        assert_ne!(id, mint("acme/web", t));
    }

    #[test]
    fn altered_or_foreign_ids_are_not_valid() {
        let t = Utc::now();
        let id = mint("acme/web", t);
        let (uuid, start, sum) = parts(&id).unwrap();
        // Any changed part breaks the check.
        let later = format!("{:x}", t.timestamp() + 1);
        let other_uuid = uuid::Uuid::new_v4().simple().to_string();
        for altered in [
            format!("{uuid}-{later}-{sum}"),
            format!("{other_uuid}-{start}-{sum}"),
            format!("{uuid}-{start}-{}", "0".repeat(16)),
        ] {
            assert!(well_formed(&altered));
            assert!(!valid(&altered, "acme/web", t, HOUR), "{altered}");
        }
        // A plain UUID is well formed (stored sessions of an earlier
        // version) but never valid without its row; junk is neither.
        let legacy = uuid::Uuid::new_v4().to_string();
        assert!(well_formed(&legacy));
        assert!(!valid(&legacy, "acme/web", t, HOUR));
        for junk in [
            "",
            "x",
            "../../etc",
            &format!("{uuid}-{start}"),
            &format!("{uuid}-{start}-{sum}-0"),
            &format!("{}-{start}-{sum}", "A".repeat(32)),
            &format!("{uuid}-{}-{sum}", "f".repeat(17)),
        ] {
            assert!(!well_formed(junk), "{junk}");
            assert!(!valid(junk, "acme/web", t, HOUR), "{junk}");
        }
    }
}
