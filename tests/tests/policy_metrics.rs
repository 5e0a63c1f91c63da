//! The policy's Prometheus metrics as a scraper sees them: `GET /metrics` on the metrics port
//! after OpenIM's fixtures went through the shim. One test in its own binary: the recorder is
//! process-wide.

use http::Method;

use openim_tests::{
    Running, openim_http::send, post_fixture, shim_settings, spawn_policy, spawn_shim,
};

const OP: &str = "a3f1c2d4-5b6e-4f70-8a91-b2c3d4e5f607";

/// The value of the sample line starting with `series` (`name{labels}`), or 0 when absent.
fn sample(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.trim().parse().ok())
        .unwrap_or(0.0)
}

#[tokio::test]
async fn decisions_messages_and_rule_matches_are_counted() {
    let handle = openim_policy::exporter::install_recorder().expect("first recorder");
    let metrics = Running::start(|listener, stop| {
        openim_policy::exporter::serve_metrics(listener, handle, async {
            let _ = stop.await;
        })
    })
    .await;
    // From a file, as in production: the rule set's version and hash are exported.
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules.yaml");
    std::fs::write(
        &rules,
        "version: r42\nwordLists:\n  - {name: spam-link, action: mask, words: [spam.example]}\n  - {name: team, action: refuse, words: [hi team]}\n  - {name: trial, action: refuse, dryRun: true, words: [hello]}\n",
    )
    .unwrap();
    let policy = spawn_policy(openim_policy::Policy::load(Some(&rules)).expect("rules load")).await;
    let shim = spawn_shim(shim_settings(&policy.url())).await;
    post_fixture(shim.addr, "callbackBeforeSendSingleMsgCommand", OP).await;
    post_fixture(shim.addr, "callbackBeforeSendGroupMsgCommand", OP).await;
    post_fixture(shim.addr, "callbackBeforeMsgModifyCommand", OP).await;
    post_fixture(shim.addr, "callbackBeforeOfflinePushCommand", OP).await;

    let reply = send(Method::GET, metrics.addr, "/metrics", b"", None).await;
    assert_eq!(reply.status, 200);
    assert!(
        reply
            .content_type
            .as_deref()
            .unwrap()
            .starts_with("text/plain")
    );
    let text = reply.text();
    for (series, want) in [
        (
            r#"openim_policy_decisions_total{command="callbackBeforeSendSingleMsgCommand",outcome="continue"}"#,
            1.0,
        ),
        (
            r#"openim_policy_decisions_total{command="callbackBeforeSendGroupMsgCommand",outcome="refuse"}"#,
            1.0,
        ),
        (
            r#"openim_policy_decisions_total{command="callbackBeforeMsgModifyCommand",outcome="modify"}"#,
            1.0,
        ),
        (
            r#"openim_policy_decisions_total{command="callbackBeforeOfflinePushCommand",outcome="continue"}"#,
            1.0,
        ),
        // The same command labels and outcomes on the latency histogram (issue 18).
        (
            r#"openim_policy_decision_duration_seconds_count{command="callbackBeforeSendGroupMsgCommand",outcome="refuse"}"#,
            1.0,
        ),
        (
            r#"openim_policy_decision_duration_seconds_count{command="callbackBeforeMsgModifyCommand",outcome="modify"}"#,
            1.0,
        ),
        (
            r#"openim_policy_messages_total{command="callbackBeforeSendGroupMsgCommand",session_type="group",content_type="TEXT",outcome="refuse"}"#,
            1.0,
        ),
        (
            r#"openim_policy_rule_matches_total{kind="wordList",rule="team",stage="beforeSend",mode="enforced"}"#,
            1.0,
        ),
        (
            r#"openim_policy_rule_matches_total{kind="wordList",rule="spam-link",stage="beforeMsgModify",mode="enforced"}"#,
            1.0,
        ),
        (
            r#"openim_policy_rule_matches_total{kind="wordList",rule="trial",stage="beforeSend",mode="dryRun"}"#,
            1.0,
        ),
    ] {
        assert_eq!(sample(&text, series), want, "{series} in\n{text}");
    }
    assert!(
        text.contains("# HELP openim_policy_decisions_total"),
        "{text}"
    );
    // The rule set in force: its version, its hash and when it was loaded.
    let info = text
        .lines()
        .find(|l| l.starts_with("openim_policy_rules_info{"))
        .unwrap_or_else(|| panic!("no openim_policy_rules_info in\n{text}"));
    assert!(
        info.contains(r#"version="r42""#) && info.ends_with(" 1"),
        "{info}"
    );
    let sha = info.split(r#"sha256=""#).nth(1).unwrap_or_default();
    assert!(
        sha.len() > 16 && sha[..16].bytes().all(|b| b.is_ascii_hexdigit()),
        "{info}"
    );
    let loaded = sample(&text, "openim_policy_rules_last_reload_timestamp_seconds");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    assert!((now - 600.0..=now + 1.0).contains(&loaded), "{loaded}");
    shim.stop().await;
    policy.stop().await;
    metrics.stop().await;
}
