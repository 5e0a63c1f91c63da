//! `openim-shim`: receives OpenIM's webhook callbacks over HTTP, asks a gRPC policy service
//! (contract `openim.policy.v1`), and answers OpenIM in its own JSON format.
//!
//! # Layout
//!
//! - [`openim`]: OpenIM's wire protocol shared by all callbacks: where the command is, lenient
//!   decoding helpers, strict reply encoding. Pure.
//! - [`callbacks`]: per-callback conversion, JSON body → proto request and proto response →
//!   JSON reply, including the guard against changes that would break OpenIM. Pure.
//! - [`commands`]: the command table, the one place that maps each OpenIM command to its RPC.
//! - `dispatch`: serves one routed callback: decode, call, encode, failure mode.
//! - [`policy_client`]: the generic gRPC unary call with deadline and metadata.
//! - [`after`]: background delivery of after-events.
//! - [`routes`]: the HTTP router and handler.
//! - [`config`]: settings and command line.

pub mod after;
pub mod callbacks;
pub mod commands;
pub mod config;
mod dispatch;
pub mod openim;
pub mod policy_client;
pub mod routes;

use std::{future::Future, sync::Arc, time::Duration};

use tokio::net::TcpListener;

use crate::{
    after::{AfterQueue, QueueSettings},
    config::Settings,
    policy_client::PolicyClient,
};

/// How long a new policy connection may take before a call counts as "no answer".
const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);
/// How long shutdown waits for queued after-events to be delivered.
const DRAIN_GRACE: Duration = Duration::from_secs(10);

/// State shared by all requests.
#[derive(Debug)]
pub struct App {
    policy: PolicyClient,
    after: AfterQueue,
    settings: Settings,
}

/// Serves OpenIM callbacks on `listener` until `shutdown` completes; then stops accepting,
/// finishes the requests in flight, and delivers the queued after-events (for at most
/// [`DRAIN_GRACE`]).
pub async fn serve(
    listener: TcpListener,
    settings: Settings,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let policy = PolicyClient::new(&settings.policy_url, CONNECT_TIMEOUT)
        .map_err(|e| std::io::Error::other(format!("invalid policy URL: {e}")))?;
    let (after, delivery) = AfterQueue::start(
        policy.clone(),
        QueueSettings {
            capacity: settings.after_queue_capacity,
            concurrency: settings.after_concurrency,
            timeout: settings.after_timeout,
        },
    );
    let app = Arc::new(App {
        policy,
        after,
        settings,
    });
    axum::serve(listener, routes::router(app))
        .with_graceful_shutdown(shutdown)
        .await?;
    // The router and with it every queue handle are gone: the delivery task drains the queue
    // and ends.
    if tokio::time::timeout(DRAIN_GRACE, delivery).await.is_err() {
        tracing::error!(
            grace = ?DRAIN_GRACE,
            "after-events still queued at shutdown were not delivered"
        );
    }
    Ok(())
}
