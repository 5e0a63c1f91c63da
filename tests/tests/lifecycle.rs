//! The shim's and the policy's lifecycle, with the real binaries: SIGTERM under load drains
//! (readiness flips first, every request keeps being answered through the drain delay, the
//! process exits within its bound even with a slow client holding a half-sent request), and
//! SIGHUP never stops either binary (the shim reloads its callbacks' settings, keeps the
//! running ones when the new file is broken).

use std::{
    io::Write as _,
    sync::{Arc, Mutex},
    time::Duration,
};

use bytes::Bytes;
use http::Request;
use http_body_util::{BodyExt as _, Full};
use hyper_util::rt::TokioIo;
use openim_tests::{
    closed_port, fixture,
    openim_http::{post, send},
    shim_process::ShimProcess,
    spawn_policy,
};
use tokio::{net::TcpStream, time::Instant};

const SINGLE: &str = "/openim/callbackBeforeSendSingleMsgCommand";

/// SIGTERM under ~500 requests/s, with a client polling `/readyz` and a slow client holding a
/// half-sent request: no request fails during the drain delay, readiness flips at once, the
/// process exits before its shutdown timeout. The shim runs on one CPU, hence on Tokio's
/// single-thread runtime (the other process tests run it on the multi-thread one).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_under_load_drains_and_exits_within_its_bound() {
    let policy = spawn_policy(openim_policy::Policy::load(None).expect("no rules")).await;
    let spool = tempfile::tempdir().expect("spool");
    let shim = ShimProcess::start_on_one_cpu(
        &[
            "--policy",
            &policy.url(),
            "--spool-dir",
            spool.path().to_str().expect("path"),
        ],
        &[
            ("OPENIM_SHIM_SHUTDOWN_DRAINDELAY", "2s"),
            ("OPENIM_SHIM_SHUTDOWN_TIMEOUT", "6s"),
        ],
    )
    .await;
    let addr = shim.addr;

    // The slow client: headers that never end.
    let mut slow = std::net::TcpStream::connect(addr).expect("slow client");
    slow.write_all(
        b"POST /openim/callbackBeforeSendSingleMsgCommand HTTP/1.1\r\nHost: x\r\nContent-Le",
    )
    .expect("half a request");

    let started = Instant::now();
    let sigterm_at = Duration::from_secs(2);
    // OpenIM keeps sending until the endpoint removal reaches it: here, until just before the
    // drain delay ends.
    let stop_sending = sigterm_at + Duration::from_millis(1700);
    let failures = Arc::new(Mutex::new(Vec::new()));
    let answered = Arc::new(Mutex::new(0usize));
    let body = Bytes::from(fixture("callbackBeforeSendSingleMsgCommand.json"));
    let mut workers = Vec::new();
    for _ in 0..10 {
        let (failures, answered, body) = (failures.clone(), answered.clone(), body.clone());
        workers.push(tokio::spawn(async move {
            let stream = TcpStream::connect(addr).await.expect("connect");
            let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
                .await
                .expect("handshake");
            tokio::spawn(conn);
            // 10 workers × 50/s.
            let mut tick = tokio::time::interval(Duration::from_millis(20));
            while started.elapsed() < stop_sending {
                tick.tick().await;
                let request = Request::post(SINGLE)
                    .header("host", "shim")
                    .body(Full::new(body.clone()))
                    .expect("request");
                let ok = match sender.send_request(request).await {
                    Ok(r) => r.status() == 200 && r.into_body().collect().await.is_ok(),
                    Err(_) => false,
                };
                if ok {
                    *answered.lock().expect("count") += 1;
                } else {
                    failures.lock().expect("failures").push(started.elapsed());
                }
            }
        }));
    }
    // The readiness poller: (when, status).
    let readiness = Arc::new(Mutex::new(Vec::new()));
    let poller = {
        let readiness = readiness.clone();
        tokio::spawn(async move {
            while started.elapsed() < stop_sending {
                let r = send(http::Method::GET, addr, "/readyz", b"", None).await;
                readiness
                    .lock()
                    .expect("readiness")
                    .push((started.elapsed(), r.status.as_u16()));
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        })
    };

    tokio::time::sleep_until(started + sigterm_at).await;
    shim.send_signal("-TERM").await;
    let signalled = started.elapsed();
    for w in workers {
        w.await.expect("worker");
    }
    poller.await.expect("poller");
    let status = shim.wait(Duration::from_secs(10)).await;
    let exited = started.elapsed() - signalled;
    drop(slow);

    let readiness = readiness.lock().expect("readiness").clone();
    let flipped = readiness
        .iter()
        .find(|(at, status)| *at > signalled && *status == 503)
        .map(|(at, _)| *at - signalled);
    let ready_before = readiness
        .iter()
        .filter(|(at, s)| *at < signalled && *s == 200)
        .count();
    let failures = failures.lock().expect("failures").clone();
    let answered = *answered.lock().expect("count");
    eprintln!(
        "drain timeline: SIGTERM at {signalled:?}; /readyz 503 after {flipped:?} ({ready_before} \
         polls answered 200 before); {answered} requests answered, {} failed, the last sent \
         {:?} after SIGTERM; exit {status} {exited:?} after SIGTERM (drain delay 2 s, timeout 6 s, \
         a slow client connected)",
        failures.len(),
        stop_sending - signalled,
    );
    assert!(status.success(), "{status}");
    assert!(
        failures.is_empty(),
        "requests failed during the drain: {failures:?}"
    );
    assert!(answered > 500, "too little load: {answered}");
    assert!(
        flipped.is_some_and(|t| t < Duration::from_millis(500)),
        "readiness: {readiness:?}"
    );
    assert!(ready_before > 0);
    // The bound: the slow client is cut at the shutdown timeout.
    assert!(
        exited < Duration::from_secs(7),
        "exited {exited:?} after SIGTERM"
    );
    assert!(
        exited >= Duration::from_secs(2),
        "it did not wait for the drain delay"
    );
    policy.stop().await;
}

/// SIGHUP reloads the callbacks' settings (here the failure mode, the policy being down),
/// keeps the running ones when the file is broken, and never stops the shim.
#[tokio::test]
async fn sighup_reloads_the_shim_s_callbacks_and_never_stops_it() {
    let down = format!("http://{}", closed_port().await);
    let dir = tempfile::tempdir().expect("dir");
    let config = dir.path().join("shim.yaml");
    let write = |yaml: &str| std::fs::write(&config, yaml).expect("config");
    write("beforeSendSingleMsg: {onError: refuse, errCode: 5901}\n");
    let spool = dir.path().join("spool");
    let mut shim = ShimProcess::start(
        &[
            "--policy",
            &down,
            "--config",
            config.to_str().expect("path"),
            "--spool-dir",
            spool.to_str().expect("path"),
        ],
        &[],
    )
    .await;
    let body = fixture("callbackBeforeSendSingleMsgCommand.json");
    let code = |json: serde_json::Value| json["errCode"].as_i64();
    let r = post(shim.addr, SINGLE, &body, None).await;
    assert_eq!(code(r.json()), Some(5901));

    write("beforeSendSingleMsg: {onError: refuse, errCode: 5902}\n");
    shim.send_signal("-HUP").await;
    let mut reloaded = false;
    for _ in 0..100 {
        let r = post(shim.addr, SINGLE, &body, None).await;
        if code(r.json()) == Some(5902) {
            reloaded = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(reloaded, "the new errCode never applied");

    // A broken file: the running settings stay.
    write("beforeSendSingleMsg: {onError: sometimes}\n");
    shim.send_signal("-HUP").await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(shim.running(), "SIGHUP stopped the shim");
    let r = post(shim.addr, SINGLE, &body, None).await;
    assert_eq!(code(r.json()), Some(5902));
    assert!(
        shim.logs()
            .iter()
            .any(|l| l.contains("configuration not reloaded")),
        "{:?}",
        shim.logs()
    );
    shim.send_signal("-HUP").await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(shim.running());
    let status = shim.sigterm().await;
    assert!(status.success(), "{status}");
}

/// `openim-policy` without a rules file (nothing to reload) survives SIGHUP too.
#[tokio::test]
async fn sighup_never_stops_the_policy() {
    let bin = openim_tests::shim_process::binary().with_file_name("openim-policy");
    let addr = closed_port().await;
    let mut child = tokio::process::Command::new(bin)
        .args(["--listen", &addr.to_string(), "--drain-delay", "0"])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("start openim-policy");
    let pid = child.id().expect("pid").to_string();
    // Once it listens.
    for _ in 0..200 {
        if TcpStream::connect(addr).await.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    for _ in 0..3 {
        let ok = std::process::Command::new("kill")
            .args(["-HUP", &pid])
            .status();
        assert!(ok.expect("kill").success());
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert!(
            matches!(child.try_wait(), Ok(None)),
            "SIGHUP stopped openim-policy"
        );
    }
    let ok = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status();
    assert!(ok.expect("kill").success());
    let status = tokio::time::timeout(Duration::from_secs(10), child.wait())
        .await
        .expect("exits after SIGTERM")
        .expect("wait");
    assert!(status.success(), "{status}");
}
