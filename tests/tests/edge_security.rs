//! The shim's edge under abuse: callers that fail authentication never reach the policy; TLS
//! on the listener (reloaded); slow headers and bodies are cut by their timeouts while normal
//! requests flow; overload is shed at once; connections are capped; SIGTERM is not held by slow
//! clients; half-sent bodies do not grow memory past the budget; the operators' endpoints can
//! leave the callback port; the policy's reflection can be turned off.
//!
//! Speed figures (latency percentiles, memory) are printed, not asserted tightly: the machine is
//! shared. Run with `--nocapture` to see them.

use std::{
    net::SocketAddr,
    path::Path,
    sync::Arc,
    time::{Duration, Instant},
};

use bytes::Bytes;
use http_body_util::Full;
use openim_policy::{Passthrough, Policy};
use openim_tests::{
    Running,
    certs::{Ca, write},
    fixture,
    openim_http::{HttpReply, exchange, post},
    reply::{Meaning, meaning},
    shim_process::ShimProcess,
    shim_settings_yaml, spawn_policy, spawn_shim,
    test_policy::{Script, ScriptedPolicy, Spawned},
};
use tokio::{
    io::{AsyncReadExt as _, AsyncWriteExt as _},
    net::TcpStream,
};

const SINGLE: &str = "callbackBeforeSendSingleMsgCommand";
const SECRET: &str = "0123456789abcdef0123";
const TOKEN: &str = "tok-5b0e8d1c93f74e2a";

/// A POST of the single-message fixture to `path` with `headers`.
fn request(addr: SocketAddr, path: &str, headers: &[(&str, &str)]) -> http::Request<Full<Bytes>> {
    let mut b = http::Request::post(path)
        .header("host", addr.to_string())
        .header("content-type", "application/json; charset=utf-8");
    for (k, v) in headers {
        b = b.header(*k, *v);
    }
    b.body(Full::new(Bytes::from(fixture(&format!("{SINGLE}.json")))))
        .unwrap()
}

async fn send(addr: SocketAddr, path: &str, headers: &[(&str, &str)]) -> HttpReply {
    let stream = TcpStream::connect(addr).await.unwrap();
    exchange(stream, request(addr, path, headers)).await
}

/// The calls the policy received so far.
fn calls(policy: &mut Spawned) -> usize {
    let mut n = 0;
    while policy.seen.try_recv().is_ok() {
        n += 1;
    }
    n
}

#[tokio::test]
async fn callers_without_the_secret_the_token_or_an_allowed_address_never_reach_the_policy() {
    let mut policy = ScriptedPolicy::spawn(Script::default(), false).await;
    let yaml = format!("auth:\n  pathSecret: {SECRET}\n  token: {TOKEN}\n  allow: [127.0.0.0/8]\n");
    let shim = spawn_shim(shim_settings_yaml(&policy.server.url(), &yaml)).await;
    let a = shim.addr;
    let good_path = format!("/s/{SECRET}/callbackExample/{SINGLE}");
    let bearer = format!("Bearer {TOKEN}");
    let good = [("authorization", bearer.as_str())];

    for (what, path, headers, status) in [
        (
            "no secret",
            format!("/callbackExample/{SINGLE}"),
            &good[..],
            401,
        ),
        ("wrong secret", format!("/s/{SECRET}x/{SINGLE}"), &good, 401),
        ("no token", good_path.clone(), &[][..], 401),
        (
            "wrong token",
            good_path.clone(),
            &[("authorization", "Bearer nope-nope-nope-nope")],
            401,
        ),
    ] {
        let r = send(a, &path, headers).await;
        assert_eq!(r.status, status, "{what}");
        assert!(
            !r.text().contains(SECRET),
            "{what}: the reply shows the secret"
        );
    }
    // Give a call that would have been made time to arrive.
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(calls(&mut policy), 0, "a refused caller reached the policy");
    let r = send(a, &good_path, &good).await;
    assert_eq!(r.status, 200);
    assert_eq!(meaning(&r.json()), Meaning::Continue);
    assert_eq!(calls(&mut policy), 1);

    // The allow-list: loopback is not in 10.0.0.0/8; a trusted proxy's X-Forwarded-For is
    // believed, anyone else's is not.
    shim.stop().await;
    let yaml = "auth:\n  allow: 10.0.0.0/8\n";
    let shim = spawn_shim(shim_settings_yaml(&policy.server.url(), yaml)).await;
    let path = format!("/{SINGLE}");
    let forwarded = [("x-forwarded-for", "10.1.2.3")];
    assert_eq!(send(shim.addr, &path, &[]).await.status, 403);
    assert_eq!(send(shim.addr, &path, &forwarded).await.status, 403);
    shim.stop().await;
    let yaml = "auth:\n  allow: 10.0.0.0/8\n  trustedProxies: 127.0.0.1\n";
    let shim = spawn_shim(shim_settings_yaml(&policy.server.url(), yaml)).await;
    assert_eq!(send(shim.addr, &path, &[]).await.status, 403);
    let spoofed = [("x-forwarded-for", "10.1.2.3, 192.0.2.1")];
    assert_eq!(send(shim.addr, &path, &spoofed).await.status, 403);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        calls(&mut policy),
        0,
        "a refused address reached the policy"
    );
    assert_eq!(send(shim.addr, &path, &forwarded).await.status, 200);
    assert_eq!(calls(&mut policy), 1);

    // Counted, by reason.
    let metrics = send_get(shim.addr, "/metrics").await;
    for reason in ["path_secret", "token", "address"] {
        let line = format!("openim_shim_refused_callers_total{{reason=\"{reason}\"}}");
        assert!(metrics.contains(&line), "{reason} not counted:\n{metrics}");
    }
    shim.stop().await;
}

async fn send_get(addr: SocketAddr, path: &str) -> String {
    let stream = TcpStream::connect(addr).await.unwrap();
    let req = http::Request::get(path)
        .header("host", addr.to_string())
        .body(Full::new(Bytes::new()))
        .unwrap();
    exchange(stream, req).await.text()
}

/// An HTTPS client trusting `ca` (PEM file).
fn tls_client(ca: &Path) -> tokio_rustls::TlsConnector {
    let mut roots = rustls::RootCertStore::empty();
    let pem = std::fs::read(ca).unwrap();
    for cert in openim_common::tls::certificates(ca, &pem).unwrap() {
        roots.add(cert).unwrap();
    }
    let config = rustls::ClientConfig::builder_with_provider(openim_common::tls::provider())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    tokio_rustls::TlsConnector::from(Arc::new(config))
}

async fn https(addr: SocketAddr, ca: &Path) -> Result<HttpReply, std::io::Error> {
    let stream = TcpStream::connect(addr).await?;
    let name = rustls::pki_types::ServerName::try_from("shim.test").unwrap();
    let stream = tls_client(ca).connect(name, stream).await?;
    Ok(exchange(stream, request(addr, &format!("/{SINGLE}"), &[])).await)
}

#[tokio::test]
async fn the_listener_serves_tls_and_picks_up_a_rotated_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (old, new) = (Ca::new("old CA"), Ca::new("new CA"));
    let leaf = old.server(&["shim.test"]);
    let cert = write(d, "tls.crt", &leaf.cert);
    let key = write(d, "tls.key", &leaf.key);
    let (old_ca, new_ca) = (
        write(d, "old.crt", &old.pem()),
        write(d, "new.crt", &new.pem()),
    );
    let policy = spawn_policy(Policy::new(Passthrough)).await;
    let yaml = format!(
        "tls: {{cert: {}, key: {}, reloadInterval: 100ms}}\n",
        cert.display(),
        key.display()
    );
    let shim = spawn_shim(shim_settings_yaml(&policy.url(), &yaml)).await;
    let r = https(shim.addr, &old_ca)
        .await
        .expect("HTTPS with the first certificate");
    assert_eq!(meaning(&r.json()), Meaning::Continue);
    // Plain HTTP on a TLS port gets nothing.
    let mut plain = TcpStream::connect(shim.addr).await.unwrap();
    plain
        .write_all(b"POST / HTTP/1.1\r\nhost: x\r\n\r\n")
        .await
        .unwrap();
    let mut buf = [0u8; 64];
    let n = plain.read(&mut buf).await.unwrap_or(0);
    assert!(
        !String::from_utf8_lossy(&buf[..n]).contains("200"),
        "plain HTTP was served"
    );

    let leaf = new.server(&["shim.test"]);
    write(d, "tls.key", &leaf.key);
    write(d, "tls.crt", &leaf.cert);
    let deadline = Instant::now() + Duration::from_secs(10);
    while https(shim.addr, &new_ca).await.is_err() {
        assert!(
            Instant::now() < deadline,
            "the new certificate was not picked up"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        https(shim.addr, &old_ca).await.is_err(),
        "still the old certificate"
    );
    shim.stop().await;
    policy.stop().await;
}

/// Opens a connection that sends part of a request head and then nothing (or, with `trickle`,
/// one more byte every 300 ms, which resets any idle timer but not the header timeout); returns
/// how long the shim took to close it.
async fn slow_header(addr: SocketAddr, trickle: bool) -> Duration {
    let started = Instant::now();
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(b"POST /callbackBeforeSendSingleMsgCommand HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let mut buf = [0u8; 256];
    loop {
        let read = tokio::time::timeout(Duration::from_millis(300), s.read(&mut buf)).await;
        match read {
            Ok(Ok(0) | Err(_)) => return started.elapsed(),
            // hyper may answer 408 before closing.
            Ok(Ok(_)) => {}
            Err(_) if trickle => {
                if s.write_all(b"X").await.is_err() {
                    return started.elapsed();
                }
            }
            Err(_) => {}
        }
        if started.elapsed() > Duration::from_secs(60) {
            return started.elapsed();
        }
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

#[tokio::test]
async fn slow_headers_are_closed_within_the_header_timeout_while_normal_requests_flow() {
    const HEADER_TIMEOUT: Duration = Duration::from_secs(3);
    let policy = spawn_policy(Policy::new(Passthrough)).await;
    let yaml = "limits: {headerTimeout: 3s, idleTimeout: 60s}\n";
    let shim = spawn_shim(shim_settings_yaml(&policy.url(), yaml)).await;
    let addr = shim.addr;
    // 200 slow clients: 150 silent, 50 trickling a byte at a time.
    let slow: Vec<_> = (0..200)
        .map(|i| tokio::spawn(slow_header(addr, i % 4 == 0)))
        .collect();
    // Meanwhile, ~500 requests a second for 4 s, from 10 clients.
    let started = Instant::now();
    let clients: Vec<_> = (0..10)
        .map(|_| {
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                let mut tick = tokio::time::interval(Duration::from_millis(20));
                while started.elapsed() < Duration::from_secs(4) {
                    tick.tick().await;
                    let t = Instant::now();
                    let r = post(addr, &format!("/{SINGLE}"), b"{}", None).await;
                    assert_eq!(r.status, 200);
                    latencies.push(t.elapsed());
                }
                latencies
            })
        })
        .collect();
    let mut latencies = Vec::new();
    for c in clients {
        latencies.extend(c.await.unwrap());
    }
    let rate = latencies.len() as f64 / started.elapsed().as_secs_f64();
    let mut closed = Vec::new();
    for s in slow {
        closed.push(s.await.unwrap());
    }
    latencies.sort();
    closed.sort();
    println!(
        "slow-header figures: 200 slow connections closed after {:?} (first) .. {:?} (last), \
         header timeout {HEADER_TIMEOUT:?}; meanwhile {} normal requests at {rate:.0}/s: \
         p50 {:?}, p99 {:?}, max {:?}",
        closed[0],
        closed[closed.len() - 1],
        latencies.len(),
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.99),
        latencies[latencies.len() - 1],
    );
    // Every slow connection closed, none before its timeout, all within it plus a margin for
    // a loaded machine.
    assert!(
        closed[0] >= HEADER_TIMEOUT - Duration::from_millis(100),
        "{closed:?}"
    );
    assert!(
        closed[closed.len() - 1] < HEADER_TIMEOUT + Duration::from_secs(3),
        "{closed:?}"
    );
    assert!(
        latencies.len() > 1000,
        "too few normal requests: {}",
        latencies.len()
    );
    shim.stop().await;
    policy.stop().await;
}

/// A shim to `policy` that refuses with 5999 without a decision, with `extra` settings.
async fn refusing_shim(policy: &Running, extra: &str) -> Running {
    let yaml = format!("default: {{onError: refuse, errCode: 5999}}\n{extra}");
    spawn_shim(shim_settings_yaml(&policy.url(), &yaml)).await
}

fn failed_because(m: &Meaning, cause: &str) -> bool {
    matches!(m, Meaning::Refuse { err_code: 5999, err_dlt, .. } if err_dlt == cause)
}

#[tokio::test]
async fn a_slow_body_gets_the_failure_mode_within_the_body_timeout() {
    let policy = spawn_policy(Policy::new(Passthrough)).await;
    let shim = refusing_shim(&policy, "limits: {bodyTimeout: 1s}\n").await;
    let started = Instant::now();
    let mut s = TcpStream::connect(shim.addr).await.unwrap();
    s.write_all(
        b"POST /callbackBeforeSendSingleMsgCommand HTTP/1.1\r\nHost: x\r\n\
          Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"sendID\":",
    )
    .await
    .unwrap();
    let mut reply = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut reply)).await;
    let took = started.elapsed();
    assert!(read.is_ok(), "the connection stayed open");
    let reply = String::from_utf8_lossy(&reply);
    let body = reply.split("\r\n\r\n").nth(1).unwrap_or_default();
    let m = meaning(&serde_json::from_str(body).expect("a JSON reply"));
    assert!(failed_because(&m, "body"), "{m:?}");
    assert!(
        took >= Duration::from_millis(900) && took < Duration::from_secs(5),
        "{took:?}"
    );
    shim.stop().await;
    policy.stop().await;
}

#[tokio::test]
async fn past_max_concurrent_callbacks_are_shed_at_once_and_counted() {
    let script = Script {
        delay: Some(Duration::from_secs(2)),
        ..Script::default()
    };
    let mut policy = ScriptedPolicy::spawn(script, false).await;
    let shim = refusing_shim(
        &policy.server,
        "before: {timeout: 5s}\nlimits: {maxConcurrent: 2}\n",
    )
    .await;
    let addr = shim.addr;
    let slow: Vec<_> = (0..2)
        .map(|_| tokio::spawn(async move { send(addr, &format!("/{SINGLE}"), &[]).await }))
        .collect();
    // Both are in flight once the policy has seen them.
    for _ in 0..2 {
        tokio::time::timeout(Duration::from_secs(5), policy.seen.recv())
            .await
            .unwrap();
    }
    let started = Instant::now();
    let r = send(addr, &format!("/{SINGLE}"), &[]).await;
    let took = started.elapsed();
    assert!(failed_because(&meaning(&r.json()), "shed"), "{}", r.text());
    assert!(took < Duration::from_secs(1), "shedding took {took:?}");
    for s in slow {
        let r = s.await.unwrap();
        assert_eq!(meaning(&r.json()), Meaning::Continue);
    }
    assert_eq!(
        calls(&mut policy),
        0,
        "the shed callback reached the policy"
    );
    let metrics = send_get(addr, "/metrics").await;
    assert!(
        metrics.contains(&format!(
            "openim_shim_policy_failures_total{{command=\"{SINGLE}\",cause=\"shed\"}}"
        )) || metrics.contains("cause=\"shed\""),
        "{metrics}"
    );
    shim.stop().await;
}

#[tokio::test]
async fn max_connections_caps_open_connections() {
    let policy = spawn_policy(Policy::new(Passthrough)).await;
    let yaml = "limits: {maxConnections: 3, headerTimeout: 30s}\n";
    let shim = spawn_shim(shim_settings_yaml(&policy.url(), yaml)).await;
    let addr = shim.addr;
    let mut idle = Vec::new();
    for _ in 0..3 {
        idle.push(TcpStream::connect(addr).await.unwrap());
    }
    // Let the shim accept them.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let fourth = tokio::spawn(async move { post(addr, &format!("/{SINGLE}"), b"{}", None).await });
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(!fourth.is_finished(), "a fourth connection was served");
    drop(idle.pop());
    let r = tokio::time::timeout(Duration::from_secs(5), fourth)
        .await
        .expect("served once a connection closed")
        .unwrap();
    assert_eq!(r.status, 200);
    shim.stop().await;
    policy.stop().await;
}

#[tokio::test]
async fn idle_connections_are_closed_after_the_idle_timeout() {
    let policy = spawn_policy(Policy::new(Passthrough)).await;
    // The header timeout is longer: the idle timeout is what closes a connection that sent
    // half a body and stopped (while the body timeout is longer still).
    let yaml = "limits: {idleTimeout: 1s, headerTimeout: 20s, bodyTimeout: 20s}\n";
    let shim = spawn_shim(shim_settings_yaml(&policy.url(), yaml)).await;
    let started = Instant::now();
    let mut s = TcpStream::connect(shim.addr).await.unwrap();
    let mut buf = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut buf)).await;
    assert!(read.is_ok(), "an idle connection stayed open");
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(900) && took < Duration::from_secs(5),
        "{took:?}"
    );
    shim.stop().await;
    policy.stop().await;
}

#[tokio::test]
async fn sigterm_is_not_held_by_slow_clients_beyond_the_shutdown_timeout() {
    let policy = spawn_policy(Policy::new(Passthrough)).await;
    let shim = ShimProcess::start(
        &["--policy", &policy.url()],
        &[
            ("OPENIM_SHIM_SPOOL_ENABLED", "false"),
            ("OPENIM_SHIM_SHUTDOWN_TIMEOUT", "3s"),
            ("OPENIM_SHIM_LIMITS_HEADERTIMEOUT", "60s"),
            ("OPENIM_SHIM_LIMITS_BODYTIMEOUT", "60s"),
            ("OPENIM_SHIM_LIMITS_IDLETIMEOUT", "60s"),
        ],
    )
    .await;
    let addr = shim.addr;
    let mut held = Vec::new();
    for i in 0..20 {
        let mut s = TcpStream::connect(addr).await.unwrap();
        let part: &[u8] = if i % 2 == 0 {
            b"POST /callbackBeforeSendSingleMsgCommand HTTP/1.1\r\nHost: x\r\n"
        } else {
            b"POST /callbackBeforeSendSingleMsgCommand HTTP/1.1\r\nHost: x\r\nContent-Length: 50\r\n\r\n{"
        };
        s.write_all(part).await.unwrap();
        held.push(s);
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let started = Instant::now();
    let status = shim.sigterm().await;
    let took = started.elapsed();
    println!("SIGTERM with 20 slow clients: exited in {took:?} (shutdown.timeout 3s)");
    assert!(status.success(), "{status:?}");
    assert!(took < Duration::from_secs(6), "SIGTERM held for {took:?}");
    drop(held);
    policy.stop().await;
}

/// The resident set of process `pid`, in bytes.
fn rss(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    let kb: u64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    kb * 1024
}

#[tokio::test]
async fn a_hundred_half_sent_4_mib_bodies_keep_memory_within_the_body_budget() {
    const MIB: u64 = 1 << 20;
    let policy = spawn_policy(Policy::new(Passthrough)).await;
    let shim = ShimProcess::start(
        &["--policy", &policy.url()],
        &[
            ("OPENIM_SHIM_SPOOL_ENABLED", "false"),
            // The defaults, stated: the bound below follows from them.
            ("OPENIM_SHIM_LIMITS_BODYBUDGET", "64MiB"),
            ("OPENIM_SHIM_MAXBODY", "4MiB"),
        ],
    )
    .await;
    let (addr, pid) = (shim.addr, shim.pid());
    let before = rss(pid);
    let half = vec![b'a'; 2 << 20];
    let mut held = Vec::new();
    let mut peak = before;
    for i in 0..100 {
        let Ok(mut s) = TcpStream::connect(addr).await else {
            continue;
        };
        // Half declare their length, half are chunked (no length to reserve up front).
        let head = if i % 2 == 0 {
            format!(
                "POST /{SINGLE} HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n",
                4 * MIB
            )
        } else {
            format!(
                "POST /{SINGLE} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n{:x}\r\n",
                2 * MIB
            )
        };
        let sent = async {
            s.write_all(head.as_bytes()).await?;
            s.write_all(&half).await
        };
        // A shed request is answered and closed while we write: fine.
        let _ = tokio::time::timeout(Duration::from_secs(5), sent).await;
        held.push(s);
        peak = peak.max(rss(pid));
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    peak = peak.max(rss(pid));
    println!(
        "memory figures: RSS {} MiB before, {} MiB peak with 100 half-sent 4 MiB bodies \
         (limits.bodyBudget 64 MiB)",
        before / MIB,
        peak / MIB
    );
    // The budget, the baseline, and hyper's per-connection read buffers (~400 KiB at most).
    let bound = before + 64 * MIB + 100 * 512 * 1024;
    assert!(
        peak < bound,
        "RSS {} MiB over the bound {} MiB",
        peak / MIB,
        bound / MIB
    );
    // The shim still answers.
    let r = post(addr, &format!("/{SINGLE}"), b"{}", None).await;
    assert_eq!(r.status, 200);
    drop(held);
    shim.sigterm().await;
    policy.stop().await;
}

#[tokio::test]
async fn the_admin_listener_takes_the_operators_endpoints_off_the_callback_port() {
    let policy = spawn_policy(Policy::new(Passthrough)).await;
    let admin = ShimProcess::start(
        &["--policy", &policy.url(), "--admin-listen", "127.0.0.1:0"],
        &[("OPENIM_SHIM_SPOOL_ENABLED", "false")],
    )
    .await;
    let line = admin
        .logs()
        .into_iter()
        .find(|l| l.contains("admin.listen"))
        .expect("the admin address is logged");
    let addr: SocketAddr = line
        .split("addr=")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .and_then(|a| a.parse().ok())
        .expect("an address");
    assert!(send_get(addr, "/metrics").await.contains("# TYPE"));
    assert!(send_get(addr, "/readyz").await.starts_with("ready"));
    // The callback port serves callbacks only: a GET is not a callback.
    let stream = TcpStream::connect(admin.addr).await.unwrap();
    let req = http::Request::get("/metrics")
        .header("host", "x")
        .body(Full::new(Bytes::new()))
        .unwrap();
    let r = exchange(stream, req).await;
    assert_eq!(r.status, 405);
    assert!(!r.text().contains("# TYPE"));
    admin.sigterm().await;
    policy.stop().await;
}

#[tokio::test]
async fn the_policy_serves_reflection_only_when_asked() {
    use tonic_reflection::pb::v1::{
        ServerReflectionRequest, server_reflection_client::ServerReflectionClient,
        server_reflection_request::MessageRequest,
    };
    for on in [false, true] {
        let policy = spawn_policy(Policy::new(Passthrough).with_reflection(on)).await;
        let channel = tonic::transport::Endpoint::from_shared(policy.url())
            .unwrap()
            .connect()
            .await
            .unwrap();
        let request = ServerReflectionRequest {
            host: String::new(),
            message_request: Some(MessageRequest::ListServices(String::new())),
        };
        let answer = ServerReflectionClient::new(channel)
            .server_reflection_info(tokio_stream::iter([request]))
            .await;
        match (on, answer) {
            (true, Ok(_)) => {}
            (false, Err(s)) => assert_eq!(s.code(), tonic::Code::Unimplemented),
            (on, answer) => panic!("reflection {on}: {answer:?}"),
        }
        policy.stop().await;
    }
}

#[tokio::test]
async fn a_body_that_would_go_over_the_body_budget_is_shed() {
    let mut policy = ScriptedPolicy::spawn(Script::default(), false).await;
    let shim = refusing_shim(&policy.server, "limits: {bodyBudget: 1MiB}\n").await;
    // One caller holds 800 KiB of the budget: it declared them and sends half.
    let mut holder = TcpStream::connect(shim.addr).await.unwrap();
    let head = format!(
        "POST /{SINGLE} HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n",
        800 << 10
    );
    holder.write_all(head.as_bytes()).await.unwrap();
    holder.write_all(&vec![b' '; 400 << 10]).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    // Another 800 KiB body does not fit: shed at once, before the policy is asked.
    let big = format!("{{\"sendID\":\"1\",\"pad\":\"{}\"}}", "x".repeat(800 << 10));
    let started = Instant::now();
    let r = post(shim.addr, &format!("/{SINGLE}"), big.as_bytes(), None).await;
    assert!(failed_because(&meaning(&r.json()), "shed"), "{}", r.text());
    assert!(started.elapsed() < Duration::from_secs(2));
    // A small one still fits.
    let r = post(shim.addr, &format!("/{SINGLE}"), b"{}", None).await;
    assert!(!failed_because(&meaning(&r.json()), "shed"), "{}", r.text());
    // Once the holder leaves, the budget is back.
    drop(holder);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let r = post(shim.addr, &format!("/{SINGLE}"), big.as_bytes(), None).await;
    assert!(!failed_because(&meaning(&r.json()), "shed"), "{}", r.text());
    let _ = calls(&mut policy);
    shim.stop().await;
}
