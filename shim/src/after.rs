//! Background delivery of after-events to the policy.
//!
//! OpenIM sends after-callbacks from 2 workers with a 100-slot buffer per process and drops them
//! when the receiver is slow (PROTOCOL.md §2.4), so the shim acknowledges at once and delivers
//! here: a bounded queue feeding at most `concurrency` calls in flight. Nothing is dropped
//! silently: a full queue and a failed delivery are logged and counted.

use std::{sync::Arc, time::Duration};

use bytes::Bytes;
use metrics::{counter, gauge};
use tokio::{
    sync::{Semaphore, mpsc},
    task::JoinSet,
};

use crate::{
    commands::Command,
    policy_client::{CallError, CallMeta, PolicyClient},
};

/// One after-event, its request already encoded.
#[derive(Debug)]
pub struct AfterEvent {
    /// The table row (its RPC and canonical name).
    pub command: &'static Command,
    /// The name OpenIM used.
    pub wire_name: &'static str,
    /// OpenIM's operation ID.
    pub operation_id: String,
    /// The encoded request message.
    pub payload: Bytes,
}

/// Handle to the delivery queue; cheap to share.
#[derive(Debug, Clone)]
pub struct AfterQueue {
    tx: mpsc::Sender<AfterEvent>,
}

/// Settings of the delivery queue.
#[derive(Debug, Clone, Copy)]
pub struct QueueSettings {
    /// Events waiting for delivery, at most.
    pub capacity: usize,
    /// Deliveries in flight, at most.
    pub concurrency: usize,
    /// Deadline of one delivery.
    pub timeout: Duration,
}

impl AfterQueue {
    /// Starts the delivery task. It ends once every handle is dropped and the queue is empty,
    /// after waiting for the deliveries in flight.
    pub fn start(
        client: PolicyClient,
        settings: QueueSettings,
    ) -> (Self, tokio::task::JoinHandle<()>) {
        let (tx, rx) = mpsc::channel(settings.capacity);
        let task = tokio::spawn(deliver_all(rx, client, settings));
        (Self { tx }, task)
    }

    /// Queues an event without waiting. A full or closed queue drops the event: logged and
    /// counted.
    pub fn push(&self, event: AfterEvent) {
        let command = event.command.name;
        match self.tx.try_send(event) {
            Ok(()) => {
                counter!("openim_shim_after_events_total", "command" => command, "result" => "queued")
                    .increment(1);
                gauge!("openim_shim_after_queue_depth").increment(1.0);
            }
            Err(e) => {
                let (mpsc::error::TrySendError::Full(ev) | mpsc::error::TrySendError::Closed(ev)) =
                    e;
                tracing::error!(command, operation_id = %ev.operation_id,
                    "after-event dropped: delivery queue full or closed");
                counter!("openim_shim_after_events_total", "command" => command, "result" => "dropped")
                    .increment(1);
            }
        }
    }
}

async fn deliver_all(
    mut rx: mpsc::Receiver<AfterEvent>,
    client: PolicyClient,
    settings: QueueSettings,
) {
    let permits = Arc::new(Semaphore::new(settings.concurrency));
    let mut in_flight = JoinSet::new();
    while let Some(event) = rx.recv().await {
        gauge!("openim_shim_after_queue_depth").decrement(1.0);
        // The semaphore is never closed, so acquiring cannot fail.
        let Ok(permit) = permits.clone().acquire_owned().await else {
            break;
        };
        let client = client.clone();
        in_flight.spawn(async move {
            deliver(&client, &event, settings.timeout).await;
            drop(permit);
        });
        // Reap finished deliveries so the set does not grow with the event count.
        while in_flight.try_join_next().is_some() {}
    }
    while in_flight.join_next().await.is_some() {}
}

async fn deliver(client: &PolicyClient, event: &AfterEvent, timeout: Duration) {
    let command = event.command.name;
    let meta = CallMeta {
        operation_id: &event.operation_id,
        command: event.wire_name,
        timeout,
    };
    let result = client
        .unary_encoded(event.command.rpc, event.payload.clone(), meta)
        .await;
    let label = match result {
        Ok(()) => "delivered",
        // The policy does not want this event: delivered as far as anyone cares.
        Err(CallError::Unimplemented) => "unimplemented",
        Err(e) => {
            tracing::warn!(command, operation_id = %event.operation_id, error = %e,
                "after-event delivery failed");
            "failed"
        }
    };
    counter!("openim_shim_after_events_total", "command" => command, "result" => label)
        .increment(1);
}
