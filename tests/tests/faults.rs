//! Fault tests: the policy down at start, slower than the deadline, answering errors, killed
//! mid-load and restarted. Before-callbacks always get a valid OpenIM reply that follows their
//! `onError`; after-events posted while the policy is down or failing all reach it once it is
//! back, each at least once, with their idempotency key and attempt number.
//!
//! Deterministic: the scripted policy reports each call it receives on a channel, and the tests
//! wait on that; `tokio::time::timeout` only guards against hangs.

use std::{
    collections::{BTreeMap, BTreeSet},
    net::SocketAddr,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use bytes::Bytes;
use openim_tests::{
    closed_port,
    events::{AfterEvent, after_event},
    go_decoder,
    killable::Killable,
    openim_http::{post, send},
    post_fixture,
    reply::{Meaning, meaning},
    shim_settings_yaml, spawn_shim,
    test_policy::{Control, Script, ScriptedPolicy, Seen},
};
use policy_proto::v1::{
    self as pb,
    message_service_server::{MessageService, MessageServiceServer},
};
use tokio::sync::mpsc;
use tonic::{Code, Request, Response, Status};

const SINGLE: &str = "callbackBeforeSendSingleMsgCommand";
const GROUP: &str = "callbackBeforeSendGroupMsgCommand";
const MODIFY: &str = "callbackBeforeMsgModifyCommand";
const PUSH: &str = "callbackBeforeOfflinePushCommand";

/// Guards every wait on the policy: generous, only there so a bug fails instead of hanging.
const HANG_GUARD: Duration = Duration::from_secs(30);

/// Single chat fails closed with a short deadline; group chat fails open (the default) with the
/// same deadline; modify and push have long deadlines so that the kill test catches their
/// calls in flight.
const CONFIG: &str = r#"
beforeSendSingleMsg:
  timeout: 300ms
  onError: refuse
  errCode: 5900
  errMsg: "message refused: policy unavailable"
beforeSendGroupMsg:
  timeout: 300ms
beforeMsgModify:
  timeout: 10s
  onError: refuse
  errCode: 5901
beforeOfflinePush:
  timeout: 10s
"#;

/// What the scripted policy decides when it is up: refuse both sends with 5001.
fn deciding() -> Script {
    Script {
        before_send: pb::BeforeSendSingleMsgResponse {
            refuse: Some(pb::Refusal {
                err_code: 5001,
                err_msg: "decided by the policy".into(),
                err_dlt: String::new(),
            }),
        },
        ..Script::default()
    }
}

/// A scripted policy served by a killable server on `addr`.
async fn start_policy(
    script: Script,
    addr: Option<SocketAddr>,
) -> (Killable, mpsc::UnboundedReceiver<Seen>, Control) {
    let (policy, seen, _gate) = ScriptedPolicy::new(script, false);
    let control = policy.control();
    (Killable::spawn(policy.router(), addr).await, seen, control)
}

fn reply_struct(command: &str) -> &'static str {
    match command {
        MODIFY => "CallbackMsgModifyCommandResp",
        PUSH => "CallbackBeforePushResp",
        _ => "CommonCallbackResp",
    }
}

/// Posts `command`'s fixture and returns what the reply means (asserting it is 200, OpenIM's
/// JSON, and portable per our strict reader), with its body for the Go check.
async fn ask(
    shim: SocketAddr,
    command: &'static str,
    op: &str,
) -> (Meaning, (&'static str, Bytes)) {
    let r = post_fixture(shim, command, op).await;
    (meaning(&r.json()), (reply_struct(command), r.body))
}

/// OpenIM's Go decoder reads every reply the same on every server version.
fn assert_openim_reads(replies: &[(&'static str, Bytes)]) {
    let pairs: Vec<(&str, &[u8])> = replies.iter().map(|(s, b)| (*s, &b[..])).collect();
    for (verdict, (_, body)) in go_decoder::check(&pairs).iter().zip(replies) {
        verdict.assert_portable(&String::from_utf8_lossy(body));
    }
}

fn refused(code: i32, msg: &str, dlt: &str) -> Meaning {
    Meaning::Refuse {
        err_code: code,
        err_msg: msg.into(),
        err_dlt: dlt.into(),
    }
}

const SINGLE_REFUSED: &str = "message refused: policy unavailable";

/// Posts `command` and asserts the reply means `want`; returns the reply for the Go check.
async fn expect(
    shim: SocketAddr,
    command: &'static str,
    op: &str,
    want: Meaning,
) -> (&'static str, Bytes) {
    let (got, body) = ask(shim, command, op).await;
    assert_eq!(got, want, "{command} {op}");
    body
}

#[tokio::test]
async fn before_callbacks_follow_on_error_through_every_policy_failure() {
    let addr = closed_port().await;
    let shim = spawn_shim(shim_settings_yaml(&format!("http://{addr}"), CONFIG)).await;
    let mut replies = Vec::new();
    // 1. Down at start: no connection at all.
    replies.push(
        expect(
            shim.addr,
            SINGLE,
            "down-1",
            refused(5900, SINGLE_REFUSED, "unavailable"),
        )
        .await,
    );
    replies.push(expect(shim.addr, GROUP, "down-2", Meaning::Continue).await);

    // 2. Up: decisions.
    let (policy, mut seen, control) = start_policy(deciding(), Some(addr)).await;
    let decided = refused(5001, "decided by the policy", "");
    replies.push(expect(shim.addr, SINGLE, "up-1", decided.clone()).await);
    replies.push(expect(shim.addr, GROUP, "up-2", decided.clone()).await);

    // 3. Slower than the deadline.
    control.delay(Some(Duration::from_secs(5)));
    replies.push(
        expect(
            shim.addr,
            SINGLE,
            "slow-1",
            refused(5900, SINGLE_REFUSED, "timeout"),
        )
        .await,
    );
    replies.push(expect(shim.addr, GROUP, "slow-2", Meaning::Continue).await);

    // 4. Answering errors ("could not decide").
    control.delay(None);
    control.fail(Some((Code::Internal, "rules database unreachable")));
    replies.push(
        expect(
            shim.addr,
            SINGLE,
            "error-1",
            refused(5900, SINGLE_REFUSED, "error"),
        )
        .await,
    );
    replies.push(expect(shim.addr, GROUP, "error-2", Meaning::Continue).await);
    control.fail(None);

    // 5. Killed mid-load: calls held by the policy when it dies.
    while seen.try_recv().is_ok() {}
    control.delay(Some(Duration::from_secs(60)));
    let mut load = tokio::task::JoinSet::new();
    for i in 0..20 {
        let command = if i % 2 == 0 { MODIFY } else { PUSH };
        load.spawn(ask(shim.addr, command, "killed").then_with(command));
    }
    for _ in 0..20 {
        tokio::time::timeout(HANG_GUARD, seen.recv())
            .await
            .expect("calls in flight")
            .expect("policy channel open");
    }
    policy.kill().await;
    while let Some(done) = load.join_next().await {
        let (command, (got, body)) = done.expect("post task");
        match command {
            // The kill, not the 10 s deadline, answered: the cause is not `timeout`.
            MODIFY => assert!(
                matches!(&got, Meaning::Refuse { err_code: 5901, err_dlt, .. }
                    if err_dlt == "unavailable" || err_dlt == "error"),
                "{got:?}"
            ),
            _ => assert_eq!(got, Meaning::Continue),
        }
        replies.push(body);
    }

    // 6. Down again, then restarted on the same address.
    replies.push(
        expect(
            shim.addr,
            SINGLE,
            "dead-1",
            refused(5900, SINGLE_REFUSED, "unavailable"),
        )
        .await,
    );
    let (policy, _seen, _control) = start_policy(deciding(), Some(addr)).await;
    replies.push(expect(shim.addr, SINGLE, "restarted-1", decided.clone()).await);
    replies.push(expect(shim.addr, GROUP, "restarted-2", decided).await);

    assert_openim_reads(&replies);
    shim.stop().await;
    policy.kill().await;
}

/// Pairs a future's output with a tag.
trait ThenWith: std::future::Future + Sized {
    fn then_with<T>(self, tag: T) -> impl std::future::Future<Output = (T, Self::Output)> {
        async move { (tag, self.await) }
    }
}
impl<F: std::future::Future> ThenWith for F {}

/// A policy that implements group sends but not single sends, counting the calls of each.
#[derive(Clone, Default)]
struct HalfPolicy {
    single: Arc<AtomicUsize>,
    group: Arc<AtomicUsize>,
}

#[tonic::async_trait]
impl MessageService for HalfPolicy {
    async fn before_send_single_msg(
        &self,
        _: Request<pb::BeforeSendSingleMsgRequest>,
    ) -> Result<Response<pb::BeforeSendSingleMsgResponse>, Status> {
        self.single.fetch_add(1, Ordering::SeqCst);
        Err(Status::unimplemented("not interested"))
    }

    async fn before_send_group_msg(
        &self,
        _: Request<pb::BeforeSendGroupMsgRequest>,
    ) -> Result<Response<pb::BeforeSendGroupMsgResponse>, Status> {
        self.group.fetch_add(1, Ordering::SeqCst);
        Ok(Response::new(pb::BeforeSendGroupMsgResponse::default()))
    }
}

#[tokio::test]
async fn unimplemented_is_remembered_per_rpc_and_costs_no_round_trip() {
    let policy = HalfPolicy::default();
    let server = Killable::spawn(
        tonic::transport::Server::builder().add_service(MessageServiceServer::new(policy.clone())),
        None,
    )
    .await;
    // Fail-closed, to show UNIMPLEMENTED is a decision ("not interested"), not a failure.
    let shim = spawn_shim(shim_settings_yaml(
        &server.url(),
        "before: {onError: refuse, unimplementedTtl: 1h}\n",
    ))
    .await;
    for i in 0..5 {
        let (got, _) = ask(shim.addr, SINGLE, &format!("single-{i}")).await;
        assert_eq!(got, Meaning::Continue);
        let (got, _) = ask(shim.addr, GROUP, &format!("group-{i}")).await;
        assert_eq!(got, Meaning::Continue);
    }
    assert_eq!(
        policy.single.load(Ordering::SeqCst),
        1,
        "asked once, then remembered"
    );
    assert_eq!(
        policy.group.load(Ordering::SeqCst),
        5,
        "per RPC: the other one is still asked"
    );
    shim.stop().await;
    server.kill().await;
}

#[tokio::test]
async fn disabled_callbacks_are_not_forwarded() {
    let (policy, mut seen, _control) = start_policy(deciding(), None).await;
    let yaml = "beforeSendSingleMsg: {enable: false}\n\
                afterSendGroupMsg: {enable: false}\n\
                after: {concurrency: 1}\n";
    let shim = spawn_shim(shim_settings_yaml(&policy.url(), yaml)).await;
    // Disabled: continues although the policy would refuse, without asking it.
    let (got, _) = ask(shim.addr, SINGLE, "disabled").await;
    assert_eq!(got, Meaning::Continue);
    let (got, _) = ask(shim.addr, GROUP, "enabled").await;
    assert!(matches!(got, Meaning::Refuse { err_code: 5001, .. }));
    let s = seen.recv().await.expect("a call");
    assert_eq!(
        (s.method, s.context.operation_id.as_str()),
        ("BeforeSendGroupMsg", "enabled")
    );

    // After-events: the disabled group event is acknowledged and not delivered. With one
    // delivery at a time in arrival order, the single event after it would come second.
    for n in [1, 2] {
        let e = after_event("disabled", n);
        let r = post(shim.addr, &e.path(), &e.body, Some(&e.operation_id)).await;
        assert_eq!(meaning(&r.json()), Meaning::Continue);
    }
    let s = tokio::time::timeout(HANG_GUARD, seen.recv())
        .await
        .expect("delivery")
        .expect("policy channel open");
    assert_eq!(s.method, "AfterSendSingleMsg");
    assert_eq!(
        s.context.idempotency_key,
        after_event("disabled", 2).expected_key()
    );
    shim.stop().await;
    assert!(seen.try_recv().is_err(), "the disabled event was delivered");
    policy.kill().await;
}

/// Reads deliveries until every key in `keys` has arrived; returns every delivery by key
/// (duplicates included).
async fn collect(
    seen: &mut mpsc::UnboundedReceiver<Seen>,
    keys: &BTreeSet<String>,
) -> BTreeMap<String, Vec<Seen>> {
    let mut got: BTreeMap<String, Vec<Seen>> = BTreeMap::new();
    while !keys.iter().all(|k| got.contains_key(k)) {
        let s = tokio::time::timeout(HANG_GUARD, seen.recv())
            .await
            .unwrap_or_else(|_| {
                let missing: Vec<_> = keys.iter().filter(|k| !got.contains_key(*k)).collect();
                panic!(
                    "{} events never arrived, e.g. {:?}",
                    missing.len(),
                    missing.first()
                )
            })
            .expect("policy channel open");
        got.entry(s.context.idempotency_key.clone())
            .or_default()
            .push(s);
    }
    got
}

/// Every delivery carries its key and attempt in metadata and context, and they agree.
fn assert_delivery_metadata(event: &AfterEvent, deliveries: &[Seen]) {
    for s in deliveries {
        assert_eq!(s.context.idempotency_key, event.expected_key());
        assert_eq!(
            s.md_idempotency_key.as_deref(),
            Some(event.expected_key().as_str())
        );
        assert!(s.context.delivery_attempt >= 1);
        assert_eq!(
            s.md_delivery_attempt.as_deref(),
            Some(s.context.delivery_attempt.to_string().as_str())
        );
        assert_eq!(s.context.operation_id, event.operation_id);
        assert_eq!(
            s.md_operation_id.as_deref(),
            Some(event.operation_id.as_str())
        );
        assert_eq!(s.context.command, event.command);
        assert_eq!(
            s.message.as_ref().map(|m| m.server_msg_id.as_str()),
            Some(event.server_msg_id.as_str())
        );
    }
}

#[tokio::test]
async fn after_events_posted_during_an_outage_all_arrive_when_the_policy_returns() {
    let spool = tempfile::tempdir().unwrap();
    let addr = closed_port().await;
    let mut settings = shim_settings_yaml(
        &format!("http://{addr}"),
        "after: {retryInitial: 20ms, retryMax: 200ms}\n",
    );
    settings.spool.dir = Some(spool.path().to_owned());
    let shim = spawn_shim(settings).await;

    // Down: every event is acknowledged at once with a valid continue.
    let events: Vec<_> = (0..200).map(|n| after_event("outage", n)).collect();
    let mut replies = Vec::new();
    for e in &events {
        let r = post(shim.addr, &e.path(), &e.body, Some(&e.operation_id)).await;
        assert_eq!(r.status, 200);
        assert_eq!(meaning(&r.json()), Meaning::Continue);
        replies.push(("CommonCallbackResp", r.body));
    }
    assert_openim_reads(&replies[..3]);

    // Back: all of them arrive, each at least once.
    let (policy, mut seen, control) = start_policy(Script::default(), Some(addr)).await;
    let keys: BTreeSet<_> = events.iter().map(AfterEvent::expected_key).collect();
    assert_eq!(keys.len(), events.len());
    let got = collect(&mut seen, &keys).await;
    assert_eq!(got.len(), events.len(), "only the posted events arrive");
    for e in &events {
        assert_delivery_metadata(e, &got[&e.expected_key()]);
    }

    // Failing ("could not decide"): retried with growing attempt numbers until it answers.
    control.fail(Some((Code::Unavailable, "warming up")));
    let failing: Vec<_> = (0..20).map(|n| after_event("failing", n)).collect();
    for e in &failing {
        let r = post(shim.addr, &e.path(), &e.body, Some(&e.operation_id)).await;
        assert_eq!(meaning(&r.json()), Meaning::Continue);
    }
    let keys: BTreeSet<_> = failing.iter().map(AfterEvent::expected_key).collect();
    // Each has failed at least once ...
    collect(&mut seen, &keys).await;
    control.fail(None);
    while seen.try_recv().is_ok() {}
    // ... and every attempt from now on succeeds: each event arrives again, as a retry.
    let got = collect(&mut seen, &keys).await;
    for e in &failing {
        let deliveries = &got[&e.expected_key()];
        assert_delivery_metadata(e, deliveries);
        assert!(
            deliveries.iter().all(|s| s.context.delivery_attempt >= 2),
            "{:?}",
            deliveries
                .iter()
                .map(|s| s.context.delivery_attempt)
                .collect::<Vec<_>>()
        );
    }
    shim.stop().await;
    policy.kill().await;
}

#[tokio::test]
async fn readiness_ignores_the_policy_policyz_follows_its_health_and_metrics_are_prometheus_text() {
    let addr = closed_port().await;
    let shim = spawn_shim(shim_settings_yaml(&format!("http://{addr}"), "")).await;
    let get = |path: &'static str| send(http::Method::GET, shim.addr, path, b"", None);
    // Polls `path` until its status is `want` and its text has `text` (the client notices
    // changes in the background: a connection is usable before its health Watch answers).
    let until_text = |path: &'static str, want: u16, text: &'static str| async move {
        for _ in 0..100 {
            let r = send(http::Method::GET, shim.addr, path, b"", None).await;
            if r.status.as_u16() == want && r.text().contains(text) {
                return r;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("{path} never answered {want} with {text:?}");
    };
    let until = |path: &'static str, want: u16| until_text(path, want, "");

    let r = get("/healthz").await;
    assert_eq!(r.status, 200);
    // The shim answers OpenIM with the policy down: it is ready.
    let r = get("/readyz").await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(r.text().starts_with("ready\n"), "{}", r.text());
    let r = until("/policyz", 503).await;
    assert!(r.text().contains(&addr.to_string()), "{}", r.text());

    let (reporter, health) = tonic_health::server::health_reporter();
    let (policy, _seen, _gate) = ScriptedPolicy::new(Script::default(), false);
    let server = Killable::spawn(policy.router().add_service(health), Some(addr)).await;
    let r = until_text("/policyz", 200, "health=serving").await;
    assert!(
        r.text().contains("connected health=serving"),
        "{}",
        r.text()
    );
    reporter
        .set_service_status("", tonic_health::ServingStatus::NotServing)
        .await;
    let r = until("/policyz", 503).await;
    assert!(r.text().contains("health=not_serving"), "{}", r.text());
    assert_eq!(get("/readyz").await.status, 200);

    let (got, _) = ask(shim.addr, SINGLE, "metrics-1").await;
    assert_eq!(got, Meaning::Continue);
    let r = get("/metrics").await;
    assert_eq!(r.status, 200);
    assert!(
        r.content_type
            .as_deref()
            .is_some_and(|t| t.starts_with("text/plain; version=0.0.4")),
        "{:?}",
        r.content_type
    );
    let text = r.text();
    for needle in [
        "# TYPE openim_shim_callbacks_total counter",
        "openim_shim_callbacks_total{command=\"callbackBeforeSendSingleMsgCommand\",outcome=\"continue\"}",
        "# TYPE openim_shim_callback_duration_seconds histogram",
        "openim_shim_callback_duration_seconds_bucket{command=\"callbackBeforeSendSingleMsgCommand\",outcome=\"",
        "openim_shim_spool_events",
    ] {
        assert!(text.contains(needle), "{needle} missing from:\n{text}");
    }
    shim.stop().await;
    server.kill().await;
}

#[tokio::test]
async fn a_graceful_stop_finishes_the_before_callbacks_in_flight() {
    let (policy, mut seen, control) = start_policy(deciding(), None).await;
    control.delay(Some(Duration::from_millis(300)));
    let shim = spawn_shim(shim_settings_yaml(&policy.url(), "before: {timeout: 5s}\n")).await;
    let addr = shim.addr;
    let in_flight = tokio::spawn(ask(addr, SINGLE, "in-flight"));
    let s = tokio::time::timeout(HANG_GUARD, seen.recv())
        .await
        .expect("call in flight")
        .expect("policy channel open");
    assert_eq!(s.context.operation_id, "in-flight");
    let stopping = tokio::spawn(shim.stop());
    // The policy's decision, not a broken connection or the failure mode.
    let (got, body) = in_flight.await.expect("post task");
    assert!(
        matches!(got, Meaning::Refuse { err_code: 5001, .. }),
        "{got:?}"
    );
    assert_openim_reads(&[body]);
    stopping.await.expect("shim stopped");
    assert!(
        tokio::net::TcpStream::connect(addr).await.is_err(),
        "still accepting"
    );
    policy.kill().await;
}

/// Each event is posted when the delivery of the previous one has been seen, so the spool's
/// reader is idle, waiting, each time a new event is committed: every event must still be
/// picked up at once.
#[tokio::test]
async fn after_events_posted_one_at_a_time_are_each_delivered() {
    let (policy, mut seen, _control) = start_policy(Script::default(), None).await;
    let shim = spawn_shim(shim_settings_yaml(&policy.url(), "")).await;
    for n in 0..300 {
        let e = after_event("one-by-one", n);
        let r = post(shim.addr, &e.path(), &e.body, Some(&e.operation_id)).await;
        assert_eq!(meaning(&r.json()), Meaning::Continue);
        let s = tokio::time::timeout(Duration::from_secs(10), seen.recv())
            .await
            .unwrap_or_else(|_| panic!("event {n} was not delivered"))
            .expect("policy channel open");
        assert_eq!(s.context.idempotency_key, e.expected_key());
    }
    shim.stop().await;
    policy.kill().await;
}

/// The policy dies with deliveries in flight: those events are retried and reach the restarted
/// policy, with a higher attempt number.
#[tokio::test]
async fn after_events_in_flight_when_the_policy_dies_reach_it_after_its_restart() {
    let (policy, mut seen, control) = start_policy(Script::default(), None).await;
    control.delay(Some(Duration::from_secs(60)));
    let addr = policy.addr;
    let mut settings = shim_settings_yaml(
        &policy.url(),
        "after: {retryInitial: 20ms, retryMax: 200ms}\n",
    );
    let spool = tempfile::tempdir().unwrap();
    settings.spool.dir = Some(spool.path().to_owned());
    let shim = spawn_shim(settings).await;
    let events: Vec<_> = (0..20).map(|n| after_event("in-flight", n)).collect();
    for e in &events {
        let r = post(shim.addr, &e.path(), &e.body, Some(&e.operation_id)).await;
        assert_eq!(meaning(&r.json()), Meaning::Continue);
    }
    let keys: BTreeSet<_> = events.iter().map(AfterEvent::expected_key).collect();
    // All twenty are held by the policy ...
    collect(&mut seen, &keys).await;
    // ... when it dies.
    policy.kill().await;
    let (policy, mut seen, _control) = start_policy(Script::default(), Some(addr)).await;
    let got = collect(&mut seen, &keys).await;
    for e in &events {
        let deliveries = &got[&e.expected_key()];
        assert_delivery_metadata(e, deliveries);
        assert!(deliveries.iter().all(|s| s.context.delivery_attempt >= 2));
    }
    shim.stop().await;
    policy.kill().await;
}
