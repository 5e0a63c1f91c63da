//! A measured policy outage: posts after-events (and some before-callbacks) to a real shim,
//! spooling on disk, while its policy is down for a while; then starts the policy and reports
//! how many events arrived, how many twice, how long recovery took, and what the
//! before-callbacks answered during the outage. A measurement to report, not a test: it asserts
//! nothing about timing.
//!
//! ```sh
//! cargo run -p openim-tests --example outage -- [EVENTS] [OUTAGE_SECONDS]   # default 2000 5
//! ```
//!
//! With `OUTAGE_REDIS_URL=redis://127.0.0.1:6379` the shim spools in that Redis
//! (`spool.backend: redis`, a stream of its own) instead of on disk.

use std::{
    collections::BTreeMap,
    time::{Duration, Instant},
};

use openim_tests::{
    closed_port,
    events::{Metrics, after_event},
    killable::Killable,
    openim_http::{post, send},
    reply::{Meaning, meaning},
    shim_settings_yaml, spawn_shim,
    test_policy::{Script, ScriptedPolicy},
};

/// Single chat fails closed, group chat fails open (the default), as a cautious operator might
/// configure; retries capped at 1 s so recovery is quick after the policy returns.
const CONFIG: &str = r#"
beforeSendSingleMsg:
  onError: refuse
  errCode: 5900
  errMsg: "message refused: policy unavailable"
after:
  retryInitial: 100ms
  retryMax: 1s
"#;

/// One before-callback per this many after-events.
const BEFORE_EVERY: usize = 10;

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let events: usize = args.next().map_or(2000, |a| a.parse().expect("EVENTS"));
    let outage = Duration::from_secs_f64(args.next().map_or(5.0, |a| a.parse().expect("SECONDS")));

    let spool = tempfile::tempdir().expect("temp dir");
    let policy_addr = closed_port().await;
    let redis = std::env::var("OUTAGE_REDIS_URL").ok();
    let config = match &redis {
        Some(url) => format!(
            "{CONFIG}spool: {{backend: redis}}\nredis: {{url: '{url}', stream: 'outage:{}'}}\n",
            std::process::id()
        ),
        None => CONFIG.to_owned(),
    };
    let mut settings = shim_settings_yaml(&format!("http://{policy_addr}"), &config);
    settings.spool.dir = Some(spool.path().to_owned());
    println!(
        "spool backend: {}",
        if redis.is_some() { "redis" } else { "local" }
    );
    let shim = spawn_shim(settings).await;

    // The outage: events spread evenly over it.
    let all: Vec<_> = (0..events).map(|n| after_event("outage", n)).collect();
    let pace = outage.div_f64(events.max(1) as f64);
    let started = Instant::now();
    let mut ack_us = Vec::with_capacity(events);
    let mut before: BTreeMap<(&str, String), usize> = BTreeMap::new();
    for (n, e) in all.iter().enumerate() {
        let t = Instant::now();
        let r = post(shim.addr, &e.path(), &e.body, Some(&e.operation_id)).await;
        ack_us.push(t.elapsed().as_micros());
        assert_eq!(meaning(&r.json()), Meaning::Continue, "after-event reply");
        if n % BEFORE_EVERY == 0 {
            for command in [
                "callbackBeforeSendSingleMsgCommand",
                "callbackBeforeSendGroupMsgCommand",
            ] {
                let r = openim_tests::post_fixture(shim.addr, command, &format!("b-{n}")).await;
                let outcome = match meaning(&r.json()) {
                    Meaning::Continue => "continue".to_owned(),
                    Meaning::Refuse {
                        err_code, err_dlt, ..
                    } => format!("refuse errCode={err_code} errDlt={err_dlt}"),
                };
                *before.entry((command, outcome)).or_default() += 1;
            }
        }
        let due = pace.mul_f64((n + 1) as f64);
        if let Some(wait) = due.checked_sub(started.elapsed()) {
            tokio::time::sleep(wait).await;
        }
    }
    let outage_took = started.elapsed();
    let during = metrics(shim.addr).await;

    // Recovery.
    let (policy, mut seen, _gate) = ScriptedPolicy::new(Script::default(), false);
    let recovered = Instant::now();
    let server = Killable::spawn(policy.router(), Some(policy_addr)).await;
    let mut delivered: BTreeMap<String, usize> = BTreeMap::new();
    while delivered.len() < events {
        match tokio::time::timeout(Duration::from_secs(120), seen.recv()).await {
            Ok(Some(s)) => *delivered.entry(s.context.idempotency_key).or_default() += 1,
            _ => break,
        }
    }
    let recovery_took = recovered.elapsed();
    // Stop the shim (it commits what is left), then count late duplicates too.
    shim.stop().await;
    while let Ok(s) = seen.try_recv() {
        *delivered.entry(s.context.idempotency_key).or_default() += 1;
    }
    server.kill().await;

    let expected: Vec<_> = all.iter().map(|e| e.expected_key()).collect();
    let arrived = expected
        .iter()
        .filter(|k| delivered.contains_key(*k))
        .count();
    let duplicates: usize = delivered.values().map(|n| n - 1).sum();
    ack_us.sort_unstable();
    let pct = |p: f64| ack_us[((ack_us.len() as f64 - 1.0) * p) as usize];

    println!(
        "policy outage of {:.1} s (planned {:.1} s)",
        outage_took.as_secs_f64(),
        outage.as_secs_f64()
    );
    println!("  after-events posted during the outage: {events}, every reply a valid continue");
    let build = if cfg!(debug_assertions) {
        "debug"
    } else {
        "release"
    };
    println!(
        "  after-event round trip seen by the client ({build} build, new connection each): \
         p50 {} us, p99 {} us, max {} us",
        pct(0.5),
        pct(0.99),
        ack_us.last().copied().unwrap_or(0)
    );
    // Server side: the shim's own latency histogram of the after-callbacks.
    let after = [
        "callbackAfterSendSingleMsgCommand",
        "callbackAfterSendGroupMsgCommand",
    ];
    let bucket = |le: &str| -> f64 {
        after
            .iter()
            .map(|c| {
                during.sum(
                    "openim_shim_callback_duration_seconds_bucket",
                    &[("command", c), ("le", le)],
                )
            })
            .sum()
    };
    let total = bucket("+Inf");
    let share = |le: &str| 100.0 * bucket(le) / total.max(1.0);
    println!(
        "  after-event acknowledgement inside the shim: {:.1}% within 100 us, {:.1}% within 250 us, \
         {:.1}% within 1 ms ({total} answers)",
        share("0.0001"),
        share("0.00025"),
        share("0.001")
    );
    // Acknowledgement to storage (fsync, or XADD's reply): what a crash can lose.
    let stored = |le: &str| {
        during.sum(
            "openim_shim_spool_commit_delay_seconds_bucket",
            &[("le", le)],
        )
    };
    let stored_total = stored("+Inf");
    let stored_share = |le: &str| 100.0 * stored(le) / stored_total.max(1.0);
    println!(
        "  acknowledgement to storage: {:.1}% within 1 ms, {:.1}% within 5 ms, {:.1}% within 10 ms, \
         {:.1}% within 25 ms, {:.1}% within 100 ms ({stored_total} events)",
        stored_share("0.001"),
        stored_share("0.005"),
        stored_share("0.01"),
        stored_share("0.025"),
        stored_share("0.1")
    );
    println!(
        "  shim during the outage: spooled {}, failed attempts (retried) {}",
        during.sum("openim_shim_spool_events", &[]),
        during.sum("openim_shim_after_retries_total", &[])
    );
    println!(
        "  delivered after recovery: {arrived}/{events} distinct events in {:.2} s, duplicates {duplicates}, lost {}",
        recovery_took.as_secs_f64(),
        events - arrived
    );
    println!("  before-callbacks during the outage:");
    for ((command, outcome), n) in &before {
        println!("    {command}: {n} x {outcome}");
    }
    if arrived != events {
        std::process::exit(1);
    }
}

async fn metrics(addr: std::net::SocketAddr) -> Metrics {
    let r = send(http::Method::GET, addr, "/metrics", b"", None).await;
    Metrics::parse(&r.text())
}
