//! A stub OpenTelemetry collector for the trace tests: it receives OTLP trace exports over gRPC
//! (`TraceService/Export`, the generated server of `opentelemetry-proto`) and over HTTP
//! (`POST /v1/traces`, protobuf), on two loopback ports, and keeps every span for the test to
//! look at. It decodes with the OTLP protocol's own messages: a span the binaries encode wrongly
//! does not reach the test.

use std::{
    collections::BTreeMap,
    fmt::Write as _,
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::Duration,
};

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper::{Request, Response, service::service_fn};
use hyper_util::rt::TokioIo;
use opentelemetry_proto::tonic::{
    collector::trace::v1::{
        ExportTraceServiceRequest, ExportTraceServiceResponse,
        trace_service_server::{TraceService, TraceServiceServer},
    },
    common::v1::{AnyValue, KeyValue, any_value},
};
use prost::Message as _;
use tokio::net::TcpListener;
use tokio_stream::wrappers::TcpListenerStream;

/// One span as received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Span {
    /// `service.name` of the resource that sent it.
    pub service: String,
    /// How it came: `grpc` or `http`.
    pub transport: &'static str,
    /// Its name.
    pub name: String,
    /// 32 hex digits.
    pub trace_id: String,
    /// 16 hex digits.
    pub span_id: String,
    /// 16 hex digits; empty for a root.
    pub parent_span_id: String,
    /// OTLP's `SpanKind` (1 internal, 2 server, 3 client, 4 producer, 5 consumer).
    pub kind: i32,
    /// Attributes, values as text.
    pub attributes: BTreeMap<String, String>,
    /// Links: (trace ID, span ID).
    pub links: Vec<(String, String)>,
}

impl Span {
    /// The attribute `key`, or "".
    pub fn attr(&self, key: &str) -> &str {
        self.attributes.get(key).map_or("", String::as_str)
    }
}

/// The running collector.
#[derive(Debug)]
pub struct Collector {
    /// OTLP/gRPC endpoint, `http://127.0.0.1:port`.
    pub grpc_endpoint: String,
    /// OTLP/HTTP base endpoint, `http://127.0.0.1:port` (the exporter adds `/v1/traces`).
    pub http_endpoint: String,
    spans: Arc<Mutex<Vec<Span>>>,
}

#[derive(Clone)]
struct Sink(Arc<Mutex<Vec<Span>>>);

impl Sink {
    fn keep(&self, request: ExportTraceServiceRequest, transport: &'static str) {
        let mut spans = self.0.lock().expect("spans");
        for rs in request.resource_spans {
            let service = rs
                .resource
                .iter()
                .flat_map(|r| &r.attributes)
                .find(|kv| kv.key == "service.name")
                .map(|kv| text(kv.value.as_ref()))
                .unwrap_or_default();
            for span in rs.scope_spans.into_iter().flat_map(|s| s.spans) {
                spans.push(Span {
                    service: service.clone(),
                    transport,
                    name: span.name,
                    trace_id: hex(&span.trace_id),
                    span_id: hex(&span.span_id),
                    parent_span_id: hex(&span.parent_span_id),
                    kind: span.kind,
                    attributes: attributes(&span.attributes),
                    links: span
                        .links
                        .iter()
                        .map(|l| (hex(&l.trace_id), hex(&l.span_id)))
                        .collect(),
                });
            }
        }
    }
}

#[tonic::async_trait]
impl TraceService for Sink {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        self.keep(request.into_inner(), "grpc");
        Ok(tonic::Response::new(ExportTraceServiceResponse::default()))
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

fn text(value: Option<&AnyValue>) -> String {
    match value.and_then(|v| v.value.as_ref()) {
        Some(any_value::Value::StringValue(s)) => s.clone(),
        Some(any_value::Value::IntValue(i)) => i.to_string(),
        Some(any_value::Value::BoolValue(b)) => b.to_string(),
        Some(any_value::Value::DoubleValue(d)) => d.to_string(),
        Some(other) => format!("{other:?}"),
        None => String::new(),
    }
}

fn attributes(kvs: &[KeyValue]) -> BTreeMap<String, String> {
    kvs.iter()
        .map(|kv| (kv.key.clone(), text(kv.value.as_ref())))
        .collect()
}

impl Collector {
    /// Starts both receivers on loopback ports; they run until the test's runtime ends.
    pub async fn start() -> Self {
        let spans = Arc::new(Mutex::new(Vec::new()));
        let grpc = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let grpc_addr = grpc.local_addr().expect("addr");
        let service = TraceServiceServer::new(Sink(spans.clone()));
        tokio::spawn(
            tonic::transport::Server::builder()
                .add_service(service)
                .serve_with_incoming(TcpListenerStream::new(grpc)),
        );
        let http = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let http_addr: SocketAddr = http.local_addr().expect("addr");
        let sink = Sink(spans.clone());
        tokio::spawn(async move {
            while let Ok((stream, _)) = http.accept().await {
                let sink = sink.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |request: Request<hyper::body::Incoming>| {
                        let sink = sink.clone();
                        async move { Ok::<_, hyper::Error>(http_export(&sink, request).await) }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Self {
            grpc_endpoint: format!("http://{grpc_addr}"),
            http_endpoint: format!("http://{http_addr}"),
            spans,
        }
    }

    /// Every span received so far.
    pub fn spans(&self) -> Vec<Span> {
        self.spans.lock().expect("spans").clone()
    }

    /// Waits up to `within` until `found` returns something from the spans received; panics
    /// with `what` and every span otherwise.
    pub async fn wait_for<T>(
        &self,
        within: Duration,
        what: &str,
        found: impl Fn(&[Span]) -> Option<T>,
    ) -> T {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            if let Some(t) = found(&self.spans()) {
                return t;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{what}: not received within {within:?}; spans:\n{:#?}",
                self.spans()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// One `POST /v1/traces`: the OTLP/HTTP protobuf encoding.
async fn http_export(
    sink: &Sink,
    request: Request<hyper::body::Incoming>,
) -> Response<Full<Bytes>> {
    let reply = |status: u16, body: Vec<u8>| {
        Response::builder()
            .status(status)
            .header("content-type", "application/x-protobuf")
            .body(Full::new(Bytes::from(body)))
            .expect("response")
    };
    if request.uri().path() != "/v1/traces" {
        return reply(404, Vec::new());
    }
    let Ok(body) = request.into_body().collect().await else {
        return reply(400, Vec::new());
    };
    match ExportTraceServiceRequest::decode(body.to_bytes()) {
        Ok(export) => {
            sink.keep(export, "http");
            reply(200, ExportTraceServiceResponse::default().encode_to_vec())
        }
        Err(_) => reply(400, Vec::new()),
    }
}

/// The spans of `trace_id` as an indented tree (children under their parent, by name), one
/// line per span with its service, kind and main attributes: for test output and notes.
pub fn tree(spans: &[Span], trace_id: &str) -> String {
    let of_trace: Vec<&Span> = spans.iter().filter(|s| s.trace_id == trace_id).collect();
    let mut out = String::new();
    let roots = of_trace.iter().filter(|s| {
        s.parent_span_id.is_empty() || !of_trace.iter().any(|p| p.span_id == s.parent_span_id)
    });
    for root in roots {
        line(&of_trace, root, 0, &mut out);
    }
    out
}

fn line(spans: &[&Span], span: &Span, depth: usize, out: &mut String) {
    let kind = match span.kind {
        2 => "server",
        3 => "client",
        4 => "producer",
        5 => "consumer",
        _ => "internal",
    };
    let shown: Vec<String> = span
        .attributes
        .iter()
        .filter(|(k, _)| k.starts_with("openim.") || k.as_str() == "server.address")
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    let parent = if span.parent_span_id.is_empty() {
        String::new()
    } else {
        format!(" parent={}", span.parent_span_id)
    };
    let links: Vec<String> = span
        .links
        .iter()
        .map(|(t, s)| format!(" link={t}/{s}"))
        .collect();
    let _ = writeln!(
        out,
        "{}{} [{} {kind} via {}] span={}{parent}{} {}",
        "  ".repeat(depth),
        span.name,
        span.service,
        span.transport,
        span.span_id,
        links.concat(),
        shown.join(" ")
    );
    for child in spans.iter().filter(|c| c.parent_span_id == span.span_id) {
        line(spans, child, depth + 1, out);
    }
}
