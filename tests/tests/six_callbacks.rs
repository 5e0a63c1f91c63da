//! The six message and push callbacks end to end: OpenIM's byte-exact fixtures posted to the
//! real shim in front of the real default policy, replies read per docs/openim-protocol.md §2.2 and by the
//! Go mirror of OpenIM's decoder.

use openim_tests::{
    fixture, go_decoder,
    openim_http::post,
    post_fixture,
    reply::{Meaning, meaning},
    shim_settings, spawn_policy_with_rules, spawn_shim,
};

/// Rules that give each fixture a different outcome.
const RULES: &str = r#"
wordLists:
  - name: spam-link
    action: mask
    words: [spam.example]
  - name: team-ban
    action: refuse
    errCode: 5002
    errMsg: you are not allowed to post in this group
    words: ["hi team"]
push:
  title: New message
"#;

const SINGLE_OP: &str = "a3f1c2d4-5b6e-4f70-8a91-b2c3d4e5f607";
const GROUP_OP: &str = "5d2e8f1a-3c4b-4d6e-9f70-1a2b3c4d5e6f";

#[tokio::test]
async fn each_fixture_gets_its_intended_meaning_from_the_default_policy() {
    let policy = spawn_policy_with_rules(RULES).await;
    let shim = spawn_shim(shim_settings(&policy.url())).await;

    let single = post_fixture(shim.addr, "callbackBeforeSendSingleMsgCommand", SINGLE_OP).await;
    assert_eq!(meaning(&single.json()), Meaning::Continue);

    let group = post_fixture(shim.addr, "callbackBeforeSendGroupMsgCommand", GROUP_OP).await;
    assert_eq!(
        meaning(&group.json()),
        Meaning::Refuse {
            err_code: 5002,
            err_msg: "you are not allowed to post in this group".into(),
            err_dlt: "matched rule: team-ban".into(),
        }
    );

    let modify = post_fixture(shim.addr, "callbackBeforeMsgModifyCommand", SINGLE_OP).await;
    let m = modify.json();
    assert_eq!(meaning(&m), Meaning::Continue);
    assert_eq!(m["content"], r#"{"content":"buy now at ************"}"#);

    let push = post_fixture(shim.addr, "callbackBeforeOfflinePushCommand", SINGLE_OP).await;
    let p = push.json();
    assert_eq!(meaning(&p), Meaning::Continue);
    assert_eq!(
        p["offlinePushInfo"],
        serde_json::json!({"title":"New message","desc":"","ex":"","iOSPushSound":"+1",
                           "iOSBadgeCount":true,"signalInfo":""}),
        "the title is rewritten and the message's other push texts kept"
    );
    assert!(p.get("userIDList").is_none(), "targets unchanged");

    let after_single =
        post_fixture(shim.addr, "callbackAfterSendSingleMsgCommand", SINGLE_OP).await;
    let after_group = post_fixture(shim.addr, "callbackAfterSendGroupMsgCommand", GROUP_OP).await;
    assert_eq!(meaning(&after_single.json()), Meaning::Continue);
    assert_eq!(meaning(&after_group.json()), Meaning::Continue);

    // OpenIM's own decoder, every version's Parse(): same meaning, nothing that breaks it.
    let verdicts = go_decoder::check(&[
        ("CommonCallbackResp", &single.body),
        ("CommonCallbackResp", &group.body),
        ("CallbackMsgModifyCommandResp", &modify.body),
        ("CallbackBeforePushResp", &push.body),
        ("CommonCallbackResp", &after_single.body),
        ("CommonCallbackResp", &after_group.body),
    ]);
    let refused: Vec<bool> = verdicts
        .iter()
        .zip([&single, &group, &modify, &push, &after_single, &after_group])
        .map(|(v, r)| v.assert_portable(&r.text()))
        .collect();
    assert_eq!(refused, [false, true, false, false, false, false]);
    assert_eq!(verdicts[1].err_code, 5002);
    assert_eq!(
        verdicts[2].reply["content"],
        r#"{"content":"buy now at ************"}"#
    );
    assert_eq!(verdicts[3].reply["offlinePushInfo"]["title"], "New message");

    shim.stop().await;
    policy.stop().await;
}

#[tokio::test]
async fn old_and_misspelled_command_names_are_served_like_the_current_ones() {
    let policy = spawn_policy_with_rules(RULES).await;
    let shim = spawn_shim(shim_settings(&policy.url())).await;
    let modify = fixture("callbackBeforeMsgModifyCommand.json");
    for name in [
        "callbackMsgModifyCommand",
        "callbackMsgModifyCommandCommand",
    ] {
        let r = post(
            shim.addr,
            &format!("/openim/{name}"),
            &modify,
            Some(SINGLE_OP),
        )
        .await;
        assert_eq!(
            r.json()["content"],
            r#"{"content":"buy now at ************"}"#,
            "{name}"
        );
    }
    let push = fixture("callbackBeforeOfflinePushCommand.json");
    for name in ["callbackOfflinePushCommand", "callbackBeforePushCommand"] {
        let r = post(
            shim.addr,
            &format!("/openim/{name}"),
            &push,
            Some(SINGLE_OP),
        )
        .await;
        assert_eq!(
            r.json()["offlinePushInfo"]["title"],
            "New message",
            "{name}"
        );
    }
    shim.stop().await;
    policy.stop().await;
}

#[tokio::test]
async fn every_url_form_of_every_server_version_reaches_the_command() {
    let policy = spawn_policy_with_rules(RULES).await;
    let shim = spawn_shim(shim_settings(&policy.url())).await;
    let body = fixture("callbackBeforeSendGroupMsgCommand.json");
    let cmd = "callbackBeforeSendGroupMsgCommand";
    let forms = [
        // v3.5+: {url}/{command}
        format!("/openim/{cmd}"),
        // a trailing slash in webhooks.yml's url
        format!("/openim//{cmd}"),
        // main: ?key= on after-send callbacks (harmless here)
        format!("/openim/{cmd}?key=eyJzZW5kSUQiOiIxIn0%3D"),
        // the docs' ?contenttype=json
        format!("/openim/{cmd}?contenttype=json"),
        // v3.0-v3.4: {url}?command={command}
        format!("/openim?command={cmd}&contenttype=json"),
        // v2: the bare URL, command only in the body
        "/openim".to_owned(),
        "/".to_owned(),
    ];
    for path in forms {
        let r = post(shim.addr, &path, &body, Some(GROUP_OP)).await;
        assert!(
            matches!(meaning(&r.json()), Meaning::Refuse { err_code: 5002, .. }),
            "{path}: {}",
            r.text()
        );
    }
    shim.stop().await;
    policy.stop().await;
}
