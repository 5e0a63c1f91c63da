//! OpenTelemetry traces for both binaries: set up from the standard `OTEL_*` variables, off
//! unless an OTLP endpoint is given, and the W3C trace-context headers in and out.
//!
//! Operators configure it as every other OTel service: `OTEL_EXPORTER_OTLP_ENDPOINT` (or
//! `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) turns it on; `OTEL_EXPORTER_OTLP_PROTOCOL` (`grpc`, or
//! the spec's default `http/protobuf`), `OTEL_SERVICE_NAME`, `OTEL_RESOURCE_ATTRIBUTES`,
//! `OTEL_TRACES_SAMPLER`/`_ARG`, `OTEL_BSP_*` and `OTEL_EXPORTER_OTLP_{HEADERS,TIMEOUT}` are read
//! by the SDK and the exporter themselves; `OTEL_SDK_DISABLED=true` or
//! `OTEL_TRACES_EXPORTER=none` keep it off.
//!
//! Off costs one load of a static per callback: nothing is built, no header is parsed. The
//! spans are made with the OTel API directly, not through `tracing` spans: a `tracing` span on
//! every callback would cost the log subscriber's bookkeeping even when no trace is exported.
//!
//! The propagation format is W3C Trace Context (`traceparent`, `tracestate`); B3 is not read.

use std::{sync::OnceLock, time::Duration};

use opentelemetry::{
    Context,
    propagation::{Extractor, TextMapPropagator as _},
    trace::{SpanContext, TraceContextExt as _, TracerProvider as _},
};
use opentelemetry_sdk::{
    Resource,
    propagation::TraceContextPropagator,
    trace::{SdkTracer, SdkTracerProvider},
};

/// The W3C header that carries the parent span.
pub const TRACEPARENT: &str = "traceparent";
/// The W3C header that carries vendors' trace state.
pub const TRACESTATE: &str = "tracestate";

static TRACER: OnceLock<SdkTracer> = OnceLock::new();

/// Whether traces are exported by this process (set once by [`init`]).
#[inline]
pub fn enabled() -> bool {
    TRACER.get().is_some()
}

/// The process's tracer, when traces are on.
#[inline]
pub fn tracer() -> Option<&'static SdkTracer> {
    TRACER.get()
}

/// Why traces cannot be set up as configured.
#[derive(Debug, thiserror::Error)]
pub enum OtelError {
    /// The OTLP exporter refused its settings (e.g. a bad endpoint URL).
    #[error("OpenTelemetry: cannot build the OTLP exporter: {0}")]
    Exporter(String),
    /// `OTEL_EXPORTER_OTLP_PROTOCOL` names a protocol this build does not speak.
    #[error(
        "OpenTelemetry: OTEL_EXPORTER_OTLP_PROTOCOL={0} is not supported: use grpc or http/protobuf"
    )]
    Protocol(String),
}

/// Keeps the exporter running; dropping it (or [`Traces::shutdown`]) flushes the spans still
/// buffered.
#[derive(Debug)]
pub struct Traces {
    provider: SdkTracerProvider,
}

impl Traces {
    /// Exports what is buffered and stops, waiting at most `timeout`.
    pub fn shutdown(self, timeout: Duration) {
        if let Err(e) = self.provider.shutdown_with_timeout(timeout) {
            tracing::warn!(error = %e, "OpenTelemetry: spans lost at shutdown");
        }
    }
}

/// Whether the `OTEL_*` variables ask for traces: an OTLP endpoint is set, and neither
/// `OTEL_SDK_DISABLED=true` nor `OTEL_TRACES_EXPORTER=none`.
pub fn wanted(env: impl Fn(&str) -> Option<String>) -> bool {
    let set = |k: &str| env(k).is_some_and(|v| !v.trim().is_empty());
    let disabled = env("OTEL_SDK_DISABLED").is_some_and(|v| v.trim().eq_ignore_ascii_case("true"));
    let no_exporter = env("OTEL_TRACES_EXPORTER").is_some_and(|v| v.trim() == "none");
    (set("OTEL_EXPORTER_OTLP_ENDPOINT") || set("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"))
        && !disabled
        && !no_exporter
}

/// Sets up traces from the environment, with `service` as the service name unless
/// `OTEL_SERVICE_NAME` says otherwise; `None` when they are off. Call once, inside the Tokio
/// runtime (the exporters run on it).
pub fn init(service: &'static str) -> Result<Option<Traces>, OtelError> {
    let env = |k: &str| std::env::var(k).ok();
    if !wanted(env) {
        return Ok(None);
    }
    let protocol = env("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
        .or_else(|| env("OTEL_EXPORTER_OTLP_PROTOCOL"))
        .unwrap_or_else(|| "http/protobuf".to_owned());
    let exporter = match protocol.trim() {
        "grpc" => opentelemetry_otlp::SpanExporter::builder()
            .with_tonic()
            .build(),
        "http/protobuf" => {
            use opentelemetry_otlp::WithHttpConfig as _;
            opentelemetry_otlp::SpanExporter::builder()
                .with_http()
                .with_http_client(on_runtime::Client::new())
                .build()
        }
        other => return Err(OtelError::Protocol(other.to_owned())),
    }
    .map_err(|e| OtelError::Exporter(e.to_string()))?;
    let mut resource = Resource::builder();
    if env("OTEL_SERVICE_NAME").is_none_or(|s| s.trim().is_empty()) {
        resource = resource.with_service_name(service);
    }
    let provider = SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(resource.build())
        .build();
    let tracer = provider.tracer(service);
    if TRACER.set(tracer).is_err() {
        tracing::warn!("OpenTelemetry set up twice in one process: the first setup is kept");
    }
    tracing::info!(protocol = protocol.trim(), "OpenTelemetry traces on");
    Ok(Some(Traces { provider }))
}

/// The parent context of W3C `traceparent` (and `tracestate`) header values; an empty context
/// when `traceparent` is absent or invalid.
pub fn extract(traceparent: Option<&str>, tracestate: Option<&str>) -> Context {
    struct Pair<'a>(Option<&'a str>, Option<&'a str>);
    impl Extractor for Pair<'_> {
        fn get(&self, key: &str) -> Option<&str> {
            match key {
                TRACEPARENT => self.0,
                TRACESTATE => self.1,
                _ => None,
            }
        }
        fn keys(&self) -> Vec<&str> {
            vec![TRACEPARENT, TRACESTATE]
        }
    }
    if traceparent.is_none() {
        return Context::new();
    }
    TraceContextPropagator::new().extract(&Pair(traceparent, tracestate))
}

/// The parent context carried by `headers` (HTTP or gRPC metadata).
pub fn extract_headers(headers: &http::HeaderMap) -> Context {
    let get = |name| headers.get(name).and_then(|v| v.to_str().ok());
    extract(get(TRACEPARENT), get(TRACESTATE))
}

/// The W3C `traceparent` value naming `span` as the parent; `None` for an invalid context.
pub fn traceparent(span: &SpanContext) -> Option<String> {
    span.is_valid().then(|| {
        format!(
            "00-{}-{}-{:02x}",
            span.trace_id(),
            span.span_id(),
            span.trace_flags().to_u8()
        )
    })
}

/// The `traceparent` of `cx`'s span, and its `tracestate` (empty when none).
pub fn headers_of(cx: &Context) -> Option<(String, String)> {
    let span = cx.span();
    let sc = span.span_context();
    traceparent(sc).map(|tp| (tp, sc.trace_state().header()))
}

/// The trace ID (32 hex digits) of a `traceparent` value, without checking more than its shape:
/// for logs and audit lines when traces are not exported by this process.
pub fn trace_id_of(traceparent: &str) -> Option<&str> {
    let id = traceparent.get(3..35)?;
    (traceparent.as_bytes().get(2) == Some(&b'-')
        && id.bytes().all(|b| b.is_ascii_hexdigit())
        && id.bytes().any(|b| b != b'0'))
    .then_some(id)
}

/// An HTTP client for the OTLP/HTTP exporter that runs each request on the Tokio runtime it was
/// made in: the SDK's batch processor exports from a thread of its own, outside any runtime,
/// where hyper's connector cannot run.
mod on_runtime {
    use std::sync::Arc;

    use bytes::Bytes;
    use http::{Request, Response};
    use opentelemetry_http::{HttpClient, HttpError, hyper::HyperClient};

    /// See the module docs.
    #[derive(Debug)]
    pub(super) struct Client {
        inner: Arc<HyperClient>,
        runtime: tokio::runtime::Handle,
    }

    impl Client {
        /// A client on the current runtime (panics outside one: `init` is called in `main`'s).
        pub(super) fn new() -> Self {
            Self {
                inner: Arc::new(HyperClient::with_default_connector(
                    std::time::Duration::from_secs(10),
                    None,
                )),
                runtime: tokio::runtime::Handle::current(),
            }
        }
    }

    #[async_trait::async_trait]
    impl HttpClient for Client {
        async fn send_bytes(&self, request: Request<Bytes>) -> Result<Response<Bytes>, HttpError> {
            let inner = self.inner.clone();
            self.runtime
                .spawn(async move { inner.send_bytes(request).await })
                .await?
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traces_are_on_only_with_an_endpoint_and_not_disabled() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                pairs
                    .iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| (*v).to_owned())
            }
        };
        assert!(!wanted(env(&[])));
        assert!(!wanted(env(&[("OTEL_SERVICE_NAME", "x")])));
        assert!(wanted(env(&[(
            "OTEL_EXPORTER_OTLP_ENDPOINT",
            "http://c:4317"
        )])));
        assert!(wanted(env(&[(
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
            "http://c:4318/v1/traces"
        )])));
        assert!(!wanted(env(&[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4317"),
            ("OTEL_SDK_DISABLED", "TRUE")
        ])));
        assert!(!wanted(env(&[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4317"),
            ("OTEL_TRACES_EXPORTER", "none")
        ])));
        assert!(!wanted(env(&[("OTEL_EXPORTER_OTLP_ENDPOINT", " ")])));
    }

    #[test]
    fn a_traceparent_round_trips_and_bad_ones_give_no_parent() {
        let tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        let cx = extract(Some(tp), Some("congo=t61rcWkgMzE"));
        let (back, state) = headers_of(&cx).expect("valid");
        assert_eq!((back.as_str(), state.as_str()), (tp, "congo=t61rcWkgMzE"));
        assert_eq!(trace_id_of(tp), Some("4bf92f3577b34da6a3ce929d0e0e4736"));
        for bad in [
            "",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "junk",
        ] {
            assert!(headers_of(&extract(Some(bad), None)).is_none(), "{bad}");
        }
        assert_eq!(
            trace_id_of("00-00000000000000000000000000000000-00f067aa0ba902b7-01"),
            None
        );
        assert!(headers_of(&extract(None, None)).is_none());
    }
}
