//! The operations kit (deploy/observability: the Grafana dashboard and the Prometheus alert
//! rules) names only metrics that the binaries export. The real `openim-policy` and
//! `openim-shim` run as processes; traffic through two shims creates the labelled series (a
//! continue, a refusal, a change, after-events delivered, a failing policy replica whose calls
//! are retried on the real one, a shim whose only policy endpoint is dead so callbacks fail
//! open and an after-event expires, a refused caller, an unknown command); then every metric
//! name the kit's checker (deploy/observability/check, Prometheus' PromQL parser) finds in the
//! dashboard and the rules must be a sample line of a `/metrics` scrape.
//!
//! Needs Go (the checker is built with it) and the two binaries built (`cargo build -p
//! openim-shim -p openim-policy`; `cargo test --workspace` does).

use std::{collections::BTreeSet, net::SocketAddr, path::Path, process::Command, time::Duration};

use http::Method;
use openim_tests::{
    closed_port,
    events::{Metrics, after_event},
    fixture, openim_http, policy_process, repo_path,
    shim_process::ShimProcess,
    test_policy::{Script, ScriptedPolicy},
};

/// The path secret of the shim whose callers are checked (its refused callers are counted).
const SECRET: &str = "obs-kit-3f9a0c7d";

/// Rules with a refusal (the group message fixture says "hi team"), a change (the modify
/// fixture links spam.example) and an audit log, so that their series exist.
const RULES: &str = "wordLists:
  - {name: spam-link, action: mask, words: [spam.example]}
  - {name: team, action: refuse, words: [hi team]}
audit:
  path: audit.jsonl
";

/// Builds the kit's checker and returns the metric names the dashboard and the rules select
/// (`up` and Prometheus' other own series left out by the checker). It parses both files first
/// and fails on any error.
fn kit_metric_names() -> BTreeSet<String> {
    let bin = openim_tests::go_build_at("deploy/observability/check", "observability-check");
    let kit = repo_path("deploy/observability");
    let out = Command::new(&bin)
        .arg("-names")
        .arg("-rules")
        .arg(kit.join("prometheus-rules.yaml"))
        .arg("-dashboard")
        .arg(kit.join("grafana-dashboard.json"))
        .output()
        .expect("run the checker");
    assert!(
        out.status.success(),
        "the checker rejects the kit:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let names: BTreeSet<String> = String::from_utf8(out.stdout)
        .expect("UTF-8 names")
        .lines()
        .map(str::to_owned)
        .collect();
    assert!(!names.is_empty(), "the checker found no metric names");
    names
}

/// The metric name of every sample line of a Prometheus text exposition (`name{...} value` or
/// `name value`); a histogram's lines are `<name>_bucket`, `_sum` and `_count`.
fn sample_names(text: &str) -> BTreeSet<String> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(|l| l.split(['{', ' ']).next())
        .map(str::to_owned)
        .collect()
}

async fn scrape(addr: SocketAddr) -> String {
    let r = openim_http::send(Method::GET, addr, "/metrics", b"", None).await;
    assert_eq!(r.status, 200, "GET /metrics on {addr}");
    r.text()
}

/// A free loopback port (bound, then released) for the policy's metrics listener, whose
/// address the policy does not print in its ready line.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port()
}

/// Starts `openim-policy` with `rules` and metrics on `metrics`; returns it with its gRPC
/// address.
async fn start_policy(rules: &Path, metrics: SocketAddr) -> (tokio::process::Child, SocketAddr) {
    let (child, line) = policy_process::start([
        "--listen".into(),
        "127.0.0.1:0".into(),
        "--rules".into(),
        rules.as_os_str().to_owned(),
        "--metrics-listen".into(),
        std::ffi::OsString::from(metrics.to_string()),
    ])
    .await;
    let addr = openim_tests::listen_addr(&line);
    (child, addr)
}

/// POSTs fixture `<command>.json` to `path` and checks that the shim answered 200.
async fn post(addr: SocketAddr, path: &str, command: &str, op: &str) {
    let body = fixture(&format!("{command}.json"));
    let r = openim_http::post(addr, path, &body, Some(op)).await;
    assert_eq!(r.status, 200, "{path}: {}", r.text());
}

#[tokio::test]
async fn every_metric_of_the_dashboard_and_the_alerts_is_exported() {
    let names = kit_metric_names();

    let dir = tempfile::tempdir().expect("temp dir");
    let rules = dir.path().join("rules.yaml");
    std::fs::write(&rules, RULES).expect("write rules");
    let policy_metrics = SocketAddr::from(([127, 0, 0, 1], free_port()));
    let (_policy, policy) = start_policy(&rules, policy_metrics).await;
    // A replica that answers UNAVAILABLE to everything: calls it gets are retried on the real
    // policy (the retry counters' series appear).
    let failing = ScriptedPolicy::spawn(
        Script {
            fail: Some((tonic::Code::Unavailable, "replica overloaded")),
            ..Script::default()
        },
        false,
    )
    .await;
    let targets = format!("http://{policy},{}", failing.server.url());
    let a_spool = dir.path().join("spool-a");
    let shim = ShimProcess::start(
        &[
            "--policy",
            &targets,
            "--spool-dir",
            a_spool.to_str().expect("UTF-8 temp path"),
        ],
        &[],
    )
    .await;

    // Decisions of every kind, several times so that the failing replica gets its share.
    for n in 0..10 {
        for command in [
            "callbackBeforeSendSingleMsgCommand",
            "callbackBeforeSendGroupMsgCommand",
            "callbackBeforeMsgModifyCommand",
            "callbackBeforeOfflinePushCommand",
        ] {
            let path = format!("/openim/{command}");
            post(shim.addr, &path, command, &format!("op-obs-{n}")).await;
        }
    }
    let events: Vec<_> = (0..4).map(|n| after_event("obs-kit", n)).collect();
    for e in &events {
        let r = openim_http::post(shim.addr, &e.path(), &e.body, Some(&e.operation_id)).await;
        assert_eq!(r.status, 200, "after-event: {}", r.text());
    }
    let r = openim_http::post(
        shim.addr,
        "/openim/callbackNoSuchThingCommand",
        b"{}",
        Some("op-obs-unknown"),
    )
    .await;
    assert_eq!(r.status, 200, "unknown command: {}", r.text());
    shim.wait_for_metrics(Duration::from_secs(30), "after-events delivered", |m| {
        m.sum(
            "openim_shim_after_deliveries_total",
            &[("result", "delivered")],
        ) >= events.len() as f64
    })
    .await;

    // A shim whose only policy endpoint is dead: callbacks fail open, an after-event is retried
    // until it expires, and callers without the path secret are refused.
    let dead = closed_port().await;
    let b_spool = dir.path().join("spool-b");
    let lonely = ShimProcess::start(
        &[
            "--policy",
            &format!("http://{dead}"),
            "--spool-dir",
            b_spool.to_str().expect("UTF-8 temp path"),
        ],
        &[
            ("OPENIM_SHIM_AUTH_PATHSECRET", SECRET),
            ("OPENIM_SHIM_AFTER_MAXAGE", "1s"),
            ("OPENIM_SHIM_AFTER_RETRYINITIAL", "20ms"),
            ("OPENIM_SHIM_AFTER_RETRYMAX", "100ms"),
        ],
    )
    .await;
    let single = "callbackBeforeSendSingleMsgCommand";
    post(
        lonely.addr,
        &format!("/s/{SECRET}/openim/{single}"),
        single,
        "op-obs-dead",
    )
    .await;
    let e = after_event("obs-kit-dead", 0);
    let r = openim_http::post(
        lonely.addr,
        &format!("/s/{SECRET}{}", e.path()),
        &e.body,
        Some(&e.operation_id),
    )
    .await;
    assert_eq!(r.status, 200, "after-event: {}", r.text());
    let body = fixture(&format!("{single}.json"));
    let r = openim_http::post(lonely.addr, &format!("/openim/{single}"), &body, None).await;
    assert_eq!(r.status, 401, "a caller without the path secret");
    lonely
        .wait_for_metrics(
            Duration::from_secs(30),
            "the after-event dropped as expired",
            |m: &Metrics| m.sum("openim_shim_after_dropped_total", &[("reason", "expired")]) >= 1.0,
        )
        .await;

    let mut exported = BTreeSet::new();
    let mut scrapes = Vec::new();
    for (what, addr) in [
        ("openim-shim", shim.addr),
        ("openim-shim (dead policy)", lonely.addr),
        ("openim-policy", policy_metrics),
    ] {
        let text = scrape(addr).await;
        exported.extend(sample_names(&text));
        scrapes.push(format!("--- {what} /metrics ---\n{text}"));
    }
    let missing: Vec<_> = names.difference(&exported).cloned().collect();
    assert!(
        missing.is_empty(),
        "{} of the {} metric names in deploy/observability are exported by no binary: {}\n\n{}",
        missing.len(),
        names.len(),
        missing.join(", "),
        scrapes.join("\n")
    );
}
