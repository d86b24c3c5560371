//! Sign-in throttling: after `max_failures` failed attempts within `window`
//! for one key (an email, or a client address), further attempts for that key
//! are refused until the window has passed. Pure and in memory.
//!
//! Sign-in counts an attempt *before* checking the password
//! ([`Throttle::attempt`]) and gives it back when it succeeds
//! ([`Throttle::forgive`], [`Throttle::clear`]): so parallel attempts cannot
//! all be checked before the first failure is recorded.

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

    /// Counts an attempt for `key` as a failure unless `key` is locked out
    /// (then `Err(wait)`, and nothing is counted). Checking and counting are
    /// one step, so of any number of parallel attempts at most
    /// `max_failures` get through.
    pub fn attempt(&self, key: &str, now: Instant) -> Result<(), Duration> {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(entry) = entries.get(key) {
            let elapsed = now.saturating_duration_since(entry.window_start);
            if entry.failures >= self.max_failures && elapsed < self.window {
                return Err(self.window - elapsed);
            }
        }
        self.count(&mut entries, key, now);
        Ok(())
    }

    /// Takes back one attempt counted by [`attempt`](Self::attempt) that
    /// turned out not to be a failure (it succeeded, or was never checked).
    pub fn forgive(&self, key: &str) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(entry) = entries.get_mut(key) {
            entry.failures = entry.failures.saturating_sub(1);
            if entry.failures == 0 {
                entries.remove(key);
            }
        }
    }

    /// Records a failed attempt for `key`.
    pub fn record_failure(&self, key: &str, now: Instant) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        self.count(&mut entries, key, now);
    }

    fn count(&self, entries: &mut HashMap<String, Entry>, key: &str, now: Instant) {
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
    fn attempts_count_before_the_check_and_can_be_forgiven() {
        let t = Throttle::new(5, Duration::from_secs(60));
        let t0 = Instant::now();
        // 40 attempts in flight at once: only 5 get through.
        let through = (0..40).filter(|_| t.attempt("k", t0).is_ok()).count();
        assert_eq!(through, 5);
        assert_eq!(
            t.attempt("k", t0 + Duration::from_secs(10)),
            Err(Duration::from_secs(50))
        );
        // A successful (or unchecked) attempt is given back.
        t.forgive("k");
        assert!(t.attempt("k", t0).is_ok());
        assert!(t.attempt("k", t0).is_err());
        let t = Throttle::new(2, Duration::from_secs(60));
        t.attempt("ok", t0).unwrap();
        t.forgive("ok");
        t.forgive("ok");
        t.attempt("ok", t0).unwrap();
        t.attempt("ok", t0).unwrap();
        assert!(t.attempt("ok", t0).is_err(), "forgiving never goes below 0");
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
