//! The after-event spool across process lifetimes, with the real `openim-shim` binary: events
//! spooled while the policy is down survive a SIGTERM and a SIGKILL and are delivered by the next
//! process; a full spool drops what does not fit, counted, and delivers the rest.
//!
//! Each shim is its own process, so its `/metrics` are its own: the tests wait on them (events
//! spooled, attempts made) instead of sleeping.

use std::{collections::BTreeSet, net::SocketAddr, time::Duration};

use openim_tests::{
    closed_port,
    events::{AfterEvent, Metrics, after_event},
    killable::Killable,
    openim_http::{post, send},
    reply::{Meaning, meaning},
    shim_process::ShimProcess,
    test_policy::{Script, ScriptedPolicy, Seen},
};
use tokio::sync::mpsc;

const WAIT: Duration = Duration::from_secs(30);

/// A shim process for the policy at `policy`, spooling in `spool`, retrying fast.
async fn shim(policy: SocketAddr, spool: &std::path::Path, env: &[(&str, &str)]) -> ShimProcess {
    let spool = spool.display().to_string();
    let policy = format!("http://{policy}");
    let mut all = vec![
        ("OPENIM_SHIM_AFTER_RETRYINITIAL", "20ms"),
        ("OPENIM_SHIM_AFTER_RETRYMAX", "200ms"),
    ];
    all.extend_from_slice(env);
    ShimProcess::start(&["--policy", &policy, "--spool-dir", &spool], &all).await
}

async fn post_all(shim: &ShimProcess, events: &[AfterEvent]) {
    for e in events {
        let r = post(shim.addr, &e.path(), &e.body, Some(&e.operation_id)).await;
        assert_eq!(r.status, 200);
        assert_eq!(meaning(&r.json()), Meaning::Continue);
    }
}

/// Reads deliveries until every key of `events` arrived; returns them all (duplicates too).
async fn deliveries(seen: &mut mpsc::UnboundedReceiver<Seen>, events: &[AfterEvent]) -> Vec<Seen> {
    let keys: BTreeSet<_> = events.iter().map(AfterEvent::expected_key).collect();
    let mut got = Vec::new();
    let mut arrived = BTreeSet::new();
    while arrived.len() < keys.len() {
        let s = tokio::time::timeout(WAIT, seen.recv())
            .await
            .unwrap_or_else(|_| panic!("{} of {} events arrived", arrived.len(), keys.len()))
            .expect("policy channel open");
        assert!(
            keys.contains(&s.context.idempotency_key),
            "unexpected {s:?}"
        );
        arrived.insert(s.context.idempotency_key.clone());
        got.push(s);
    }
    got
}

fn spooled(m: &Metrics) -> f64 {
    m.sum("openim_shim_spool_events", &[])
}

#[tokio::test]
async fn events_spooled_while_the_policy_is_down_survive_sigterm_and_are_delivered_after_restart() {
    let spool = tempfile::tempdir().unwrap();
    let policy_addr = closed_port().await;
    let first = shim(policy_addr, spool.path(), &[]).await;
    let events: Vec<_> = (0..40).map(|n| after_event("sigterm", n)).collect();
    post_all(&first, &events).await;
    // Every event is spooled and has failed at least one attempt against the absent policy.
    first
        .wait_for_metrics(WAIT, "40 events spooled and attempted", |m| {
            spooled(m) == 40.0 && m.sum("openim_shim_after_retries_total", &[]) >= 40.0
        })
        .await;
    let logs = first.logs();
    let status = first.sigterm().await;
    assert!(
        status.success(),
        "exit status {status}; log:\n{}",
        logs.join("\n")
    );

    let (policy, mut seen, _gate) = ScriptedPolicy::new(Script::default(), false);
    let policy = Killable::spawn(policy.router(), Some(policy_addr)).await;
    let second = shim(policy_addr, spool.path(), &[]).await;
    let got = deliveries(&mut seen, &events).await;
    // The attempt count went on from where the first process left it.
    for s in &got {
        assert!(s.context.delivery_attempt >= 2, "{s:?}");
    }
    second
        .wait_for_metrics(WAIT, "an empty spool", |m| spooled(m) == 0.0)
        .await;
    assert!(
        second
            .logs()
            .iter()
            .any(|l| l.contains("after-events found in the spool")),
        "the restart reports what it found"
    );
    assert!(second.sigterm().await.success());
    policy.kill().await;
}

#[tokio::test]
async fn events_committed_before_a_crash_are_delivered_after_restart() {
    let spool = tempfile::tempdir().unwrap();
    let policy_addr = closed_port().await;
    let first = shim(policy_addr, spool.path(), &[]).await;
    let events: Vec<_> = (0..40).map(|n| after_event("sigkill", n)).collect();
    post_all(&first, &events).await;
    first
        .wait_for_metrics(WAIT, "40 events spooled", |m| spooled(m) == 40.0)
        .await;
    first.kill().await;

    let (policy, mut seen, _gate) = ScriptedPolicy::new(Script::default(), false);
    let policy = Killable::spawn(policy.router(), Some(policy_addr)).await;
    let second = shim(policy_addr, spool.path(), &[]).await;
    deliveries(&mut seen, &events).await;
    assert!(second.sigterm().await.success());
    policy.kill().await;
}

#[tokio::test]
async fn a_full_spool_drops_new_events_counted_and_delivers_the_rest() {
    let spool = tempfile::tempdir().unwrap();
    let policy_addr = closed_port().await;
    let shim = shim(
        policy_addr,
        spool.path(),
        &[("OPENIM_SHIM_SPOOL_MAXEVENTS", "5")],
    )
    .await;
    let events: Vec<_> = (0..8).map(|n| after_event("full", n)).collect();
    // One at a time, each spooled before the next: the first five fit.
    for (i, e) in events.iter().enumerate() {
        post_all(&shim, std::slice::from_ref(e)).await;
        let expected = (i + 1).min(5) as f64;
        let dropped = i.saturating_sub(4) as f64;
        shim.wait_for_metrics(WAIT, "the event handled", |m| {
            spooled(m) == expected
                && m.sum(
                    "openim_shim_after_dropped_total",
                    &[("reason", "spool_full")],
                ) == dropped
        })
        .await;
    }
    let m = shim.metrics().await;
    assert_eq!(
        m.sum("openim_shim_callbacks_total", &[("outcome", "accepted")]),
        8.0,
        "every event was acknowledged to OpenIM"
    );
    assert!(
        shim.logs()
            .iter()
            .any(|l| l.contains("after-event dropped: the spool is full")
                && l.contains("op-full-000005")),
        "the drop is logged with the operation ID"
    );

    let (policy, mut seen, _gate) = ScriptedPolicy::new(Script::default(), false);
    let policy = Killable::spawn(policy.router(), Some(policy_addr)).await;
    deliveries(&mut seen, &events[..5]).await;
    let m = shim
        .wait_for_metrics(WAIT, "an empty spool", |m| {
            spooled(m) == 0.0 && m.sum("openim_shim_after_in_flight", &[]) == 0.0
        })
        .await;
    assert_eq!(
        m.sum(
            "openim_shim_after_deliveries_total",
            &[("result", "delivered")]
        ),
        5.0
    );
    // Nothing else is left to deliver: the dropped events never arrive.
    while let Ok(s) = seen.try_recv() {
        let key = &s.context.idempotency_key;
        assert!(
            events[..5].iter().any(|e| &e.expected_key() == key),
            "dropped event {key} was delivered"
        );
    }
    assert!(shim.sigterm().await.success());
    policy.kill().await;
}

/// A tmpfs of `size` mounted on a temporary directory (root only), unmounted when dropped.
struct Tmpfs(tempfile::TempDir);

impl Tmpfs {
    fn mount(size: &str) -> Option<Self> {
        let dir = tempfile::tempdir().unwrap();
        let ok = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .status()
            .is_ok_and(|s| s.success());
        ok.then_some(Self(dir))
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg(self.0.path())
            .status();
    }
}

/// The spool on a small filesystem that fills up (a tmpfs of 8 MiB, 6.5 MiB of it taken by a
/// ballast file), with the policy down: what fits is stored, every event that does not is
/// counted (`spool_error`), nothing piles up in the queue, `/readyz` says so; once space is
/// back (the ballast deleted) new events are stored again without a restart, and everything
/// stored is delivered when the policy returns.
#[tokio::test]
async fn a_full_disk_never_wedges_the_spool_drops_are_counted_and_it_recovers() {
    let Some(fs) = Tmpfs::mount("8m") else {
        eprintln!("SKIPPED: cannot mount a tmpfs here (needs root)");
        return;
    };
    let ballast = fs.0.path().join("ballast");
    std::fs::write(&ballast, vec![1u8; (6 << 20) + (1 << 19)]).unwrap();
    let spool = fs.0.path().join("spool");
    let policy_addr = closed_port().await;
    let shim = shim(policy_addr, &spool, &[("OPENIM_SHIM_AFTER_QUEUE", "20000")]).await;
    let events: Vec<_> = (0..8000).map(|n| after_event("enospc", n)).collect();
    let started = std::time::Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for chunk in events.chunks(500) {
        let (addr, chunk) = (shim.addr, chunk.to_vec());
        tasks.spawn(async move {
            for e in &chunk {
                let r = post(addr, &e.path(), &e.body, Some(&e.operation_id)).await;
                assert_eq!(meaning(&r.json()), Meaning::Continue);
            }
        });
    }
    while let Some(r) = tasks.join_next().await {
        r.unwrap();
    }
    let lost = |m: &Metrics| m.sum("openim_shim_after_dropped_total", &[]);
    // No wedge: the queue empties, every event is either stored or counted.
    let m = shim
        .wait_for_metrics(WAIT, "every event stored or counted", |m| {
            m.sum("openim_shim_after_queue_depth", &[]) == 0.0 && spooled(m) + lost(m) == 8000.0
        })
        .await;
    let stored = spooled(&m);
    let errors = m.sum(
        "openim_shim_after_dropped_total",
        &[("reason", "spool_error")],
    );
    assert!(
        stored > 0.0 && errors > 0.0,
        "stored {stored}, spool_error {errors}"
    );
    let ready = send(http::Method::GET, shim.addr, "/readyz", b"", None).await;
    assert_eq!(ready.status, 200);
    let text = ready.text();
    assert!(
        text.contains("spool local: failing") && text.contains("not_stored_by_errors"),
        "{text}"
    );
    assert!(
        shim.logs()
            .iter()
            .any(|l| l.contains("after-events dropped") && l.contains("spool_error")),
        "the drops are logged"
    );
    let file = m.sum("openim_shim_spool_file_bytes", &[]);

    // Space is back: new events are stored again, without a restart.
    std::fs::remove_file(&ballast).unwrap();
    let more: Vec<_> = (8000..8200).map(|n| after_event("enospc", n)).collect();
    post_all(&shim, &more).await;
    shim.wait_for_metrics(WAIT, "the new events stored", |m| {
        spooled(m) == stored + 200.0
    })
    .await;
    let ready = send(http::Method::GET, shim.addr, "/readyz", b"", None)
        .await
        .text();
    assert!(ready.contains("spool local: ok"), "{ready}");

    // The policy returns: everything stored is delivered.
    let (policy, mut seen, _gate) = ScriptedPolicy::new(Script::default(), false);
    let policy = Killable::spawn(policy.router(), Some(policy_addr)).await;
    let mut delivered = BTreeSet::new();
    while (delivered.len() as f64) < stored + 200.0 {
        let s = tokio::time::timeout(WAIT, seen.recv())
            .await
            .expect("deliveries")
            .expect("open");
        delivered.insert(s.context.idempotency_key);
    }
    shim.wait_for_metrics(WAIT, "an empty spool", |m| spooled(m) == 0.0)
        .await;
    println!(
        "full disk: 8000 after-events posted in {:.1} s to a spool with ~1.5 MiB free: {stored} \
         stored (file {file} bytes), {errors} counted spool_error, none piled up; space back: \
         200 more stored; {} delivered when the policy returned",
        started.elapsed().as_secs_f64(),
        delivered.len()
    );
    assert!(shim.sigterm().await.success());
    policy.kill().await;
}
