//! What the policy records around each RPC of the contract, as a tower layer on the gRPC
//! server: the latency histogram by command and outcome
//! (`openim_policy_decision_duration_seconds`), a decision ID for the audit line, and, with
//! traces on, a server span child of the caller's W3C `traceparent` (the shim's attempt span).
//!
//! The outcome is the decision the handler counted (`stats::decision`, through a task-local set
//! for the call's duration), else the reply's gRPC status (`unimplemented`, `error`). Health and
//! reflection calls pass through untouched.

use std::{
    cell::Cell,
    collections::HashMap,
    future::Future,
    pin::Pin,
    sync::{LazyLock, OnceLock, RwLock},
    task::{Context as TaskContext, Poll},
    time::Instant,
};

use metrics::Histogram;
use openim_common::otel;
use opentelemetry::{
    Context, KeyValue,
    trace::{SpanKind, Status, TraceContextExt as _, Tracer as _},
};
use tower::{Layer, Service};

use crate::stats::Outcome;

/// gRPC metadata the shim sends with every call.
const OPERATION_ID_KEY: &str = "operationid";
const COMMAND_KEY: &str = "openim-command";
const DELIVERY_ATTEMPT_KEY: &str = "delivery-attempt";

/// What is known about the RPC being served, for the code it calls (audit lines).
#[derive(Debug)]
struct Current {
    decision_id: u64,
    trace: Trace,
    outcome: Cell<Option<Outcome>>,
}

/// Where the RPC's trace ID is, formatted only when an audit line asks for it.
#[derive(Debug)]
enum Trace {
    None,
    /// This policy's span (traces on).
    Span(opentelemetry::trace::TraceId),
    /// The caller's `traceparent` (traces off here; a reference-counted copy of the header).
    Header(http::HeaderValue),
}

tokio::task_local! {
    static CURRENT: Current;
}

/// Records the decision of the RPC being served (called by `stats::decision`).
pub(crate) fn decided(outcome: Outcome) {
    let _ = CURRENT.try_with(|c| c.outcome.set(Some(outcome)));
}

/// The decision ID (16 hex digits) and trace ID (32 hex digits, when the call came with a
/// trace) of the RPC being served; `None` outside one (tests calling the engine directly).
pub(crate) fn ids() -> Option<(String, Option<String>)> {
    CURRENT
        .try_with(|c| {
            let trace_id = match &c.trace {
                Trace::None => None,
                Trace::Span(id) => Some(id.to_string()),
                Trace::Header(tp) => tp
                    .to_str()
                    .ok()
                    .and_then(otel::trace_id_of)
                    .map(str::to_owned),
            };
            (format!("{:016x}", c.decision_id), trace_id)
        })
        .ok()
}

/// The layer; see the module docs.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct ObserveLayer;

impl<S> Layer<S> for ObserveLayer {
    type Service = Observe<S>;

    fn layer(&self, inner: S) -> Observe<S> {
        Observe { inner }
    }
}

/// The service of [`ObserveLayer`].
#[derive(Debug, Clone)]
pub(crate) struct Observe<S> {
    inner: S,
}

type BoxFuture<T, E> = Pin<Box<dyn Future<Output = Result<T, E>> + Send>>;

impl<S, B, R> Service<http::Request<B>> for Observe<S>
where
    S: Service<http::Request<B>, Response = http::Response<R>>,
    S::Future: Send + 'static,
    S::Error: 'static,
{
    type Response = http::Response<R>;
    type Error = S::Error;
    type Future = BoxFuture<Self::Response, Self::Error>;

    fn poll_ready(&mut self, cx: &mut TaskContext<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let headers = request.headers();
        let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
        let Some(command) = command_of(request.uri().path(), header(COMMAND_KEY)) else {
            return Box::pin(self.inner.call(request));
        };
        let started = Instant::now();
        let span = otel::tracer().map(|tracer| {
            let parent = otel::extract_headers(headers);
            let name = request.uri().path().trim_start_matches('/');
            let (service, method) = name.split_once('/').unwrap_or((name, ""));
            let mut attributes = vec![
                KeyValue::new("rpc.system", "grpc"),
                KeyValue::new("rpc.service", service.to_owned()),
                KeyValue::new("rpc.method", method.to_owned()),
                KeyValue::new("openim.command", command),
                KeyValue::new(
                    "openim.operation_id",
                    header(OPERATION_ID_KEY).unwrap_or_default().to_owned(),
                ),
            ];
            if let Some(attempt) = header(DELIVERY_ATTEMPT_KEY).and_then(|a| a.parse::<i64>().ok())
            {
                attributes.push(KeyValue::new("openim.delivery_attempt", attempt));
            }
            let span = tracer
                .span_builder(name.to_owned())
                .with_kind(SpanKind::Server)
                .with_attributes(attributes)
                .start_with_context(tracer, &parent);
            parent.with_span(span)
        });
        let trace = match &span {
            Some(cx) => Trace::Span(cx.span().span_context().trace_id()),
            // Traces off here: the caller's trace still names the decision.
            None => headers
                .get(otel::TRACEPARENT)
                .map_or(Trace::None, |tp| Trace::Header(tp.clone())),
        };
        let current = Current {
            decision_id: fastrand::u64(..),
            trace,
            outcome: Cell::new(None),
        };
        let served = self.inner.call(request);
        Box::pin(CURRENT.scope(current, async move {
            let result = served.await;
            let decided = CURRENT.with(|c| (c.outcome.get(), c.decision_id));
            let outcome = match (decided.0, &result) {
                (Some(o), _) => o.label(),
                (None, Ok(response)) => status_outcome(response.headers()),
                (None, Err(_)) => "error",
            };
            record_duration(command, outcome, started.elapsed().as_secs_f64());
            if let Some(cx) = span {
                end(&cx, outcome, decided.1);
            }
            result
        }))
    }
}

/// `policy_proto::command_of` with one hash lookup instead of a scan of the table.
fn command_of(path: &str, hint: Option<&str>) -> Option<&'static str> {
    static BY_PATH: LazyLock<HashMap<&'static str, Vec<&'static str>>> = LazyLock::new(|| {
        let mut by_path: HashMap<_, Vec<_>> = HashMap::new();
        for (path, command) in policy_proto::COMMANDS {
            by_path.entry(*path).or_default().push(*command);
        }
        by_path
    });
    let commands = BY_PATH.get(path)?;
    match hint {
        Some(hint) if commands.len() > 1 => commands.iter().find(|c| **c == hint).copied(),
        _ => None,
    }
    .or_else(|| commands.first().copied())
}

/// The outcome of a reply without a decision, from its trailers-only `grpc-status`.
fn status_outcome(headers: &http::HeaderMap) -> &'static str {
    match headers.get("grpc-status").map(http::HeaderValue::as_bytes) {
        None | Some(b"0") => "continue",
        Some(b"12") => "unimplemented",
        Some(b"14") => Outcome::Unavailable.label(),
        Some(b"3") => Outcome::Malformed.label(),
        Some(_) => "error",
    }
}

fn end(cx: &Context, outcome: &'static str, decision_id: u64) {
    let span = cx.span();
    span.set_attribute(KeyValue::new("openim.outcome", outcome));
    span.set_attribute(KeyValue::new(
        "openim.decision_id",
        format!("{decision_id:016x}"),
    ));
    if outcome == "error" {
        span.set_status(Status::error("the policy could not decide"));
    }
    span.end();
}

/// Records `seconds` in the histogram of `command` and `outcome`, registered on first use
/// (bounded: both come from fixed tables).
fn record_duration(command: &'static str, outcome: &'static str, seconds: f64) {
    type Table = RwLock<HashMap<(&'static str, &'static str), Histogram>>;
    static TABLE: OnceLock<Table> = OnceLock::new();
    let table = TABLE.get_or_init(Default::default);
    if let Some(h) = table
        .read()
        .unwrap_or_else(|e| e.into_inner())
        .get(&(command, outcome))
    {
        h.record(seconds);
        return;
    }
    let h = metrics::histogram!("openim_policy_decision_duration_seconds",
        "command" => command, "outcome" => outcome);
    h.record(seconds);
    table
        .write()
        .unwrap_or_else(|e| e.into_inner())
        .insert((command, outcome), h);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fast_lookup_agrees_with_the_contract_s() {
        for (path, command) in policy_proto::COMMANDS {
            for hint in [None, Some(*command), Some("callbackForged")] {
                assert_eq!(
                    command_of(path, hint),
                    policy_proto::command_of(path, hint),
                    "{path} {hint:?}"
                );
            }
        }
        assert_eq!(command_of("/grpc.health.v1.Health/Watch", None), None);
    }
}
