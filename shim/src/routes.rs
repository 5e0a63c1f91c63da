//! HTTP routes: OpenIM's callbacks on every path (POST), and for operators `GET /healthz`
//! (the process serves), `GET /readyz` (the shim can answer OpenIM; the policy's endpoints are
//! listed, not required), `GET /policyz` (the policy has a usable endpoint) and `GET /metrics`
//! (Prometheus text format).
//!
//! Whatever happens (unknown command, unreadable or malformed body, policy down, overload, even
//! a panic), OpenIM gets HTTP 200 and a valid reply in its JSON format: OpenIM fails the user's
//! operation on any reply it cannot decode. The one exception is a caller that fails the
//! configured authentication (`auth`): 401 or 403, since it is not OpenIM (or a misconfigured
//! one, which should fail loudly).
//!
//! Overload is answered at once, not queued: past `limits.maxConcurrent` callbacks in flight, or
//! when a body would take the bodies held over `limits.bodyBudget`, the callback gets its
//! failure mode (cause `shed`), which OpenIM gets well within its own timeout.

use std::{any::Any, net::SocketAddr, sync::Arc, time::Instant};

use axum::{
    Router,
    extract::{ConnectInfo, Request, State},
    http::{
        HeaderValue, Method, StatusCode,
        header::{CONTENT_LENGTH, CONTENT_TYPE},
    },
    response::{IntoResponse, Response},
    routing::get,
};
use bytes::{Bytes, BytesMut};
use metrics::counter;
use tokio::sync::SemaphorePermit;
use tower_http::catch_panic::CatchPanicLayer;
use tracing::Instrument;

use crate::{
    App, auth,
    callbacks::Verdict,
    commands,
    dispatch::{self, Call},
    openim,
    outcome::Cause,
    policy_client::OPERATION_ID_KEY,
    rescue::rescue,
    traces,
};

/// The shim's router: callbacks and the operators' endpoints.
pub fn router(app: Arc<App>) -> Router {
    admin_routes()
        .fallback(callback)
        .with_state(app)
        .layer(CatchPanicLayer::custom(on_panic))
}

/// The callbacks only (`admin.listen` set: the operators' endpoints are elsewhere).
pub fn callbacks_router(app: Arc<App>) -> Router {
    Router::new()
        .fallback(callback)
        .with_state(app)
        .layer(CatchPanicLayer::custom(on_panic))
}

/// The operators' endpoints only, for `admin.listen`.
pub fn admin_router(app: Arc<App>) -> Router {
    admin_routes().with_state(app)
}

fn admin_routes() -> Router<Arc<App>> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/policyz", get(policyz))
        .route("/metrics", get(metrics))
}

/// Liveness: the process serves HTTP.
async fn healthz() -> &'static str {
    "ok\n"
}

/// Readiness: the shim can answer OpenIM (it listens, its config is loaded, its spool is open),
/// whatever the policy's state: when the policy is down the shim still answers, with each
/// callback's failure mode, and keeps after-events. Gating readiness on the policy would take
/// every shim out of the Service at once during a policy outage, and OpenIM would get
/// connection errors instead. The policy's endpoints are listed for operators.
async fn readyz(State(app): State<Arc<App>>) -> Response {
    let (usable, policy) = policy_report(&app);
    let spool = app.spool.report();
    if app.draining() {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("not ready: stopping\n{spool}{policy}"),
        )
            .into_response();
    }
    if app.settings.ready_requires_policy && !usable {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("not ready: no usable policy endpoint (readyRequiresPolicy)\n{spool}{policy}"),
        )
            .into_response();
    }
    (StatusCode::OK, format!("ready\n{spool}{policy}")).into_response()
}

/// The policy's state: 200 when every target has an endpoint that can take before-callbacks,
/// 503 otherwise; the body lists every endpoint.
async fn policyz(State(app): State<Arc<App>>) -> Response {
    let (usable, report) = policy_report(&app);
    let status = if usable {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, report).into_response()
}

/// Whether each group of targets has a usable before-callback endpoint, and a line per endpoint.
fn policy_report(app: &App) -> (bool, String) {
    let endpoints = app.policy.endpoints();
    let mut groups: std::collections::BTreeMap<&str, bool> = std::collections::BTreeMap::new();
    let mut lines = String::new();
    for e in &endpoints {
        let usable = e.state == "connected" && e.health != "not_serving" && !e.ejected;
        if e.pool == "before" {
            *groups.entry(e.group.as_str()).or_default() |= usable;
        }
        lines.push_str(&format!(
            "policy {} {} {}: {} health={}{} in_flight={}\n",
            e.group,
            e.pool,
            e.address,
            e.state,
            e.health,
            if e.ejected { " ejected" } else { "" },
            e.in_flight
        ));
    }
    let usable = !groups.is_empty() && groups.values().all(|u| *u);
    (usable, lines)
}

/// Prometheus text exposition of the process's metrics.
async fn metrics(State(app): State<Arc<App>>) -> Response {
    endpoint_states(&app);
    let mut response = app.metrics.render().into_response();
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    response
}

/// `openim_shim_policy_endpoints{pool, state}`: how many endpoints of each pool are in each
/// state now. Computed at the scrape, from the endpoints' own state: an ejection ends by time,
/// with no event to update a gauge on.
fn endpoint_states(app: &App) {
    const STATES: [&str; 5] = [
        "usable",
        "ejected",
        "not_serving",
        "connecting",
        "disconnected",
    ];
    let mut counts = [[0u32; STATES.len()]; 2];
    for e in app.policy.endpoints() {
        let state = match (e.state, e.health, e.ejected) {
            ("connecting", ..) => 3,
            ("connected", _, true) => 1,
            ("connected", "not_serving", false) => 2,
            ("connected", ..) => 0,
            _ => 4,
        };
        counts[usize::from(e.pool == "after")][state] += 1;
    }
    for (pool, counts) in ["before", "after"].into_iter().zip(counts) {
        for (state, n) in STATES.into_iter().zip(counts) {
            metrics::gauge!("openim_shim_policy_endpoints", "pool" => pool, "state" => state)
                .set(f64::from(n));
        }
    }
}

fn json_reply(status: StatusCode, body: Bytes) -> Response {
    let mut response = (status, body).into_response();
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    response
}

/// The last resort, for a panic outside a callback's handler (whose panics `dispatch::serve`
/// answers with the callback's `onError`): a bug must not fail the user's operation, so answer
/// continue, and make the bug loud.
#[allow(clippy::needless_pass_by_value)] // the signature CatchPanicLayer requires
fn on_panic(err: Box<dyn Any + Send + 'static>) -> Response {
    let detail = dispatch::panic_message(&*err);
    tracing::error!(
        panic = %detail,
        "request handler panicked: answered continue"
    );
    counter!("openim_shim_panics_total").increment(1);
    json_reply(StatusCode::OK, Bytes::from_static(openim::CONTINUE))
}

/// Serves one OpenIM callback; see the module docs.
async fn callback(State(app): State<Arc<App>>, request: Request) -> Response {
    let started = Instant::now();
    let (parts, body) = request.into_parts();
    let peer = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0);
    if let Err(refused) = auth::check(&app.settings.auth, &parts, peer) {
        // Neither the path (it may hold a wrong secret) nor the token are logged.
        tracing::warn!(peer = ?peer, reason = refused.as_str(), "caller refused");
        counter!("openim_shim_refused_callers_total", "reason" => refused.as_str()).increment(1);
        return (refused.status(), "caller not allowed\n").into_response();
    }
    if parts.method != Method::POST {
        // OpenIM only POSTs; a continue body keeps even a redirected request harmless.
        return json_reply(
            StatusCode::METHOD_NOT_ALLOWED,
            Bytes::from_static(openim::CONTINUE),
        );
    }
    let operation_id = parts
        .headers
        .get(OPERATION_ID_KEY)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    // Without the secret prefix: routing and logs never see it.
    let path = match &app.settings.auth.path_secret {
        Some(_) => auth::strip_secret(parts.uri.path()),
        None => parts.uri.path(),
    };
    let from_uri = openim::command_from_uri(path, parts.uri.query(), commands::is_known)
        .and_then(commands::lookup);

    // Shed at once, before reading the body, when the shim is full.
    let slot = app.callback_slots.try_acquire();
    let body = match slot {
        Ok(_) => {
            let declared = parts
                .headers
                .get(CONTENT_LENGTH)
                .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
            let limit = app.settings.limits.body_timeout;
            match tokio::time::timeout(limit, read_body(&app, body, declared)).await {
                Ok(read) => read,
                Err(_) => Err(BodyFailure::Body(format!(
                    "body not received within limits.bodyTimeout ({limit:?})"
                ))),
            }
        }
        Err(_) => Err(BodyFailure::Shed(
            "limits.maxConcurrent callbacks in flight",
        )),
    };
    let (body, _held) = match body {
        Ok((body, held)) => (Ok(body), held),
        Err(e) => (Err(e), None),
    };
    let routed = from_uri.or_else(|| {
        let body = body.as_ref().ok()?;
        commands::lookup(&openim::command_from_body(body)?)
    });
    let Some((wire_name, command)) = routed else {
        unknown_command(path, &operation_id, body.as_deref().ok());
        return json_reply(StatusCode::OK, Bytes::from_static(openim::CONTINUE));
    };

    let span = tracing::info_span!(
        "callback",
        command = command.name,
        operation_id = tracing::field::Empty,
    );
    if !operation_id.is_empty() {
        span.record("operation_id", operation_id.as_str());
    }
    let mut call = Call::new(command, wire_name, operation_id, Bytes::new());
    call.trace = traces::callback(&parts.headers, command.name);
    let verdict = async {
        match body {
            Ok(body) => {
                call.body = body;
                dispatch::serve(&app, &mut call).await
            }
            Err(e) => rescue(&app, &mut call, e.cause(), &e, Verdict::proceed()),
        }
    }
    .instrument(span)
    .await;

    app.callback(command)
        .metrics()
        .record(verdict.outcome, started.elapsed());
    traces::callback_end(&call.trace, &call.operation_id, &verdict, call.cause);
    if let Some(capture) = &app.capture {
        capture.offer(&call, &verdict);
    }
    json_reply(StatusCode::OK, verdict.body)
}

/// Why a body was not read.
#[derive(Debug)]
enum BodyFailure {
    /// Unreadable: too large, cut, or too slow.
    Body(String),
    /// Not read, to stay within a limit.
    Shed(&'static str),
}

impl BodyFailure {
    fn cause(&self) -> Cause {
        match self {
            Self::Body(_) => Cause::Body,
            Self::Shed(_) => Cause::Shed,
        }
    }
}

impl std::fmt::Display for BodyFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Body(e) => f.write_str(e),
            Self::Shed(limit) => write!(f, "shed: {limit}"),
        }
    }
}

/// Reads a body of at most `maxBody` bytes, holding its bytes in the shared budget
/// (`limits.bodyBudget`) until the returned permit is dropped: the declared length up front
/// (fails fast), what arrives beyond it as it arrives.
async fn read_body<'a>(
    app: &'a App,
    mut body: axum::body::Body,
    declared: Option<u64>,
) -> Result<(Bytes, Option<SemaphorePermit<'a>>), BodyFailure> {
    use http_body_util::BodyExt as _;
    let max = app.settings.max_body_bytes;
    let too_large = || BodyFailure::Body(format!("body larger than maxBody ({max} bytes)"));
    let shed = || BodyFailure::Shed("limits.bodyBudget bytes of bodies held");
    let declared = match declared {
        Some(n) if n > max as u64 => return Err(too_large()),
        Some(n) => n as usize,
        None => 0,
    };
    let reserve = |n: usize| {
        let n = u32::try_from(n).map_err(|_| shed())?;
        app.body_budget.try_acquire_many(n).map_err(|_| shed())
    };
    let mut held = match declared {
        0 => None,
        n => Some(reserve(n)?),
    };
    let mut reserved = declared;
    let mut buf = BytesMut::with_capacity(declared);
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| BodyFailure::Body(format!("cannot read the body: {e}")))?;
        let Ok(data) = frame.into_data() else {
            continue;
        };
        let len = buf.len() + data.len();
        if len > max {
            return Err(too_large());
        }
        if len > reserved {
            let more = reserve(len - reserved)?;
            reserved = len;
            match &mut held {
                Some(h) => h.merge(more),
                None => held = Some(more),
            }
        }
        buf.extend_from_slice(&data);
    }
    Ok((buf.freeze(), held))
}

/// A command the shim does not serve (a future OpenIM's, or a wrong URL): answered continue,
/// logged with the operation ID (the header's, else the body's) and counted.
fn unknown_command(path: &str, operation_id: &str, body: Option<&[u8]>) {
    let head = body.map(openim::BodyHead::of).unwrap_or_default();
    let name = head
        .command
        .as_deref()
        .filter(|c| !c.is_empty())
        .unwrap_or_else(|| openim::last_segment(path));
    let operation_id = match (operation_id, &head.operation_id) {
        ("", Some(from_body)) => from_body.as_str(),
        (from_header, _) => from_header,
    };
    // Not the whole path: it may carry a secret prefix.
    tracing::warn!(
        command = name,
        operation_id,
        "unknown callback command: answered continue"
    );
    counter!("openim_shim_unknown_commands_total").increment(1);
}
