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
//! - `dispatch`: serves one routed callback: decode, call, encode.
//! - [`outcome`]: the vocabulary of what happened to a callback (outcome, failure cause).
//! - `rescue`: the one place that answers a callback without a policy decision.
//! - [`policy_client`]: the generic gRPC unary call with deadline and metadata.
//! - [`after`]: at-least-once delivery of after-events through a spool (local disk or Redis).
//! - [`routes`]: the HTTP router: callbacks, health, readiness, metrics.
//! - [`config`]: command line, config file, environment overrides, per-callback settings.
//! - [`telemetry`]: the Prometheus metrics recorder.

pub mod after;
pub mod callbacks;
pub mod commands;
pub mod config;
mod dispatch;
pub mod openim;
pub mod outcome;
pub mod policy_client;
mod rescue;
pub mod routes;
pub mod telemetry;

use std::{
    collections::HashMap,
    future::Future,
    sync::{Arc, OnceLock},
    time::Duration,
};

use metrics_exporter_prometheus::PrometheusHandle;
use tokio::net::TcpListener;

use crate::{
    after::{AfterQueue, Delivery, DeliverySettings, SpoolError, SpoolStatus},
    commands::{COMMANDS, Command, Kind},
    config::{CallbackSettings, Settings},
    policy_client::PolicyClient,
    telemetry::CallbackMetrics,
};

/// Time for the spool's last commits after the drain (`spool.drainTimeout`), in the deadline
/// [`Shim::serve`] gives [`Delivery::shutdown`].
const SPOOL_FINISH: Duration = Duration::from_secs(2);

/// One callback's settings, its metrics, and what the shim learnt about it at run time.
#[derive(Debug)]
pub(crate) struct PerCallback {
    command: &'static Command,
    pub(crate) settings: CallbackSettings,
    /// Registered on the command's first request, so that commands OpenIM never sends add no
    /// series to `/metrics`.
    metrics: OnceLock<CallbackMetrics>,
}

impl PerCallback {
    fn new(command: &'static Command, settings: CallbackSettings) -> Self {
        Self {
            command,
            settings,
            metrics: OnceLock::new(),
        }
    }

    /// The command's metric handles.
    pub(crate) fn metrics(&self) -> &CallbackMetrics {
        self.metrics
            .get_or_init(|| CallbackMetrics::new(self.command))
    }
}

/// State shared by all requests.
#[derive(Debug)]
pub struct App {
    policy: PolicyClient,
    after: AfterQueue,
    spool: Arc<SpoolStatus>,
    settings: Settings,
    /// Per-callback settings and state, by command name: every row of the table.
    callbacks: HashMap<&'static str, PerCallback>,
    metrics: PrometheusHandle,
}

impl App {
    /// The settings and state of `command`, a row of the table (so always present).
    pub(crate) fn callback(&self, command: &Command) -> &PerCallback {
        &self.callbacks[command.name]
    }
}

/// Why the shim cannot start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// A policy target is not a usable URL.
    #[error(transparent)]
    PolicyTarget(#[from] crate::policy_client::TargetError),
    /// The after-event spool cannot be opened.
    #[error(transparent)]
    Spool(#[from] SpoolError),
}

/// A shim ready to serve: its spool is open and delivering.
#[derive(Debug)]
pub struct Shim {
    app: Arc<App>,
    delivery: Delivery,
}

impl Shim {
    /// Opens the spool and starts delivering what it holds; fails (before anything listens)
    /// if the policy URL is invalid or the spool cannot be opened.
    pub async fn start(settings: Settings) -> Result<Self, StartError> {
        // First: metric handles made before the recorder is installed record nothing.
        let metrics = telemetry::prometheus();
        let policy = PolicyClient::new(&settings.policy)?;
        let callbacks: HashMap<_, _> = COMMANDS
            .iter()
            .map(|c| (c.name, PerCallback::new(c, settings.callback(c))))
            .collect();
        let timeouts = COMMANDS
            .iter()
            .filter(|c| c.kind == Kind::After)
            .map(|c| (c.name, callbacks[c.name].settings.timeout))
            .collect();
        let store = after::open_spool(&settings.spool).await?;
        let (after, delivery, spool) = after::start(
            policy.clone(),
            store,
            DeliverySettings {
                queue: settings.after_queue_capacity,
                concurrency: settings.after_concurrency,
                retry: settings.retry,
                timeouts,
                default_timeout: settings.after_timeout,
                unimplemented_ttl: settings.unimplemented_ttl,
                spool: settings.spool.clone(),
            },
        )
        .await?;
        let app = Arc::new(App {
            policy,
            after,
            spool,
            settings,
            callbacks,
            metrics,
        });
        Ok(Self { app, delivery })
    }

    /// The HTTP router, for serving on a listener of one's own or for in-memory requests
    /// (`tower::ServiceExt::oneshot`).
    pub fn router(&self) -> axum::Router {
        routes::router(self.app.clone())
    }

    /// Serves OpenIM callbacks on `listener` until `shutdown` completes; then stops accepting,
    /// finishes the requests in flight, writes the queued after-events to the spool and delivers
    /// what is pending for at most `spool.drainTimeout` (see [`Delivery::shutdown`]).
    pub async fn serve(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let Self { app, delivery } = self;
        let drain = app.settings.spool.drain_timeout;
        let served = axum::serve(listener, routes::router(app))
            .with_graceful_shutdown(shutdown)
            .await;
        delivery
            .shutdown(tokio::time::Instant::now() + drain + SPOOL_FINISH)
            .await;
        served
    }
}

/// Starts a shim with `settings` and serves on `listener` until `shutdown`: [`Shim::start`] then
/// [`Shim::serve`].
pub async fn serve(
    listener: TcpListener,
    settings: Settings,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    Shim::start(settings)
        .await
        .map_err(std::io::Error::other)?
        .serve(listener, shutdown)
        .await
}
