//! `openim-policy`: the default policy service for OpenIM callbacks, serving the
//! `openim.policy.v1` gRPC contract with a rule engine driven by a rules file.
//!
//! # Layout
//!
//! - [`engine`]: the [`Engine`] seam, what a policy decides, free of gRPC.
//! - [`content`]: a message's content read as OpenIM's (Go) clients read it.
//! - [`rules`]: the default rule engine and its rules file.
//! - [`live`]: rules from a file, reloaded while serving; readiness.
//! - [`service`]: the gRPC services over an engine.
//! - [`exporter`]: Prometheus metrics over HTTP; `stats` (private): the counters.
//! - `audit` (private): the audit log writer.
//! - [`serve`]: the server with `grpc.health.v1` and server reflection (v1 and v1alpha, behind
//!   [`Policy::with_reflection`]); [`tls`]: its TLS listener.

mod audit;
pub mod content;
pub mod engine;
pub mod exporter;
pub mod listen;
pub mod live;
mod observe;
pub mod rules;
pub mod service;
mod stats;
pub mod tls;

use std::{future::Future, path::Path, sync::Arc, time::Duration};

use policy_proto::v1::{
    friend_service_server::FriendServiceServer, group_service_server::GroupServiceServer,
    message_service_server::MessageServiceServer, push_service_server::PushServiceServer,
    user_service_server::UserServiceServer,
};
use tokio::{sync::watch, task::JoinHandle};
use tokio_stream::wrappers::{TcpListenerStream, UnixListenerStream};
use tonic::server::NamedService;
use tonic::transport::Server;
use tonic_health::{ServingStatus, server::HealthReporter};

pub use engine::{Engine, Passthrough, TextField, TextVerdict};
pub use listen::{ListenAddr, Listener};
pub use live::LiveRules;
pub use rules::{RuleEngine, RulesError};
use service::PolicyService;

/// Largest request accepted (the shim accepts OpenIM bodies up to 4 MiB by default, and their
/// protobuf form is no larger).
pub const MAX_MESSAGE_BYTES: usize = 16 << 20;

/// Default bound on calls in flight per connection: far above what a shim's connection carries
/// (its deadlines are short), low enough that one client cannot queue unbounded work.
pub const DEFAULT_MAX_CONCURRENT_STREAMS: u32 = 1024;

/// Default interval between two looks at the rules files.
pub const DEFAULT_RELOAD_INTERVAL: Duration = Duration::from_secs(5);

/// How often the engine's housekeeping (rate-limit sweep) runs.
const MAINTENANCE_INTERVAL: Duration = Duration::from_secs(60);

/// A loaded policy, ready to serve.
#[derive(Clone)]
pub struct Policy {
    engine: Arc<dyn Engine>,
    live: Option<Arc<LiveRules>>,
    reload_interval: Duration,
    stop: Stop,
    /// TLS on TCP listeners (with client certificates required if it has a client CA).
    tls: Option<Arc<openim_common::tls::Reloading<rustls::ServerConfig>>>,
    /// Server reflection served.
    reflection: bool,
    /// Calls in flight per connection, at most (HTTP/2 concurrent streams).
    max_concurrent_streams: u32,
    /// Largest request message.
    max_message_bytes: usize,
}

/// How the server stops when its shutdown future completes: NOT_SERVING to health watchers
/// (shims stop picking this replica at once) and still serving for `drain_delay` (clients that
/// do not watch health, a mesh, DNS caches catch up); then no new calls, the calls in flight
/// finished, cut at `timeout` from the start of the stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stop {
    /// Serving on, NOT_SERVING, after the signal.
    pub drain_delay: Duration,
    /// From the signal to the end of the server, at most.
    pub timeout: Duration,
}

impl Default for Stop {
    /// No drain delay (library users and tests); the binary's flags set one.
    fn default() -> Self {
        Self {
            drain_delay: Duration::ZERO,
            timeout: Duration::from_secs(20),
        }
    }
}

impl std::fmt::Debug for Policy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Policy")
            .field("live", &self.live)
            .finish_non_exhaustive()
    }
}

impl Policy {
    /// The default rule engine with the rules at `path` (reloaded while serving), or, without a
    /// path, a policy that continues everything. Missing or invalid rules are an error.
    pub fn load(rules: Option<&Path>) -> Result<Self, RulesError> {
        Ok(match rules {
            Some(path) => Self::live(LiveRules::load(path)?),
            None => Self::new(Passthrough),
        })
    }

    /// The default rule engine with the rules at `path`; if they are missing or invalid, the
    /// policy starts not ready (health NOT_SERVING, decisions UNAVAILABLE) until a valid file
    /// is there.
    pub fn load_or_wait(path: &Path) -> Self {
        Self::live(LiveRules::load_or_wait(path))
    }

    fn live(live: Arc<LiveRules>) -> Self {
        Self {
            engine: live.clone(),
            live: Some(live),
            reload_interval: DEFAULT_RELOAD_INTERVAL,
            stop: Stop::default(),
            tls: None,
            reflection: true,
            max_concurrent_streams: DEFAULT_MAX_CONCURRENT_STREAMS,
            max_message_bytes: MAX_MESSAGE_BYTES,
        }
    }

    /// A policy deciding with `engine`, always ready.
    pub fn new(engine: impl Engine) -> Self {
        Self {
            engine: Arc::new(engine),
            live: None,
            reload_interval: DEFAULT_RELOAD_INTERVAL,
            stop: Stop::default(),
            tls: None,
            reflection: true,
            max_concurrent_streams: DEFAULT_MAX_CONCURRENT_STREAMS,
            max_message_bytes: MAX_MESSAGE_BYTES,
        }
    }

    /// Looks at the rules files for changes every `interval` (default 5 s).
    pub fn with_reload_interval(mut self, interval: Duration) -> Self {
        self.reload_interval = interval;
        self
    }

    /// Serves TLS on TCP listeners with `config` (rebuilt when its files change; see
    /// [`openim_common::tls::ServerFiles::watch`], whose client CA makes client certificates
    /// required). Unix sockets stay plaintext: the file's permissions guard them.
    pub fn with_tls(mut self, config: openim_common::tls::Reloading<rustls::ServerConfig>) -> Self {
        self.tls = Some(Arc::new(config));
        self
    }

    /// Whether to serve server reflection (on by default here, as in the try-out mode; the
    /// binary turns it on with `--reflection` only): it tells any client the whole contract.
    pub fn with_reflection(mut self, on: bool) -> Self {
        self.reflection = on;
        self
    }

    /// Bounds on what a client may send: calls in flight per connection, and the largest
    /// request message.
    pub fn with_limits(mut self, max_concurrent_streams: u32, max_message_bytes: usize) -> Self {
        self.max_concurrent_streams = max_concurrent_streams;
        self.max_message_bytes = max_message_bytes;
        self
    }

    /// Stops as `stop` says.
    pub fn with_stop(mut self, stop: Stop) -> Self {
        self.stop = stop;
        self
    }

    /// Whether it has rules to decide with.
    pub fn is_ready(&self) -> bool {
        self.live.as_ref().is_none_or(|l| l.is_ready())
    }

    /// The rules reloaded from a file, if that is what it decides with.
    pub fn live_rules(&self) -> Option<&Arc<LiveRules>> {
        self.live.as_ref()
    }

    fn readiness(&self) -> watch::Receiver<bool> {
        match &self.live {
            Some(live) => live.readiness(),
            None => watch::channel(true).1,
        }
    }
}

/// Server reflection over the contract and the health service.
fn reflection() -> tonic_reflection::server::Builder<'static> {
    tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(policy_proto::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
}

/// The contract's services this policy serves (the others answer UNIMPLEMENTED everywhere).
const SERVICES: [&str; 5] = [
    MessageServiceServer::<PolicyService>::NAME,
    PushServiceServer::<PolicyService>::NAME,
    UserServiceServer::<PolicyService>::NAME,
    FriendServiceServer::<PolicyService>::NAME,
    GroupServiceServer::<PolicyService>::NAME,
];

/// Sets the health of each policy service, then of the server as a whole ("", last, so that
/// a watcher of "" sees every service in the same state).
async fn set_health(health: &HealthReporter, ready: bool) {
    let status = if ready {
        ServingStatus::Serving
    } else {
        ServingStatus::NotServing
    };
    for service in SERVICES {
        health.set_service_status(service, status).await;
    }
    health.set_service_status("", status).await;
}

/// At shutdown: tells watchers NOT_SERVING (so clients move away first), then unregisters every
/// status, which ends their Watch streams.
async fn stop_health(mut health: HealthReporter) {
    set_health(&health, false).await;
    for service in SERVICES.iter().copied().chain([""]) {
        health.clear_service_status(service).await;
    }
}

/// Aborts background tasks when the server stops.
struct Tasks(Vec<JoinHandle<()>>);

impl Drop for Tasks {
    fn drop(&mut self) {
        for task in &self.0 {
            task.abort();
        }
    }
}

/// Serves the policy on `listener` until `shutdown` completes, then finishes the calls in
/// flight. Also reloads file rules (see [`live`]), keeps health in step with readiness, and
/// runs the engine's housekeeping.
pub async fn serve(
    listener: impl Into<Listener>,
    policy: Policy,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let listener = listener.into();
    let mut ready = policy.readiness();
    let service = PolicyService::new(policy.engine.clone()).with_readiness(ready.clone());

    let (health, health_service) = tonic_health::server::health_reporter();
    // Set before serving, so that the first health check already tells the truth.
    let ready_now = *ready.borrow_and_update();
    set_health(&health, ready_now).await;

    let mut tasks = Tasks(Vec::new());
    let follow = {
        let health = health.clone();
        tokio::spawn(async move {
            while ready.changed().await.is_ok() {
                let now = *ready.borrow_and_update();
                set_health(&health, now).await;
            }
        })
    };
    let stop_following = follow.abort_handle();
    tasks.0.push(follow);
    // A `grpc.health.v1` Watch stream lives as long as its status is registered, and tonic's
    // graceful shutdown waits for every open stream: without this, one watching client (a mesh
    // sidecar, grpc-health-probe -watch) would hold SIGTERM forever.
    let stop = policy.stop;
    let (deadline_tx, deadline_rx) = tokio::sync::oneshot::channel();
    let shutdown = async move {
        shutdown.await;
        let deadline = tokio::time::Instant::now() + stop.timeout;
        let _ = deadline_tx.send(deadline);
        stop_following.abort();
        set_health(&health, false).await;
        if !stop.drain_delay.is_zero() {
            tracing::info!(drain_delay = ?stop.drain_delay,
                "stopping: NOT_SERVING, still serving for the drain delay");
            tokio::time::sleep(stop.drain_delay).await;
        }
        tracing::info!("stopping: no new calls; finishing the calls in flight");
        stop_health(health).await;
    };
    if let Some(live) = &policy.live {
        tasks
            .0
            .push(tokio::spawn(live.clone().watch(policy.reload_interval)));
    }
    let engine = policy.engine.clone();
    tasks.0.push(tokio::spawn(async move {
        let mut tick = tokio::time::interval(MAINTENANCE_INTERVAL);
        tick.tick().await;
        loop {
            tick.tick().await;
            let engine = engine.clone();
            let _ = tokio::task::spawn_blocking(move || engine.maintain()).await;
        }
    }));

    // v1 for grpcurl and current clients, v1alpha for the clients (Python's among them) that
    // still ask for it.
    let (reflection_v1, reflection_v1alpha) = if policy.reflection {
        (
            Some(reflection().build_v1().map_err(std::io::Error::other)?),
            Some(
                reflection()
                    .build_v1alpha()
                    .map_err(std::io::Error::other)?,
            ),
        )
    } else {
        (None, None)
    };

    tracing::info!(addr = %listener.local_addr()?,
        rules = ?policy.live.as_ref().map(|l| l.path()),
        tls = policy.tls.is_some(), reflection = policy.reflection,
        ready = policy.is_ready(), "openim-policy ready");
    let max = policy.max_message_bytes;
    let router = Server::builder()
        .max_concurrent_streams(Some(policy.max_concurrent_streams))
        .layer(observe::ObserveLayer)
        .trace_fn(|req| {
            tracing::info_span!(
                "rpc",
                path = %req.uri().path(),
                operation_id = req
                    .headers()
                    .get("operationid")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or(""),
            )
        })
        .add_service(health_service)
        .add_optional_service(reflection_v1)
        .add_optional_service(reflection_v1alpha)
        .add_service(MessageServiceServer::new(service.clone()).max_decoding_message_size(max))
        .add_service(PushServiceServer::new(service.clone()).max_decoding_message_size(max))
        .add_service(UserServiceServer::new(service.clone()).max_decoding_message_size(max))
        .add_service(FriendServiceServer::new(service.clone()).max_decoding_message_size(max))
        .add_service(GroupServiceServer::new(service).max_decoding_message_size(max));
    let served = async {
        match (listener, &policy.tls) {
            (Listener::Tcp(l), Some(tls)) => {
                router
                    .serve_with_incoming_shutdown(tls::incoming(l, tls.clone()), shutdown)
                    .await
            }
            (Listener::Tcp(l), None) => {
                router
                    .serve_with_incoming_shutdown(TcpListenerStream::new(l), shutdown)
                    .await
            }
            (Listener::Unix(l, _file), _) => {
                router
                    .serve_with_incoming_shutdown(UnixListenerStream::new(l), shutdown)
                    .await
            }
        }
        .map_err(std::io::Error::other)
    };
    // Cut at the deadline: a call (or a client) that does not finish must not hold the exit.
    let cut = async {
        match deadline_rx.await {
            Ok(deadline) => tokio::time::sleep_until(deadline).await,
            Err(_) => std::future::pending().await,
        }
    };
    let result = tokio::select! {
        result = served => result,
        () = cut => {
            tracing::warn!("stopping: calls still in flight at the deadline were cut");
            Ok(())
        }
    };
    drop(tasks);
    let engine = policy.engine.clone();
    let _ = tokio::task::spawn_blocking(move || engine.shutdown()).await;
    result
}
