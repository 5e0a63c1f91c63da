//! A pool of policy endpoints and the calls balanced over them: power of two choices on the
//! calls in flight (an endpoint that is slow or frozen accumulates calls and stops being chosen
//! within a few calls), skipping endpoints that are not connected, NOT_SERVING or ejected; one
//! transparent retry on another endpoint of a call the policy never saw (gRFC A6's "transparent
//! retry": connection refused or reset, GOAWAY, UNAVAILABLE) while the deadline allows.
//!
//! The before-callbacks and the after-event deliveries of a target each have their own pool, so
//! that a delivery backlog never queues behind or in front of a user's message.

use std::{
    collections::BTreeMap,
    sync::Arc,
    time::{Duration, Instant},
};

use arc_swap::ArcSwap;
use bytes::Bytes;
use http::uri::Authority;
use openim_common::otel::{TRACEPARENT, TRACESTATE};
use tokio::sync::{Notify, watch};
use tonic::{Code, Status};

use super::{
    CallError, TraceParent,
    endpoint::{Address, ClientTls, ConnState, Ended, Endpoint, EndpointSettings},
    grpc, h2conn,
};
use crate::traces;

/// One call to make.
#[derive(Debug)]
pub(crate) struct Call<'a> {
    /// gRPC path.
    pub(crate) path: &'static str,
    /// The framed request.
    pub(crate) body: Bytes,
    /// Metadata (name, value).
    pub(crate) metadata: &'a [(&'static str, &'a str)],
    /// Deadline of the whole call, retry included.
    pub(crate) timeout: Duration,
    /// How long an UNIMPLEMENTED answer is remembered (per endpoint).
    pub(crate) unimplemented_ttl: Duration,
    /// Keep the reply's message (else only its status matters).
    pub(crate) keep_reply: bool,
    /// The trace the call belongs to.
    pub(crate) trace: &'a TraceParent,
}

/// What picking an endpoint gave.
enum Pick {
    Endpoint(Arc<Endpoint>),
    /// None usable now, but some are connecting: wait for one.
    Wait,
    /// None usable, none connecting.
    None,
}

/// A pool: the endpoints of one target, for one kind of traffic.
#[derive(Debug)]
pub(crate) struct Pool {
    /// `before` or `after`, for metrics and logs.
    pub(crate) name: &'static str,
    endpoints: ArcSwap<Vec<Arc<Endpoint>>>,
    /// Notified when an endpoint may have become usable.
    changed: Arc<Notify>,
    /// Notified when an endpoint lost its connection (the discovery may re-resolve).
    lost: Arc<Notify>,
    settings: EndpointSettings,
    /// TLS of its endpoints (an `https://` group).
    tls: Option<Arc<ClientTls>>,
    max_reply_bytes: usize,
    clock: Instant,
    stop: watch::Receiver<bool>,
}

impl Pool {
    pub(crate) fn new(
        name: &'static str,
        settings: EndpointSettings,
        tls: Option<Arc<ClientTls>>,
        max_reply_bytes: usize,
        lost: Arc<Notify>,
        stop: watch::Receiver<bool>,
    ) -> Self {
        Self {
            tls,
            name,
            endpoints: ArcSwap::from_pointee(Vec::new()),
            changed: Arc::new(Notify::new()),
            lost,
            settings,
            max_reply_bytes,
            clock: Instant::now(),
            stop,
        }
    }

    /// The endpoints now.
    pub(crate) fn endpoints(&self) -> Arc<Vec<Arc<Endpoint>>> {
        self.endpoints.load_full()
    }

    /// Sets the pool's addresses: new ones get an endpoint (and its connection task), missing
    /// ones are dropped (their calls in flight finish on the connection they hold).
    pub(crate) fn set_addresses(&self, addresses: &BTreeMap<Address, Authority>) {
        let current = self.endpoints.load_full();
        let mut next = Vec::with_capacity(addresses.len());
        let mut removed = 0;
        for e in current.iter() {
            if addresses.contains_key(&e.address) {
                next.push(e.clone());
            } else {
                removed += 1;
            }
        }
        for (address, authority) in addresses {
            if current.iter().any(|e| &e.address == address) {
                continue;
            }
            let endpoint = Arc::new(Endpoint::new(
                address.clone(),
                authority.clone(),
                self.tls.clone(),
                self.name,
                self.settings.clone(),
                self.clock,
            ));
            // The task ends when the endpoint leaves the pool or the pool stops.
            let mut pool_stop = self.stop.clone();
            let run = endpoint
                .clone()
                .run(self.changed.clone(), self.lost.clone());
            tokio::spawn(async move {
                tokio::select! {
                    () = run => {}
                    _ = pool_stop.changed() => {}
                }
            });
            next.push(endpoint);
        }
        for e in current.iter() {
            if !addresses.contains_key(&e.address) {
                e.retire();
            }
        }
        if removed > 0 || next.len() != current.len() {
            tracing::info!(pool = self.name, endpoints = ?next.iter().map(|e| e.address.to_string()).collect::<Vec<_>>(),
                "policy endpoints changed");
        }
        self.endpoints.store(Arc::new(next));
        self.changed.notify_waiters();
    }

    /// Picks an endpoint for a call: power of two choices on the calls in flight among the
    /// usable, not ejected endpoints (but `avoid`); when all usable ones are ejected, among
    /// them anyway (better an endpoint that failed recently than none).
    fn pick(&self, avoid: Option<&Endpoint>) -> Pick {
        let endpoints = self.endpoints.load();
        let avoided = |e: &Endpoint| avoid.is_some_and(|a| std::ptr::eq(a, e));
        let eligible = |e: &Endpoint, ejected_too: bool| {
            e.usable() && !avoided(e) && (ejected_too || !e.ejected())
        };
        for ejected_too in [false, true] {
            let n = endpoints
                .iter()
                .filter(|e| eligible(e, ejected_too))
                .count();
            if n == 0 {
                continue;
            }
            let nth = |k: usize| {
                endpoints
                    .iter()
                    .filter(|e| eligible(e, ejected_too))
                    .nth(k)
                    .cloned()
            };
            let first = fastrand::usize(..n);
            let chosen = if n == 1 {
                nth(first)
            } else {
                // A second, distinct candidate.
                let second = (first + 1 + fastrand::usize(..n - 1)) % n;
                match (nth(first), nth(second)) {
                    (Some(a), Some(b)) => Some(if b.load() < a.load() { b } else { a }),
                    (a, b) => a.or(b),
                }
            };
            if let Some(e) = chosen {
                return Pick::Endpoint(e);
            }
        }
        if endpoints
            .iter()
            .any(|e| !avoided(e) && e.state() == ConnState::Connecting)
        {
            Pick::Wait
        } else {
            Pick::None
        }
    }

    /// Makes `call`; see the module docs.
    pub(crate) async fn call(&self, call: &Call<'_>) -> Result<Option<Bytes>, CallError> {
        let started = tokio::time::Instant::now();
        let deadline = started + call.timeout;
        let mut avoid: Option<Arc<Endpoint>> = None;
        let mut retried = false;
        // A call starts at most one round of connection attempts.
        let mut kicked = false;
        loop {
            let changed = self.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            let endpoint = match self.pick(avoid.as_deref()) {
                Pick::Endpoint(e) => e,
                Pick::Wait => {
                    tokio::select! {
                        () = changed => continue,
                        () = tokio::time::sleep_until(deadline) => {
                            return Err(CallError::Timeout(call.timeout));
                        }
                    }
                }
                Pick::None => {
                    // Try the failed ones again now, and wait for the attempt if one started.
                    let started = !kicked && {
                        kicked = true;
                        self.endpoints
                            .load()
                            .iter()
                            .fold(false, |k, e| e.kick() | k)
                    };
                    if !started {
                        return Err(CallError::Status(Status::unavailable(
                            "no policy endpoint is reachable",
                        )));
                    }
                    tokio::select! {
                        () = changed => continue,
                        () = tokio::time::sleep_until(deadline) => {
                            return Err(CallError::Timeout(call.timeout));
                        }
                    }
                }
            };
            if endpoint.unimplemented(call.path) {
                return Err(CallError::Unimplemented);
            }
            let Some(conn) = endpoint.conn() else {
                // Lost its connection since the pick: pick again.
                continue;
            };
            let now = tokio::time::Instant::now();
            if now >= deadline {
                return Err(CallError::Timeout(call.timeout));
            }
            let remaining = deadline - now;
            let _in_flight = endpoint.start();
            let (span, trace) = traces::attempt(
                call.trace,
                call.path,
                &endpoint.address,
                if retried { 2 } else { 1 },
            );
            let trace_headers = trace.iter().flat_map(|(tp, ts)| {
                [(TRACEPARENT, tp.as_ref()), (TRACESTATE, ts.as_ref())]
                    .into_iter()
                    .filter(|(_, v)| !v.is_empty())
            });
            let request = grpc::request(
                endpoint.scheme(),
                &endpoint.authority,
                call.path,
                Some(remaining),
                call.metadata.iter().copied().chain(trace_headers),
            );
            let attempt = async {
                let response = h2conn::send(&conn, request, call.body.clone())
                    .await
                    .map_err(Failure::Unprocessed)?;
                grpc::read_reply(response, call.keep_reply, self.max_reply_bytes)
                    .await
                    .map_err(Failure::Status)
            };
            let result = tokio::time::timeout_at(deadline, attempt).await;
            let took = now.elapsed();
            if span.is_some() {
                let (code, error) = match &result {
                    Ok(Ok(_)) => (Some(Code::Ok), None),
                    Ok(Err(Failure::Status(s))) => (Some(s.code()), Some(s.message().to_owned())),
                    Ok(Err(Failure::Unprocessed(e))) => (None, Some(e.to_string())),
                    Err(_) => (None, Some("deadline exceeded".to_owned())),
                };
                traces::attempt_end(span, code, error.as_deref());
            }
            let failure = match result {
                Ok(Ok(reply)) => {
                    endpoint.ended(Ended::Answered, took);
                    return Ok(reply);
                }
                Err(_) => {
                    endpoint.ended(Ended::TimedOut, took);
                    return Err(CallError::Timeout(call.timeout));
                }
                Ok(Err(failure)) => failure,
            };
            // Whether the policy never saw the call (or said it could not take it): then it is
            // retried once elsewhere, as the deadline allows.
            let unprocessed = match &failure {
                Failure::Unprocessed(e) => {
                    endpoint.ended(Ended::Unreachable, took);
                    endpoint.conn_failed(&conn);
                    tracing::debug!(endpoint = %endpoint.address, error = %e, "policy call not sent");
                    true
                }
                Failure::Status(s) => match s.code() {
                    Code::Unimplemented => {
                        endpoint.ended(Ended::Answered, took);
                        if endpoint.remember_unimplemented(call.path, call.unimplemented_ttl) {
                            tracing::info!(endpoint = %endpoint.address, rpc = call.path,
                                ttl = ?call.unimplemented_ttl,
                                "the policy endpoint does not implement this callback: continuing without asking it");
                        }
                        return Err(CallError::Unimplemented);
                    }
                    // The deadline ran out on the policy's side first (tonic servers answer
                    // their own `grpc-timeout` with CANCELLED "Timeout expired"). Any other
                    // CANCELLED is the policy's own error, not a timeout (below).
                    Code::DeadlineExceeded => {
                        endpoint.ended(Ended::TimedOut, took);
                        return Err(CallError::Timeout(call.timeout));
                    }
                    Code::Cancelled if s.message() == TONIC_TIMEOUT => {
                        endpoint.ended(Ended::TimedOut, took);
                        return Err(CallError::Timeout(call.timeout));
                    }
                    Code::Unavailable => {
                        endpoint.ended(Ended::Failed, took);
                        true
                    }
                    Code::Internal | Code::Unknown | Code::DataLoss => {
                        endpoint.ended(Ended::Failed, took);
                        false
                    }
                    _ => {
                        endpoint.ended(Ended::Answered, took);
                        false
                    }
                },
            };
            if unprocessed && !retried && tokio::time::Instant::now() < deadline {
                retried = true;
                avoid = Some(endpoint.clone());
                metrics::counter!("openim_shim_policy_retries_total", "pool" => self.name)
                    .increment(1);
                continue;
            }
            return Err(CallError::Status(match failure {
                Failure::Unprocessed(e) => Status::unavailable(format!(
                    "policy endpoint {} not reachable: {e}",
                    endpoint.address
                )),
                Failure::Status(s) => s,
            }));
        }
    }
}

/// The message of the CANCELLED status a tonic server answers when the call's `grpc-timeout`
/// expires (tonic's `TimeoutExpired`).
const TONIC_TIMEOUT: &str = "Timeout expired";

/// How an attempt failed.
enum Failure {
    /// Before any reply: not sent, refused, or the connection failed (GOAWAY, reset).
    Unprocessed(h2::Error),
    /// The reply's status.
    Status(Status),
}
