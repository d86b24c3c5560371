//! Password hashing with argon2id, off the async runtime, bounded: at most
//! one hash or verification per core runs at a time (each holds about
//! 19 MiB), and a caller that cannot get a turn within [`WAIT`] is refused
//! with [`Busy`] (answered 503 with `Retry-After`), so no burst of sign-ins,
//! set-password links or user creations can take the machine's memory.

use crate::NewPassword;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use std::sync::OnceLock;
use std::time::Duration;
use tokio::sync::Semaphore;

/// The longest password accepted for verification (sign-in); longer input
/// is refused before any work. New passwords are bounded by [`NewPassword`].
pub const MAX_PASSWORD_BYTES: usize = 1024;

/// How long a caller waits for a turn before it is refused with [`Busy`].
pub const WAIT: Duration = Duration::from_secs(5);

/// What `Retry-After` says when hashing is refused with [`Busy`].
pub const RETRY_AFTER_SECS: u64 = 5;

/// Every hashing turn was taken for longer than [`WAIT`]: try again later.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the server is busy checking passwords; try again in a few seconds")]
pub struct Busy;

/// A piece of password work for one of the password threads.
type Job = Box<dyn FnOnce() + Send>;

/// Turns for password work: as many as there are cores, each run on one of
/// as many dedicated threads. Dedicated, not the runtime's blocking pool:
/// the allocator keeps each thread's freed argon2 memory for that thread
/// (glibc keeps an arena per thread), so work spread over the many threads
/// of a blocking pool would leave about 19 MiB resident per thread that ever
/// ran it. With fixed threads that is at most one such block per turn.
struct Turns {
    semaphore: Semaphore,
    wait: Duration,
    jobs: std::sync::mpsc::Sender<Job>,
}

impl Turns {
    fn new(permits: usize, wait: Duration) -> Self {
        let permits = permits.max(1);
        let (jobs, queue) = std::sync::mpsc::channel::<Job>();
        let queue = std::sync::Arc::new(std::sync::Mutex::new(queue));
        for i in 0..permits {
            let queue = queue.clone();
            std::thread::Builder::new()
                .name(format!("password-{i}"))
                .spawn(move || loop {
                    // The lock is held only while taking a job.
                    let job = match queue.lock() {
                        Ok(q) => q.recv(),
                        Err(_) => return,
                    };
                    match job {
                        // A panic ends that job (its caller sees it), not
                        // the thread: the turns keep their threads.
                        Ok(job) => {
                            let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
                        }
                        Err(_) => return,
                    }
                })
                .expect("start a password thread");
        }
        Self {
            semaphore: Semaphore::new(permits),
            wait,
            jobs,
        }
    }

    /// Runs `work` on a password thread once a turn is free; the turn is
    /// held until `work` ends, even when the caller gives up waiting for it.
    async fn run<T: Send + 'static>(
        &'static self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, Busy> {
        let permit = tokio::time::timeout(self.wait, self.semaphore.acquire())
            .await
            .map_err(|_| Busy)?
            .map_err(|_| Busy)?;
        let (done, result) = tokio::sync::oneshot::channel();
        self.jobs
            .send(Box::new(move || {
                let out = work();
                drop(permit);
                let _ = done.send(out);
            }))
            .map_err(|_| Busy)?;
        Ok(result.await.expect("password work panicked"))
    }
}

fn turns() -> &'static Turns {
    static TURNS: OnceLock<Turns> = OnceLock::new();
    TURNS.get_or_init(|| {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        Turns::new(cores, WAIT)
    })
}

/// Hashes a password with argon2id (the crate's recommended parameters) on
/// the blocking pool, waiting for a turn. Returns the PHC string.
pub async fn hash(password: NewPassword) -> Result<String, Busy> {
    turns().run(move || hash_blocking(password.expose())).await
}

fn hash_blocking(password: &str) -> String {
    let salt = SaltString::generate(&mut rand::rngs::OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .expect("argon2 hashing with default parameters cannot fail")
        .to_string()
}

/// A hash of a random password, verified against when the user does not
/// exist so that "unknown email" and "wrong password" take the same time.
fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| {
        use rand::Rng;
        let random: String = rand::thread_rng()
            .sample_iter(&rand::distributions::Alphanumeric)
            .take(24)
            .map(char::from)
            .collect();
        hash_blocking(&random)
    })
}

/// The stored "hash" of a user who has no password yet (added with a
/// one-time set-password link). It is not a PHC string, so nothing ever
/// verifies against it.
pub const UNUSABLE: &str = "!unset";

/// Whether `stored` is a real password hash (not [`UNUSABLE`]).
pub fn is_usable(stored: &str) -> bool {
    stored.starts_with('$')
}

/// Verifies `password` against `stored` (or against a dummy hash when there
/// is no such user or it has no usable password, always answering `false`
/// then, in the same time), waiting for a turn.
pub async fn verify(stored: Option<String>, password: String) -> Result<bool, Busy> {
    turns()
        .run(move || {
            let stored = stored.filter(|s| is_usable(s));
            let exists = stored.is_some();
            let phc = stored.unwrap_or_else(|| dummy_hash().to_owned());
            let ok = PasswordHash::new(&phc)
                .map(|parsed| {
                    Argon2::default()
                        .verify_password(password.as_bytes(), &parsed)
                        .is_ok()
                })
                .unwrap_or(false);
            exists && ok
        })
        .await
}

/// Warms the dummy hash so the first unknown-email sign-in is not slower.
pub fn warm_up() {
    let _ = dummy_hash();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hash_is_argon2id_and_verifies() {
        let h = hash(NewPassword::parse("correct horse battery").unwrap())
            .await
            .unwrap();
        assert!(h.starts_with("$argon2id$"), "{h}");
        assert_eq!(
            verify(Some(h.clone()), "correct horse battery".into()).await,
            Ok(true)
        );
        assert_eq!(
            verify(Some(h), "wrong horse battery".into()).await,
            Ok(false)
        );
    }

    #[tokio::test]
    async fn unknown_user_never_verifies() {
        assert_eq!(verify(None, "anything".into()).await, Ok(false));
        assert_eq!(
            verify(Some("not a phc string".into()), "x".into()).await,
            Ok(false)
        );
        assert_eq!(
            verify(Some(UNUSABLE.into()), UNUSABLE.into()).await,
            Ok(false)
        );
        assert_eq!(
            verify(Some(UNUSABLE.into()), String::new()).await,
            Ok(false)
        );
    }

    #[tokio::test]
    async fn turns_are_bounded_and_a_long_wait_is_refused() {
        let turns: &'static Turns = Box::leak(Box::new(Turns::new(1, Duration::from_millis(100))));
        let (started_tx, started_rx) = std::sync::mpsc::channel();
        let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
        let holder = tokio::spawn(turns.run(move || {
            started_tx.send(()).unwrap();
            release_rx.recv().unwrap();
            1
        }));
        tokio::task::spawn_blocking(move || started_rx.recv().unwrap())
            .await
            .unwrap();
        // The only turn is taken: a second caller is refused after the wait.
        assert_eq!(turns.run(|| 2).await, Err(Busy));
        release_tx.send(()).unwrap();
        assert_eq!(holder.await.unwrap(), Ok(1));
        assert_eq!(turns.run(|| 3).await, Ok(3));
    }

    #[tokio::test]
    async fn a_panicking_job_leaves_its_thread_working() {
        let turns: &'static Turns = Box::leak(Box::new(Turns::new(1, Duration::from_secs(5))));
        let failed = tokio::spawn(turns.run(|| -> u8 { panic!("argon2 failed") })).await;
        assert!(failed.is_err(), "the caller sees the panic");
        // The only thread still takes work (the timeout only bounds a
        // failure: with the thread gone the job would wait forever).
        let next = tokio::time::timeout(Duration::from_secs(10), turns.run(|| 4)).await;
        assert_eq!(next, Ok(Ok(4)));
    }
}
