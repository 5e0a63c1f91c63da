//! The HTTP layer in memory: requests go through the shim's router with `oneshot` (no socket on
//! the OpenIM side), to a scripted policy on loopback that answers raw bytes per RPC. Covers
//! routing (path, body, unknown commands, methods) and every way a callback can end: a decision,
//! each failure cause with each failure mode, UNIMPLEMENTED, a disabled callback, after-events.
//! No Go, no child process: `cargo test -p openim-shim` runs it.

use std::{
    collections::HashMap,
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::body::Body;
use bytes::Bytes;
use http::{Request, StatusCode};
use openim_shim::{
    Shim,
    config::{Layer, OnError, Origin, Settings},
};
use policy_proto::{raw, v1 as pb};
use prost::Message as _;
use serde_json::Value;
use tokio::net::TcpListener;
use tokio_stream::wrappers::TcpListenerStream;
use tonic::Status;
use tower::ServiceExt as _;

const SINGLE: &str = "/openim.policy.v1.MessageService/BeforeSendSingleMsg";
const AFTER_SINGLE: &str = "/openim.policy.v1.MessageService/AfterSendSingleMsg";

/// What the scripted policy does for one RPC.
#[derive(Clone)]
enum Answer {
    /// Answers these encoded bytes.
    Bytes(Bytes),
    /// Fails with this status.
    Status(tonic::Code),
    /// Answers nothing for this long (longer than any test deadline).
    Hang(Duration),
}

/// A scripted policy on loopback: answers per path (UNIMPLEMENTED for paths not scripted) and
/// counts the calls it gets per path.
#[derive(Clone, Default)]
struct Policy {
    answers: Arc<HashMap<&'static str, Answer>>,
    calls: Arc<Mutex<HashMap<String, usize>>>,
}

impl Policy {
    async fn spawn(answers: impl IntoIterator<Item = (&'static str, Answer)>) -> (Self, String) {
        let policy = Self {
            answers: Arc::new(answers.into_iter().collect()),
            calls: Arc::default(),
        };
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let handler = policy.clone();
        let router = raw::router(move |path: String, _request| {
            let answer = handler.answers.get(path.as_str()).cloned();
            *handler.calls.lock().unwrap().entry(path).or_default() += 1;
            async move {
                match answer {
                    Some(Answer::Bytes(b)) => Ok(tonic::Response::new(b)),
                    Some(Answer::Status(code)) => Err(Status::new(code, "scripted")),
                    Some(Answer::Hang(d)) => {
                        tokio::time::sleep(d).await;
                        Err(Status::internal("too late"))
                    }
                    None => Err(Status::unimplemented("not scripted")),
                }
            }
        });
        tokio::spawn(router.serve_with_incoming(TcpListenerStream::new(listener)));
        (policy, format!("http://{addr}"))
    }

    fn calls(&self, path: &str) -> usize {
        self.calls.lock().unwrap().get(path).copied().unwrap_or(0)
    }
}

/// A refusal of the before-send RPCs, encoded.
fn refusal(code: i32) -> Answer {
    Answer::Bytes(Bytes::from(
        pb::BeforeSendSingleMsgResponse {
            refuse: Some(pb::Refusal {
                err_code: code,
                err_msg: "no".into(),
                err_dlt: String::new(),
            }),
        }
        .encode_to_vec(),
    ))
}

/// A free loopback address nothing listens on: a policy that is down.
async fn closed_port() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    listener.local_addr().unwrap()
}

/// Settings for a shim asking `policy_url`, with a short deadline and an in-memory spool.
fn settings(policy_url: &str, on_error: OnError) -> Settings {
    Settings {
        policy: openim_shim::policy_client::ClientSettings::to(policy_url),
        timeout: Duration::from_millis(300),
        on_error,
        max_body_bytes: 64 << 10,
        ..Settings::default()
    }
}

fn refuse_on_error() -> OnError {
    OnError::Refuse {
        err_code: 5900,
        err_msg: "policy unavailable".into(),
    }
}

/// A before-send body, as OpenIM sends it.
fn single_chat_body() -> Vec<u8> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tests/fixtures/callbackBeforeSendSingleMsgCommand.json"
    );
    std::fs::read(path).unwrap()
}

/// What OpenIM gets back.
struct Reply {
    status: StatusCode,
    content_type: Option<String>,
    json: Value,
}

async fn send(shim: &Shim, method: &str, path: &str, body: impl Into<Body>) -> Reply {
    let request = Request::builder()
        .method(method)
        .uri(path)
        .header("operationid", "op-1")
        .body(body.into())
        .unwrap();
    let response = shim.router().oneshot(request).await.unwrap();
    let status = response.status();
    let content_type = response
        .headers()
        .get(http::header::CONTENT_TYPE)
        .map(|v| v.to_str().unwrap().to_owned());
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    let json = serde_json::from_slice(&bytes)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&bytes)));
    Reply {
        status,
        content_type,
        json,
    }
}

async fn post(shim: &Shim, path: &str, body: impl Into<Body>) -> Reply {
    send(shim, "POST", path, body).await
}

fn is_continue(json: &Value) -> bool {
    json["actionCode"] == 0 && json["nextCode"] == 0 && json["errCode"] == 0
}

/// The common five of a refusal, with its detail.
fn refusal_of(json: &Value) -> (i64, String) {
    assert_eq!(json["actionCode"], 0, "{json}");
    assert_eq!(json["nextCode"], 1, "{json}");
    (
        json["errCode"].as_i64().unwrap(),
        json["errDlt"].as_str().unwrap().to_owned(),
    )
}

#[tokio::test]
async fn a_decision_is_answered_in_openim_s_format_and_the_command_is_the_last_segment() {
    let (policy, url) = Policy::spawn([(SINGLE, refusal(5201))]).await;
    let shim = Shim::start(settings(&url, OnError::Continue))
        .await
        .unwrap();
    let r = post(
        &shim,
        "/any/prefix/callbackBeforeSendSingleMsgCommand",
        single_chat_body(),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(
        r.content_type.as_deref(),
        Some("application/json; charset=utf-8")
    );
    assert_eq!(refusal_of(&r.json).0, 5201);
    // Also routed by the body's callbackCommand when the path does not name it.
    let r = post(&shim, "/callbackExample", single_chat_body()).await;
    assert_eq!(refusal_of(&r.json).0, 5201);
    assert_eq!(policy.calls(SINGLE), 2);
}

#[tokio::test]
async fn unknown_commands_and_other_methods_get_a_continue_and_never_reach_the_policy() {
    let (policy, url) = Policy::spawn([(SINGLE, refusal(5201))]).await;
    let shim = Shim::start(settings(&url, refuse_on_error()))
        .await
        .unwrap();
    let r = post(
        &shim,
        "/callbackSomethingNewCommand",
        r#"{"callbackCommand":"callbackSomethingNewCommand","operationID":"op-9"}"#,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(is_continue(&r.json), "{}", r.json);
    let r = send(
        &shim,
        "GET",
        "/callbackBeforeSendSingleMsgCommand",
        Body::empty(),
    )
    .await;
    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED);
    assert!(is_continue(&r.json), "{}", r.json);
    assert_eq!(policy.calls(SINGLE), 0);
}

/// Every cause of "no decision", under each failure mode: `continue` answers the callback's
/// continue reply, `refuse` the configured refusal with the cause as errDlt.
#[tokio::test]
async fn every_failure_cause_gets_the_callback_s_failure_mode() {
    let (_, slow) = Policy::spawn([(SINGLE, Answer::Hang(Duration::from_secs(30)))]).await;
    let (_, failing) = Policy::spawn([(SINGLE, Answer::Status(tonic::Code::Internal))]).await;
    // CANCELLED from the policy is its error, not a timeout (unless it is tonic's own deadline).
    let (_, cancelled) = Policy::spawn([(SINGLE, Answer::Status(tonic::Code::Cancelled))]).await;
    let down = format!("http://{}", closed_port().await);
    let path = "/callbackBeforeSendSingleMsgCommand";
    let big = vec![b' '; 65 << 10];
    let cases: [(&str, &str, Vec<u8>); 6] = [
        ("timeout", &slow, single_chat_body()),
        ("error", &failing, single_chat_body()),
        ("error", &cancelled, single_chat_body()),
        ("unavailable", &down, single_chat_body()),
        ("malformed", &failing, b"<html>not json</html>".to_vec()),
        ("body", &failing, big),
    ];
    for (cause, url, body) in cases {
        let open = Shim::start(settings(url, OnError::Continue)).await.unwrap();
        let r = post(&open, path, body.clone()).await;
        assert_eq!(r.status, StatusCode::OK, "{cause}");
        assert!(is_continue(&r.json), "{cause}: {}", r.json);

        let closed = Shim::start(settings(url, refuse_on_error())).await.unwrap();
        let r = post(&closed, path, body).await;
        assert_eq!(r.status, StatusCode::OK, "{cause}");
        assert_eq!(refusal_of(&r.json), (5900, cause.to_owned()), "{}", r.json);
        assert_eq!(r.json["errMsg"], "policy unavailable");
    }
}

#[tokio::test]
async fn unimplemented_continues_and_is_remembered_and_a_disabled_callback_is_not_asked() {
    let (policy, url) = Policy::spawn([]).await;
    let shim = Shim::start(settings(&url, refuse_on_error()))
        .await
        .unwrap();
    for _ in 0..3 {
        let r = post(
            &shim,
            "/callbackBeforeSendSingleMsgCommand",
            single_chat_body(),
        )
        .await;
        assert!(is_continue(&r.json), "{}", r.json);
    }
    assert_eq!(policy.calls(SINGLE), 1, "asked once, then remembered");

    let (policy, url) = Policy::spawn([(SINGLE, refusal(5201))]).await;
    let file = Layer::from_yaml(
        "beforeSendSingleMsg: {enable: false}\n",
        &Origin::File("shim.yaml".into(), None),
    )
    .unwrap();
    let disabled = Settings::resolve(&[file], &settings(&url, refuse_on_error())).unwrap();
    let shim = Shim::start(disabled).await.unwrap();
    let r = post(
        &shim,
        "/callbackBeforeSendSingleMsgCommand",
        single_chat_body(),
    )
    .await;
    assert!(is_continue(&r.json), "{}", r.json);
    assert_eq!(policy.calls(SINGLE), 0);
}

/// During a rolling upgrade, replicas differ: one that does not implement an RPC is remembered
/// as such (and answers at once, without a call), while the others are still asked.
#[tokio::test]
async fn unimplemented_is_remembered_per_endpoint() {
    let (decides, a) = Policy::spawn([(SINGLE, refusal(5201))]).await;
    let (old, b) = Policy::spawn([]).await;
    let mut s = settings(&a, OnError::Continue);
    s.policy.targets.push(b);
    let shim = Shim::start(s).await.unwrap();
    let mut refused = 0;
    for _ in 0..40 {
        let r = post(
            &shim,
            "/callbackBeforeSendSingleMsgCommand",
            single_chat_body(),
        )
        .await;
        if !is_continue(&r.json) {
            refused += 1;
        }
    }
    assert_eq!(old.calls(SINGLE), 1, "asked once, then remembered");
    assert_eq!(decides.calls(SINGLE), refused);
    assert!(
        refused >= 10,
        "the implementing replica kept being asked: {refused}"
    );
}

/// Teams split policy by domain: a service's own targets get its calls, the rest the default.
#[tokio::test]
async fn a_service_with_its_own_targets_gets_its_calls() {
    const GROUP: &str = "/openim.policy.v1.GroupService/BeforeSetGroupInfo";
    let (default, a) = Policy::spawn([(SINGLE, refusal(5201))]).await;
    let (groups, b) = Policy::spawn([(GROUP, Answer::Bytes(Bytes::new()))]).await;
    let mut s = settings(&a, OnError::Continue);
    s.policy.services.insert("GroupService".into(), vec![b]);
    let shim = Shim::start(s).await.unwrap();
    let group_body = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tests/fixtures/callbackBeforeSetGroupInfoCommand.json"
    ))
    .unwrap();
    post(&shim, "/callbackBeforeSetGroupInfoCommand", group_body).await;
    let r = post(
        &shim,
        "/callbackBeforeSendSingleMsgCommand",
        single_chat_body(),
    )
    .await;
    assert_eq!(refusal_of(&r.json).0, 5201);
    assert_eq!((groups.calls(GROUP), default.calls(GROUP)), (1, 0));
    assert_eq!((default.calls(SINGLE), groups.calls(SINGLE)), (1, 0));
}

#[tokio::test]
async fn after_events_are_acknowledged_at_once_whatever_their_body() {
    let (policy, url) = Policy::spawn([(AFTER_SINGLE, Answer::Bytes(Bytes::new()))]).await;
    let shim = Shim::start(settings(&url, refuse_on_error()))
        .await
        .unwrap();
    let body = single_chat_body();
    let body = String::from_utf8(body).unwrap().replace(
        "callbackBeforeSendSingleMsgCommand",
        "callbackAfterSendSingleMsgCommand",
    );
    let path = "/callbackAfterSendSingleMsgCommand";
    let r = post(&shim, path, body).await;
    assert!(is_continue(&r.json), "{}", r.json);
    // Malformed: acknowledged as well (OpenIM ignores the reply), never refused.
    let r = post(&shim, path, "[1,2]").await;
    assert!(is_continue(&r.json), "{}", r.json);
    // The good one is delivered in the background.
    for _ in 0..100 {
        if policy.calls(AFTER_SINGLE) == 1 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("the after-event never reached the policy");
}

#[tokio::test]
async fn metrics_and_health_are_served() {
    let (_, url) = Policy::spawn([]).await;
    let shim = Shim::start(settings(&url, OnError::Continue))
        .await
        .unwrap();
    post(
        &shim,
        "/callbackBeforeSendSingleMsgCommand",
        single_chat_body(),
    )
    .await;
    let response = shim
        .router()
        .oneshot(Request::get("/metrics").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let text = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    let text = String::from_utf8(text.to_vec()).unwrap();
    assert!(
        text.contains(
            r#"openim_shim_callbacks_total{command="callbackBeforeSendSingleMsgCommand",outcome="unimplemented"}"#
        ),
        "{text}"
    );
    let response = shim
        .router()
        .oneshot(Request::get("/healthz").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}
