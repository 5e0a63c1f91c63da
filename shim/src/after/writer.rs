//! The local spool's writer: the one task that changes the local spool. It takes new
//! after-events from the intake queue and delivery outcomes from the delivery tasks, and commits
//! whatever has arrived as one transaction with one fsync (group commit). While a commit is
//! running, new work queues up and goes into the next one, so the fsync rate adapts to the load
//! and the request path never waits for the disk.
//!
//! It also enforces the spool's bounds: an event that would make the spool exceed `max_events`
//! events, `max_bytes` bytes of records or a file of `max_bytes` is dropped, logged and counted
//! (`reason="spool_full"`).
//!
//! A commit that fails (a full disk, an I/O error) never wedges it: the store reopens the
//! database and the commit is tried once more; if that fails too, the batch's new events are
//! dropped, logged and counted (`reason="spool_error"`), its outcomes are kept for the next
//! commit, and the writer goes on (deliveries continue from what is stored).

use std::{
    sync::Arc,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use metrics::{counter, gauge, histogram};
use prost::Message as _;
use tokio::sync::{mpsc, watch};

use super::{
    Queued, SpoolStatus,
    deliver::Outcome,
    spool::{Batch, SpoolRecord, Store, Summary},
};

/// Most new events in one commit, so that one commit stays short under a burst (and with it the
/// events a crash can lose: those of the commit in progress and of the queue behind it).
const MAX_BATCH: usize = 1024;
/// Most record bytes in one commit, for the same reason.
const MAX_BATCH_BYTES: u64 = 1 << 20;
/// Least time between the starts of two commits (see the pacing in `Writer::run`).
const MIN_COMMIT_INTERVAL: Duration = Duration::from_millis(2);
/// Pause after a commit failed twice, before the next (new events wait in the queue meanwhile).
const COMMIT_RETRY: Duration = Duration::from_millis(500);
/// After a growth past `maxBytes` was refused, new events are refused until the records take
/// this share of what they took then (freed pages inside the file are then reused).
const FULL_HYSTERESIS: f64 = 0.9;

/// What the writer publishes after each commit.
#[derive(Debug, Clone, Default)]
pub(crate) struct State {
    /// The highest sequence number committed: everything up to it can be loaded.
    pub(crate) last_seq: u64,
    /// The last committed batch that added events, so that the feeder can deliver them without
    /// reading them back from the spool (one blocking-thread hop per commit less).
    pub(crate) fresh: Option<Arc<Batch>>,
    /// Events in the spool.
    pub(crate) events: u64,
    /// The intake queue is closed and everything in it is committed (or given up).
    pub(crate) intake_done: bool,
}

/// The spool's bounds.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    pub(crate) max_events: u64,
    pub(crate) max_bytes: u64,
}

/// The writer's state and inputs.
pub(crate) struct Writer {
    pub(crate) store: Arc<Store>,
    pub(crate) limits: Limits,
    pub(crate) intake: mpsc::Receiver<Queued>,
    pub(crate) outcomes: mpsc::UnboundedReceiver<Outcome<u64>>,
    /// Set when shutdown begins: the intake is closed and drained.
    pub(crate) stop_intake: watch::Receiver<bool>,
    pub(crate) state: watch::Sender<State>,
    pub(crate) status: Arc<SpoolStatus>,
}

/// Encodes an accepted event as its spool record.
pub(crate) fn record_of(q: Queued) -> (&'static str, SpoolRecord) {
    let Queued { event, unix_ms, .. } = q;
    let record = SpoolRecord {
        command: event.wire_name.to_owned(),
        operation_id: event.operation_id,
        idempotency_key: event.idempotency_key,
        payload: event.payload,
        accepted_unix_ms: unix_ms,
        traceparent: event
            .trace
            .as_ref()
            .map(|t| t.0.clone())
            .unwrap_or_default(),
        tracestate: event.trace.map(|t| t.1).unwrap_or_default(),
    };
    (event.command.name, record)
}

/// Logs and counts events that cannot be kept.
pub(crate) fn dropped(reason: &'static str, commands: &[&'static str], why: &str) {
    if commands.is_empty() {
        return;
    }
    tracing::error!(
        events = commands.len(),
        reason,
        why,
        "after-events dropped: they cannot be kept in the spool"
    );
    for command in commands {
        counter!("openim_shim_after_dropped_total", "command" => *command, "reason" => reason)
            .increment(1);
    }
}

impl Writer {
    /// Runs until the intake and every outcome sender are closed and everything is committed.
    pub(crate) async fn run(mut self, start: Summary) {
        let mut events = start.events;
        let mut bytes = start.bytes;
        let mut next_seq = start.last_seq + 1;
        let mut last_seq = start.last_seq;
        let mut intake_open = true;
        let mut outcomes_open = true;
        let mut stopping = false;
        // Outcomes of failed commits, committed with the next batch.
        let mut carried: Vec<Outcome<u64>> = Vec::new();
        // Set while the file is at `maxBytes`: new events are refused until the records shrink
        // below this many bytes.
        let mut full_until: Option<u64> = None;
        let mut failed_last = false;
        let mut last_commit: Option<tokio::time::Instant> = None;
        let mut fresh: Option<Arc<Batch>> = None;
        let store = self.store.clone();
        let file = tokio::task::spawn_blocking(move || store.file_len())
            .await
            .unwrap_or(0);
        self.publish(events, bytes, file);
        loop {
            let mut accepted = Vec::new();
            let mut outcomes = std::mem::take(&mut carried);
            if failed_last {
                // Give the disk a moment; new events wait in the queue.
                tokio::time::sleep(COMMIT_RETRY).await;
            }
            tokio::select! {
                biased;
                _ = self.stop_intake.wait_for(|s| *s), if !stopping => {
                    stopping = true;
                    // No new events from now on; those already queued are still committed.
                    self.intake.close();
                }
                o = self.outcomes.recv(), if outcomes_open => match o {
                    Some(o) => outcomes.push(o),
                    None => outcomes_open = false,
                },
                e = self.intake.recv(), if intake_open => match e {
                    Some(e) => accepted.push(e),
                    None => intake_open = false,
                },
                // Retry carried outcomes even when nothing new arrives.
                () = std::future::ready(()), if !outcomes.is_empty() => {}
                else => break,
            }
            // Pacing: at most one commit per MIN_COMMIT_INTERVAL, so that a steady trickle of
            // events and delivery outcomes shares fsyncs instead of paying one each (each costs
            // the shim ~30 µs of CPU, a fifth of a callback's, and a context switch). The
            // request path does not wait for it: OpenIM has its answer already; the event is
            // stored at most this much later.
            if !stopping && let Some(last) = last_commit {
                tokio::time::sleep_until(last + MIN_COMMIT_INTERVAL).await;
            }
            let mut batch_bytes = 0;
            while accepted.len() < MAX_BATCH && batch_bytes < MAX_BATCH_BYTES {
                match self.intake.try_recv() {
                    Ok(e) => {
                        batch_bytes += e.event.payload.len() as u64;
                        accepted.push(e);
                    }
                    Err(_) => break,
                }
            }
            while let Ok(o) = self.outcomes.try_recv() {
                outcomes.push(o);
            }
            gauge!("openim_shim_after_queue_depth").decrement(accepted.len() as f64);

            let mut batch = Batch::default();
            let mut removed_bytes = 0;
            for o in &outcomes {
                match *o {
                    Outcome::Done { key, bytes } => {
                        batch.remove.push(key);
                        removed_bytes += bytes;
                    }
                    Outcome::Attempted { key, attempts } => batch.attempts.push((key, attempts)),
                }
            }
            // Removals in this batch make room for its new events.
            let kept = events.saturating_sub(batch.remove.len() as u64);
            let kept_bytes = bytes.saturating_sub(removed_bytes);
            if full_until.is_some_and(|limit| kept_bytes < limit) {
                full_until = None;
                tracing::info!("the after-event spool has room again");
            }
            let mut added_bytes = 0;
            let mut commands = Vec::new();
            let mut ack_times = Vec::new();
            for q in accepted {
                let at = q.at;
                let (command, record) = record_of(q);
                let encoded = bytes::Bytes::from(record.encode_to_vec());
                let size = encoded.len() as u64;
                if full_until.is_some()
                    || kept + batch.append.len() as u64 >= self.limits.max_events
                    || kept_bytes + added_bytes + size > self.limits.max_bytes
                {
                    tracing::error!(command, operation_id = %record.operation_id,
                        idempotency_key = %record.idempotency_key,
                        max_events = self.limits.max_events, max_bytes = self.limits.max_bytes,
                        "after-event dropped: the spool is full");
                    counter!("openim_shim_after_dropped_total",
                        "command" => command, "reason" => "spool_full")
                    .increment(1);
                    continue;
                }
                added_bytes += size;
                commands.push(command);
                ack_times.push(at);
                batch.append.push((next_seq, encoded));
                next_seq += 1;
            }
            if !batch.is_empty() {
                let appended = batch.append.len() as u64;
                let top = batch.append.last().map(|(seq, _)| *seq);
                let batch = Arc::new(batch);
                last_commit = Some(tokio::time::Instant::now());
                match self.commit(&batch).await {
                    Ok(file) => {
                        failed_last = false;
                        events = kept + appended;
                        bytes = kept_bytes + added_bytes;
                        if let Some(top) = top {
                            last_seq = top;
                            fresh = Some(batch);
                        }
                        for at in ack_times {
                            histogram!("openim_shim_spool_commit_delay_seconds", "backend" => "local")
                                .record(at.elapsed().as_secs_f64());
                        }
                        self.status.local_ok();
                        self.publish(events, bytes, file);
                    }
                    Err(error) => {
                        failed_last = true;
                        let refused = self.store.take_refused();
                        let (reason, why) = if refused {
                            full_until = Some((bytes as f64 * FULL_HYSTERESIS) as u64);
                            ("spool_full", "the spool file reached spool.maxBytes")
                        } else {
                            ("spool_error", error.as_str())
                        };
                        tracing::error!(
                            error,
                            new_events = appended,
                            "cannot write to the after-event spool (tried twice, reopening it)"
                        );
                        dropped(reason, &commands, why);
                        if !refused {
                            self.status.local_error(&error, appended);
                        }
                        // The removals and attempt counts go into the next commit.
                        carried = outcomes;
                    }
                }
            }
            self.state.send_replace(State {
                last_seq,
                fresh: fresh.clone(),
                events,
                intake_done: !intake_open,
            });
        }
    }

    /// Publishes the spool's counts and the size of its file (`file`, read on a blocking
    /// thread: it is a `statx`).
    fn publish(&self, events: u64, bytes: u64, file: u64) {
        gauge!("openim_shim_spool_events", "backend" => "local").set(events as f64);
        gauge!("openim_shim_spool_bytes", "backend" => "local").set(bytes as f64);
        gauge!("openim_shim_spool_file_bytes").set(file as f64);
        self.status.local_counts(events, bytes, file);
    }

    /// Commits `batch`, once more if the first try fails (the store reopens the database in
    /// between). Returns the size of the spool file after it, or the error of the second try.
    async fn commit(&self, batch: &Arc<Batch>) -> Result<u64, String> {
        let mut error = String::new();
        for attempt in 0..2 {
            if attempt > 0 {
                tracing::warn!(
                    error,
                    "after-event spool commit failed; reopening and retrying"
                );
                // Let reads in progress on the failed database end, so that it can be reopened.
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            let (store, b) = (self.store.clone(), batch.clone());
            let committed = move || store.commit(&b).map(|()| store.file_len());
            error = match tokio::task::spawn_blocking(committed).await {
                Ok(Ok(file)) => return Ok(file),
                Ok(Err(e)) => e.to_string(),
                Err(e) => format!("commit task failed: {e}"),
            };
        }
        Err(error)
    }
}

/// Milliseconds since the Unix epoch (0 if the clock is before it).
pub(crate) fn unix_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}
