//! Traces across the two services (issue 18), with the real binaries exporting to a stub OTLP
//! collector the test starts (`openim_tests::otlp_collector`): the shim over OTLP/HTTP, the
//! policy over OTLP/gRPC, as an operator would set them with the `OTEL_*` variables.
//!
//! One before-callback that comes with a W3C `traceparent` is one trace: the shim's server span
//! (child of the caller's span), its policy-call span, the policy's server span, each the child
//! of the one before; the policy's audit line names that trace and the span's decision ID. An
//! after-event accepted while the policy is down is delivered after the policy restarts, in a
//! trace of its own whose delivery span links to the callback's span.

use std::{net::SocketAddr, time::Duration};

use bytes::Bytes;
use http::Request;
use http_body_util::Full;
use openim_tests::{
    fixture,
    openim_http::exchange,
    otlp_collector::{Collector, Span, tree},
    policy_process,
    shim_process::ShimProcess,
};
use tokio::net::TcpStream;

const WAIT: Duration = Duration::from_secs(30);

fn random_hex(bytes: usize) -> String {
    (0..bytes)
        .map(|_| format!("{:02x}", fastrand::u8(..)))
        .collect()
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port()
}

/// POSTs OpenIM's fixture of `command` to the shim with a W3C `traceparent`.
async fn post_traced(shim: SocketAddr, command: &str, op: &str, traceparent: &str) {
    let request = Request::post(format!("/openim/{command}"))
        .header("host", shim.to_string())
        .header("content-type", "application/json")
        .header("operationID", op)
        .header("traceparent", traceparent)
        .body(Full::new(Bytes::from(fixture(&format!("{command}.json")))))
        .expect("request");
    let reply = exchange(TcpStream::connect(shim).await.expect("connect"), request).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
}

/// The span of `trace_id` named `name` from `service`.
fn find<'a>(spans: &'a [Span], trace_id: &str, service: &str, name: &str) -> Option<&'a Span> {
    spans
        .iter()
        .find(|s| s.trace_id == trace_id && s.service == service && s.name == name)
}

#[tokio::test]
async fn a_callback_is_one_trace_across_shim_and_policy_and_a_late_delivery_links_back() {
    let collector = Collector::start().await;
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules.yaml");
    // "hello" is the fixture's text: refused, so that the decision writes an audit line.
    std::fs::write(
        &rules,
        "version: traces-1\nwordLists:\n  - {name: greetings, action: refuse, words: [hello]}\n\
         audit: {path: audit.jsonl}\n",
    )
    .unwrap();
    let policy_port = free_port();
    let policy_env = [
        (
            "OTEL_EXPORTER_OTLP_ENDPOINT",
            collector.grpc_endpoint.as_str(),
        ),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
        ("OTEL_BSP_SCHEDULE_DELAY", "100"),
    ];
    let policy_args = [
        "--listen".to_owned(),
        format!("127.0.0.1:{policy_port}"),
        "--rules".to_owned(),
        rules.display().to_string(),
    ];
    let (mut policy, _) = policy_process::start_with_env(policy_args.clone(), &policy_env).await;
    let spool = dir.path().join("spool");
    let spool = spool.display().to_string();
    let policy_url = format!("http://127.0.0.1:{policy_port}");
    let shim = ShimProcess::start(
        &["--policy", &policy_url, "--spool-dir", &spool],
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", &collector.http_endpoint),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"),
            ("OTEL_BSP_SCHEDULE_DELAY", "100"),
            ("OPENIM_SHIM_AFTER_RETRYINITIAL", "20ms"),
            ("OPENIM_SHIM_AFTER_RETRYMAX", "200ms"),
        ],
    )
    .await;

    // 1. A before-callback: OpenIM's span → the shim's → its policy call → the policy's.
    let (trace_id, caller_span) = (random_hex(16), random_hex(8));
    let op = "op-trace-1";
    post_traced(
        shim.addr,
        "callbackBeforeSendSingleMsgCommand",
        op,
        &format!("00-{trace_id}-{caller_span}-01"),
    )
    .await;
    let rpc = "openim.policy.v1.MessageService/BeforeSendSingleMsg";
    let (server, client, decided) = collector
        .wait_for(WAIT, "the three spans of the before-callback", |spans| {
            Some((
                find(
                    spans,
                    &trace_id,
                    "openim-shim",
                    "callbackBeforeSendSingleMsgCommand",
                )?
                .clone(),
                find(spans, &trace_id, "openim-shim", rpc)?.clone(),
                find(spans, &trace_id, "openim-policy", rpc)?.clone(),
            ))
        })
        .await;
    println!(
        "before-callback trace:\n{}",
        tree(&collector.spans(), &trace_id)
    );
    assert_eq!(
        server.parent_span_id, caller_span,
        "the shim's span is the caller's child"
    );
    assert_eq!((server.kind, server.transport), (2, "http"));
    assert_eq!(server.attr("openim.operation_id"), op);
    assert_eq!(server.attr("openim.outcome"), "refuse");
    assert_eq!(
        client.parent_span_id, server.span_id,
        "the policy call is the callback's child"
    );
    assert_eq!(client.kind, 3);
    assert_eq!(
        client.attr("server.address"),
        format!("127.0.0.1:{policy_port}")
    );
    assert_eq!(client.attr("openim.attempt"), "1");
    assert_eq!(
        decided.parent_span_id, client.span_id,
        "the policy's span is the call's child"
    );
    assert_eq!((decided.kind, decided.transport), (2, "grpc"));
    assert_eq!(
        decided.attr("openim.command"),
        "callbackBeforeSendSingleMsgCommand"
    );
    assert_eq!(decided.attr("openim.outcome"), "refuse");
    assert_eq!(decided.attr("openim.operation_id"), op);
    // The audit line of that decision names the trace and the span's decision ID.
    let audit = std::fs::read_to_string(dir.path().join("audit.jsonl")).unwrap_or_default();
    let line: serde_json::Value = audit
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .find(|l: &serde_json::Value| l["operationID"] == op)
        .unwrap_or_else(|| panic!("no audit line of {op} in:\n{audit}"));
    assert_eq!(line["traceID"], trace_id.as_str(), "{line}");
    assert_eq!(
        line["decisionID"],
        decided.attr("openim.decision_id"),
        "{line}"
    );
    assert_eq!(
        line["command"], "callbackBeforeSendSingleMsgCommand",
        "{line}"
    );

    // 2. An after-event accepted while the policy is down, delivered once it is back.
    policy.kill().await.expect("kill the policy");
    let _ = policy.wait().await;
    let (after_trace, after_caller) = (random_hex(16), random_hex(8));
    let after_op = "op-trace-2";
    post_traced(
        shim.addr,
        "callbackAfterSendSingleMsgCommand",
        after_op,
        &format!("00-{after_trace}-{after_caller}-01"),
    )
    .await;
    shim.wait_for_metrics(WAIT, "a failed delivery attempt", |m| {
        m.sum("openim_shim_after_retries_total", &[]) >= 1.0
    })
    .await;
    let (_policy, _) = policy_process::start_with_env(policy_args, &policy_env).await;
    let accepted = collector
        .wait_for(WAIT, "the after-callback's span", |spans| {
            find(
                spans,
                &after_trace,
                "openim-shim",
                "callbackAfterSendSingleMsgCommand",
            )
            .cloned()
        })
        .await;
    assert_eq!(accepted.parent_span_id, after_caller);
    assert_eq!(accepted.attr("openim.outcome"), "accepted");
    let rpc = "openim.policy.v1.MessageService/AfterSendSingleMsg";
    let (delivery, attempt, received) = collector
        .wait_for(
            WAIT,
            "the delivery that reached the restarted policy",
            |spans| {
                // The delivery attempt the policy answered: its span has a child policy span.
                spans
                    .iter()
                    .filter(|s| {
                        s.name == "deliver callbackAfterSendSingleMsgCommand"
                            && s.links
                                .contains(&(after_trace.clone(), accepted.span_id.clone()))
                    })
                    .find_map(|d| {
                        let attempt = spans
                            .iter()
                            .find(|s| s.trace_id == d.trace_id && s.parent_span_id == d.span_id)?;
                        let received = spans.iter().find(|s| {
                            s.service == "openim-policy"
                                && s.name == rpc
                                && s.parent_span_id == attempt.span_id
                        })?;
                        Some((d.clone(), attempt.clone(), received.clone()))
                    })
            },
        )
        .await;
    println!(
        "after-callback trace:\n{}\ndelivery trace:\n{}",
        tree(&collector.spans(), &after_trace),
        tree(&collector.spans(), &delivery.trace_id)
    );
    assert_ne!(
        delivery.trace_id, after_trace,
        "a delivery is a trace of its own"
    );
    assert!(
        delivery.parent_span_id.is_empty(),
        "a delivery span is a root"
    );
    assert_eq!(delivery.attr("openim.operation_id"), after_op);
    assert_eq!(delivery.attr("openim.result"), "delivered");
    let attempt_no: u32 = delivery.attr("openim.delivery_attempt").parse().unwrap();
    assert!(
        attempt_no >= 2,
        "delivered after a failed attempt: {attempt_no}"
    );
    assert_eq!(attempt.name, rpc);
    assert_eq!(
        received.attr("openim.delivery_attempt"),
        attempt_no.to_string()
    );
    assert_eq!(
        received.attr("openim.command"),
        "callbackAfterSendSingleMsgCommand"
    );
    // The failed attempts before the restart are spans too, linked the same way.
    let failed = collector.spans().into_iter().filter(|s| {
        s.name == delivery.name
            && s.links == delivery.links
            && s.attr("openim.result") != "delivered"
    });
    assert!(failed.count() >= 1, "the failed attempts are traced");
}
