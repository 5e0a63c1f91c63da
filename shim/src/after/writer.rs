//! The spool writer: the one task that changes the spool. It takes new after-events from the
//! intake queue and delivery outcomes from the delivery tasks, and commits whatever has arrived
//! as one transaction with one fsync (group commit). While a commit is running, new work queues
//! up and goes into the next one, so the fsync rate adapts to the load and the request path
//! never waits for the disk.
//!
//! It also enforces the spool's bounds: an event that would make the spool exceed `max_events`
//! or `max_bytes` is dropped, logged and counted (`reason="spool_full"`).

use std::{
    sync::Arc,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use metrics::{counter, gauge};
use prost::Message as _;
use tokio::sync::{mpsc, watch};

use super::{
    AfterEvent,
    spool::{Batch, SpoolRecord, Store, Summary},
};

/// Most new events in one commit, so that one commit stays short under a burst.
const MAX_BATCH: usize = 4096;
/// Backoff between attempts of a commit that failed (disk full, I/O error).
const COMMIT_RETRY: Duration = Duration::from_millis(500);
/// Attempts of a failing commit once shutdown has begun, before its events are given up.
const COMMIT_ATTEMPTS_AT_SHUTDOWN: u32 = 3;

/// What a delivery task reports about a spooled event.
#[derive(Debug)]
pub(crate) enum Outcome {
    /// Done with: delivered, or given up. Removes it.
    Done {
        /// Sequence number.
        seq: u64,
        /// Size of its record, to keep the spool's byte count.
        bytes: u64,
    },
    /// This many attempts were made so far (kept across restarts).
    Attempted {
        /// Sequence number.
        seq: u64,
        /// Attempts made.
        attempts: u32,
    },
}

/// What the writer publishes after each commit.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct State {
    /// The highest sequence number committed: everything up to it can be loaded.
    pub(crate) last_seq: u64,
    /// Events in the spool.
    pub(crate) events: u64,
    /// The intake queue is closed and everything in it is committed.
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
    pub(crate) intake: mpsc::Receiver<AfterEvent>,
    pub(crate) outcomes: mpsc::UnboundedReceiver<Outcome>,
    /// Set when shutdown begins: the intake is closed and drained.
    pub(crate) stop_intake: watch::Receiver<bool>,
    pub(crate) state: watch::Sender<State>,
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
        publish_gauges(events, bytes);
        loop {
            let mut accepted = Vec::new();
            let mut outcomes = Vec::new();
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
                else => break,
            }
            while accepted.len() < MAX_BATCH {
                match self.intake.try_recv() {
                    Ok(e) => accepted.push(e),
                    Err(_) => break,
                }
            }
            while let Ok(o) = self.outcomes.try_recv() {
                outcomes.push(o);
            }
            gauge!("openim_shim_after_queue_depth").decrement(accepted.len() as f64);

            let mut batch = Batch::default();
            let mut removed_bytes = 0;
            for o in outcomes {
                match o {
                    Outcome::Done { seq, bytes } => {
                        batch.remove.push(seq);
                        removed_bytes += bytes;
                    }
                    Outcome::Attempted { seq, attempts } => batch.attempts.push((seq, attempts)),
                }
            }
            // Removals in this batch make room for its new events.
            let kept = events.saturating_sub(batch.remove.len() as u64);
            let kept_bytes = bytes.saturating_sub(removed_bytes);
            let mut added_bytes = 0;
            let mut commands = Vec::new();
            let now_ms = unix_ms();
            for event in accepted {
                let command = event.command.name;
                let record = SpoolRecord {
                    command: event.wire_name.to_owned(),
                    operation_id: event.operation_id,
                    idempotency_key: event.idempotency_key,
                    payload: event.payload,
                    accepted_unix_ms: now_ms,
                };
                let encoded = record.encode_to_vec();
                let size = encoded.len() as u64;
                if kept + batch.append.len() as u64 >= self.limits.max_events
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
                batch.append.push((next_seq, encoded));
                next_seq += 1;
            }

            if !batch.is_empty() {
                let appended = batch.append.len() as u64;
                let top = batch.append.last().map(|(seq, _)| *seq);
                if self.commit(batch, &commands).await {
                    events = kept + appended;
                    bytes = kept_bytes + added_bytes;
                    if let Some(top) = top {
                        last_seq = top;
                    }
                    publish_gauges(events, bytes);
                }
            }
            self.state.send_replace(State {
                last_seq,
                events,
                intake_done: !intake_open,
            });
        }
    }

    /// Commits `batch`, retrying while it fails (the intake queue absorbs new events meanwhile,
    /// and drops them, counted, once full). Once shutdown has begun it gives up after a few
    /// attempts: the batch's new events are then lost, logged and counted. Returns whether the
    /// batch was committed.
    async fn commit(&self, batch: Batch, commands: &[&'static str]) -> bool {
        let batch = Arc::new(batch);
        let mut failures = 0;
        loop {
            let (store, b) = (self.store.clone(), batch.clone());
            let error = match tokio::task::spawn_blocking(move || store.commit(&b)).await {
                Ok(Ok(())) => return true,
                Ok(Err(e)) => e.to_string(),
                Err(e) => format!("commit task failed: {e}"),
            };
            failures += 1;
            tracing::error!(
                error,
                failures,
                events = commands.len(),
                "cannot write to the after-event spool; retrying"
            );
            if *self.stop_intake.borrow() && failures >= COMMIT_ATTEMPTS_AT_SHUTDOWN {
                tracing::error!(
                    events = commands.len(),
                    "after-events lost: the spool cannot be written and the shim is stopping"
                );
                for command in commands {
                    counter!("openim_shim_after_dropped_total",
                        "command" => *command, "reason" => "spool_error")
                    .increment(1);
                }
                return false;
            }
            tokio::time::sleep(COMMIT_RETRY).await;
        }
    }
}

/// Milliseconds since the Unix epoch (0 if the clock is before it).
pub(crate) fn unix_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

fn publish_gauges(events: u64, bytes: u64) {
    gauge!("openim_shim_spool_events").set(events as f64);
    gauge!("openim_shim_spool_bytes").set(bytes as f64);
}
