//! Changing policy safely (issue 20), end to end with the real `openim-shim` and
//! `openim-policy` binaries: capture real callbacks, replay them against a changed rules file
//! (`openim-shim replay`, its report and its gate), and shadow a second policy, which is counted
//! where it disagrees and changes nothing in the replies when it hangs or is down.
//!
//! The expected changes are computed here from the captured texts, independently of the shim's
//! comparison code: the rules files differ by one word of the `abuse` list (refuse 5001).

use std::{
    collections::BTreeMap,
    net::SocketAddr,
    path::{Path, PathBuf},
    process::Stdio,
    time::{Duration, Instant},
};

use openim_tests::{
    closed_port, fixture,
    openim_http::post,
    repo_path,
    shim_process::ShimProcess,
    test_policy::{Script, ScriptedPolicy},
};
use serde_json::{Value, json};
use tokio::process::{Child, Command};

const SINGLE: &str = "callbackBeforeSendSingleMsgCommand";
const GROUP: &str = "callbackBeforeSendGroupMsgCommand";
const MODIFY: &str = "callbackBeforeMsgModifyCommand";
const AFTER_SINGLE: &str = "callbackAfterSendSingleMsgCommand";
const ADD_FRIEND: &str = "callbackBeforeAddFriendCommand";
const REGISTER: &str = "callbackBeforeUserRegisterCommand";

/// Words of no rule. No two of them, nor one with a rule word, join into a rule word when the
/// `abuse` list ignores separators (`bus came` would read `scam`).
const PLAIN: &[&str] = &[
    "hello", "team", "meeting", "at", "noon", "see", "you", "lunch", "today", "thanks", "good",
    "morning", "plan", "review", "later",
];

/// A running `openim-policy` process, killed when dropped.
struct PolicyProcess {
    _child: Child,
    addr: SocketAddr,
}

impl PolicyProcess {
    async fn start(rules: &Path) -> Self {
        let mut args = vec![
            std::ffi::OsString::from("--listen"),
            "127.0.0.1:0".into(),
            "--rules".into(),
        ];
        args.push(rules.into());
        let (child, line) = openim_tests::policy_process::start(args).await;
        let addr = openim_tests::listen_addr(&line);
        Self {
            _child: child,
            addr,
        }
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

/// The example rules (`examples/rules.yaml`) with the audit log in `dir`, and `edit` applied to
/// the `abuse` list's words; written to `dir/name`.
fn rules(dir: &Path, name: &str, edit: &[(&str, &str)]) -> PathBuf {
    let mut text = std::fs::read_to_string(repo_path("examples/rules.yaml")).unwrap();
    let audit = "path: ../data/openim-policy-audit.jsonl";
    assert!(
        text.contains(audit),
        "examples/rules.yaml changed: update this test"
    );
    text = text.replace(audit, "path: audit.jsonl");
    for (from, to) in edit {
        assert!(text.contains(from), "{from:?} not in examples/rules.yaml");
        text = text.replacen(from, to, 1);
    }
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

const SCAM: &str = "      - scam\n";

/// Rules B: `scam` removed from the `abuse` list, `lottery` added.
fn rules_b(dir: &Path) -> PathBuf {
    rules(dir, "rules-b.yaml", &[(SCAM, "      - lottery\n")])
}

/// Rules of the shadow: the example's, which also refuse `lottery`.
fn rules_lottery_too(dir: &Path) -> PathBuf {
    rules(
        dir,
        "rules-c.yaml",
        &[(SCAM, "      - scam\n      - lottery\n")],
    )
}

/// A message text: plain words, and some of the rules' words.
fn text(rng: &mut fastrand::Rng) -> String {
    let mut words: Vec<&str> = (0..rng.usize(2..6))
        .map(|_| PLAIN[rng.usize(..PLAIN.len())])
        .collect();
    for (word, share) in [
        ("scam", 0.15),
        ("lottery", 0.15),
        ("idiot", 0.05),
        ("spam.example", 0.15),
    ] {
        if rng.f64() < share {
            words.insert(rng.usize(..=words.len()), word);
        }
    }
    words.join(" ")
}

/// Fixture `<command>.json` with its text, sender and message IDs made unique for `i` (no rate
/// limit applies: every sender sends once).
fn message(command: &str, i: usize, text: &str) -> Vec<u8> {
    let mut v: Value = serde_json::from_slice(&fixture(&format!("{command}.json"))).unwrap();
    v["content"] = json!({ "content": text }).to_string().into();
    v["sendID"] = format!("7{i:09}").into();
    v["clientMsgID"] = format!("c{i:031}").into();
    v["serverMsgID"] = format!("s{i:031}").into();
    serde_json::to_vec(&v).unwrap()
}

/// The 2,000 mixed callbacks: (command, body). Four in ten one-to-one messages, two in ten group
/// messages, and one in ten each of message edits (plain or masked texts only), after-send
/// events, friend requests and user registrations.
fn mixed(n: usize) -> Vec<(&'static str, Vec<u8>)> {
    let mut rng = fastrand::Rng::with_seed(20);
    (0..n)
        .map(|i| match i % 10 {
            0..=3 => (SINGLE, message(SINGLE, i, &text(&mut rng))),
            4 | 5 => (GROUP, message(GROUP, i, &text(&mut rng))),
            6 => {
                let masked = ["hello team", "buy now at spam.example"][rng.usize(..2)];
                (MODIFY, message(MODIFY, i, masked))
            }
            7 => (AFTER_SINGLE, message(AFTER_SINGLE, i, &text(&mut rng))),
            8 => (ADD_FRIEND, fixture(&format!("{ADD_FRIEND}.json"))),
            _ => (REGISTER, fixture(&format!("{REGISTER}.json"))),
        })
        .collect()
}

/// Posts `calls` to the shim at `addr`, 8 at a time; returns each reply and its latency, in
/// order.
/// A shim process for the policy at `policy` with the config file `config`, spool off (these
/// tests look at replies and captures, not at after-event delivery).
async fn shim_with_config(policy: &str, config: &Path) -> ShimProcess {
    ShimProcess::start(
        &["--policy", policy, "--config", config.to_str().unwrap()],
        &[("OPENIM_SHIM_SPOOL_ENABLED", "false")],
    )
    .await
}

async fn post_all(addr: SocketAddr, calls: &[(&'static str, Vec<u8>)]) -> Vec<(Value, Duration)> {
    post_some(addr, calls, 8).await
}

/// Posts `calls` to the shim at `addr`, `parallel` at a time; returns each reply and its
/// latency, in order.
async fn post_some(
    addr: SocketAddr,
    calls: &[(&'static str, Vec<u8>)],
    parallel: usize,
) -> Vec<(Value, Duration)> {
    let mut out = Vec::with_capacity(calls.len());
    for chunk in calls.chunks(parallel).enumerate() {
        let (c, chunk) = chunk;
        let mut set = tokio::task::JoinSet::new();
        for (j, (command, body)) in chunk.iter().enumerate() {
            let (command, body) = (*command, body.clone());
            let op = format!("op-{:05}", c * parallel + j);
            set.spawn(async move {
                let started = Instant::now();
                let r = post(addr, &format!("/openim/{command}"), &body, Some(&op)).await;
                assert_eq!(r.status, 200);
                (j, r.json(), started.elapsed())
            });
        }
        let mut done: Vec<_> = set.join_all().await;
        done.sort_by_key(|(j, _, _)| *j);
        out.extend(done.into_iter().map(|(_, v, d)| (v, d)));
    }
    out
}

/// The message text of a captured body (`content`'s `content`), or "".
fn captured_text(body: &Value) -> String {
    body.get("content")
        .and_then(Value::as_str)
        .and_then(|c| serde_json::from_str::<Value>(c).ok())
        .and_then(|c| c.get("content").and_then(Value::as_str).map(str::to_owned))
        .unwrap_or_default()
}

fn has(text: &str, word: &str) -> bool {
    text.split(' ').any(|w| w == word)
}

/// Every line of the capture files in `dir`.
fn capture_lines(dir: &Path) -> Vec<Value> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    files
        .iter()
        .flat_map(|f| {
            std::fs::read_to_string(f)
                .unwrap()
                .lines()
                .map(|l| serde_json::from_str::<Value>(l).unwrap())
                .collect::<Vec<_>>()
        })
        .collect()
}

/// Runs `openim-shim replay` with `args`; returns its exit code and standard output.
async fn replay(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(openim_tests::shim_process::binary())
        .arg("replay")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .await
        .expect("run openim-shim replay");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The acceptance run: 2,000 mixed callbacks captured with the example rules, replayed against
/// rules with `scam` removed and `lottery` added; the report counts exactly the verdicts that
/// the captured texts say change, and the gate follows its threshold.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_capture_replayed_against_changed_rules_counts_exactly_the_changed_verdicts() {
    let dir = tempfile::tempdir().unwrap();
    let (rules_a, rules_b) = (rules(dir.path(), "rules-a.yaml", &[]), rules_b(dir.path()));
    let capture = dir.path().join("capture");
    let config = dir.path().join("shim.yaml");
    std::fs::write(
        &config,
        format!(
            "capture: {{enabled: true, dir: {}, sample: 1, maxFileSize: 256KiB}}\n",
            capture.display()
        ),
    )
    .unwrap();

    let policy_a = PolicyProcess::start(&rules_a).await;
    let shim = shim_with_config(&policy_a.url(), &config).await;
    let calls = mixed(2_000);
    let replies = post_all(shim.addr, &calls).await;
    assert_eq!(replies.len(), 2_000);
    let m = shim
        .wait_for_metrics(Duration::from_secs(20), "2,000 records written", |m| {
            m.sum("openim_shim_capture_written_total", &[]) >= 2_000.0
        })
        .await;
    assert_eq!(m.sum("openim_shim_capture_dropped_total", &[]), 0.0);
    assert!(shim.sigterm().await.success());

    // The capture: every callback, rotated over several files (256 KiB each).
    let lines = capture_lines(&capture);
    assert_eq!(lines.len(), 2_000);
    assert!(
        std::fs::read_dir(&capture).unwrap().count() > 1,
        "not rotated"
    );
    let mut by_command: BTreeMap<&str, usize> = BTreeMap::new();
    // The independent count: from each captured text, what rules A and B decide.
    let (mut to_refuse, mut to_continue, mut before) = (0, 0, 0);
    for l in &lines {
        *by_command
            .entry(l["command"].as_str().unwrap())
            .or_default() += 1;
        assert!(l["time"].as_str().unwrap().ends_with('Z'), "{l}");
        assert!(l["operationID"].as_str().unwrap().starts_with("op-"), "{l}");
        if l["kind"] == "after" {
            assert_eq!(l["outcome"], "accepted", "{l}");
            continue;
        }
        before += 1;
        assert!(l["policyLatencyUs"].as_u64().is_some(), "{l}");
        let t = captured_text(&l["body"]);
        let refused_a = has(&t, "idiot") || has(&t, "scam");
        let refused_b = has(&t, "idiot") || has(&t, "lottery");
        // The capture recorded what rules A decided.
        let outcome = l["outcome"].as_str().unwrap();
        assert_eq!(outcome == "refuse", refused_a, "{l}");
        if refused_a {
            assert_eq!(l["reply"]["errCode"], 5001, "{l}");
        }
        match (refused_a, refused_b) {
            (false, true) => to_refuse += 1,
            (true, false) => to_continue += 1,
            _ => {}
        }
    }
    assert_eq!(by_command[SINGLE], 800);
    assert_eq!(by_command[AFTER_SINGLE], 200);
    assert!(
        to_refuse > 50 && to_continue > 50,
        "{to_refuse} {to_continue}"
    );
    let changed = to_refuse + to_continue;

    // The replay against rules B.
    let policy_b = PolicyProcess::start(&rules_b).await;
    let report = dir.path().join("report.json");
    let (code, table, err) = replay(&[
        "--capture",
        capture.to_str().unwrap(),
        "--policy",
        &policy_b.url(),
        "--report",
        report.to_str().unwrap(),
        "--max-changed",
        &changed.to_string(),
    ])
    .await;
    println!("openim-shim replay (rules B):\n{table}{err}");
    assert_eq!(code, 0, "{table}{err}");
    let r: Value = serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    println!("JSON report: {}", serde_json::to_string_pretty(&r).unwrap());
    let total = &r["total"];
    assert_eq!(total["replayed"], before, "{total}");
    assert_eq!(total["continue_to_refuse"], to_refuse, "{total}");
    assert_eq!(total["refuse_to_continue"], to_continue, "{total}");
    assert_eq!(total["changed"], changed, "{total}");
    for zero in ["different_code", "different_rewrite", "error", "noBaseline"] {
        assert_eq!(total[zero], 0, "{zero}: {total}");
    }
    assert_eq!(total["same"], before - changed, "{total}");
    assert_eq!(r["skipped"]["after-callbacks"], 200);
    assert!(total["latencyMs"]["p99"].as_f64().unwrap() > 0.0);
    // Examples: a few per kind, with the text that changed.
    let examples = &r["commands"][SINGLE]["examples"];
    let shown = examples["continue_to_refuse"].as_array().unwrap();
    assert_eq!(shown.len(), 3);
    for e in shown {
        assert!(has(e["content"].as_str().unwrap(), "lottery"), "{e}");
        assert!(e["after"].as_str().unwrap().contains("5001"), "{e}");
    }
    assert!(table.contains(SINGLE) && table.lines().any(|l| l.starts_with("total")));

    // The gate: one change fewer allowed fails; so does any error with a policy that is down.
    let capture_arg = capture.to_str().unwrap();
    let (code, _, err) = replay(&[
        "--capture",
        capture_arg,
        "--policy",
        &policy_b.url(),
        "--max-changed",
        &(changed - 1).to_string(),
    ])
    .await;
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("FAILED"), "{err}");
    let share = format!("{}%", (changed as f64 + 0.5) * 100.0 / before as f64);
    let (code, _, err) = replay(&[
        "--capture",
        capture_arg,
        "--policy",
        &policy_b.url(),
        "--max-changed",
        &share,
    ])
    .await;
    assert_eq!(code, 0, "{share}: {err}");
    // Against the same rules, nothing changes: the gate at zero passes.
    let (code, _, err) = replay(&[
        "--capture",
        capture_arg,
        "--policy",
        &policy_a.url(),
        "--max-changed",
        "0",
    ])
    .await;
    assert_eq!(code, 0, "rules A against their own capture: {err}");
    let down = format!("http://{}", closed_port().await);
    let (code, _, err) = replay(&[
        "--capture",
        capture_arg,
        "--policy",
        &down,
        "--timeout",
        "200ms",
        "--concurrency",
        "64",
    ])
    .await;
    assert_eq!(code, 1, "a policy that is down: {err}");
    let (code, _, err) = replay(&["--capture", "/nonexistent", "--policy", &down]).await;
    assert_eq!(code, 2, "{err}");
}

/// One-to-one messages for the shadow tests: (body, whether its text has `lottery` and no word
/// the example rules refuse).
fn shadow_calls(n: usize) -> Vec<((&'static str, Vec<u8>), bool)> {
    let mut rng = fastrand::Rng::with_seed(3);
    (0..n)
        .map(|i| {
            let t = text(&mut rng);
            let only_lottery = has(&t, "lottery") && !has(&t, "scam") && !has(&t, "idiot");
            ((SINGLE, message(SINGLE, 10_000 + i, &t)), only_lottery)
        })
        .collect()
}

/// A shadow that refuses a word the primary allows disagrees (continue → refuse) on exactly the
/// callbacks with that word; the disagreements are captured with both answers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shadow_that_refuses_a_word_disagrees_on_exactly_those_callbacks() {
    let dir = tempfile::tempdir().unwrap();
    let primary = PolicyProcess::start(&rules(dir.path(), "rules-a.yaml", &[])).await;
    let shadow = PolicyProcess::start(&rules_lottery_too(dir.path())).await;
    let capture = dir.path().join("capture");
    let config = dir.path().join("shim.yaml");
    std::fs::write(
        &config,
        format!(
            "capture: {{enabled: true, dir: {}, commands: [beforeSendGroupMsg]}}\n\
             shadow: {{targets: {}, disagreementSample: 1, timeout: 2s}}\n",
            capture.display(),
            shadow.url()
        ),
    )
    .unwrap();
    let shim = shim_with_config(&primary.url(), &config).await;
    let calls = shadow_calls(400);
    let lottery = calls.iter().filter(|(_, l)| *l).count();
    assert!(lottery > 20, "{lottery}");
    let bodies: Vec<_> = calls.iter().map(|(c, _)| c.clone()).collect();
    let replies = post_all(shim.addr, &bodies).await;
    // The primary decided: `lottery` passes.
    for ((reply, _), (_, only_lottery)) in replies.iter().zip(&calls) {
        if *only_lottery {
            assert_eq!(reply["errCode"], 0, "{reply}");
        }
    }
    let total = |m: &openim_tests::events::Metrics, agreement: &str| {
        m.sum(
            "openim_shim_shadow_total",
            &[("command", SINGLE), ("agreement", agreement)],
        )
    };
    let m = shim
        .wait_for_metrics(Duration::from_secs(30), "400 shadow answers", |m| {
            m.sum("openim_shim_shadow_total", &[]) >= 400.0
        })
        .await;
    assert_eq!(m.sum("openim_shim_shadow_dropped_total", &[]), 0.0);
    assert_eq!(total(&m, "continue_to_refuse"), lottery as f64);
    assert_eq!(total(&m, "same"), (400 - lottery) as f64);
    assert_eq!(m.sum("openim_shim_shadow_total", &[]), 400.0);
    assert!(shim.sigterm().await.success());
    // Captured with both answers (the capture's own filter keeps no one-to-one callbacks).
    let lines = capture_lines(&capture);
    assert_eq!(lines.len(), lottery);
    for l in &lines {
        assert_eq!(l["event"], "shadow", "{l}");
        assert_eq!(l["reply"]["errCode"], 0, "{l}");
        assert_eq!(l["shadow"]["reply"]["errCode"], 5001, "{l}");
        assert_eq!(l["shadow"]["agreement"], "continue_to_refuse", "{l}");
        assert!(has(&captured_text(&l["body"]), "lottery"), "{l}");
    }
}

/// A shadow that hangs or is down changes nothing in the replies: the same callbacks, sent to
/// three shims in front of the same policy (shadow off, hanging, down) in turn, get the same
/// replies; their latencies are printed (not asserted: the machine is shared).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shadow_that_hangs_or_is_down_changes_nothing_in_the_replies() {
    let dir = tempfile::tempdir().unwrap();
    let primary = PolicyProcess::start(&rules(dir.path(), "rules-a.yaml", &[])).await;
    let hanging = ScriptedPolicy::spawn(
        Script {
            delay: Some(Duration::from_secs(3600)),
            ..Script::default()
        },
        false,
    )
    .await;
    let down = closed_port().await;
    let start = |shadow: Option<String>| {
        let primary = primary.url();
        async move {
            let mut env = vec![("OPENIM_SHIM_SPOOL_ENABLED", "false".to_owned())];
            if let Some(s) = shadow {
                env.push(("OPENIM_SHIM_SHADOW_TARGETS", s));
                env.push(("OPENIM_SHIM_SHADOW_TIMEOUT", "300ms".into()));
                env.push(("OPENIM_SHIM_SHADOW_CONCURRENCY", "16".into()));
            }
            let env: Vec<_> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
            ShimProcess::start(&["--policy", &primary], &env).await
        }
    };
    let shims = [
        ("shadow off", start(None).await),
        ("shadow hanging", start(Some(hanging.server.url())).await),
        ("shadow down", start(Some(format!("http://{down}"))).await),
    ];
    let calls: Vec<_> = shadow_calls(600).into_iter().map(|(c, _)| c).collect();
    // One at a time (each latency is one callback's, not a queue's), in turns of 50 so that
    // noise on the machine falls on all three alike.
    let mut got: Vec<Vec<(Value, Duration)>> = vec![Vec::new(); shims.len()];
    for turn in calls.chunks(50) {
        for (i, (_, shim)) in shims.iter().enumerate() {
            got[i].extend(post_some(shim.addr, turn, 1).await);
        }
    }
    for (i, (name, _)) in shims.iter().enumerate().skip(1) {
        for (n, (off, with)) in got[0].iter().zip(&got[i]).enumerate() {
            assert_eq!(off.0, with.0, "{name}: callback {n} answered differently");
        }
    }
    println!("latency of 600 one-to-one messages, same run, same policy (as the test client");
    println!("sees it; then the shim's own mean, from openim_shim_callback_duration_seconds):");
    for (i, (name, shim)) in shims.iter().enumerate() {
        let m = shim.metrics().await;
        let h = "openim_shim_callback_duration_seconds";
        let own = m.sum(&format!("{h}_sum"), &[]) / m.sum(&format!("{h}_count"), &[]) * 1000.0;
        let mut l: Vec<_> = got[i].iter().map(|(_, d)| *d).collect();
        l.sort();
        let p = |q: usize| l[(l.len() * q).div_ceil(100) - 1].as_secs_f64() * 1000.0;
        println!(
            "  {name:15} p50 {:.2} ms  p90 {:.2} ms  p99 {:.2} ms  max {:.2} ms  shim mean {own:.2} ms",
            p(50),
            p(90),
            p(99),
            p(100)
        );
    }
    // Every copy was given up: past its deadline, refused by the dead address, or dropped
    // because the hanging shadow held every permit.
    for (name, shim) in &shims[1..] {
        let m = shim
            .wait_for_metrics(Duration::from_secs(10), "every copy judged", |m| {
                m.sum("openim_shim_shadow_total", &[("agreement", "error")])
                    + m.sum("openim_shim_shadow_dropped_total", &[])
                    >= 600.0
            })
            .await;
        let (errors, dropped) = (
            m.sum("openim_shim_shadow_total", &[("agreement", "error")]),
            m.sum("openim_shim_shadow_dropped_total", &[]),
        );
        println!(
            "  {name}: {} errors, {} copies dropped",
            errors as u64, dropped as u64
        );
        assert_eq!(
            m.sum("openim_shim_shadow_total", &[("agreement", "same")]),
            0.0
        );
    }
}

/// With `capture.hashKey`, user and group IDs are hashed in the captured bodies and in the
/// captured replies alike (SetGroupInfo's reply echoes its request): a replay of every
/// before-callback fixture against the same policy finds no change, and no plain ID is left in
/// the files.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_capture_with_hashed_ids_replays_without_spurious_changes() {
    let dir = tempfile::tempdir().unwrap();
    let policy = openim_tests::spawn_policy_with_rules(
        "wordLists:\n  - {name: abuse, action: refuse, words: [scam]}\n  \
         - {name: spam, action: mask, words: [spam.example]}\n",
    )
    .await;
    let capture = dir.path().join("capture");
    let settings = openim_tests::shim_settings_yaml(
        &policy.url(),
        &format!(
            "capture: {{enabled: true, dir: {}, hashKey: 0123456789abcdef}}\n\
             shutdown: {{drainDelay: 1ms, timeout: 5s}}\n",
            capture.display()
        ),
    );
    let shim = openim_tests::spawn_shim(settings).await;
    let mut posted = 0;
    for c in openim_shim::commands::COMMANDS {
        let path = openim_tests::fixture_path(&format!("{}.json", c.name));
        if c.kind != openim_shim::commands::Kind::Before || !path.exists() {
            continue;
        }
        openim_tests::post_fixture(shim.addr, c.name, &format!("op-{posted}")).await;
        posted += 1;
    }
    assert!(posted >= 20, "{posted}");
    shim.stop().await;

    let text: String = capture_lines(&capture)
        .iter()
        .map(|l| {
            assert_eq!(l["idsHashed"], true, "{l}");
            l.to_string()
        })
        .collect();
    // Fixture IDs: Alice, Bob, a group; pseudonyms instead.
    for id in ["4826475913", "7190283365", "2841935067"] {
        assert!(
            !text.contains(&format!("\"{id}\"")),
            "{id} left in the capture"
        );
    }
    assert!(text.contains("\"h:"));

    let args = openim_shim::replay::ReplayArgs {
        capture: vec![capture],
        policy: policy.url(),
        timeout: Duration::from_secs(2),
        concurrency: 1,
        max_changed: Some("0".parse().unwrap()),
        max_errors: 0,
        report: None,
        examples: 3,
        refuse_code: 5000,
    };
    let finished = openim_shim::replay::run(&args).await.unwrap();
    println!("{}", finished.report.table());
    assert!(finished.failures().is_empty(), "{:?}", finished.failures());
    use openim_shim::compare::Agreement;
    assert_eq!(finished.report.count(Agreement::Same), posted as u64);
}
