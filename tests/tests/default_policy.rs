//! The default policy engine end to end: OpenIM's fixtures (with their text changed where a
//! case needs it) posted to the real shim in front of the real `openim-policy` with a rules
//! file: the example rules as shipped, each rule kind, push rules, hot reload, readiness and
//! the audit log.

use openim_policy::Policy;
use openim_tests::{
    fixture, go_decoder,
    openim_http::post,
    post_fixture,
    reply::{Meaning, meaning},
    repo_path, shim_settings, spawn_policy, spawn_policy_with_rules, spawn_shim,
};
use policy_proto::v1 as pb;
use serde_json::{Value, json};

const OP: &str = "a3f1c2d4-5b6e-4f70-8a91-b2c3d4e5f607";

/// Fixture `<command>.json` with its message text (or a field) replaced.
fn body(command: &str, edit: impl FnOnce(&mut Value)) -> Vec<u8> {
    let mut v: Value = serde_json::from_slice(&fixture(&format!("{command}.json"))).unwrap();
    edit(&mut v);
    serde_json::to_vec(&v).unwrap()
}

fn with_text(command: &str, text: &str) -> Vec<u8> {
    body(command, |v| {
        v["content"] = json!({ "content": text }).to_string().into();
    })
}

async fn call(addr: std::net::SocketAddr, command: &str, body: &[u8]) -> Value {
    let reply = post(addr, &format!("/openim/{command}"), body, Some(OP)).await;
    assert_eq!(reply.status, 200);
    reply.json()
}

fn refused(code: i32) -> impl Fn(&Value) -> bool {
    move |reply| matches!(meaning(reply), Meaning::Refuse { err_code, .. } if err_code == code)
}

const SINGLE: &str = "callbackBeforeSendSingleMsgCommand";
const GROUP: &str = "callbackBeforeSendGroupMsgCommand";
const MODIFY: &str = "callbackBeforeMsgModifyCommand";
const PUSH: &str = "callbackBeforeOfflinePushCommand";

#[tokio::test]
async fn the_example_rules_file_works_as_shipped() {
    let policy = Policy::load(Some(&repo_path("examples/rules.yaml"))).unwrap();
    let policy = spawn_policy(policy).await;
    let shim = spawn_shim(shim_settings(&policy.url())).await;

    // The README's curl.
    let modify = post_fixture(shim.addr, MODIFY, OP).await;
    assert_eq!(
        modify.text(),
        r#"{"actionCode":0,"errCode":0,"errMsg":"","errDlt":"","nextCode":0,"content":"{\"content\":\"buy now at ************\"}"}"#
    );
    let scam = call(shim.addr, SINGLE, &with_text(SINGLE, "this is a scam")).await;
    assert_eq!(
        meaning(&scam),
        Meaning::Refuse {
            err_code: 5001,
            err_msg: "message rejected by content policy".into(),
            err_dlt: "matched rule: abuse".into(),
        }
    );
    // Dodges: separators, full width.
    for dodge in ["s.c.a.m!", "S C A M", "ｓｃａｍ", "i-d-i-o-t"] {
        let r = call(shim.addr, SINGLE, &with_text(SINGLE, dodge)).await;
        assert!(refused(5001)(&r), "{dodge}: {r}");
    }
    // Links outside the allow-list are masked; allowed ones are kept.
    let r = call(
        shim.addr,
        MODIFY,
        &with_text(MODIFY, "看 www.evil.cn 和 https://openim.io/x"),
    )
    .await;
    assert_eq!(
        r["content"],
        r#"{"content":"看 *********** 和 https://openim.io/x"}"#
    );
    // Plain messages continue, unchanged.
    let r = call(
        shim.addr,
        MODIFY,
        &with_text(MODIFY, "今天晚上一起吃饭吗？"),
    )
    .await;
    assert_eq!(meaning(&r), Meaning::Continue);
    assert!(r.get("content").is_none(), "{r}");
    let group = post_fixture(shim.addr, GROUP, OP).await;
    assert_eq!(meaning(&group.json()), Meaning::Continue);
    let push = post_fixture(shim.addr, PUSH, OP).await;
    assert_eq!(push.json()["offlinePushInfo"]["title"], "New message");

    let verdicts = go_decoder::check(&[
        ("CallbackMsgModifyCommandResp", &modify.body),
        ("CallbackBeforePushResp", &push.body),
    ]);
    for (v, r) in verdicts.iter().zip([&modify, &push]) {
        assert!(!v.assert_portable(&r.text()));
    }
    shim.stop().await;
    policy.stop().await;
}

const SPEAK: &str = r#"
exemptUserIDs: ["imAdmin"]
mutes:
  users: ["1111111111", {id: "2222222222", until: 2001-01-01T00:00:00Z}]
  groups: ["2841935067"]
  errCode: 6001
rateLimit: {messages: 2, per: 1m, errCode: 6002}
contentTypes:
  single: {deny: [picture]}
  errCode: 6003
limits: {maxTextLength: 20, errCode: 6004}
links:
  action: refuse
  allowDomains: [openim.io]
  errCode: 6005
"#;

#[tokio::test]
async fn who_may_speak_mutes_rate_limits_types_lengths_and_links() {
    let policy = spawn_policy_with_rules(SPEAK).await;
    let shim = spawn_shim(shim_settings(&policy.url())).await;
    let sender = |id: &str, text: &str| {
        body(SINGLE, |v| {
            v["sendID"] = id.into();
            v["content"] = json!({ "content": text }).to_string().into();
        })
    };

    // The group fixture's group is muted.
    assert!(refused(6001)(
        &post_fixture(shim.addr, GROUP, OP).await.json()
    ));
    assert!(refused(6001)(
        &call(shim.addr, SINGLE, &sender("1111111111", "hi")).await
    ));
    assert_eq!(
        meaning(&call(shim.addr, SINGLE, &sender("2222222222", "hi")).await),
        Meaning::Continue,
        "expired mute"
    );
    // Two messages a minute per sender.
    for _ in 0..2 {
        let r = call(shim.addr, SINGLE, &sender("3333333333", "hi")).await;
        assert_eq!(meaning(&r), Meaning::Continue);
    }
    assert!(refused(6002)(
        &call(shim.addr, SINGLE, &sender("3333333333", "hi")).await
    ));
    assert_eq!(
        meaning(&call(shim.addr, SINGLE, &sender("4444444444", "hi")).await),
        Meaning::Continue,
        "another sender"
    );
    // The exempt user is never limited.
    for _ in 0..5 {
        let r = call(shim.addr, SINGLE, &sender("imAdmin", "hi")).await;
        assert_eq!(meaning(&r), Meaning::Continue);
    }
    let picture = body(SINGLE, |v| {
        v["sendID"] = "5555555555".into();
        v["contentType"] = 102.into();
        v["content"] = r#"{"sourcePicture":{"url":"https://cdn/x.png"}}"#.into();
    });
    assert!(refused(6003)(&call(shim.addr, SINGLE, &picture).await));
    assert!(refused(6004)(
        &call(shim.addr, SINGLE, &sender("6666666666", &"长".repeat(21))).await
    ));
    assert!(refused(6005)(
        &call(
            shim.addr,
            SINGLE,
            &sender("7777777777", "go http://evil.cn")
        )
        .await
    ));
    assert_eq!(
        meaning(
            &call(
                shim.addr,
                SINGLE,
                &sender("8888888888", "see docs.openim.io")
            )
            .await
        ),
        Meaning::Continue
    );
    shim.stop().await;
    policy.stop().await;
}

#[tokio::test]
async fn other_text_bearing_types_are_masked_in_their_own_keys() {
    let policy = spawn_policy_with_rules(
        "wordLists:\n  - {name: m, action: mask, ignoreSeparators: true, words: [坏词, spam]}\n",
    )
    .await;
    let shim = spawn_shim(shim_settings(&policy.url())).await;
    let cases = [
        (
            106,
            json!({"text": "@Bob 坏-词", "atUserList": ["u2"], "isAtSelf": false}),
            json!({"text": "@Bob ***", "atUserList": ["u2"], "isAtSelf": false}),
        ),
        (
            114,
            json!({"text": "SPAM", "quoteMessage": {"content": "spam"}}),
            json!({"text": "****", "quoteMessage": {"content": "spam"}}),
        ),
        (
            117,
            json!({"text": "坏词", "messageEntityList": []}),
            json!({"text": "**", "messageEntityList": []}),
        ),
        (
            118,
            json!({"content": "# spam"}),
            json!({"content": "# ****"}),
        ),
        (
            110,
            json!({"data": "spam", "description": "d", "extension": "坏词"}),
            json!({"data": "****", "description": "d", "extension": "**"}),
        ),
    ];
    for (content_type, content, want) in cases {
        let b = body(MODIFY, |v| {
            v["contentType"] = content_type.into();
            v["content"] = content.to_string().into();
        });
        let r = call(shim.addr, MODIFY, &b).await;
        let got: Value = serde_json::from_str(r["content"].as_str().unwrap()).unwrap();
        assert_eq!(got, want, "{content_type}");
    }
    shim.stop().await;
    policy.stop().await;
}

#[tokio::test]
async fn push_rules_template_suppress_and_cap() {
    let policy = spawn_policy_with_rules(
        "mutes: {users: ['1111111111']}\npush:\n  title: '{senderNickname}'\n  desc: '[{contentType}]'\n  contentTypeNames: {text: 消息}\n  suppressMuted: true\n  maxRecipients: 1\n",
    )
    .await;
    let shim = spawn_shim(shim_settings(&policy.url())).await;
    // Before any message from the sender: the ID stands in for the nickname.
    let r = post_fixture(shim.addr, PUSH, OP).await.json();
    assert_eq!(r["offlinePushInfo"]["title"], "4826475913");
    // The before-send callback teaches the nickname ("Alice").
    post_fixture(shim.addr, SINGLE, OP).await;
    let many = body(PUSH, |v| v["userIDList"] = json!(["a", "b", "c"]));
    let r = call(shim.addr, PUSH, &many).await;
    assert_eq!(meaning(&r), Meaning::Continue);
    assert_eq!(r["offlinePushInfo"]["title"], "Alice");
    assert_eq!(r["offlinePushInfo"]["desc"], "[消息]");
    assert_eq!(
        r["offlinePushInfo"]["iOSPushSound"], "+1",
        "other texts kept"
    );
    assert_eq!(r["userIDList"], json!(["a"]));
    let muted = body(PUSH, |v| v["sendID"] = "1111111111".into());
    assert!(matches!(
        meaning(&call(shim.addr, PUSH, &muted).await),
        Meaning::Refuse { .. }
    ));
    shim.stop().await;
    policy.stop().await;
}

fn temp_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("openim-e2e-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[tokio::test]
async fn a_reload_swaps_the_rules_and_a_bad_file_keeps_them() {
    let dir = temp_dir("reload");
    let path = dir.join("rules.yaml");
    std::fs::write(
        &path,
        "wordLists:\n  - {name: a, action: refuse, words: [foo]}\n",
    )
    .unwrap();
    let policy = Policy::load(Some(&path)).unwrap();
    let live = policy.live_rules().unwrap().clone();
    let policy = spawn_policy(policy).await;
    let shim = spawn_shim(shim_settings(&policy.url())).await;
    let says = |text: &'static str| {
        let addr = shim.addr;
        async move { meaning(&call(addr, SINGLE, &with_text(SINGLE, text)).await) }
    };
    assert!(matches!(says("foo").await, Meaning::Refuse { .. }));

    std::fs::write(
        &path,
        "wordLists:\n  - {name: b, action: refuse, words: [bar]}\n",
    )
    .unwrap();
    live.reload().unwrap();
    assert_eq!(says("foo").await, Meaning::Continue);
    assert!(matches!(says("bar").await, Meaning::Refuse { .. }));

    std::fs::write(
        &path,
        "wordLists:\n  - {name: c, action: refuse, words: [baz]\n",
    )
    .unwrap();
    let e = live.reload().unwrap_err().to_string();
    assert!(e.contains("rules.yaml") && e.contains("line"), "{e}");
    assert!(
        matches!(says("bar").await, Meaning::Refuse { .. }),
        "old rules in force"
    );
    assert_eq!(says("baz").await, Meaning::Continue);
    shim.stop().await;
    policy.stop().await;
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn without_valid_rules_health_is_not_serving_and_decisions_are_unavailable() {
    use tokio_stream::StreamExt as _;
    use tonic_health::pb::{
        HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient,
    };

    let dir = temp_dir("wait");
    let path = dir.join("rules.yaml");
    std::fs::write(&path, "wordLists: [oops\n").unwrap();
    let policy = Policy::load_or_wait(&path);
    assert!(!policy.is_ready());
    let live = policy.live_rules().unwrap().clone();
    let policy = spawn_policy(policy).await;
    let channel = tonic::transport::Endpoint::from_shared(policy.url())
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut health = HealthClient::new(channel.clone());
    let mut status = async || {
        let mut all = Vec::new();
        for service in [
            "",
            "openim.policy.v1.MessageService",
            "openim.policy.v1.PushService",
        ] {
            let request = HealthCheckRequest {
                service: service.into(),
            };
            all.push(health.check(request).await.unwrap().into_inner().status);
        }
        all
    };
    let not_serving = ServingStatus::NotServing as i32;
    assert_eq!(status().await, [not_serving; 3]);
    let mut client = pb::message_service_client::MessageServiceClient::new(channel.clone());
    let request = pb::BeforeSendSingleMsgRequest {
        context: None,
        message: Some(pb::Message::default()),
    };
    let error = client
        .before_send_single_msg(request.clone())
        .await
        .unwrap_err();
    assert_eq!(error.code(), tonic::Code::Unavailable);
    // Through the shim: its failure mode (continue by default) applies.
    let shim = spawn_shim(shim_settings(&policy.url())).await;
    assert_eq!(
        meaning(&post_fixture(shim.addr, SINGLE, OP).await.json()),
        Meaning::Continue
    );

    // "" (the server as a whole) is set last.
    let mut statuses = HealthClient::new(channel.clone())
        .watch(HealthCheckRequest {
            service: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    let first = statuses.next().await.unwrap().unwrap().status;
    assert_eq!(first, not_serving);

    std::fs::write(&path, "wordLists: []\n").unwrap();
    live.reload().unwrap();
    assert!(client.before_send_single_msg(request).await.is_ok());
    let next = statuses.next().await.unwrap().unwrap().status;
    assert_eq!(next, ServingStatus::Serving as i32);
    assert_eq!(status().await, [ServingStatus::Serving as i32; 3]);
    // An open Watch stream would hold up the graceful shutdown.
    drop(statuses);
    shim.stop().await;
    policy.stop().await;
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn the_audit_log_records_refusals_and_changes() {
    let dir = temp_dir("audit");
    let path = dir.join("rules.yaml");
    std::fs::write(
        &path,
        "wordLists:\n  - {name: abuse, action: refuse, words: [scam]}\n  - {name: spam, action: mask, words: [spam.example]}\naudit: {path: audit.jsonl, content: full}\n",
    )
    .unwrap();
    let policy = spawn_policy(Policy::load(Some(&path)).unwrap()).await;
    let shim = spawn_shim(shim_settings(&policy.url())).await;
    call(shim.addr, SINGLE, &with_text(SINGLE, "a scam")).await;
    post_fixture(shim.addr, MODIFY, OP).await;
    post_fixture(shim.addr, SINGLE, OP).await;
    shim.stop().await;
    // Stopping the policy writes out the audit log.
    policy.stop().await;
    let lines: Vec<Value> = std::fs::read_to_string(dir.join("audit.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let decisions: Vec<_> = lines.iter().filter(|l| l["event"] == "decision").collect();
    assert_eq!(decisions.len(), 2, "{lines:?}");
    assert_eq!(decisions[0]["outcome"], "refuse");
    assert_eq!(decisions[0]["rule"], "abuse");
    assert_eq!(decisions[0]["sendID"], "4826475913");
    assert_eq!(decisions[0]["content"], r#"{"content":"a scam"}"#);
    assert_eq!(decisions[1]["outcome"], "modify");
    assert_eq!(
        decisions[1]["serverMsgID"],
        "9f2c4e7a1b3d5f60718293a4b5c6d7e8"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
