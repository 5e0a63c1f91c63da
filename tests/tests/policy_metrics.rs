//! The policy's Prometheus metrics as a scraper sees them: `GET /metrics` on the metrics port
//! after OpenIM's fixtures went through the shim. One test in its own binary: the recorder is
//! process-wide.

use http::Method;

use openim_tests::{
    Running, openim_http::send, post_fixture, shim_settings, spawn_policy_with_rules, spawn_shim,
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
    let policy = spawn_policy_with_rules(
        "wordLists:\n  - {name: spam-link, action: mask, words: [spam.example]}\n  - {name: team, action: refuse, words: [hi team]}\n  - {name: trial, action: refuse, dryRun: true, words: [hello]}\n",
    )
    .await;
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
            r#"openim_policy_decisions_total{rpc="beforeSendSingleMsg",outcome="continue"}"#,
            1.0,
        ),
        (
            r#"openim_policy_decisions_total{rpc="beforeSendGroupMsg",outcome="refuse"}"#,
            1.0,
        ),
        (
            r#"openim_policy_decisions_total{rpc="beforeMsgModify",outcome="modify"}"#,
            1.0,
        ),
        (
            r#"openim_policy_decisions_total{rpc="beforeOfflinePush",outcome="continue"}"#,
            1.0,
        ),
        (
            r#"openim_policy_messages_total{command="beforeSendGroupMsg",session_type="group",content_type="TEXT",outcome="refuse"}"#,
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
    shim.stop().await;
    policy.stop().await;
    metrics.stop().await;
}
