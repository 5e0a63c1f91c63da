//! Process plumbing shared by the `openim-shim` and `openim-policy` binaries: logging setup,
//! the shutdown signal, the units (durations, byte sizes) of flags and config files, TLS files,
//! and the keyed hash that replaces user and group IDs in kept records ([`pseudonym`]).

pub mod otel;
pub mod pseudonym;
pub mod telemetry;
pub mod tls;
pub mod units;

pub use units::{ByteSize, Duration, parse_duration};

/// The Tokio runtime of a server binary: one thread when the process has one CPU (a pod's CPU
/// limit of 1 included: `available_parallelism` reads the cgroup's quota), else the
/// multi-thread scheduler with a worker per CPU. `TOKIO_WORKER_THREADS` sets the worker count,
/// and asks for the multi-thread scheduler even on one CPU.
///
/// Why: on one CPU the multi-thread scheduler only adds wake-ups between its worker and the
/// I/O driver. With bench/run.py's mix, shim + no-op policy pinned to one core, the shim spent
/// a fifth less CPU per callback and served a quarter more callbacks per second on one thread.
pub fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    let one_cpu = std::thread::available_parallelism().map_or(true, |n| n.get() == 1);
    let mut builder = if one_cpu && std::env::var_os("TOKIO_WORKER_THREADS").is_none() {
        tokio::runtime::Builder::new_current_thread()
    } else {
        tokio::runtime::Builder::new_multi_thread()
    };
    builder.enable_all().build()
}

/// How often the timer anchor of [`block_on`] fires: well under the default deadlines of calls
/// (the shim's before-callbacks default to 1 s, and gRPC calls carry what is left of it); a
/// deadline configured shorter than this still works, it only wakes the driver as before.
const TIMER_ANCHOR: std::time::Duration = std::time::Duration::from_millis(250);

/// Runs a server binary's main future on `runtime`, with a timer anchor beside it: a task whose
/// timer fires every [`TIMER_ANCHOR`], so that a timer is always pending sooner than a call's
/// deadline.
///
/// Why: Tokio wakes its I/O driver (a write to an eventfd, then an `epoll_wait` that returns at
/// once) whenever a new timer expires before every timer pending when the driver last parked,
/// even while the runtime's one thread is busy running tasks (tokio-rs/tokio#5207, not fixed in
/// 1.x as of 1.54). Every call's deadline (tonic's `grpc-timeout`, the shim's timeouts) is such
/// a timer once the previous calls have finished: the policy wrote to its eventfd on 0.32-0.36
/// of every callback under bench (b)'s load. With the anchor pending, a deadline farther away than
/// it never wakes the driver; the anchor costs four wake-ups a second when the process is idle.
pub fn block_on<F: std::future::Future>(runtime: &tokio::runtime::Runtime, main: F) -> F::Output {
    runtime.block_on(async {
        let anchor = tokio::spawn(async {
            let mut tick = tokio::time::interval(TIMER_ANCHOR);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
            }
        });
        let output = main.await;
        anchor.abort();
        output
    })
}

/// SIGHUP, as a stream of occurrences: some process managers and operators send it to ask for a
/// reload, and without a handler it would end the process. Installed when this is called.
#[derive(Debug)]
pub struct Hangups(#[cfg(unix)] Option<tokio::signal::unix::Signal>);

impl Hangups {
    /// Starts listening for SIGHUP (from now on it no longer ends the process). Must be called
    /// inside the Tokio runtime.
    pub fn listen() -> Self {
        #[cfg(unix)]
        {
            let signal = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup());
            Self(
                signal
                    .map_err(|e| tracing::warn!(error = %e, "cannot listen for SIGHUP"))
                    .ok(),
            )
        }
        #[cfg(not(unix))]
        Self()
    }

    /// The next SIGHUP (never, where there is none).
    pub async fn next(&mut self) {
        #[cfg(unix)]
        if let Some(s) = self.0.as_mut()
            && s.recv().await.is_some()
        {
            return;
        }
        std::future::pending().await
    }
}

/// A future that completes on SIGINT (Ctrl-C) or SIGTERM (what orchestrators send), and logs
/// which one. The handlers are installed when this is called, not when the future is first
/// polled, so a signal sent right after the process says it is ready is not missed. Must be
/// called inside the Tokio runtime.
pub fn shutdown_signal() -> impl std::future::Future<Output = ()> + Send + 'static {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let interrupt = signal(SignalKind::interrupt());
        let terminate = signal(SignalKind::terminate());
        async move {
            // A handler that cannot be installed never fires; the other one still works.
            let wait = |s: std::io::Result<tokio::signal::unix::Signal>| async move {
                match s {
                    Ok(mut s) => {
                        s.recv().await;
                    }
                    Err(_) => std::future::pending::<()>().await,
                }
            };
            let signal = tokio::select! {
                () = wait(interrupt) => "SIGINT",
                () = wait(terminate) => "SIGTERM",
            };
            tracing::info!(signal, "shutting down");
        }
    }
    #[cfg(not(unix))]
    async {
        let _ = tokio::signal::ctrl_c().await;
        tracing::info!(signal = "Ctrl-C", "shutting down");
    }
}
