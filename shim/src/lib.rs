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
//! - [`capture`]: callbacks recorded to JSON lines files, off the reply's path.
//! - `shadow`: a second policy asked about copies of before-callbacks, answers compared only.
//! - [`compare`]: how two replies to the same callback differ. Pure.
//! - [`replay`]: `openim-shim replay`: captured callbacks sent to another policy, a diff report.
//! - [`routes`]: the HTTP router: callbacks, health, readiness, metrics.
//! - `server` (private): the listener's connection loop: timeouts, connection cap, TLS.
//! - `auth` (private): caller authentication (path secret, token, allow-list).
//! - [`config`]: command line, config file, environment overrides, per-callback settings.
//! - [`telemetry`]: the Prometheus metrics recorder.

pub mod after;
mod auth;
pub mod callbacks;
pub mod capture;
pub mod commands;
pub mod compare;
pub mod config;
mod dispatch;
pub mod openim;
pub mod outcome;
pub mod policy_client;
pub mod replay;
mod rescue;
pub mod routes;
mod server;
mod shadow;
pub mod telemetry;
pub mod traces;

use std::{
    collections::HashMap,
    future::Future,
    sync::{
        Arc, OnceLock,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use arc_swap::ArcSwap;
use metrics_exporter_prometheus::PrometheusHandle;
use tokio::net::TcpListener;

use crate::{
    after::{AfterQueue, Delivery, DeliverySettings, SpoolError, SpoolStatus},
    capture::Capture,
    commands::{COMMANDS, Command, Kind},
    config::{CallbackSettings, Settings},
    policy_client::PolicyClient,
    shadow::Shadow,
    telemetry::CallbackMetrics,
};

/// What a stop keeps for committing after-events, out of `shutdown.timeout`: requests in flight
/// are cut this long before the deadline.
const AFTER_EVENTS_RESERVE: Duration = Duration::from_secs(1);

/// One callback's settings (replaced on a config reload), its metrics, and what the shim learnt
/// about it at run time.
#[derive(Debug)]
pub(crate) struct PerCallback {
    command: &'static Command,
    settings: ArcSwap<CallbackSettings>,
    /// Registered on the command's first request, so that commands OpenIM never sends add no
    /// series to `/metrics`.
    metrics: OnceLock<CallbackMetrics>,
}

impl PerCallback {
    fn new(command: &'static Command, settings: CallbackSettings) -> Self {
        Self {
            command,
            settings: ArcSwap::from_pointee(settings),
            metrics: OnceLock::new(),
        }
    }

    /// The callback's settings now (an `Arc`: held across the policy call).
    pub(crate) fn settings(&self) -> Arc<CallbackSettings> {
        self.settings.load_full()
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
    /// Recording callbacks, if on.
    capture: Option<Capture>,
    /// The shadow policy, if any.
    shadow: Option<Arc<Shadow>>,
    settings: Settings,
    /// Per-callback settings and state, by command name: every row of the table.
    callbacks: HashMap<&'static str, PerCallback>,
    metrics: PrometheusHandle,
    /// Set when the shim is stopping: `/readyz` answers 503 while requests are still served.
    draining: AtomicBool,
    /// Callbacks in flight (`limits.maxConcurrent`); one without a permit is shed.
    callback_slots: tokio::sync::Semaphore,
    /// Bytes of bodies held (`limits.bodyBudget`).
    body_budget: tokio::sync::Semaphore,
}

impl App {
    /// The settings and state of `command`, a row of the table (so always present).
    pub(crate) fn callback(&self, command: &Command) -> &PerCallback {
        &self.callbacks[command.name]
    }

    /// Whether the shim is stopping.
    pub(crate) fn draining(&self) -> bool {
        self.draining.load(Ordering::Relaxed)
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
    /// The capture directory cannot be used.
    #[error("capture.dir: {0}")]
    Capture(#[source] std::io::Error),
    /// The listener's TLS files cannot be used.
    #[error("listener TLS (tls.cert, tls.key): {0}")]
    Tls(#[from] openim_common::tls::TlsError),
}

impl StartError {
    /// Whether the configuration is at fault (the binary exits with status 2): a target or TLS
    /// setting that cannot be used, not a disk or network failure.
    pub fn is_config(&self) -> bool {
        matches!(self, Self::PolicyTarget(_) | Self::Tls(_))
    }
}

/// A shim ready to serve: its spool is open and delivering.
#[derive(Debug)]
pub struct Shim {
    app: Arc<App>,
    delivery: Delivery,
    /// The listener's TLS configuration, rebuilt when its files change.
    tls: Option<Arc<openim_common::tls::Reloading<rustls::ServerConfig>>>,
    /// Where the operators' endpoints are served, when not with the callbacks.
    admin: Option<TcpListener>,
}

impl Shim {
    /// Opens the spool and starts delivering what it holds; fails (before anything listens)
    /// if the policy URL is invalid or the spool cannot be opened.
    pub async fn start(settings: Settings) -> Result<Self, StartError> {
        // First: metric handles made before the recorder is installed record nothing.
        let metrics = telemetry::prometheus();
        let policy = PolicyClient::new(&settings.policy).await?;
        let tls = match &settings.tls {
            Some((cert, key)) => {
                let files = openim_common::tls::ServerFiles {
                    cert: cert.clone(),
                    key: key.clone(),
                    client_ca: None,
                };
                Some(Arc::new(
                    files.watch(server::ALPN, settings.tls_reload).await?,
                ))
            }
            None => None,
        };
        let capture = Capture::start(&settings.capture)
            .await
            .map_err(StartError::Capture)?;
        let shadow = Shadow::start(
            &settings.shadow,
            &settings.policy,
            settings.refuse_err_code,
            capture.clone(),
        )
        .await?;
        let callbacks: HashMap<_, _> = COMMANDS
            .iter()
            .map(|c| (c.name, PerCallback::new(c, settings.callback(c))))
            .collect();
        let timeouts = COMMANDS
            .iter()
            .filter(|c| c.kind == Kind::After)
            .map(|c| (c.name, callbacks[c.name].settings().timeout))
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
        let limits = settings.limits;
        let app = Arc::new(App {
            policy,
            after,
            spool,
            capture,
            shadow,
            settings,
            callbacks,
            metrics,
            draining: AtomicBool::new(false),
            callback_slots: tokio::sync::Semaphore::new(limits.max_concurrent),
            body_budget: tokio::sync::Semaphore::new(
                limits.body_budget.min(tokio::sync::Semaphore::MAX_PERMITS),
            ),
        });
        Ok(Self {
            app,
            delivery,
            tls,
            admin: None,
        })
    }

    /// Serves `/metrics`, `/readyz`, `/healthz` and `/policyz` on `listener` (plain HTTP, no
    /// caller authentication: keep it off the network callers reach) instead of the callback
    /// listener.
    pub fn with_admin(mut self, listener: TcpListener) -> Self {
        self.admin = Some(listener);
        self
    }

    /// The HTTP router, for serving on a listener of one's own or for in-memory requests
    /// (`tower::ServiceExt::oneshot`).
    pub fn router(&self) -> axum::Router {
        routes::router(self.app.clone())
    }

    /// What a config reload can change while the shim runs.
    pub fn reloader(&self) -> Reloader {
        Reloader(self.app.clone())
    }

    /// Serves OpenIM callbacks on `listener` until `shutdown` completes (SIGTERM), then stops
    /// as `shutdown` settings say: not ready (`/readyz` 503) but serving for the drain delay;
    /// then no new connections, the requests in flight finished (cut at the deadline, less a
    /// reserve for the after-events); then the queued after-events committed to the spool and what is pending delivered
    /// for at most `spool.drainTimeout`, all by the deadline (see [`Delivery::shutdown`]).
    pub async fn serve(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let Self {
            app,
            delivery,
            tls,
            admin,
        } = self;
        let stop = app.settings.shutdown;
        let (stop_accepting, stopped) = tokio::sync::oneshot::channel::<()>();
        let router = match admin {
            Some(admin) => {
                let admin_router = routes::admin_router(app.clone());
                // Ends with the process; it answers through the whole stop (readiness 503).
                let served = axum::serve(admin, admin_router).into_future();
                tokio::spawn(async move {
                    if let Err(e) = served.await {
                        tracing::error!(error = %e, "admin listener failed");
                    }
                });
                routes::callbacks_router(app.clone())
            }
            None => routes::router(app.clone()),
        };
        let server = server::run(listener, router, tls, app.settings.limits, async {
            let _ = stopped.await;
        });
        let mut server = tokio::spawn(server);
        let served = tokio::select! {
            served = &mut server => Some(served),
            () = shutdown => None,
        };
        let (served, deadline) = match served {
            // The server ended on its own (an accept error): nothing to drain.
            Some(served) => (
                served.unwrap_or_else(|e| Err(std::io::Error::other(e))),
                tokio::time::Instant::now() + stop.timeout,
            ),
            None => {
                let deadline = tokio::time::Instant::now() + stop.timeout;
                app.draining.store(true, Ordering::Relaxed);
                tracing::info!(drain_delay = ?stop.drain_delay, timeout = ?stop.timeout,
                    "stopping: not ready, still serving for the drain delay");
                tokio::time::sleep(stop.drain_delay).await;
                tracing::info!("stopping: no new connections; finishing the requests in flight");
                let _ = stop_accepting.send(());
                let cut = deadline
                    .checked_sub(AFTER_EVENTS_RESERVE)
                    .unwrap_or(deadline);
                let served = match tokio::time::timeout_at(cut, &mut server).await {
                    Ok(served) => served.unwrap_or_else(|e| Err(std::io::Error::other(e))),
                    Err(_) => {
                        server.abort();
                        tracing::warn!(
                            "stopping: requests still in flight at the deadline were cut"
                        );
                        Ok(())
                    }
                };
                (served, deadline)
            }
        };
        delivery.shutdown(deadline).await;
        if let Some(capture) = &app.capture {
            // What is queued is written out, within the stop's bound (at least a moment).
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            capture
                .flush(left.clamp(Duration::from_millis(200), Duration::from_secs(5)))
                .await;
        }
        served
    }
}

/// Applies reloaded settings (SIGHUP) to a running shim: each callback's settings (`enable`,
/// `timeout`, `onError`, `errCode`, `errMsg`, `unimplementedTtl`) take effect for the next
/// request, except the delivery timeout of after-events. The rest needs a restart.
#[derive(Clone, Debug)]
pub struct Reloader(Arc<App>);

impl Reloader {
    /// Takes the callbacks' settings of `settings`; returns the other settings that differ
    /// from the running ones (they need a restart), to be logged.
    pub fn apply(&self, settings: &Settings) -> Vec<&'static str> {
        for callback in self.0.callbacks.values() {
            callback
                .settings
                .store(Arc::new(settings.callback(callback.command)));
        }
        let running = &self.0.settings;
        let mut needs_restart = Vec::new();
        if settings.policy != running.policy {
            needs_restart.push("policy");
        }
        if settings.spool != running.spool {
            needs_restart.push("spool");
        }
        if settings.capture != running.capture {
            needs_restart.push("capture");
        }
        if settings.shadow != running.shadow {
            needs_restart.push("shadow");
        }
        if (
            settings.after_concurrency,
            settings.after_queue_capacity,
            settings.retry,
        ) != (
            running.after_concurrency,
            running.after_queue_capacity,
            running.retry,
        ) {
            needs_restart.push("after");
        }
        if (
            settings.max_body_bytes,
            settings.refuse_err_code,
            settings.shutdown,
            settings.ready_requires_policy,
        ) != (
            running.max_body_bytes,
            running.refuse_err_code,
            running.shutdown,
            running.ready_requires_policy,
        ) {
            needs_restart.push("maxBody/refuseCode/shutdown/readyRequiresPolicy");
        }
        // Read when the listener starts; the TLS files themselves reload on their own.
        if (
            &settings.auth,
            settings.limits,
            &settings.tls,
            settings.tls_reload,
        ) != (
            &running.auth,
            running.limits,
            &running.tls,
            running.tls_reload,
        ) {
            needs_restart.push("auth/limits/tls");
        }
        needs_restart
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
