//! Sign-in throttling: after `max_failures` failed attempts within `window`
//! for one key (an email, or a client address), further attempts for that key
//! are refused until the window has passed. Pure and in memory.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

#[derive(Debug)]
pub struct Throttle {
    max_failures: u32,
    window: Duration,
    entries: Mutex<HashMap<String, Entry>>,
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    failures: u32,
    window_start: Instant,
}

impl Throttle {
    pub fn new(max_failures: u32, window: Duration) -> Self {
        Self {
            max_failures,
            window,
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// `Some(wait)` when `key` is locked out at `now`.
    pub fn blocked_for(&self, key: &str, now: Instant) -> Option<Duration> {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        let entry = entries.get(key)?;
        let elapsed = now.saturating_duration_since(entry.window_start);
        (entry.failures >= self.max_failures && elapsed < self.window)
            .then(|| self.window - elapsed)
    }

    /// Records a failed attempt for `key`.
    pub fn record_failure(&self, key: &str, now: Instant) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.len() > 100_000 {
            // Bound memory under a spray of distinct keys: drop expired entries.
            let window = self.window;
            entries.retain(|_, e| now.saturating_duration_since(e.window_start) < window);
        }
        let entry = entries.entry(key.to_owned()).or_insert(Entry {
            failures: 0,
            window_start: now,
        });
        if now.saturating_duration_since(entry.window_start) >= self.window {
            *entry = Entry {
                failures: 0,
                window_start: now,
            };
        }
        entry.failures += 1;
    }

    /// Forgets `key` (after a successful sign-in).
    pub fn clear(&self, key: &str) {
        self.entries
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locks_after_max_failures_and_unlocks_after_window() {
        let t = Throttle::new(3, Duration::from_secs(60));
        let t0 = Instant::now();
        for i in 0..3 {
            assert!(t.blocked_for("a@x.test", t0).is_none(), "attempt {i}");
            t.record_failure("a@x.test", t0);
        }
        let wait = t
            .blocked_for("a@x.test", t0 + Duration::from_secs(10))
            .unwrap();
        assert_eq!(wait, Duration::from_secs(50));
        assert!(
            t.blocked_for("b@x.test", t0).is_none(),
            "other keys unaffected"
        );
        assert!(t
            .blocked_for("a@x.test", t0 + Duration::from_secs(61))
            .is_none());
    }

    #[test]
    fn clear_forgets_failures() {
        let t = Throttle::new(2, Duration::from_secs(60));
        let t0 = Instant::now();
        t.record_failure("k", t0);
        t.clear("k");
        t.record_failure("k", t0);
        assert!(t.blocked_for("k", t0).is_none());
    }

    #[test]
    fn old_failures_start_a_new_window() {
        let t = Throttle::new(2, Duration::from_secs(60));
        let t0 = Instant::now();
        t.record_failure("k", t0);
        t.record_failure("k", t0 + Duration::from_secs(120));
        assert!(t.blocked_for("k", t0 + Duration::from_secs(121)).is_none());
    }
}
