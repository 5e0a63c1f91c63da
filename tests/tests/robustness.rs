//! Whatever happens, OpenIM gets HTTP 200 and a valid reply: a policy that does not implement a
//! callback, one that is down or failing, malformed bodies, unknown commands, other methods.
//! Also: the operation ID reaches the policy, and after-events never wait for the policy.

use std::time::Duration;

use openim_shim::config::OnError;
use openim_tests::{
    closed_port, fixture, go_decoder,
    openim_http::{post, send},
    post_fixture,
    reply::{Meaning, meaning},
    shim_settings, spawn_grpc, spawn_shim,
    test_policy::{Script, ScriptedPolicy, Spawned},
};
use policy_proto::v1::{
    self as pb,
    message_service_server::{MessageService, MessageServiceServer},
};
use tokio::{io::AsyncReadExt, io::AsyncWriteExt, net::TcpStream};

const SINGLE: &str = "callbackBeforeSendSingleMsgCommand";
const OP: &str = "a3f1c2d4-5b6e-4f70-8a91-b2c3d4e5f607";

fn refuse_settings(policy_url: &str) -> openim_shim::config::Settings {
    openim_shim::config::Settings {
        on_error: OnError::Refuse {
            err_code: 5900,
            err_msg: "policy unavailable".into(),
        },
        ..shim_settings(policy_url)
    }
}

/// A policy written in Rust that implements none of the message RPCs: the generated default
/// stubs answer UNIMPLEMENTED, which means "I do not care about this callback".
struct NotInterested;
impl MessageService for NotInterested {}

#[tokio::test]
async fn a_policy_answering_unimplemented_lets_everything_continue() {
    let policy = spawn_grpc(
        tonic::transport::Server::builder().add_service(MessageServiceServer::new(NotInterested)),
    )
    .await;
    // Even with fail-closed configured: UNIMPLEMENTED is a decision, not a failure.
    let shim = spawn_shim(refuse_settings(&policy.url())).await;
    for command in [
        SINGLE,
        "callbackBeforeSendGroupMsgCommand",
        "callbackBeforeMsgModifyCommand",
        // PushService is not served at all: also UNIMPLEMENTED.
        "callbackBeforeOfflinePushCommand",
    ] {
        let body = fixture(&format!("{command}.json"));
        let r = post(shim.addr, &format!("/openim/{command}"), &body, Some(OP)).await;
        assert_eq!(r.status, 200);
        assert_eq!(meaning(&r.json()), Meaning::Continue, "{command}");
        assert_eq!(
            r.json().as_object().unwrap().len(),
            5,
            "no change fields: {}",
            r.text()
        );
    }
    shim.stop().await;
    policy.stop().await;
}

#[tokio::test]
async fn malformed_bodies_and_unknown_commands_get_a_valid_reply() {
    let Spawned {
        server: policy,
        seen: _,
        gate: _,
    } = ScriptedPolicy::spawn(Script::default(), false).await;
    let shim = spawn_shim(shim_settings(&policy.url())).await;
    let cases: [(&str, &[u8]); 9] = [
        (SINGLE, b""),
        (SINGLE, b"not json"),
        (SINGLE, b"[]"),
        (SINGLE, br#"{"sendID":"1","sessionType":"1"}"#),
        (SINGLE, br#"{"sendID":"1""#),
        ("callbackAfterSendSingleMsgCommand", b"{oops"),
        (
            "callbackSomethingAddedInV4Command",
            br#"{"callbackCommand":"callbackSomethingAddedInV4Command"}"#,
        ),
        ("callbackSomethingAddedInV4Command", b"not json either"),
        ("", b"not json and no command"),
    ];
    let mut bodies = Vec::new();
    for (command, body) in cases {
        let r = post(shim.addr, &format!("/openim/{command}"), body, Some(OP)).await;
        assert_eq!(r.status, 200, "{command} {body:?}");
        assert_eq!(meaning(&r.json()), Meaning::Continue, "{command} {body:?}");
        bodies.push(r.body);
    }
    let replies: Vec<_> = bodies
        .iter()
        .map(|b| ("CommonCallbackResp", &b[..]))
        .collect();
    for (v, b) in go_decoder::check(&replies).iter().zip(&bodies) {
        assert!(!v.assert_portable(&String::from_utf8_lossy(b)));
    }
    shim.stop().await;
    policy.stop().await;
}

#[tokio::test]
async fn a_malformed_before_body_follows_the_failure_mode() {
    let Spawned {
        server: policy,
        seen: _,
        gate: _,
    } = ScriptedPolicy::spawn(Script::default(), false).await;
    let shim = spawn_shim(refuse_settings(&policy.url())).await;
    let r = post(
        shim.addr,
        &format!("/openim/{SINGLE}"),
        b"not json",
        Some(OP),
    )
    .await;
    assert_eq!(
        meaning(&r.json()),
        Meaning::Refuse {
            err_code: 5900,
            err_msg: "policy unavailable".into(),
            err_dlt: "malformed".into()
        }
    );
    // After-callbacks have nothing to refuse: OpenIM ignores their reply.
    let r = post(
        shim.addr,
        "/openim/callbackAfterSendSingleMsgCommand",
        b"x",
        Some(OP),
    )
    .await;
    assert_eq!(meaning(&r.json()), Meaning::Continue);
    shim.stop().await;
    policy.stop().await;
}

#[tokio::test]
async fn a_body_over_the_limit_follows_the_failure_mode() {
    let Spawned {
        server: policy,
        seen: _,
        gate: _,
    } = ScriptedPolicy::spawn(Script::default(), false).await;
    let shim = spawn_shim(openim_shim::config::Settings {
        max_body_bytes: 64,
        ..refuse_settings(&policy.url())
    })
    .await;
    let r = post_fixture(shim.addr, SINGLE, OP).await;
    assert_eq!(r.status, 200);
    assert!(
        matches!(meaning(&r.json()), Meaning::Refuse { err_code: 5900, .. }),
        "{}",
        r.text()
    );
    shim.stop().await;
    policy.stop().await;
}

#[tokio::test]
async fn a_policy_that_is_down_gets_the_failure_mode() {
    let nowhere = format!("http://{}", closed_port().await);
    let body = fixture(&format!("{SINGLE}.json"));

    let open = spawn_shim(shim_settings(&nowhere)).await;
    let r = post(open.addr, &format!("/openim/{SINGLE}"), &body, Some(OP)).await;
    assert_eq!(meaning(&r.json()), Meaning::Continue);
    open.stop().await;

    let closed = spawn_shim(refuse_settings(&nowhere)).await;
    let r = post(closed.addr, &format!("/openim/{SINGLE}"), &body, Some(OP)).await;
    assert_eq!(
        meaning(&r.json()),
        Meaning::Refuse {
            err_code: 5900,
            err_msg: "policy unavailable".into(),
            err_dlt: "unavailable".into()
        }
    );
    closed.stop().await;
}

#[tokio::test]
async fn a_policy_error_status_gets_the_failure_mode() {
    let script = Script {
        fail: Some((tonic::Code::Internal, "rules database unreachable")),
        ..Script::default()
    };
    let Spawned {
        server: policy,
        seen: _,
        gate: _,
    } = ScriptedPolicy::spawn(script, false).await;
    let shim = spawn_shim(refuse_settings(&policy.url())).await;
    let r = post_fixture(shim.addr, SINGLE, OP).await;
    assert_eq!(
        meaning(&r.json()),
        Meaning::Refuse {
            err_code: 5900,
            err_msg: "policy unavailable".into(),
            err_dlt: "error".into()
        }
    );
    shim.stop().await;
    policy.stop().await;
}

#[tokio::test]
async fn a_refusal_without_a_code_gets_the_default_code() {
    let script = Script {
        before_send: pb::BeforeSendSingleMsgResponse {
            refuse: Some(pb::Refusal {
                err_code: 0,
                err_msg: "no".into(),
                err_dlt: String::new(),
            }),
        },
        ..Script::default()
    };
    let Spawned {
        server: policy,
        seen: _,
        gate: _,
    } = ScriptedPolicy::spawn(script, false).await;
    let shim = spawn_shim(shim_settings(&policy.url())).await;
    let r = post_fixture(shim.addr, SINGLE, OP).await;
    assert!(
        matches!(meaning(&r.json()), Meaning::Refuse { err_code: 5000, .. }),
        "{}",
        r.text()
    );
    shim.stop().await;
    policy.stop().await;
}

#[tokio::test]
async fn a_modified_content_that_is_not_a_json_object_is_not_forwarded() {
    let script = Script {
        modify: pb::BeforeMsgModifyResponse {
            content: Some("plain text breaks OpenIM main".into()),
            ex: Some("kept".into()),
            ..Default::default()
        },
        ..Script::default()
    };
    let Spawned {
        server: policy,
        seen: _,
        gate: _,
    } = ScriptedPolicy::spawn(script, false).await;
    let shim = spawn_shim(shim_settings(&policy.url())).await;
    let body = fixture("callbackBeforeMsgModifyCommand.json");
    let r = post(
        shim.addr,
        "/openim/callbackBeforeMsgModifyCommand",
        &body,
        Some(OP),
    )
    .await;
    let j = r.json();
    assert_eq!(meaning(&j), Meaning::Continue);
    assert!(j.get("content").is_none(), "{j}");
    assert_eq!(j["ex"], "kept");
    let v = &go_decoder::check(&[("CallbackMsgModifyCommandResp", &r.body)])[0];
    assert!(!v.assert_portable(&r.text()));
    shim.stop().await;
    policy.stop().await;
}

#[tokio::test]
async fn other_methods_get_405_with_a_valid_body_and_healthz_answers() {
    let shim = spawn_shim(shim_settings(&format!("http://{}", closed_port().await))).await;
    let r = send(
        http::Method::GET,
        shim.addr,
        &format!("/openim/{SINGLE}"),
        b"",
        None,
    )
    .await;
    assert_eq!(r.status, 405);
    assert_eq!(meaning(&r.json()), Meaning::Continue);
    let r = send(http::Method::GET, shim.addr, "/healthz", b"", None).await;
    assert_eq!(r.status, 200);
    shim.stop().await;
}

/// Sends raw HTTP/1.1 bytes and returns the raw response (to control header spelling exactly).
async fn raw_post(addr: std::net::SocketAddr, header_line: &str, body: &[u8]) -> String {
    let mut s = TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "POST /openim/{SINGLE} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json; charset=utf-8\r\n{header_line}Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).await.unwrap();
    s.write_all(body).await.unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).await.unwrap();
    out
}

#[tokio::test]
async fn the_operation_id_reaches_the_policy_from_the_header_in_any_case_or_from_the_body() {
    let Spawned {
        server: policy,
        mut seen,
        gate: _,
    } = ScriptedPolicy::spawn(Script::default(), false).await;
    let shim = spawn_shim(shim_settings(&policy.url())).await;
    let body = fixture(&format!("{SINGLE}.json"));
    let cases = [
        ("Operationid: from-go-header\r\n", "from-go-header"),
        ("operationid: from-h2-header\r\n", "from-h2-header"),
        (
            "OPERATIONID: from-shouting-header\r\n",
            "from-shouting-header",
        ),
        ("operationID: from-camel-header\r\n", "from-camel-header"),
        // v3.6 and older send no header when the ID is empty; the body has it.
        ("", OP),
    ];
    for (header, expected) in cases {
        let raw = raw_post(shim.addr, header, &body).await;
        assert!(raw.starts_with("HTTP/1.1 200"), "{raw}");
        let s = seen.recv().await.unwrap();
        assert_eq!(s.method, "BeforeSendSingleMsg");
        assert_eq!(s.md_operation_id.as_deref(), Some(expected), "{header:?}");
        assert_eq!(s.context.operation_id, expected, "{header:?}");
        assert_eq!(s.md_command.as_deref(), Some(SINGLE));
        assert_eq!(s.context.command, SINGLE);
    }
    // The command reported is the name OpenIM used.
    let modify = fixture("callbackBeforeMsgModifyCommand.json");
    post(
        shim.addr,
        "/openim/callbackMsgModifyCommand",
        &modify,
        Some(OP),
    )
    .await;
    let s = seen.recv().await.unwrap();
    assert_eq!(s.method, "BeforeMsgModify");
    assert_eq!(s.context.command, "callbackMsgModifyCommand");
    shim.stop().await;
    policy.stop().await;
}

#[tokio::test]
async fn after_events_are_acknowledged_without_waiting_for_the_policy() {
    // The policy holds every after-event until the test releases it.
    let Spawned {
        server: policy,
        mut seen,
        gate,
    } = ScriptedPolicy::spawn(Script::default(), true).await;
    let shim = spawn_shim(shim_settings(&policy.url())).await;
    for (command, op) in [
        ("callbackAfterSendSingleMsgCommand", OP),
        (
            "callbackAfterSendGroupMsgCommand",
            "5d2e8f1a-3c4b-4d6e-9f70-1a2b3c4d5e6f",
        ),
    ] {
        let body = fixture(&format!("{command}.json"));
        // Would hang if the shim waited for the held policy call.
        let r = tokio::time::timeout(
            Duration::from_secs(10),
            post(
                shim.addr,
                &format!("/openim/{command}?key=eyJ9"),
                &body,
                Some(op),
            ),
        )
        .await
        .expect("after-callback reply did not wait for the policy");
        assert_eq!(meaning(&r.json()), Meaning::Continue);
        let s = seen.recv().await.unwrap();
        assert_eq!(s.context.operation_id, op);
        assert_eq!(s.context.command, command);
        assert_eq!(s.message.unwrap().server_msg_id.len(), 32);
    }
    gate.add_permits(2);
    shim.stop().await;
    policy.stop().await;
}
