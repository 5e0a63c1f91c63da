//! A policy fleet under load (the fleet issue's acceptance run): three `openim-policy`
//! processes on 127.0.0.1-3, found through a DNS name the test serves on loopback (as a
//! Kubernetes headless Service answers), one shim, ~500 callbacks/s (before and after) for
//! about 30 s. Shows: calls spread evenly; a frozen replica (SIGSTOP) costs at most about a
//! second of its share, then nothing; a killed one (SIGKILL) costs nothing (calls are retried
//! on another replica) and loses no after-event; a replica added to DNS gets traffic within
//! seconds; a rolling restart of every replica fails no callback.
//!
//! Prints its figures (`cargo test -p openim-tests --test fleet -- --nocapture`).

use std::{
    net::{Ipv4Addr, SocketAddr},
    sync::{Arc, Mutex},
    time::Duration,
};

use bytes::Bytes;
use http::Request;
use http_body_util::{BodyExt as _, Full};
use hyper_util::rt::TokioIo;
use openim_tests::{
    dns::DnsServer,
    events::{Metrics, after_event},
    fixture, policy_process,
    shim_process::ShimProcess,
};
use tokio::{net::TcpStream, process::Child, time::Instant};

/// The name the replicas are found under.
const NAME: &str = "policy.fleet.test";
/// Before-callbacks and after-callbacks per second.
const BEFORE_RATE: u32 = 300;
const AFTER_RATE: u32 = 200;
/// The shim's refusal when the policy gives no decision: how failures show in replies.
const FAIL_CODE: i64 = 5999;

/// One `openim-policy` process on `127.0.0.<n>`.
struct Replica {
    ip: Ipv4Addr,
    port: u16,
    metrics_port: u16,
    child: Option<Child>,
}

impl Replica {
    async fn start(n: u8, port: u16, metrics_port: u16) -> Self {
        let mut r = Self {
            ip: Ipv4Addr::new(127, 0, 0, n),
            port,
            metrics_port,
            child: None,
        };
        r.spawn().await;
        r
    }

    /// Starts the process (again) and waits until it serves.
    async fn spawn(&mut self) {
        let (child, _) = policy_process::start([
            "--listen".to_owned(),
            format!("{}:{}", self.ip, self.port),
            "--metrics-listen".to_owned(),
            format!("{}:{}", self.ip, self.metrics_port),
        ])
        .await;
        self.child = Some(child);
    }

    fn signal(&self, signal: &str) {
        let pid = self
            .child
            .as_ref()
            .and_then(Child::id)
            .expect("running")
            .to_string();
        let ok = std::process::Command::new("kill")
            .args([signal, &pid])
            .status()
            .expect("run kill");
        assert!(ok.success(), "kill {signal} {pid}");
    }

    /// SIGTERM, and waits for the exit (a graceful stop).
    async fn stop(&mut self) {
        self.signal("-TERM");
        let mut child = self.child.take().expect("running");
        let status = tokio::time::timeout(Duration::from_secs(20), child.wait())
            .await
            .expect("openim-policy exits after SIGTERM")
            .expect("wait");
        assert!(status.success(), "exit status {status}");
    }

    /// SIGKILL: a crash.
    async fn kill(&mut self) {
        let mut child = self.child.take().expect("running");
        child.kill().await.expect("SIGKILL");
    }

    /// Decisions it made so far (its own count, from its `/metrics`).
    async fn decisions(&self) -> f64 {
        let addr = SocketAddr::from((self.ip, self.metrics_port));
        let r =
            openim_tests::openim_http::send(http::Method::GET, addr, "/metrics", b"", None).await;
        Metrics::parse(&r.text()).sum(
            "openim_policy_decisions_total",
            &[("command", "callbackBeforeSendSingleMsgCommand")],
        )
    }
}

/// A free TCP port on 127.0.0.1 (also free on the other loopback addresses in practice).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port()
}

/// What the load saw: per reply, when (since the start), whether a before-callback, and whether
/// it is the failure mode's refusal (or no valid reply at all).
#[derive(Default)]
struct Seen {
    replies: Vec<(Duration, bool, bool)>,
    after_sent: usize,
}

impl Seen {
    /// Failed before-callbacks in `[from, to)`.
    fn failures(&self, from: Duration, to: Duration) -> Vec<Duration> {
        self.replies
            .iter()
            .filter(|(at, before, failed)| *before && *failed && *at >= from && *at < to)
            .map(|(at, ..)| *at)
            .collect()
    }

    fn before_count(&self, from: Duration, to: Duration) -> usize {
        self.replies
            .iter()
            .filter(|(at, before, _)| *before && *at >= from && *at < to)
            .count()
    }
}

/// Sends before- and after-callbacks at the configured rates over keep-alive connections until
/// `stop`, recording every reply.
async fn load(
    shim: SocketAddr,
    seen: Arc<Mutex<Seen>>,
    started: Instant,
    stop: tokio::sync::watch::Receiver<bool>,
) {
    // As OpenIM's client: many connections, one request at a time on each.
    const WORKERS: u32 = 25;
    let before_body = Bytes::from(fixture("callbackBeforeSendSingleMsgCommand.json"));
    let mut workers = Vec::new();
    for w in 0..WORKERS {
        let seen = seen.clone();
        let mut stop = stop.clone();
        let before_body = before_body.clone();
        workers.push(tokio::spawn(async move {
            let stream = TcpStream::connect(shim).await.expect("connect");
            stream.set_nodelay(true).expect("nodelay");
            let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
                .await
                .expect("handshake");
            tokio::spawn(conn);
            let per_worker = f64::from(BEFORE_RATE + AFTER_RATE) / f64::from(WORKERS);
            let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / per_worker));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let mut n: usize = 0;
            loop {
                tokio::select! {
                    _ = tick.tick() => {}
                    _ = stop.wait_for(|s| *s) => return,
                }
                n += 1;
                // BEFORE_RATE of every BEFORE_RATE + AFTER_RATE calls are before-callbacks.
                let total = (BEFORE_RATE + AFTER_RATE) as usize;
                let before = (n * BEFORE_RATE as usize) % total < BEFORE_RATE as usize;
                let (path, body) = if before {
                    (
                        "/openim/callbackBeforeSendSingleMsgCommand".to_owned(),
                        before_body.clone(),
                    )
                } else {
                    let e = after_event(&format!("w{w}"), n);
                    (e.path(), Bytes::from(e.body))
                };
                let request = Request::post(path)
                    .header("host", "shim")
                    .header("content-type", "application/json; charset=utf-8")
                    .body(Full::new(body))
                    .expect("request");
                let failed = match sender.send_request(request).await {
                    Ok(r) => {
                        let body = r.into_body().collect().await.map(|b| b.to_bytes());
                        match body
                            .ok()
                            .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
                        {
                            Some(json) => json["errCode"].as_i64() == Some(FAIL_CODE),
                            None => true,
                        }
                    }
                    Err(_) => true,
                };
                let mut s = seen.lock().expect("seen");
                s.replies.push((started.elapsed(), before, failed));
                if !before {
                    s.after_sent += 1;
                }
            }
        }));
    }
    for w in workers {
        w.await.expect("load worker");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fleet_of_policies_is_balanced_and_routed_around_failures() {
    let port = free_port();
    let metrics_port = free_port();
    let mut replicas = Vec::new();
    for n in 1..=3 {
        replicas.push(Replica::start(n, port, metrics_port).await);
    }
    let ips: Vec<_> = replicas.iter().map(|r| r.ip).collect();
    let dns = DnsServer::start(NAME, &ips).await;
    let spool = tempfile::tempdir().expect("spool dir");
    let config = spool.path().join("shim.yaml");
    std::fs::write(
        &config,
        format!(
            "policy:\n  targets: [\"http://{NAME}:{port}\"]\n  resolveInterval: 1s\n  dnsServer: \"{}\"\n\
             before: {{timeout: 1s, onError: refuse, errCode: {FAIL_CODE}}}\n",
            dns.addr
        ),
    )
    .expect("config");
    let spool_dir = spool.path().join("spool");
    let shim = ShimProcess::start(
        &[
            "--config",
            config.to_str().expect("path"),
            "--spool-dir",
            spool_dir.to_str().expect("path"),
        ],
        &[],
    )
    .await;

    let seen = Arc::new(Mutex::new(Seen::default()));
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let started = Instant::now();
    let loader = tokio::spawn(load(shim.addr, seen.clone(), started, stopped));
    let at = |s: f64| Duration::from_secs_f64(s);
    let sleep_until = |s: f64| tokio::time::sleep_until(started + at(s));

    // Phase 1, 0-6 s: the spread, counted by the replicas themselves between 1 s and 6 s.
    sleep_until(1.0).await;
    let mut before = Vec::new();
    for r in &replicas {
        before.push(r.decisions().await);
    }
    sleep_until(6.0).await;
    let mut shares = Vec::new();
    for (r, b) in replicas.iter().zip(&before) {
        shares.push(r.decisions().await - b);
    }
    let total: f64 = shares.iter().sum();

    eprintln!("fleet: spread measured at {:?}", started.elapsed());
    // Phase 2, 6-12 s: replica 1 frozen.
    replicas[0].signal("-STOP");
    sleep_until(12.0).await;

    // Phase 3, 12-16 s: replica 2 killed (and gone from DNS, as Kubernetes would do).
    replicas[1].kill().await;
    dns.set(&[replicas[0].ip, replicas[2].ip]);
    sleep_until(16.0).await;

    eprintln!("fleet: freeze and kill done at {:?}", started.elapsed());
    // Phase 4, 16 s on: a fourth replica joins through DNS.
    let mut fourth = Replica::start(4, port, metrics_port).await;
    dns.set(&[replicas[0].ip, replicas[2].ip, fourth.ip]);
    let joined = Instant::now();
    let mut join_time = None;
    while joined.elapsed() < Duration::from_secs(12) {
        if fourth.decisions().await > 0.0 {
            join_time = Some(joined.elapsed());
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // Phase 5: the frozen one resumes; then every live replica is restarted, one at a time.
    replicas[0].signal("-CONT");
    tokio::time::sleep(Duration::from_secs(2)).await;
    let rolling_from = started.elapsed();
    eprintln!("fleet: rolling restart from {rolling_from:?}");
    let (first, rest) = replicas.split_at_mut(1);
    for r in [&mut first[0], &mut rest[1], &mut fourth] {
        r.stop().await;
        r.spawn().await;
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    let rolling_to = started.elapsed();
    stop.send_replace(true);
    loader.await.expect("load");

    let (frozen, killed, rolling, rolling_calls, sent_total, after_sent) = {
        let seen = seen.lock().expect("seen");
        (
            seen.failures(at(6.0), at(12.0)),
            seen.failures(at(12.0), at(16.0)),
            seen.failures(rolling_from, rolling_to),
            seen.before_count(rolling_from, rolling_to),
            seen.replies.len(),
            seen.after_sent,
        )
    };
    let frozen_share_per_s = f64::from(BEFORE_RATE) / 3.0;

    // Every after-event reaches a replica in the end.
    let delivered = shim
        .wait_for_metrics(
            Duration::from_secs(30),
            "every after-event delivered",
            |m| {
                m.sum(
                    "openim_shim_after_deliveries_total",
                    &[("result", "delivered")],
                ) >= after_sent as f64
            },
        )
        .await;
    let policyz =
        openim_tests::openim_http::send(http::Method::GET, shim.addr, "/policyz", b"", None).await;
    let ejections = delivered.sum("openim_shim_policy_endpoint_ejections_total", &[]);
    let retries = delivered.sum("openim_shim_policy_retries_total", &[]);
    let per_endpoint: Vec<_> = replicas
        .iter()
        .chain([&fourth])
        .map(|r| {
            let endpoint = format!("{}:{}", r.ip, r.port);
            let calls = delivered.sum(
                "openim_shim_policy_endpoint_calls_total",
                &[("pool", "before"), ("endpoint", &endpoint)],
            );
            (endpoint, calls)
        })
        .collect();

    eprintln!(
        "fleet run: {sent_total} callbacks ({after_sent} after-events) in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    for (r, s) in replicas.iter().zip(&shares) {
        eprintln!(
            "  share of {}: {:.1} % ({s} of {total} before-callbacks, 1-6 s)",
            r.ip,
            100.0 * s / total
        );
    }
    eprintln!(
        "  SIGSTOP of {}: {} before-callbacks answered by the failure mode (bound {:.0}), the last {:?} after the stop",
        replicas[0].ip,
        frozen.len(),
        frozen_share_per_s,
        frozen.last().map(|t| *t - at(6.0))
    );
    eprintln!("  SIGKILL of {}: {} failures", replicas[1].ip, killed.len());
    eprintln!(
        "  {} joined through DNS: first decision after {join_time:?}",
        fourth.ip
    );
    eprintln!(
        "  rolling restart of 3 replicas ({:.1}-{:.1} s): {} failures of {} before-callbacks",
        rolling_from.as_secs_f64(),
        rolling_to.as_secs_f64(),
        rolling.len(),
        rolling_calls
    );
    eprintln!(
        "  after-events: {after_sent} sent, {} delivered (with redeliveries)",
        delivered.sum(
            "openim_shim_after_deliveries_total",
            &[("result", "delivered")]
        )
    );
    eprintln!("  the shim's count of before-calls per endpoint: {per_endpoint:?}");
    eprintln!("  ejections {ejections}, transparent retries {retries}");
    eprintln!("  /policyz at the end:\n{}", policyz.text());

    for s in &shares {
        let share = s / total;
        assert!(
            (0.233..=0.433).contains(&share),
            "uneven spread: {shares:?}"
        );
    }
    assert!(
        (frozen.len() as f64) <= frozen_share_per_s,
        "a frozen replica cost {} callbacks",
        frozen.len()
    );
    assert!(
        frozen
            .iter()
            .all(|t| *t < at(6.0) + Duration::from_millis(2500)),
        "failures long after the freeze: {frozen:?}"
    );
    assert_eq!(
        killed.len(),
        0,
        "a killed replica failed callbacks: {killed:?}"
    );
    assert!(
        join_time.is_some_and(|t| t < Duration::from_secs(10)),
        "the 4th replica got no traffic in 10 s"
    );
    assert_eq!(
        rolling.len(),
        0,
        "the rolling restart failed callbacks: {rolling:?}"
    );
    assert!(ejections >= 1.0, "the frozen replica was never ejected");
    assert!(
        per_endpoint.iter().all(|(_, calls)| *calls > 0.0),
        "{per_endpoint:?}"
    );
    for r in &mut replicas {
        if r.child.is_some() {
            r.kill().await;
        }
    }
    fourth.kill().await;
}
