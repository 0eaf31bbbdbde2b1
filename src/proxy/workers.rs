//! Worker threads that serve client connections: one event loop per core.
//!
//! Each worker is a thread running its own single-threaded tokio runtime. An
//! accepted connection is handed to one worker, round robin, and lives there with
//! everything it spawns: its writer task and the backend connections it opens.
//! Shared backend connections are kept per worker (see
//! [`Server::link`](super::pool::Server::link)), so a request's whole way — client
//! socket, backend socket, reply — stays on one thread and never wakes another: each
//! worker is an event loop like nutcracker's, and there is one per core. A
//! work-stealing runtime instead hands tasks between cores, and on a loaded machine
//! every hand-off is a futex wake-up and a context switch.
//!
//! Without [`start`] (tests, library users) connections are served where they
//! are accepted, on whatever runtime that is.

use std::cell::Cell;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;
use tokio::sync::mpsc;

/// Work for a worker: runs inside its runtime, where it may spawn tasks.
type Job = Box<dyn FnOnce() + Send>;

struct Workers {
    queues: Vec<mpsc::UnboundedSender<Job>>,
    next: AtomicUsize,
}

static WORKERS: OnceLock<Workers> = OnceLock::new();

thread_local! {
    /// The index of the worker this thread is; 0 on any other thread.
    static CURRENT: Cell<usize> = const { Cell::new(0) };
}

/// Starts `count` worker threads for this process. Call it once, before any
/// pool is built: pools size their connection sets by [`count`].
///
/// # Errors
/// A thread or runtime cannot be created, or workers were started already.
pub fn start(count: usize) -> std::io::Result<()> {
    let mut queues = Vec::with_capacity(count);
    for index in 0..count {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let (tx, mut rx) = mpsc::unbounded_channel::<Job>();
        std::thread::Builder::new()
            .name(format!("shardcar-worker-{index}"))
            .spawn(move || {
                CURRENT.with(|current| current.set(index));
                runtime.block_on(async move {
                    while let Some(job) = rx.recv().await {
                        job();
                    }
                });
            })?;
        queues.push(tx);
    }
    WORKERS
        .set(Workers {
            queues,
            next: AtomicUsize::new(0),
        })
        .map_err(|_| std::io::Error::other("workers are started already"))
}

/// How many workers serve connections (1 when none were started).
pub fn count() -> usize {
    WORKERS.get().map_or(1, |w| w.queues.len())
}

/// The index of the worker running the caller (0 outside workers).
pub fn current() -> usize {
    CURRENT.with(Cell::get)
}

/// Runs `job` on the next worker, in its runtime, or at once here when no
/// workers were started (the caller is then in a runtime already).
pub fn run(job: impl FnOnce() + Send + 'static) {
    let Some(workers) = WORKERS.get() else {
        return job();
    };
    let index = workers.next.fetch_add(1, Ordering::Relaxed) % workers.queues.len();
    // A worker lives as long as the process: its queue never closes.
    let _ = workers.queues[index].send(Box::new(job));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn without_workers_a_job_runs_here_on_worker_zero() {
        let (tx, rx) = tokio::sync::oneshot::channel();
        run(move || {
            let _ = tx.send((current(), tokio::runtime::Handle::try_current().is_ok()));
        });
        assert_eq!(rx.await.unwrap(), (0, true));
        assert_eq!(count(), 1);
    }
}
