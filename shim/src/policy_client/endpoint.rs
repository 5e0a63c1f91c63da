//! One policy endpoint (one address) as a pool sees it: its HTTP/2 connection, kept up by a
//! background task that reconnects with backoff; its `grpc.health.v1` status, watched on that
//! connection; the calls in flight on it (the balancer's load); its outlier state (consecutive
//! failures, ejection); and the RPCs it answered UNIMPLEMENTED recently.
//!
//! State is in atomics so that the request path reads it without locks.
//!
//! An endpoint of an `https://` target speaks TLS (rustls, ALPN `h2`) with the configuration of
//! the moment it connects: rotated files apply from the next connection.

use std::{
    fmt,
    net::SocketAddr,
    path::PathBuf,
    sync::{
        Arc, Mutex,
        atomic::{AtomicU8, AtomicU32, AtomicU64, AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use arc_swap::ArcSwapOption;
use bytes::BytesMut;
use http::uri::Authority;
use http_body_util::BodyExt as _;
use metrics::{Counter, Histogram};
use prost::Message as _;
use tokio::sync::{Notify, watch};
use tonic_health::pb::{HealthCheckRequest, HealthCheckResponse, health_check_response};

pub(crate) use super::h2conn::Conn;
use super::{coalesce::coalesced, grpc, h2conn};

/// What one consecutive failure adds to an endpoint's load, in calls.
const FAILURE_PENALTY: usize = 8;

/// TLS to the policy's endpoints: the client configuration (rebuilt when its files change) and
/// the name their certificates must have.
pub(crate) struct ClientTls {
    pub(crate) config: openim_common::tls::Reloading<rustls::ClientConfig>,
    /// `None`: the target's host (its name, or its IP address).
    pub(crate) server_name: Option<rustls::pki_types::ServerName<'static>>,
}

impl fmt::Debug for ClientTls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientTls")
            .field("server_name", &self.server_name)
            .finish_non_exhaustive()
    }
}

/// Where an endpoint listens.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum Address {
    /// A TCP address.
    Tcp(SocketAddr),
    /// A Unix domain socket (a policy next to the shim).
    Unix(PathBuf),
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Tcp(a) => write!(f, "{a}"),
            Self::Unix(p) => write!(f, "unix:{}", p.display()),
        }
    }
}

/// Connection state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum ConnState {
    /// Connecting, never connected since the last failure.
    Connecting = 0,
    /// Connected.
    Connected = 1,
    /// The last attempt failed: waiting to try again.
    Failed = 2,
}

/// What the endpoint's `grpc.health.v1` watch says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum Health {
    /// No answer yet, or the watch ended; treated as serving (as gRPC clients do until told).
    Unknown = 0,
    /// SERVING (or the policy does not implement health checking).
    Serving = 1,
    /// NOT_SERVING: takes no calls.
    NotServing = 2,
}

/// How endpoints connect and when they are ejected.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EndpointSettings {
    /// How long a connection attempt may take.
    pub connect_timeout: Duration,
    /// First wait before reconnecting after a failure; doubles up to `reconnect_max`.
    pub reconnect_initial: Duration,
    /// Longest wait between connection attempts.
    pub reconnect_max: Duration,
    /// HTTP/2 pings on idle connections, to notice a dead peer.
    pub keepalive: Duration,
    /// Consecutive failures (timeouts, UNAVAILABLE and other failed statuses) that eject it.
    pub eject_after: u32,
    /// First ejection time; doubles with each ejection in a row, up to `eject_max`.
    pub eject_base: Duration,
    /// Longest ejection time.
    pub eject_max: Duration,
}

impl Default for EndpointSettings {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(1),
            reconnect_initial: Duration::from_millis(100),
            reconnect_max: Duration::from_secs(5),
            keepalive: Duration::from_secs(10),
            eject_after: 3,
            eject_base: Duration::from_secs(10),
            eject_max: Duration::from_secs(120),
        }
    }
}

/// The metric handles of one endpoint.
#[derive(Debug)]
struct EndpointMetrics {
    ok: Counter,
    error: Counter,
    timeout: Counter,
    unavailable: Counter,
    /// By result: ok, error, timeout, unavailable (as the counters).
    durations: [Histogram; 4],
    ejections: Counter,
}

impl EndpointMetrics {
    fn new(pool: &'static str, endpoint: &str) -> Self {
        let calls = |result: &'static str| {
            metrics::counter!("openim_shim_policy_endpoint_calls_total",
                "pool" => pool, "endpoint" => endpoint.to_owned(), "result" => result)
        };
        Self {
            ok: calls("ok"),
            error: calls("error"),
            timeout: calls("timeout"),
            unavailable: calls("unavailable"),
            durations: ["ok", "error", "timeout", "unavailable"].map(|result| {
                metrics::histogram!("openim_shim_policy_endpoint_duration_seconds",
                    "pool" => pool, "endpoint" => endpoint.to_owned(), "result" => result)
            }),
            ejections: metrics::counter!("openim_shim_policy_endpoint_ejections_total",
                "pool" => pool, "endpoint" => endpoint.to_owned()),
        }
    }
}

/// How a call on an endpoint ended, for its outlier state and metrics.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Ended {
    /// An answer (a decision, or an error status that is the policy's own).
    Answered,
    /// An error status that says the endpoint is unwell (UNAVAILABLE, INTERNAL, ...).
    Failed,
    /// No answer within the deadline.
    TimedOut,
    /// The endpoint could not be reached, or refused the call unprocessed.
    Unreachable,
}

/// One endpoint.
#[derive(Debug)]
pub(crate) struct Endpoint {
    pub(crate) address: Address,
    /// `:authority` of requests: the host name (or address) and port of the target.
    pub(crate) authority: Authority,
    /// TLS, for an `https://` target.
    tls: Option<Arc<ClientTls>>,
    settings: EndpointSettings,
    conn: ArcSwapOption<Conn>,
    state: AtomicU8,
    health: AtomicU8,
    in_flight: AtomicUsize,
    failures: AtomicU32,
    ejections: AtomicU32,
    /// Until when (ms since `clock`) the endpoint is ejected; 0: not ejected.
    ejected_until: AtomicU64,
    /// RPCs answered UNIMPLEMENTED, with until when (ms since `clock`) that holds.
    unimplemented: Mutex<Vec<(&'static str, u64)>>,
    clock: Instant,
    /// Wakes the endpoint's task to drop a connection that failed a call.
    stale: Notify,
    /// Set when the endpoint leaves its pool: its task ends.
    retired: watch::Sender<bool>,
    /// Wakes the task from its backoff for an attempt now (see [`Endpoint::kick`]).
    kick: Notify,
    metrics: EndpointMetrics,
}

impl Endpoint {
    pub(crate) fn new(
        address: Address,
        authority: Authority,
        tls: Option<Arc<ClientTls>>,
        pool: &'static str,
        settings: EndpointSettings,
        clock: Instant,
    ) -> Self {
        let metrics = EndpointMetrics::new(pool, &address.to_string());
        Self {
            address,
            authority,
            tls,
            settings,
            conn: ArcSwapOption::empty(),
            state: AtomicU8::new(ConnState::Connecting as u8),
            health: AtomicU8::new(Health::Unknown as u8),
            in_flight: AtomicUsize::new(0),
            failures: AtomicU32::new(0),
            ejections: AtomicU32::new(0),
            ejected_until: AtomicU64::new(0),
            unimplemented: Mutex::new(Vec::new()),
            clock,
            stale: Notify::new(),
            retired: watch::Sender::new(false),
            kick: Notify::new(),
            metrics,
        }
    }

    /// Takes the endpoint out of service: its task ends, its connection closes once the calls
    /// in flight on it are done.
    pub(crate) fn retire(&self) {
        self.retired.send_replace(true);
    }

    /// The `:scheme` of its requests.
    pub(crate) fn scheme(&self) -> &'static str {
        if self.tls.is_some() { "https" } else { "http" }
    }

    fn now_ms(&self) -> u64 {
        u64::try_from(self.clock.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// The connection state.
    pub(crate) fn state(&self) -> ConnState {
        match self.state.load(Ordering::Relaxed) {
            1 => ConnState::Connected,
            2 => ConnState::Failed,
            _ => ConnState::Connecting,
        }
    }

    /// The health watch's last word.
    pub(crate) fn health(&self) -> Health {
        match self.health.load(Ordering::Relaxed) {
            1 => Health::Serving,
            2 => Health::NotServing,
            _ => Health::Unknown,
        }
    }

    /// Whether it is ejected now.
    pub(crate) fn ejected(&self) -> bool {
        self.now_ms() < self.ejected_until.load(Ordering::Relaxed)
    }

    /// Calls in flight.
    pub(crate) fn in_flight(&self) -> usize {
        self.in_flight.load(Ordering::Relaxed)
    }

    /// The balancer's view of its load: calls in flight, and a penalty per consecutive failure,
    /// so that an endpoint that just timed out gets no new call while the calls it still holds
    /// time out too (they eject it), even though its count of calls in flight went down.
    pub(crate) fn load(&self) -> usize {
        self.in_flight() + FAILURE_PENALTY * self.failures.load(Ordering::Relaxed) as usize
    }

    /// Connected and not NOT_SERVING: can take a call (if not ejected).
    pub(crate) fn usable(&self) -> bool {
        self.state() == ConnState::Connected && self.health() != Health::NotServing
    }

    /// The current connection.
    pub(crate) fn conn(&self) -> Option<Arc<Conn>> {
        self.conn.load_full()
    }

    /// Counts a call in flight until the guard is dropped.
    pub(crate) fn start(&self) -> InFlight<'_> {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        InFlight(self)
    }

    /// Whether `rpc` was answered UNIMPLEMENTED less than its TTL ago.
    pub(crate) fn unimplemented(&self, rpc: &str) -> bool {
        let now = self.now_ms();
        self.unimplemented
            .lock()
            .is_ok_and(|l| l.iter().any(|(r, until)| *r == rpc && now < *until))
    }

    /// Remembers that `rpc` is not implemented here, for `ttl`; returns whether it was not
    /// known (to log once per period).
    pub(crate) fn remember_unimplemented(&self, rpc: &'static str, ttl: Duration) -> bool {
        let now = self.now_ms();
        let until = now.saturating_add(u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX));
        let Ok(mut list) = self.unimplemented.lock() else {
            return false;
        };
        list.retain(|(_, until)| now < *until);
        match list.iter_mut().find(|(r, _)| *r == rpc) {
            Some(entry) => {
                entry.1 = until;
                false
            }
            None => {
                list.push((rpc, until));
                true
            }
        }
    }

    /// Records how a call ended: metrics, and the outlier state (consecutive failures eject the
    /// endpoint for a while, doubling each time in a row; an answer resets both).
    pub(crate) fn ended(&self, ended: Ended, took: Duration) {
        let result = match ended {
            Ended::Answered => 0,
            Ended::Failed => 1,
            Ended::TimedOut => 2,
            Ended::Unreachable => 3,
        };
        self.metrics.durations[result].record(took.as_secs_f64());
        let counter = match ended {
            Ended::Answered => {
                self.failures.store(0, Ordering::Relaxed);
                if self.ejections.load(Ordering::Relaxed) != 0 && !self.ejected() {
                    self.ejections.store(0, Ordering::Relaxed);
                }
                &self.metrics.ok
            }
            Ended::Failed => &self.metrics.error,
            Ended::TimedOut => &self.metrics.timeout,
            Ended::Unreachable => &self.metrics.unavailable,
        };
        counter.increment(1);
        // A broken connection is the connection's business (it is replaced, and the call
        // retried elsewhere), not a sign of a sick endpoint: a graceful restart must not eject.
        if matches!(ended, Ended::Answered | Ended::Unreachable) {
            return;
        }
        let failures = self.failures.fetch_add(1, Ordering::Relaxed) + 1;
        if failures >= self.settings.eject_after && !self.ejected() {
            self.failures.store(0, Ordering::Relaxed);
            let n = self.ejections.fetch_add(1, Ordering::Relaxed);
            let time = self
                .settings
                .eject_base
                .saturating_mul(1 << n.min(16))
                .min(self.settings.eject_max);
            let until = self
                .now_ms()
                .saturating_add(u64::try_from(time.as_millis()).unwrap_or(u64::MAX));
            self.ejected_until.store(until, Ordering::Relaxed);
            self.metrics.ejections.increment(1);
            tracing::warn!(endpoint = %self.address, failures, ejected_for = ?time,
                last = ?ended, "policy endpoint ejected after consecutive failures");
        }
    }

    /// A call found `conn` broken (closed, or going away): stop using it, reconnect.
    pub(crate) fn conn_failed(&self, conn: &Arc<Conn>) {
        let current = self.conn.load();
        if current.as_ref().is_some_and(|c| Arc::ptr_eq(c, conn)) {
            self.conn.store(None);
            self.state
                .store(ConnState::Connecting as u8, Ordering::Relaxed);
            self.stale.notify_one();
        }
    }

    /// Keeps the endpoint connected until it is retired: connects, watches health on the
    /// connection, and reconnects with backoff when it ends. `changed` is notified whenever the
    /// endpoint may have become usable; `lost` whenever a connection failed or ended (the
    /// target's addresses may have changed).
    pub(crate) async fn run(self: Arc<Self>, changed: Arc<Notify>, lost: Arc<Notify>) {
        let mut stop = self.retired.subscribe();
        let mut wait = self.settings.reconnect_initial;
        let mut logged_failure = false;
        while !*stop.borrow() {
            match self.connect().await {
                Ok((conn, connection)) => {
                    wait = self.settings.reconnect_initial;
                    if logged_failure {
                        tracing::info!(endpoint = %self.address, "policy endpoint reconnected");
                        logged_failure = false;
                    }
                    let conn = Arc::new(conn);
                    self.conn.store(Some(conn.clone()));
                    self.state
                        .store(ConnState::Connected as u8, Ordering::Relaxed);
                    changed.notify_waiters();
                    let health = tokio::spawn(
                        self.clone()
                            .watch_health(conn.as_ref().clone(), changed.clone()),
                    );
                    let mut connection = tokio::spawn(connection);
                    tokio::select! {
                        _ = &mut connection => {}
                        () = self.stale.notified() => {}
                        _ = stop.changed() => {}
                    }
                    health.abort();
                    self.conn.store(None);
                    self.health.store(Health::Unknown as u8, Ordering::Relaxed);
                    if *stop.borrow() {
                        // In-flight calls hold their own handle: the connection ends when they do.
                        return;
                    }
                    self.state
                        .store(ConnState::Connecting as u8, Ordering::Relaxed);
                    lost.notify_one();
                    // A connection that ended (GOAWAY, a restart) is retried after the first,
                    // short wait.
                }
                Err(e) => {
                    self.state.store(ConnState::Failed as u8, Ordering::Relaxed);
                    // Calls waiting for this attempt (see `kick`) answer at once.
                    changed.notify_waiters();
                    lost.notify_one();
                    if !logged_failure {
                        tracing::warn!(endpoint = %self.address, error = %e,
                            "cannot connect to policy endpoint: retrying with backoff");
                        logged_failure = true;
                    }
                }
            }
            let jittered = wait.mul_f64(0.5 + fastrand::f64() / 2.0);
            tokio::select! {
                () = tokio::time::sleep(jittered) => {}
                () = self.kick.notified() => {}
                _ = stop.changed() => {}
            }
            wait = (wait * 2).min(self.settings.reconnect_max);
        }
    }

    /// A call found no endpoint to use: if this one failed to connect, try again now instead
    /// of at the end of the backoff (as a lazily connecting client does), so that a policy that
    /// came back gets the call; returns whether an attempt was started (the call may wait for
    /// it). Calls share the attempt in progress: there is never more than one at a time.
    pub(crate) fn kick(&self) -> bool {
        let started = self
            .state
            .compare_exchange(
                ConnState::Failed as u8,
                ConnState::Connecting as u8,
                Ordering::Relaxed,
                Ordering::Relaxed,
            )
            .is_ok();
        if started {
            self.kick.notify_one();
        }
        started
    }

    /// One connection attempt: the socket, then the HTTP/2 handshake; returns the handle and
    /// the connection's future.
    async fn connect(
        &self,
    ) -> std::io::Result<(Conn, std::pin::Pin<Box<dyn Future<Output = ()> + Send>>)> {
        let keepalive = self.settings.keepalive;
        let attempt = async {
            match &self.address {
                Address::Tcp(addr) => {
                    let stream = tokio::net::TcpStream::connect(addr).await?;
                    stream.set_nodelay(true)?;
                    if let Some(tls) = &self.tls {
                        let stream = self.tls_handshake(tls, stream).await?;
                        let (conn, connection) =
                            h2conn::handshake(coalesced(stream), keepalive).await?;
                        return Ok((conn, Box::pin(connection) as _));
                    }
                    let (conn, connection) =
                        h2conn::handshake(coalesced(stream), keepalive).await?;
                    Ok((conn, Box::pin(connection) as _))
                }
                Address::Unix(path) => {
                    let stream = tokio::net::UnixStream::connect(path).await?;
                    let (conn, connection) =
                        h2conn::handshake(coalesced(stream), keepalive).await?;
                    Ok((conn, Box::pin(connection) as _))
                }
            }
        };
        tokio::time::timeout(self.settings.connect_timeout, attempt)
            .await
            .map_err(|_| {
                std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    format!("no connection within {:?}", self.settings.connect_timeout),
                )
            })?
    }

    /// The TLS handshake on `stream`: the policy's certificate must be signed by the CA and name
    /// the server name (or the target's host); a failure is a failed connection attempt (the
    /// endpoint stays unusable, calls get the failure mode, counted `unavailable`).
    async fn tls_handshake(
        &self,
        tls: &ClientTls,
        stream: tokio::net::TcpStream,
    ) -> std::io::Result<tokio_rustls::client::TlsStream<tokio::net::TcpStream>> {
        use rustls::pki_types::ServerName;
        let name = match &tls.server_name {
            Some(name) => name.clone(),
            None => {
                let host = self.authority.host();
                let host = host.trim_start_matches('[').trim_end_matches(']');
                ServerName::try_from(host.to_owned()).map_err(|e| {
                    std::io::Error::new(std::io::ErrorKind::InvalidInput, format!("{host}: {e}"))
                })?
            }
        };
        let connector = tokio_rustls::TlsConnector::from(tls.config.current());
        let stream = connector.connect(name, stream).await.map_err(|e| {
            std::io::Error::new(
                e.kind(),
                format!("TLS handshake with the policy failed: {e}"),
            )
        })?;
        // gRPC needs HTTP/2: a server that picked nothing still gets HTTP/2 (tonic's does not
        // announce ALPN without its TLS feature), one that picked another protocol is refused.
        match stream.get_ref().1.alpn_protocol() {
            None | Some(b"h2") => Ok(stream),
            Some(other) => Err(std::io::Error::other(format!(
                "the policy offered {:?} over TLS, not h2",
                String::from_utf8_lossy(other)
            ))),
        }
    }

    /// Follows the endpoint's `grpc.health.v1` status (server `""`) on `conn` until the stream
    /// ends. A policy without health checking (UNIMPLEMENTED) counts as serving.
    async fn watch_health(self: Arc<Self>, conn: Conn, changed: Arc<Notify>) {
        let set = |h: Health| {
            let before = self.health.swap(h as u8, Ordering::Relaxed);
            if before != h as u8 {
                if h == Health::NotServing {
                    tracing::warn!(endpoint = %self.address, "policy endpoint reports NOT_SERVING");
                }
                changed.notify_waiters();
            }
        };
        let body = grpc::frame(&HealthCheckRequest {
            service: String::new(),
        });
        let request = grpc::request(
            self.scheme(),
            &self.authority,
            "/grpc.health.v1.Health/Watch",
            None,
            [],
        );
        let Ok(response) = h2conn::send(&conn, request, body).await else {
            return;
        };
        let (parts, mut body) = response.into_parts();
        if let Some(status) = grpc::status_of(&parts.headers) {
            set(match status {
                Err(s) if s.code() == tonic::Code::Unimplemented => Health::Serving,
                _ => Health::NotServing,
            });
            return;
        }
        let mut buf = BytesMut::new();
        while let Some(Ok(frame)) = body.frame().await {
            match frame.into_data() {
                Ok(data) => {
                    buf.extend_from_slice(&data);
                    while let Some(message) = grpc::next_message(&mut buf) {
                        let serving = HealthCheckResponse::decode(message).is_ok_and(|r| {
                            r.status() == health_check_response::ServingStatus::Serving
                        });
                        set(if serving {
                            Health::Serving
                        } else {
                            Health::NotServing
                        });
                    }
                }
                Err(frame) => {
                    if let Some(Err(s)) = frame.trailers_ref().and_then(grpc::status_of) {
                        set(if s.code() == tonic::Code::Unimplemented {
                            Health::Serving
                        } else {
                            Health::NotServing
                        });
                        return;
                    }
                }
            }
        }
        set(Health::Unknown);
    }
}

/// A call in flight on an endpoint (its load), until dropped.
#[derive(Debug)]
pub(crate) struct InFlight<'a>(&'a Endpoint);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}
