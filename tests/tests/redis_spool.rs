//! The Redis spool backend with a real `redis-server` and the real `openim-shim` binary: a fleet
//! of three shims shares one stream, so an event acknowledged by a shim that is then killed
//! (and its local state deleted, as a Kubernetes pod's) or stopped is delivered by another; a
//! Redis restart loses nothing Redis acknowledged; while Redis is down, new events go to each
//! shim's local spool and are moved to Redis when it is back, counted.
//!
//! Figures are printed (run with `--nocapture` to see them).

use std::{
    collections::{BTreeMap, BTreeSet},
    net::SocketAddr,
    path::Path,
    sync::Arc,
    time::{Duration, Instant},
};

use openim_tests::{
    closed_port,
    events::{AfterEvent, Metrics, after_event},
    killable::Killable,
    openim_http::{post, send},
    redis_server::RedisServer,
    reply::{Meaning, meaning},
    shim_process::ShimProcess,
    test_policy::{Script, ScriptedPolicy},
};
use tokio::sync::Semaphore;

const WAIT: Duration = Duration::from_secs(60);

/// A shim of the fleet: Redis spool, its own local (fallback) spool in `spool`, fast retries and
/// take-over, a 2 s drain.
async fn shim(policy: SocketAddr, redis: &str, spool: &Path) -> ShimProcess {
    let policy = format!("http://{policy}");
    let spool = spool.display().to_string();
    ShimProcess::start(
        &["--policy", &policy, "--spool-dir", &spool],
        &[
            ("OPENIM_SHIM_SPOOL_BACKEND", "redis"),
            ("OPENIM_SHIM_REDIS_URL", redis),
            ("OPENIM_SHIM_REDIS_CLAIMIDLE", "3s"),
            ("OPENIM_SHIM_SPOOL_DRAINTIMEOUT", "2s"),
            ("OPENIM_SHIM_AFTER_RETRYINITIAL", "50ms"),
            ("OPENIM_SHIM_AFTER_RETRYMAX", "500ms"),
            ("OPENIM_SHIM_AFTER_QUEUE", "20000"),
        ],
    )
    .await
}

/// Posts `events` round-robin over `shims`, `parallel` at a time, at most `rate` per second.
async fn post_spread(shims: &[SocketAddr], events: &[AfterEvent], parallel: usize, rate: f64) {
    let slots = Arc::new(Semaphore::new(parallel));
    let mut tasks = tokio::task::JoinSet::new();
    let started = Instant::now();
    for (i, e) in events.iter().enumerate() {
        let due = Duration::from_secs_f64(i as f64 / rate);
        if let Some(wait) = due.checked_sub(started.elapsed()) {
            tokio::time::sleep(wait).await;
        }
        let permit = slots.clone().acquire_owned().await.expect("open");
        let (addr, e) = (shims[i % shims.len()], e.clone());
        tasks.spawn(async move {
            let r = post(addr, &e.path(), &e.body, Some(&e.operation_id)).await;
            assert_eq!(r.status, 200);
            assert_eq!(meaning(&r.json()), Meaning::Continue);
            drop(permit);
        });
    }
    while let Some(r) = tasks.join_next().await {
        r.expect("post task");
    }
}

fn sum(ms: &[Metrics], name: &str, labels: &[(&str, &str)]) -> f64 {
    ms.iter().map(|m| m.sum(name, labels)).sum()
}

async fn readyz(addr: SocketAddr) -> String {
    send(http::Method::GET, addr, "/readyz", b"", None)
        .await
        .text()
}

#[tokio::test]
async fn a_fleet_sharing_redis_delivers_every_event_through_kills_restarts_and_outages() {
    if !openim_tests::redis_server::available() {
        panic!("redis-server is missing: apt-get install -y redis-server (scripts/test does it)");
    }
    let mut redis = RedisServer::start(true).await;
    let policy_addr = closed_port().await;
    let dirs: Vec<_> = (0..3).map(|_| tempfile::tempdir().unwrap()).collect();
    let mut shims = Vec::new();
    for d in &dirs {
        shims.push(shim(policy_addr, &redis.url(), d.path()).await);
    }
    let addrs: Vec<_> = shims.iter().map(|s| s.addr).collect();
    let events: Vec<_> = (0..15_000).map(|n| after_event("fleet", n)).collect();
    let started = Instant::now();

    // 1. 4,000 events, the policy down.
    post_spread(&addrs, &events[..4000], 16, 5000.0).await;
    // 2. 2,000 more, with a Redis restart (SIGTERM: its AOF is flushed; then it reloads it) in
    //    the middle of them.
    let posting = {
        let (addrs, batch) = (addrs.clone(), events[4000..6000].to_vec());
        tokio::spawn(async move { post_spread(&addrs, &batch, 8, 1000.0).await })
    };
    tokio::time::sleep(Duration::from_millis(800)).await;
    let restart = Instant::now();
    redis.restart().await;
    let restart_took = restart.elapsed();
    posting.await.unwrap();
    // 3. Redis down for 10 s while 4,000 events arrive (400/s).
    redis.stop(false).await;
    let down = Instant::now();
    post_spread(&addrs, &events[6000..10_000], 8, 400.0).await;
    if let Some(rest) = Duration::from_secs(10).checked_sub(down.elapsed()) {
        tokio::time::sleep(rest).await;
    }
    let during: Vec<Metrics> = futures_metrics(&shims).await;
    let fallback_during = sum(&during, "openim_shim_spool_fallback_total", &[]);
    let report = readyz(addrs[0]).await;
    assert!(
        report.contains("spool redis") && report.contains("unreachable"),
        "/readyz says Redis is unreachable:\n{report}"
    );
    redis.resume().await;
    let down_for = down.elapsed();
    // 4. The last 5,000, Redis back.
    post_spread(&addrs, &events[10_000..], 16, 5000.0).await;
    let posted_in = started.elapsed();

    // Everything acknowledged is in Redis: no local fallback left, no queue.
    for s in &shims {
        s.wait_for_metrics(WAIT, "the local fallback moved to Redis", |m| {
            m.sum("openim_shim_spool_events", &[("backend", "local")]) == 0.0
                && m.sum("openim_shim_after_queue_depth", &[]) == 0.0
        })
        .await;
    }
    let before: Vec<Metrics> = futures_metrics(&shims).await;
    let fallback = sum(&before, "openim_shim_spool_fallback_total", &[]);
    let moved = sum(&before, "openim_shim_spool_moved_total", &[]);
    let dropped = sum(&before, "openim_shim_after_dropped_total", &[]);
    let accepted = sum(
        &before,
        "openim_shim_callbacks_total",
        &[("outcome", "accepted")],
    );
    assert_eq!(accepted, 15_000.0, "every event acknowledged");
    assert_eq!(dropped, 0.0, "nothing dropped");
    assert!(
        fallback >= fallback_during && fallback > 0.0,
        "the outage sent events to the local spools ({fallback})"
    );
    assert_eq!(moved, fallback, "every fallback event moved to Redis");
    let stream_len: u64 = redis
        .command(&["XLEN", "openim-shim:after"])
        .await
        .and_then(|l| l.parse().ok())
        .unwrap_or(0);
    assert!(
        stream_len >= 15_000,
        "the stream holds every event (or more: duplicates of ambiguous XADDs): {stream_len}"
    );

    // 5. One shim SIGKILLed and its local state deleted (a pod gone with its volume), another
    //    SIGTERMed (it releases what it held), the policy still down.
    let mut shims = shims.into_iter();
    let killed = shims.next().unwrap();
    let termed = shims.next().unwrap();
    let last = shims.next().unwrap();
    killed.kill().await;
    std::fs::remove_dir_all(dirs[0].path()).unwrap();
    let term = Instant::now();
    let logs = termed.logs();
    let status = termed.sigterm().await;
    let term_took = term.elapsed();
    assert!(status.success(), "exit {status}:\n{}", logs.join("\n"));

    // 6. The policy comes back: the last shim delivers everything, its own, the released and
    //    (after claimIdle) the killed shim's.
    let (policy, mut seen, _gate) = ScriptedPolicy::new(Script::default(), false);
    let policy = Killable::spawn(policy.router(), Some(policy_addr)).await;
    let back = Instant::now();
    let keys: BTreeSet<_> = events.iter().map(AfterEvent::expected_key).collect();
    let mut arrived: BTreeMap<String, usize> = BTreeMap::new();
    while arrived.len() < keys.len() {
        let Ok(Some(s)) = tokio::time::timeout(WAIT, seen.recv()).await else {
            let m = last.metrics().await;
            panic!(
                "{} of {} events arrived; last shim's metrics: {m:?}",
                arrived.len(),
                keys.len()
            );
        };
        *arrived.entry(s.context.idempotency_key).or_default() += 1;
    }
    let delivered_in = back.elapsed();
    let m = last
        .wait_for_metrics(WAIT, "an empty stream", |m| {
            m.sum("openim_shim_spool_events", &[("backend", "redis")]) == 0.0
                && m.sum("openim_shim_after_in_flight", &[]) == 0.0
        })
        .await;
    while let Ok(s) = seen.try_recv() {
        *arrived.entry(s.context.idempotency_key).or_default() += 1;
    }
    assert!(
        arrived.keys().all(|k| keys.contains(k)),
        "only our events arrived"
    );
    let duplicates: usize = arrived.values().map(|n| n - 1).sum();
    let claimed = m.sum("openim_shim_spool_claimed_total", &[]);
    assert!(claimed > 0.0, "the killed shim's events were taken over");
    println!(
        "redis fleet: 15000 after-events posted over 3 shims in {:.1} s (policy down); redis \
         restart took {:.0} ms; redis down {:.1} s: {fallback} events to the local spools, \
         {moved} moved to redis; stream length {stream_len}; SIGTERM took {:.0} ms; policy \
         back: all {} distinct events delivered in {:.1} s, duplicates {duplicates}, claimed \
         from other shims {claimed}, dropped {}",
        posted_in.as_secs_f64(),
        restart_took.as_secs_f64() * 1000.0,
        down_for.as_secs_f64(),
        term_took.as_secs_f64() * 1000.0,
        arrived.len(),
        delivered_in.as_secs_f64(),
        dropped as u64,
    );
    assert!(last.sigterm().await.success());
    policy.kill().await;
    redis.stop(false).await;
}

async fn futures_metrics(shims: &[ShimProcess]) -> Vec<Metrics> {
    let mut out = Vec::new();
    for s in shims {
        out.push(s.metrics().await);
    }
    out
}
