//! A policy next to the shim on a Unix domain socket: `openim-policy --listen unix:PATH` and
//! `openim-shim --policy unix:PATH` serve callbacks as over TCP, readiness included, and the
//! socket file is removed when the policy stops.

use openim_policy::{ListenAddr, Listener, Policy, RuleEngine, rules::RulesFile};
use openim_tests::{
    Running, fixture,
    openim_http::{post, send},
    reply::{Meaning, meaning},
    shim_settings, spawn_shim,
};

#[tokio::test]
async fn the_shim_reaches_a_policy_on_a_unix_socket() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("policy.sock");
    let rules = RulesFile::parse(
        "wordLists:\n  - name: spam\n    action: mask\n    words: [spam.example]\n",
    )
    .unwrap();
    let policy = Policy::new(RuleEngine::from_rules(rules).unwrap());
    let listener = Listener::bind(&ListenAddr::Unix(path.clone()))
        .await
        .unwrap();
    assert!(path.exists());
    let policy = Running::start(move |_unused_tcp, stop| {
        openim_policy::serve(listener, policy, async {
            let _ = stop.await;
        })
    })
    .await;
    let shim = spawn_shim(shim_settings(&format!("unix:{}", path.display()))).await;

    let body = fixture("callbackBeforeMsgModifyCommand.json");
    let r = post(
        shim.addr,
        "/openim/callbackBeforeMsgModifyCommand",
        &body,
        Some("uds-1"),
    )
    .await;
    assert_eq!(meaning(&r.json()), Meaning::Continue);
    assert_eq!(
        r.json()["content"],
        r#"{"content":"buy now at ************"}"#
    );
    let ready = send(http::Method::GET, shim.addr, "/readyz", b"", None).await;
    assert_eq!(ready.status, 200, "{}", ready.text());

    shim.stop().await;
    policy.stop().await;
    assert!(!path.exists(), "the socket file outlived the policy");
}
