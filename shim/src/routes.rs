//! HTTP routes: OpenIM's callbacks on every path (POST), and the health endpoint.
//!
//! Whatever happens (unknown command, unreadable or malformed body, policy down, even a panic),
//! OpenIM gets HTTP 200 and a valid reply in its JSON format: OpenIM fails the user's operation
//! on any reply it cannot decode.

use std::{any::Any, sync::Arc, time::Instant};

use axum::{
    Router,
    body::to_bytes,
    extract::{Request, State},
    http::{HeaderValue, Method, StatusCode, header::CONTENT_TYPE},
    response::{IntoResponse, Response},
    routing::get,
};
use bytes::Bytes;
use metrics::{counter, histogram};
use tower_http::catch_panic::CatchPanicLayer;
use tracing::Instrument;

use crate::{
    App,
    callbacks::Verdict,
    commands::{self, Kind, Run},
    dispatch::{self, Call},
    openim,
    policy_client::OPERATION_ID_KEY,
};

/// The shim's router.
pub fn router(app: Arc<App>) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .fallback(callback)
        .with_state(app)
        .layer(CatchPanicLayer::custom(on_panic))
}

/// Liveness: the process serves HTTP.
async fn healthz() -> &'static str {
    "ok\n"
}

fn json_reply(status: StatusCode, body: Bytes) -> Response {
    let mut response = (status, body).into_response();
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    response
}

/// A bug must not fail the user's operation: answer continue, and make the bug loud.
#[allow(clippy::needless_pass_by_value)] // the signature CatchPanicLayer requires
fn on_panic(err: Box<dyn Any + Send + 'static>) -> Response {
    let detail = err
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| err.downcast_ref::<&str>().copied())
        .unwrap_or("unknown panic");
    tracing::error!(
        panic = detail,
        "callback handler panicked: answered continue"
    );
    counter!("openim_shim_panics_total").increment(1);
    json_reply(StatusCode::OK, Bytes::from_static(openim::CONTINUE))
}

/// Serves one OpenIM callback; see the module docs.
async fn callback(State(app): State<Arc<App>>, request: Request) -> Response {
    let started = Instant::now();
    let (parts, body) = request.into_parts();
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
    let path = parts.uri.path();
    let from_uri = openim::command_from_uri(path, parts.uri.query(), commands::is_known)
        .and_then(commands::lookup);

    let body = to_bytes(body, app.settings.max_body_bytes).await;
    let routed = from_uri.or_else(|| {
        let body = body.as_ref().ok()?;
        commands::lookup(&openim::command_from_body(body)?)
    });
    let Some((wire_name, command)) = routed else {
        let name = openim::last_segment(path);
        tracing::warn!(
            command = name,
            operation_id,
            "unknown callback command: answered continue"
        );
        counter!("openim_shim_unknown_commands_total").increment(1);
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
    let verdict = async {
        let (body, body_error) = match body {
            Ok(b) => (b, None),
            Err(e) => (Bytes::new(), Some(e)),
        };
        let call = Call {
            command,
            wire_name,
            operation_id,
            body,
        };
        if let Some(e) = body_error {
            return match command.kind {
                Kind::Before => {
                    dispatch::on_error(&app, &call, "body", &e).unwrap_or_else(Verdict::proceed)
                }
                Kind::After => {
                    tracing::warn!(error = %e, "after-event body unreadable: not delivered");
                    counter!("openim_shim_after_events_total",
                        "command" => command.name, "result" => "malformed")
                    .increment(1);
                    Verdict::proceed()
                }
            };
        }
        match command.run {
            Run::Before(serve) => serve(&app, call).await,
            Run::After(serve) => {
                serve(&app, call);
                Verdict::proceed()
            }
        }
    }
    .instrument(span)
    .await;

    counter!("openim_shim_callbacks_total",
        "command" => command.name, "outcome" => verdict.outcome.as_str())
    .increment(1);
    histogram!("openim_shim_callback_duration_seconds", "command" => command.name)
        .record(started.elapsed().as_secs_f64());
    json_reply(StatusCode::OK, verdict.body)
}
