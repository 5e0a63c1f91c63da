//! Background delivery of after-events to the policy, at least once.
//!
//! OpenIM sends after-callbacks from 2 workers with a 100-slot buffer per process, drops them
//! when the receiver is slow, and never retries (docs/openim-protocol.md §2.4). So the shim acknowledges at
//! once and owns delivery:
//!
//! 1. the request path encodes the event, gives it an idempotency key ([`idempotency_key`]) and
//!    puts it on a bounded in-memory intake queue ([`AfterQueue::push`], no waiting, no I/O);
//! 2. the spool writer (`writer`) commits what the queue holds to the spool (`spool`: a redb
//!    database on disk, or in memory) in group commits, one fsync per batch;
//! 3. the feeder and delivery tasks (`deliver`) read the spool in order and call the policy,
//!    at most `concurrency` at a time, retrying with exponential backoff and jitter; an event
//!    leaves the spool only once the policy has it.
//!
//! What can be lost, and is then logged and counted (`openim_shim_after_dropped_total`): events
//! beyond a full intake queue (`queue_full`) or a full spool (`spool_full`), events retried for
//! longer than `max_age` (`expired`), and on a crash (not a SIGTERM) the events acknowledged but
//! not yet committed, i.e. at most those of the commit in progress and the queue behind it
//! (typically a few milliseconds' worth). SIGTERM commits everything queued first.

mod deliver;
pub mod spool;
mod writer;

use std::{collections::HashMap, hash::Hasher as _, sync::Arc, time::Duration};

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

/// Handle to the intake queue; cheap to share.
#[derive(Debug, Clone)]
pub struct AfterQueue {
    tx: mpsc::Sender<AfterEvent>,
}

impl AfterQueue {
    /// Queues an event for the spool without waiting. A full or closed queue drops the event:
    /// logged and counted. Returns whether it was queued.
    pub fn push(&self, event: AfterEvent) -> bool {
        let command = event.command.name;
        match self.tx.try_send(event) {
            Ok(()) => {
                gauge!("openim_shim_after_queue_depth").increment(1.0);
                true
            }
            Err(e) => {
                let (reason, ev) = match e {
                    mpsc::error::TrySendError::Full(ev) => ("queue_full", ev),
                    mpsc::error::TrySendError::Closed(ev) => ("shutting_down", ev),
                };
                tracing::error!(command, operation_id = %ev.operation_id,
                    idempotency_key = %ev.idempotency_key, reason,
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
    /// The spool.
    pub spool: SpoolSettings,
}

/// The running delivery machinery; [`Delivery::shutdown`] stops it.
#[derive(Debug)]
pub struct Delivery {
    writer: JoinHandle<()>,
    feeder: JoinHandle<()>,
    stop_intake: watch::Sender<bool>,
    stop_delivery: watch::Sender<bool>,
    state: watch::Receiver<writer::State>,
    durable: bool,
}

/// Opens the spool: blocking, so done on a blocking thread.
pub async fn open_spool(settings: &SpoolSettings) -> Result<Store, SpoolError> {
    let dir = settings.dir.clone();
    let open = move || match dir {
        Some(dir) => Store::open(&dir),
        None => Store::in_memory(),
    };
    match tokio::task::spawn_blocking(open).await {
        Ok(r) => r,
        Err(e) => std::panic::resume_unwind(e.into_panic()),
    }
}

/// Starts the writer and the delivery of what `store` holds and what arrives on the returned
/// queue.
pub async fn start(
    client: PolicyClient,
    store: Store,
    settings: DeliverySettings,
) -> Result<(AfterQueue, Delivery), SpoolError> {
    let store = Arc::new(store);
    let reader = store.clone();
    let summary = match tokio::task::spawn_blocking(move || reader.summary()).await {
        Ok(r) => r?,
        Err(e) => std::panic::resume_unwind(e.into_panic()),
    };
    if summary.events > 0 {
        tracing::info!(
            events = summary.events,
            bytes = summary.bytes,
            "after-events found in the spool: delivering them"
        );
    }
    let durable = store.is_durable();
    let (tx, intake) = mpsc::channel(settings.queue);
    let (outcomes_tx, outcomes) = mpsc::unbounded_channel();
    let (stop_intake, stop_intake_rx) = watch::channel(false);
    let (stop_delivery, stop_delivery_rx) = watch::channel(false);
    let (state_tx, state) = watch::channel(writer::State {
        last_seq: summary.last_seq,
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
        }
        .run(summary),
    );
    let deliverer = Arc::new(deliver::Deliverer {
        client,
        retry: settings.retry,
        timeouts: settings.timeouts,
        default_timeout: settings.default_timeout,
        outcomes: outcomes_tx,
        stop: stop_delivery_rx,
    });
    let feeder = tokio::spawn(deliverer.feed(store, state.clone(), settings.concurrency));
    Ok((
        AfterQueue { tx },
        Delivery {
            writer,
            feeder,
            stop_intake,
            stop_delivery,
            state,
            durable,
        },
    ))
}

impl Delivery {
    /// Stops: closes the intake and commits what it holds; with an in-memory spool, keeps
    /// delivering for up to `grace` (what is left then is lost, logged and counted); stops the
    /// deliveries in flight (their events stay spooled); commits their outcomes.
    pub async fn shutdown(mut self, grace: Duration) {
        let _ = self.stop_intake.send(true);
        if !self.durable {
            let drained = self.state.wait_for(|s| s.intake_done && s.events == 0);
            if tokio::time::timeout(grace, drained).await.is_err() {
                tracing::warn!(
                    ?grace,
                    "in-memory after-events not delivered within the grace period"
                );
            }
        }
        let _ = self.stop_delivery.send(true);
        if let Err(e) = self.feeder.await {
            tracing::error!(error = %e, "after-event delivery task failed");
        }
        // Every outcome sender is gone with the feeder: the writer commits and ends.
        if let Err(e) = self.writer.await {
            tracing::error!(error = %e, "after-event spool writer failed");
        }
        let left = self.state.borrow().events;
        if left > 0 {
            if self.durable {
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
        }
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
