//! The shim's spans (issue 18): one server span per callback, a client span per policy call
//! attempt, and for an after-event a delivery span per attempt, a root linked to the callback
//! that accepted it (the delivery may come much later, from another shim, after restarts).
//!
//! With traces off ([`openim_common::otel::enabled`] false) no span is made, and W3C headers
//! that came with OpenIM's request are passed on to the policy unchanged, so that a mesh's
//! sidecars still join the hops: that costs a header lookup per callback.

use std::borrow::Cow;

use axum::http::{HeaderMap, HeaderValue};
use openim_common::otel::{self, TRACEPARENT, TRACESTATE};
use opentelemetry::{
    Context, KeyValue,
    trace::{Link, SpanKind, Status, TraceContextExt as _, Tracer as _},
};

use crate::{callbacks::Verdict, outcome::Cause};

/// `traceparent` and `tracestate` values to send (borrowed from the parent when passed on).
pub(crate) type W3cHeaders<'a> = (Cow<'a, str>, Cow<'a, str>);

/// What a policy call carries of the trace it belongs to.
#[derive(Debug, Default, Clone)]
pub enum TraceParent {
    /// No trace: no header came, and this shim exports none.
    #[default]
    None,
    /// The headers that came with the callback, passed on as they are (traces off here):
    /// reference-counted copies of the request's values, checked to be visible ASCII.
    Passed {
        /// `traceparent`.
        traceparent: HeaderValue,
        /// `tracestate`, if any.
        tracestate: Option<HeaderValue>,
    },
    /// This shim's span (traces on).
    Span(Context),
}

impl TraceParent {
    /// The W3C headers this parent is stored as (after-events keep them in the spool).
    pub fn headers(&self) -> Option<(String, String)> {
        match self {
            Self::None => None,
            Self::Passed {
                traceparent,
                tracestate,
            } => Some((
                ascii(traceparent).to_owned(),
                tracestate
                    .as_ref()
                    .map(ascii)
                    .unwrap_or_default()
                    .to_owned(),
            )),
            Self::Span(cx) => otel::headers_of(cx),
        }
    }
}

/// Starts the server span of a callback of `command`, child of the request's W3C headers;
/// with traces off, keeps those headers to pass on.
pub(crate) fn callback(headers: &HeaderMap, command: &'static str) -> TraceParent {
    let Some(tracer) = otel::tracer() else {
        let visible = |v: &&HeaderValue| v.to_str().is_ok();
        return match headers.get(TRACEPARENT).filter(visible) {
            Some(tp) => TraceParent::Passed {
                traceparent: tp.clone(),
                tracestate: headers.get(TRACESTATE).filter(visible).cloned(),
            },
            None => TraceParent::None,
        };
    };
    let parent = otel::extract_headers(headers);
    let span = tracer
        .span_builder(command)
        .with_kind(SpanKind::Server)
        .with_attributes([KeyValue::new("openim.command", command)])
        .start_with_context(tracer, &parent);
    TraceParent::Span(parent.with_span(span))
}

/// Ends a callback's span with what was answered.
pub(crate) fn callback_end(
    trace: &TraceParent,
    operation_id: &str,
    verdict: &Verdict,
    cause: Option<Cause>,
) {
    let TraceParent::Span(cx) = trace else {
        return;
    };
    let span = cx.span();
    span.set_attribute(KeyValue::new(
        "openim.operation_id",
        operation_id.to_owned(),
    ));
    span.set_attribute(KeyValue::new("openim.outcome", verdict.outcome.as_str()));
    if let Some(cause) = cause {
        span.set_attribute(KeyValue::new("openim.cause", cause.as_str()));
        span.set_status(Status::error(cause.as_str()));
    }
    span.end();
}

/// The span of one attempt of a policy call at `path` on `endpoint`, child of `parent`, and the
/// W3C headers to send with it.
pub(crate) fn attempt<'a>(
    parent: &'a TraceParent,
    path: &'static str,
    endpoint: &dyn std::fmt::Display,
    attempt: u32,
) -> (Option<Context>, Option<W3cHeaders<'a>>) {
    match parent {
        TraceParent::None => (None, None),
        TraceParent::Passed {
            traceparent,
            tracestate,
        } => (
            None,
            Some((
                Cow::Borrowed(ascii(traceparent)),
                Cow::Borrowed(tracestate.as_ref().map(ascii).unwrap_or_default()),
            )),
        ),
        TraceParent::Span(parent) => {
            let Some(tracer) = otel::tracer() else {
                return (None, None);
            };
            // gRPC's span name: `package.Service/Method`.
            let name = path.trim_start_matches('/');
            let (service, method) = name.split_once('/').unwrap_or((name, ""));
            let span = tracer
                .span_builder(name)
                .with_kind(SpanKind::Client)
                .with_attributes([
                    KeyValue::new("rpc.system", "grpc"),
                    KeyValue::new("rpc.service", service),
                    KeyValue::new("rpc.method", method),
                    KeyValue::new("server.address", endpoint.to_string()),
                    KeyValue::new("openim.attempt", i64::from(attempt)),
                ])
                .start_with_context(tracer, parent);
            let cx = parent.with_span(span);
            let headers = otel::headers_of(&cx).map(|(tp, ts)| (Cow::Owned(tp), Cow::Owned(ts)));
            (Some(cx), headers)
        }
    }
}

/// Ends an attempt's span with the gRPC status code (`None`: no answer, e.g. a timeout or a
/// connection that failed).
pub(crate) fn attempt_end(span: Option<Context>, code: Option<tonic::Code>, error: Option<&str>) {
    let Some(cx) = span else {
        return;
    };
    let span = cx.span();
    if let Some(code) = code {
        span.set_attribute(KeyValue::new("rpc.grpc.status_code", code as i64));
    }
    if let Some(error) = error {
        span.set_status(Status::error(error.to_owned()));
    }
    span.end();
}

/// The span of one delivery attempt of an after-event: a root (its callback was answered long
/// ago) linked to the callback's span, whose W3C headers the spool kept. With traces off, the
/// kept headers are passed on as they are.
pub(crate) fn delivery(
    command: &'static str,
    traceparent: &str,
    tracestate: &str,
    operation_id: &str,
    idempotency_key: &str,
    attempt: u32,
) -> TraceParent {
    let Some(tracer) = otel::tracer() else {
        // The spool kept what a callback brought; a value that is not a header (a damaged
        // record) is not passed on.
        return match HeaderValue::from_str(traceparent) {
            Ok(tp) if !traceparent.is_empty() => TraceParent::Passed {
                traceparent: tp,
                tracestate: HeaderValue::from_str(tracestate)
                    .ok()
                    .filter(|_| !tracestate.is_empty()),
            },
            _ => TraceParent::None,
        };
    };
    let origin = otel::extract(
        Some(traceparent).filter(|s| !s.is_empty()),
        Some(tracestate),
    );
    let origin = origin.span().span_context().clone();
    let mut builder = tracer
        .span_builder(format!("deliver {command}"))
        .with_kind(SpanKind::Producer)
        .with_attributes([
            KeyValue::new("openim.command", command),
            KeyValue::new("openim.operation_id", operation_id.to_owned()),
            KeyValue::new("openim.idempotency_key", idempotency_key.to_owned()),
            KeyValue::new("openim.delivery_attempt", i64::from(attempt)),
        ]);
    if origin.is_valid() {
        builder = builder.with_links(vec![Link::with_context(origin)]);
    }
    // A new trace: the callback's ended when OpenIM got its answer.
    let span = builder.start_with_context(tracer, &Context::new());
    TraceParent::Span(Context::new().with_span(span))
}

/// Ends a delivery attempt's span with its result label (`delivered`, or the retry's cause).
pub(crate) fn delivery_end(trace: &TraceParent, result: &str, failed: bool) {
    let TraceParent::Span(cx) = trace else {
        return;
    };
    let span = cx.span();
    span.set_attribute(KeyValue::new("openim.result", result.to_owned()));
    if failed {
        span.set_status(Status::error(result.to_owned()));
    }
    span.end();
}

/// A header value known to be visible ASCII (checked when the parent was made) as text.
fn ascii(value: &HeaderValue) -> &str {
    value.to_str().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    const TP: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    fn texts(h: Option<W3cHeaders<'_>>) -> Option<(String, String)> {
        h.map(|(tp, ts)| (tp.into_owned(), ts.into_owned()))
    }

    /// With traces off (no tracer in unit tests), a callback's W3C headers reach the policy
    /// call and the spool unchanged, and a spooled one reaches every delivery attempt.
    #[test]
    fn with_traces_off_the_w3c_headers_are_passed_on_unchanged() {
        assert!(!otel::enabled());
        let mut headers = HeaderMap::new();
        let none = callback(&headers, "callbackBeforeSendSingleMsgCommand");
        assert!(matches!(none, TraceParent::None));
        assert_eq!(texts(attempt(&none, "/p.S/M", &"e", 1).1), None);

        headers.insert(TRACEPARENT, HeaderValue::from_static(TP));
        headers.insert(TRACESTATE, HeaderValue::from_static("congo=t61rcWkgMzE"));
        let passed = callback(&headers, "callbackBeforeSendSingleMsgCommand");
        let want = Some((TP.to_owned(), "congo=t61rcWkgMzE".to_owned()));
        let (span, sent) = attempt(&passed, "/p.S/M", &"e", 1);
        assert!(span.is_none());
        assert_eq!(texts(sent), want);
        assert_eq!(passed.headers(), want);

        let delivered = delivery("c", TP, "", "op", "key", 2);
        assert_eq!(
            texts(attempt(&delivered, "/p.S/M", &"e", 1).1),
            Some((TP.to_owned(), String::new()))
        );
        // A damaged record (not a header value) passes nothing on.
        assert!(matches!(
            delivery("c", "bad\nvalue", "", "op", "key", 2),
            TraceParent::None
        ));
        assert!(matches!(
            delivery("c", "", "", "op", "key", 2),
            TraceParent::None
        ));
    }
}
