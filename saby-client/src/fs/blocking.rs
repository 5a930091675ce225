//! Where a client's blocking file work runs: at most `n` steps at once
//! ([`ClientBuilder::max_blocking_file_tasks`](crate::ClientBuilder::max_blocking_file_tasks)),
//! on at most `n` threads of the client's own, started when needed and ended after
//! [`IDLE_THREAD_LIFETIME`] without work.
//!
//! Why not `tokio::task::spawn_blocking` behind a semaphore: tokio starts a new pool thread
//! for every blocking task that finds no idle one at that instant, and a thread that has
//! just finished a step (and released its permit) is not idle yet. Under a steady stream of
//! short steps — a pipeline archiving hundreds of sets a second — the pool kept growing
//! well past the bound (measured: 16 threads after 1,000 sets, 28 after 10,000, with a
//! bound of 4), and every extra thread's stack and malloc arena stayed in the process's
//! memory. A pool of the client's own never has more threads than the bound.

use std::collections::VecDeque;
use std::path::Path;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::sync::{Semaphore, oneshot};

use crate::error::{Error, Result};

/// How long a file thread of a client waits for work before it ends: 10 s, as tokio keeps
/// an idle blocking-pool thread.
pub(crate) const IDLE_THREAD_LIFETIME: Duration = Duration::from_secs(10);

/// The name of the file threads (as `ps -L` / `/proc/<pid>/task/*/comm` show it).
pub(crate) const THREAD_NAME: &str = "saby-client-fs";

/// The blocking file work of one [`Client`](crate::Client) and its clones, bounded: at most
/// `n` of its steps (a download's writes, syncs, renames, a zip's check, directory syncs)
/// run at once, on at most `n` threads.
#[derive(Clone)]
pub(crate) struct BlockingFiles {
    /// One permit per step running or queued: at most `n` (FIFO for the waiting steps).
    permits: Arc<Semaphore>,
    pool: Arc<Pool>,
    #[cfg(test)]
    pub(crate) probe: Arc<probe::Probe>,
}

impl BlockingFiles {
    /// A bound of `n` steps at once (at least 1).
    pub(crate) fn new(n: usize) -> Self {
        let n = n.max(1);
        Self {
            permits: Arc::new(Semaphore::new(n)),
            pool: Arc::new(Pool::new(n)),
            #[cfg(test)]
            probe: Arc::default(),
        }
    }

    /// Runs `f` on one of the client's file threads once a permit is free. A panic in `f`
    /// becomes an [`Error::Io`] at `path`.
    ///
    /// Dropped while waiting for the permit, nothing runs. Dropped after `f` was handed
    /// over: if `f` has not started, it never starts (it is dropped on the file thread —
    /// whatever it owns cleans up after itself, a temporary file removes itself); if it
    /// has, it runs to its end, its permit held until then, so the bound holds under
    /// cancellation too.
    pub(crate) async fn run<T, F>(&self, path: &Path, f: F) -> Result<T>
    where
        F: FnOnce() -> Result<T> + Send + 'static,
        T: Send + 'static,
    {
        let failed = |source: std::io::Error| Error::Io {
            path: path.to_owned(),
            source,
        };
        // Never closed: waiting for a permit cannot fail.
        let permit = Arc::clone(&self.permits)
            .acquire_owned()
            .await
            .map_err(|e| failed(std::io::Error::other(e)))?;
        let (tx, rx) = oneshot::channel();
        #[cfg(test)]
        let probe = Arc::clone(&self.probe);
        self.pool
            .submit(Box::new(move || {
                let _permit = permit;
                if tx.is_closed() {
                    return; // Its caller is gone and it has not started: not started at all.
                }
                #[cfg(test)]
                let _running = probe.enter();
                let _ = tx.send(f());
            }))
            .map_err(failed)?;
        #[cfg(test)]
        self.probe.threads(self.pool.threads());
        rx.await
            .map_err(|_| failed(std::io::Error::other("a blocking file step panicked")))?
    }
}

type Job = Box<dyn FnOnce() + Send>;

/// Up to `max` threads taking jobs from one queue; each ends after
/// [`IDLE_THREAD_LIFETIME`] without a job.
struct Pool {
    state: Mutex<State>,
    /// Signalled when a job is queued for an idle thread.
    work: Condvar,
    max: usize,
}

#[derive(Default)]
struct State {
    queue: VecDeque<Job>,
    /// Threads alive.
    threads: usize,
    /// Threads waiting for a job, not yet woken for one.
    idle: usize,
    /// Wake-ups sent and not yet taken by a thread.
    woken: usize,
}

impl Pool {
    fn new(max: usize) -> Self {
        Self {
            state: Mutex::default(),
            work: Condvar::new(),
            max,
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // Jobs run outside the lock, so no panic can poison it; if one ever did, the state
        // is still consistent (every change is made in one critical section).
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Queues `job`, waking an idle thread or starting one (up to `max`). Fails only when no
    /// thread is alive and none can be started.
    fn submit(self: &Arc<Self>, job: Job) -> std::io::Result<()> {
        let mut state = self.lock();
        state.queue.push_back(job);
        if state.idle > 0 {
            state.idle -= 1;
            state.woken += 1;
            self.work.notify_one();
            return Ok(());
        }
        if state.threads >= self.max {
            // Every thread is busy: one takes the job when it is done with its own.
            return Ok(());
        }
        state.threads += 1;
        let pool = Arc::clone(self);
        let started = std::thread::Builder::new()
            .name(THREAD_NAME.to_owned())
            .spawn(move || pool.work_loop());
        if let Err(e) = started {
            state.threads -= 1;
            if state.threads == 0 {
                // Nobody would ever take it.
                drop(state.queue.pop_back());
                return Err(e);
            }
        }
        Ok(())
    }

    #[cfg(test)]
    fn threads(&self) -> usize {
        self.lock().threads
    }

    fn work_loop(&self) {
        let mut state = self.lock();
        loop {
            if let Some(job) = state.queue.pop_front() {
                drop(state);
                // A panicking job has reported itself (its caller sees the channel closed);
                // the thread goes on.
                let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
                state = self.lock();
                continue;
            }
            state.idle += 1;
            let (guard, wait) = self
                .work
                .wait_timeout(state, IDLE_THREAD_LIFETIME)
                .unwrap_or_else(PoisonError::into_inner);
            state = guard;
            if state.woken > 0 {
                // Woken for a job (by `submit`, which already counted it out of `idle`).
                state.woken -= 1;
            } else {
                state.idle -= 1;
                if wait.timed_out() && state.queue.is_empty() {
                    state.threads -= 1;
                    return;
                }
            }
        }
    }
}

/// Counting the blocking file steps running at once (unit tests only).
#[cfg(test)]
pub(crate) mod probe {
    use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
    use std::time::Duration;

    /// The steps running now, the most ever at once, the most file threads seen, and how
    /// long each step is held (to make concurrent steps overlap; not a timing assertion).
    #[derive(Default)]
    pub(crate) struct Probe {
        running: AtomicUsize,
        peak: AtomicUsize,
        steps: AtomicUsize,
        peak_threads: AtomicUsize,
        hold_micros: AtomicU64,
    }

    pub(crate) struct Running<'a>(&'a Probe);

    impl Probe {
        pub(crate) fn enter(&self) -> Running<'_> {
            let now = self.running.fetch_add(1, Ordering::SeqCst) + 1;
            self.peak.fetch_max(now, Ordering::SeqCst);
            self.steps.fetch_add(1, Ordering::SeqCst);
            let hold = self.hold_micros.load(Ordering::SeqCst);
            if hold > 0 {
                std::thread::sleep(Duration::from_micros(hold));
            }
            Running(self)
        }

        pub(crate) fn threads(&self, now: usize) {
            self.peak_threads.fetch_max(now, Ordering::SeqCst);
        }

        pub(crate) fn hold_each_step(&self, hold: Duration) {
            self.hold_micros
                .store(hold.as_micros() as u64, Ordering::SeqCst);
        }

        /// The most steps running at once.
        pub(crate) fn peak(&self) -> usize {
            self.peak.load(Ordering::SeqCst)
        }

        /// The most file threads alive at once, as seen after each hand-over.
        pub(crate) fn peak_threads(&self) -> usize {
            self.peak_threads.load(Ordering::SeqCst)
        }

        /// The steps run.
        pub(crate) fn steps(&self) -> usize {
            self.steps.load(Ordering::SeqCst)
        }
    }

    impl Drop for Running<'_> {
        fn drop(&mut self) {
            self.0.running.fetch_sub(1, Ordering::SeqCst);
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]

    use super::*;

    /// The pool's own guarantees, without the network: steps bounded, threads bounded,
    /// results in order of their callers, a panic reported and the pool still working.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn steps_and_threads_stay_within_the_bound() {
        let files = BlockingFiles::new(3);
        files.probe.hold_each_step(Duration::from_millis(2));
        let mut tasks = tokio::task::JoinSet::new();
        for i in 0..40u32 {
            let files = files.clone();
            tasks.spawn(async move { files.run(Path::new("x"), move || Ok(i * 2)).await });
        }
        let mut sum = 0;
        while let Some(done) = tasks.join_next().await {
            sum += done.unwrap().unwrap();
        }
        assert_eq!(sum, (0..40).map(|i| i * 2).sum::<u32>());
        assert_eq!(files.probe.steps(), 40);
        assert!(files.probe.peak() <= 3, "{}", files.probe.peak());
        assert!(files.probe.peak() >= 2, "the steps never overlapped");
        assert!(
            (1..=3).contains(&files.probe.peak_threads()),
            "{} threads",
            files.probe.peak_threads()
        );

        let err = files
            .run(Path::new("/d/f"), || -> Result<()> {
                panic!("a step failed")
            })
            .await
            .unwrap_err();
        assert!(
            matches!(&err, Error::Io { path, .. } if path == Path::new("/d/f")),
            "{err:?}"
        );
        assert_eq!(files.run(Path::new("x"), || Ok(7)).await.unwrap(), 7);
    }

    /// A step whose caller is dropped while it waits for its turn never runs, and the bound
    /// is not lost.
    #[tokio::test]
    async fn a_step_whose_caller_is_gone_before_its_turn_does_not_run() {
        let files = BlockingFiles::new(1);
        let (release, hold) = std::sync::mpsc::channel::<()>();
        let (started_tx, started) = oneshot::channel::<()>();
        // The one permit and the one thread, busy until released.
        let busy = tokio::spawn({
            let files = files.clone();
            async move {
                files
                    .run(Path::new("x"), move || {
                        let _ = started_tx.send(());
                        let _ = hold.recv();
                        Ok(())
                    })
                    .await
            }
        });
        started.await.unwrap();
        let ran = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let waiting = tokio::spawn({
            let (files, ran) = (files.clone(), Arc::clone(&ran));
            async move {
                files
                    .run(Path::new("y"), move || {
                        ran.store(true, std::sync::atomic::Ordering::SeqCst);
                        Ok(())
                    })
                    .await
            }
        });
        tokio::task::yield_now().await;
        waiting.abort();
        assert!(waiting.await.unwrap_err().is_cancelled());
        release.send(()).unwrap();
        busy.await.unwrap().unwrap();
        // The next step runs after the abandoned one would have: it did not.
        files.run(Path::new("z"), || Ok(())).await.unwrap();
        assert!(!ran.load(std::sync::atomic::Ordering::SeqCst));
    }
}
