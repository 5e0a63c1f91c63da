//! Background delivery of after-events to the policy, at least once.
//!
//! OpenIM sends after-callbacks from 2 workers with a 100-slot buffer per process, drops them
//! when the receiver is slow, and never retries (docs/openim-protocol.md §2.4). So the shim acknowledges at
//! once and owns delivery:
//!
//! 1. the request path encodes the event, gives it an idempotency key ([`idempotency_key`]) and
//!    puts it on a bounded in-memory intake queue ([`AfterQueue::push`], no waiting, no I/O);
//! 2. a backend keeps it until it is delivered:
//!    - local (`writer`, `spool`): the spool writer commits what the queue holds to a redb
//!      database (on disk, or in memory) in group commits, one fsync per batch, and a feeder
//!      reads it back in order;
//!    - Redis (`redis`): a stream that every shim of a fleet appends to (XADD, pipelined in
//!      batches) and reads from as one consumer group, so that what one shim accepted another
//!      can deliver; while Redis cannot be reached, events go to the local spool and are moved
//!      to Redis when it is back;
//! 3. the delivery tasks (`deliver`, the same for both) call the policy, at most `concurrency`
//!    at a time, retrying with exponential backoff and jitter; an event leaves the spool only
//!    once the policy has it.
//!
//! What can be lost, and is then logged and counted (`openim_shim_after_dropped_total`): events
//! beyond a full intake queue (`queue_full`) or a full spool (`spool_full`), events retried for
//! longer than `max_age` (`expired`), and on a crash (not a SIGTERM) the events acknowledged but
//! not yet committed, i.e. at most those of the commit in progress and the queue behind it
//! (typically a few milliseconds' worth). SIGTERM commits everything queued first.

mod deliver;
mod redis;
pub mod spool;
mod writer;

use std::{
    collections::HashMap,
    fmt::Write as _,
    hash::Hasher as _,
    sync::{
        Arc, Mutex,
        atomic::{AtomicI64, Ordering},
    },
    time::{Duration, Instant},
};

use bytes::Bytes;
use metrics::{counter, gauge};
use tokio::{
    sync::{mpsc, watch},
    task::JoinHandle,
};

use crate::{
    commands::Command,
    config::{RetrySettings, SpoolSettings},
    policy_client::PolicyClient,
};
pub use spool::SpoolError;
use spool::Store;
use writer::unix_ms;

/// One after-event, its request already encoded.
#[derive(Debug)]
pub struct AfterEvent {
    /// The table row (its RPC and canonical name).
    pub command: &'static Command,
    /// The name OpenIM used.
    pub wire_name: &'static str,
    /// OpenIM's operation ID.
    pub operation_id: String,
    /// The idempotency key (also inside `payload`'s context).
    pub idempotency_key: String,
    /// The encoded request message.
    pub payload: Bytes,
    /// The W3C `traceparent` and `tracestate` of the callback that brought it, if any.
    pub trace: Option<(String, String)>,
}

/// The idempotency key of an after-event: `<configKey>:<natural key>:<operationID>`, where the
/// natural key is the event's own ID (e.g. the server message ID) or, for events without one,
/// `#` and the FNV-1a 64-bit hash of the encoded request in hex. The same OpenIM event always
/// gets the same key, so a policy can drop the duplicates at-least-once delivery may bring.
pub fn idempotency_key(
    command: &Command,
    natural: Option<&str>,
    encoded_request: &[u8],
    operation_id: &str,
) -> String {
    match natural {
        Some(id) => format!("{}:{id}:{operation_id}", command.config_key),
        None => {
            let mut h = fnv::FnvHasher::default();
            h.write(encoded_request);
            format!("{}:#{:016x}:{operation_id}", command.config_key, h.finish())
        }
    }
}

/// An event on the intake queue, with when it was acknowledged.
#[derive(Debug)]
pub(crate) struct Queued {
    pub(crate) event: AfterEvent,
    /// When it was acknowledged (for the commit delay).
    pub(crate) at: Instant,
    /// The same, in ms since the Unix epoch (for `after.maxAge` and the oldest event's age).
    pub(crate) unix_ms: i64,
}

/// Handle to the intake queue; cheap to share.
#[derive(Debug, Clone)]
pub struct AfterQueue {
    tx: mpsc::Sender<Queued>,
}

impl AfterQueue {
    /// Queues an event for the spool without waiting. A full or closed queue drops the event:
    /// logged and counted. Returns whether it was queued.
    pub fn push(&self, event: AfterEvent) -> bool {
        let command = event.command.name;
        let queued = Queued {
            event,
            at: Instant::now(),
            unix_ms: unix_ms(),
        };
        match self.tx.try_send(queued) {
            Ok(()) => {
                gauge!("openim_shim_after_queue_depth").increment(1.0);
                true
            }
            Err(e) => {
                let (reason, q) = match e {
                    mpsc::error::TrySendError::Full(q) => ("queue_full", q),
                    mpsc::error::TrySendError::Closed(q) => ("shutting_down", q),
                };
                tracing::error!(command, operation_id = %q.event.operation_id,
                    idempotency_key = %q.event.idempotency_key, reason,
                    "after-event dropped: the spool's intake queue is full or closed");
                counter!("openim_shim_after_dropped_total", "command" => command, "reason" => reason)
                    .increment(1);
                false
            }
        }
    }
}

/// Settings of the delivery machinery.
#[derive(Debug, Clone)]
pub struct DeliverySettings {
    /// Intake queue capacity.
    pub queue: usize,
    /// Deliveries in flight, at most.
    pub concurrency: usize,
    /// Retry schedule.
    pub retry: RetrySettings,
    /// Deadline of one attempt, by command name.
    pub timeouts: HashMap<&'static str, Duration>,
    /// Deadline for commands missing from `timeouts`.
    pub default_timeout: Duration,
    /// How long a policy endpoint's UNIMPLEMENTED is remembered.
    pub unimplemented_ttl: Duration,
    /// The spool.
    pub spool: SpoolSettings,
}

/// The spool's state for `/readyz` and the log: one line per backend.
#[derive(Debug, Default)]
pub struct SpoolStatus {
    inner: Mutex<StatusInner>,
}

#[derive(Debug, Default)]
struct StatusInner {
    local_events: u64,
    local_bytes: u64,
    local_file: u64,
    local_max_bytes: u64,
    local_durable: bool,
    local_oldest_ms: Option<i64>,
    /// The last storage error and when (ms since the epoch), until a commit succeeds.
    local_error: Option<(String, i64)>,
    /// Events that could not be stored because of storage errors.
    local_error_drops: u64,
    redis: Option<RedisStatus>,
}

/// What the Redis backend last saw.
#[derive(Debug, Default, Clone)]
pub(crate) struct RedisStatus {
    pub(crate) url: String,
    pub(crate) stream: String,
    pub(crate) consumer: String,
    /// The last error, while Redis cannot be used.
    pub(crate) error: Option<String>,
    pub(crate) stream_len: u64,
    pub(crate) pending: u64,
    pub(crate) oldest_ms: Option<i64>,
    pub(crate) claimed: u64,
}

impl SpoolStatus {
    fn with(&self, f: impl FnOnce(&mut StatusInner)) {
        f(&mut self.inner.lock().unwrap_or_else(|e| e.into_inner()));
    }

    pub(crate) fn local_counts(&self, events: u64, bytes: u64, file: u64) {
        self.with(|s| (s.local_events, s.local_bytes, s.local_file) = (events, bytes, file));
    }

    pub(crate) fn local_ok(&self) {
        self.with(|s| s.local_error = None);
    }

    pub(crate) fn local_error(&self, error: &str, dropped: u64) {
        self.with(|s| {
            s.local_error = Some((error.to_owned(), unix_ms()));
            s.local_error_drops += dropped;
        });
    }

    fn local_oldest(&self, oldest_ms: Option<i64>) {
        self.with(|s| s.local_oldest_ms = oldest_ms);
    }

    pub(crate) fn redis(&self, f: impl FnOnce(&mut RedisStatus)) {
        self.with(|s| f(s.redis.get_or_insert_with(RedisStatus::default)));
    }

    /// Lines for `/readyz`: `spool local: ...`, `spool redis: ...`.
    pub fn report(&self) -> String {
        let s = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let age = |ms: Option<i64>| {
            ms.map_or_else(
                || "-".to_owned(),
                |ms| format!("{:.1}s", (unix_ms() - ms).max(0) as f64 / 1000.0),
            )
        };
        let mut out = String::new();
        let state = match &s.local_error {
            None => "ok".to_owned(),
            Some((e, at)) => format!(
                "failing since {:.1}s ago: {e}",
                (unix_ms() - at).max(0) as f64 / 1000.0
            ),
        };
        let _ = writeln!(
            out,
            "spool local{}: {state}; events={} record_bytes={} file_bytes={} max_bytes={} oldest_age={} not_stored_by_errors={}",
            if s.redis.is_some() { " (fallback)" } else { "" },
            s.local_events,
            s.local_bytes,
            s.local_file,
            s.local_max_bytes,
            age(s.local_oldest_ms),
            s.local_error_drops,
        );
        if !s.local_durable {
            let _ = writeln!(out, "spool local: in memory (spool.enabled: false)");
        }
        if let Some(r) = &s.redis {
            let state = r
                .error
                .as_ref()
                .map_or_else(|| "ok".to_owned(), |e| format!("unreachable: {e}"));
            let _ = writeln!(
                out,
                "spool redis {} stream={} consumer={}: {state}; stream_len={} pending={} oldest_age={} claimed={}",
                r.url,
                r.stream,
                r.consumer,
                r.stream_len,
                r.pending,
                age(r.oldest_ms),
                r.claimed,
            );
        }
        out
    }
}

/// When an after-event was last delivered (done with by the policy), in ms since the epoch:
/// the drain at shutdown goes on while deliveries succeed.
static LAST_DONE_MS: AtomicI64 = AtomicI64::new(0);

/// The running delivery machinery; [`Delivery::shutdown`] stops it.
#[derive(Debug)]
pub struct Delivery {
    backend: Backend,
    client: PolicyClient,
    drain_timeout: Duration,
    gauges: JoinHandle<()>,
}

#[derive(Debug)]
enum Backend {
    Local {
        writer: JoinHandle<()>,
        feeder: JoinHandle<()>,
        stop_intake: watch::Sender<bool>,
        stop_delivery: watch::Sender<bool>,
        state: watch::Receiver<writer::State>,
        durable: bool,
    },
    Redis(redis::Running),
}

/// Opens the local spool (with Redis, the fallback): blocking, so done on a blocking thread.
pub async fn open_spool(settings: &SpoolSettings) -> Result<Store, SpoolError> {
    let dir = settings.dir.clone();
    let max_bytes = settings.max_bytes;
    let open = move || match dir {
        Some(dir) => Store::open(&dir, max_bytes),
        None => Store::in_memory(max_bytes),
    };
    match tokio::task::spawn_blocking(open).await {
        Ok(r) => r,
        Err(e) => std::panic::resume_unwind(e.into_panic()),
    }
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    match tokio::task::spawn_blocking(f).await {
        Ok(r) => r,
        Err(e) => std::panic::resume_unwind(e.into_panic()),
    }
}

/// Starts the backend and the delivery of what it holds and what arrives on the returned queue.
pub async fn start(
    client: PolicyClient,
    store: Store,
    settings: DeliverySettings,
) -> Result<(AfterQueue, Delivery, Arc<SpoolStatus>), SpoolError> {
    let store = Arc::new(store);
    let reader = store.clone();
    let summary = blocking(move || reader.summary()).await?;
    if summary.events > 0 {
        tracing::info!(
            events = summary.events,
            bytes = summary.bytes,
            "after-events found in the spool: delivering them"
        );
    }
    let status = Arc::new(SpoolStatus::default());
    status.with(|s| {
        s.local_max_bytes = settings.spool.max_bytes;
        s.local_durable = store.is_durable();
    });
    let (tx, intake) = mpsc::channel(settings.queue);
    let (stop_delivery, stop_delivery_rx) = watch::channel(false);
    let deliverer = Arc::new(deliver::Deliverer {
        client: client.clone(),
        retry: settings.retry,
        timeouts: settings.timeouts,
        default_timeout: settings.default_timeout,
        unimplemented_ttl: settings.unimplemented_ttl,
        stop: stop_delivery_rx,
    });
    let backend = match &settings.spool.redis {
        Some(redis) => Backend::Redis(
            redis::start(redis::Start {
                settings: redis.clone(),
                max_events: settings.spool.max_events,
                store: store.clone(),
                summary,
                intake,
                deliverer,
                concurrency: settings.concurrency,
                stop_delivery,
                status: status.clone(),
            })
            .await?,
        ),
        None => {
            let durable = store.is_durable();
            let (outcomes_tx, outcomes) = mpsc::unbounded_channel();
            let (stop_intake, stop_intake_rx) = watch::channel(false);
            let (state_tx, state) = watch::channel(writer::State {
                last_seq: summary.last_seq,
                fresh: None,
                events: summary.events,
                intake_done: false,
            });
            let writer = tokio::spawn(
                writer::Writer {
                    store: store.clone(),
                    limits: writer::Limits {
                        max_events: settings.spool.max_events,
                        max_bytes: settings.spool.max_bytes,
                    },
                    intake,
                    outcomes,
                    stop_intake: stop_intake_rx,
                    state: state_tx,
                    status: status.clone(),
                }
                .run(summary),
            );
            let feeder = tokio::spawn(deliverer.feed(
                store.clone(),
                state.clone(),
                settings.concurrency,
                outcomes_tx,
            ));
            Backend::Local {
                writer,
                feeder,
                stop_intake,
                stop_delivery,
                state,
                durable,
            }
        }
    };
    let gauges = tokio::spawn(local_gauges(store, status.clone()));
    Ok((
        AfterQueue { tx },
        Delivery {
            backend,
            client,
            drain_timeout: settings.spool.drain_timeout,
            gauges,
        },
        status,
    ))
}

/// How often the oldest event's age is measured.
const GAUGE_EVERY: Duration = Duration::from_secs(1);

/// Publishes the local spool's oldest event's age, every `GAUGE_EVERY`.
async fn local_gauges(store: Arc<Store>, status: Arc<SpoolStatus>) {
    loop {
        let s = store.clone();
        if let Ok(oldest) = blocking(move || s.oldest_accepted_ms()).await {
            let age = oldest.map_or(0.0, |ms| (unix_ms() - ms).max(0) as f64 / 1000.0);
            gauge!("openim_shim_spool_oldest_age_seconds", "backend" => "local").set(age);
            status.local_oldest(oldest);
        }
        tokio::time::sleep(GAUGE_EVERY).await;
    }
}

/// Whether the drain at shutdown should go on: the policy takes deliveries (one succeeded in the
/// last second, or an after-event connection to it is up).
fn policy_takes_deliveries(client: &PolicyClient) -> bool {
    unix_ms() - LAST_DONE_MS.load(Ordering::Relaxed) < 1000
        || client
            .endpoints()
            .iter()
            .any(|e| e.pool == "after" && e.state == "connected" && !e.ejected)
}

/// Time kept back from the caller's deadline to stop the deliveries and commit their outcomes.
const FINISH_RESERVE: Duration = Duration::from_millis(500);

impl Delivery {
    /// Stops, finishing by `deadline` (the caller's share of the grace period):
    ///
    /// 1. closes the intake and writes what it holds to the spool;
    /// 2. drains: while the policy takes deliveries, keeps delivering what is pending, for at
    ///    most `spool.drainTimeout` and until shortly before `deadline`; with Redis, only what
    ///    this shim holds (the other replicas deliver the rest);
    /// 3. stops the deliveries in flight (their events stay spooled: with Redis, released to the
    ///    other replicas at once) and commits their outcomes.
    ///
    /// With an in-memory spool what is left then is lost, logged and counted.
    pub async fn shutdown(self, deadline: tokio::time::Instant) {
        let started = tokio::time::Instant::now();
        let drain_until = (started + self.drain_timeout)
            .min(deadline.checked_sub(FINISH_RESERVE).unwrap_or(started));
        let client = self.client;
        let drain = |pending: Box<dyn Fn() -> bool + Send>| async move {
            loop {
                if !pending() {
                    return true;
                }
                let now = tokio::time::Instant::now();
                // Give the policy connection a moment to show itself before judging it.
                let judged = now >= started + Duration::from_millis(1500);
                if now >= drain_until || (judged && !policy_takes_deliveries(&client)) {
                    return false;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        };
        match self.backend {
            Backend::Local {
                writer,
                feeder,
                stop_intake,
                stop_delivery,
                mut state,
                durable,
            } => {
                let _ = stop_intake.send(true);
                // Everything queued is committed first (bounded by the deadline).
                let committed = state.wait_for(|s| s.intake_done);
                let _ = tokio::time::timeout_at(deadline, committed).await;
                let watched = state.clone();
                let emptied = drain(Box::new(move || watched.borrow().events > 0)).await;
                let left = state.borrow().events;
                if !emptied {
                    tracing::info!(
                        events = left,
                        drained_for = ?started.elapsed(),
                        "drain at shutdown ended (policy unreachable, or drainTimeout / the \
                         deadline reached)"
                    );
                }
                let _ = stop_delivery.send(true);
                if let Err(e) = feeder.await {
                    tracing::error!(error = %e, "after-event delivery task failed");
                }
                // Every outcome sender is gone with the feeder: the writer commits and ends.
                if let Err(e) = writer.await {
                    tracing::error!(error = %e, "after-event spool writer failed");
                }
                let left = state.borrow().events;
                if left > 0 {
                    if durable {
                        tracing::info!(
                            events = left,
                            "after-events kept in the spool for the next start"
                        );
                    } else {
                        tracing::error!(
                            events = left,
                            "after-events lost at shutdown: the spool is in memory (spool.enabled: false)"
                        );
                        counter!("openim_shim_after_dropped_total",
                            "command" => "unknown", "reason" => "shutdown")
                        .increment(left);
                    }
                } else {
                    tracing::info!(took = ?started.elapsed(), "after-event spool empty at shutdown");
                }
            }
            Backend::Redis(running) => running.shutdown(deadline, drain).await,
        }
        self.gauges.abort();
    }
}
#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::lookup;

    #[test]
    fn keys_use_the_natural_id_or_a_hash_of_the_request() {
        let (_, cmd) = lookup("callbackAfterSendSingleMsgCommand").unwrap();
        assert_eq!(
            idempotency_key(cmd, Some("srv-1"), b"ignored", "op-1"),
            "afterSendSingleMsg:srv-1:op-1"
        );
        let a = idempotency_key(cmd, None, b"request a", "op-1");
        let b = idempotency_key(cmd, None, b"request b", "op-1");
        assert_ne!(a, b);
        assert_eq!(a, idempotency_key(cmd, None, b"request a", "op-1"));
        // FNV-1a 64 test vector ("a"): the key must not change across versions.
        assert_eq!(
            idempotency_key(cmd, None, b"a", "op-1"),
            "afterSendSingleMsg:#af63dc4c8601ec8c:op-1"
        );
    }
}
