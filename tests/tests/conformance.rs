//! The conformance kit against every policy implementation of this repository: the default
//! Rust engine with `examples/conformance/rules.yaml`, and the reference policies in Go, Python,
//! Node and Java (`examples/policy-*`), each started as a child process on a free port.
//!
//! The examples need their toolchains' packages: `scripts/setup-polyglot` installs them (Go
//! modules, a Python virtualenv, `node_modules`, the Java policy's Maven dependencies); these
//! tests run it first, and it returns at once when everything is in place.

use std::{process::Command, sync::OnceLock, time::Duration};

use openim_tests::{
    child_policy::ChildPolicy,
    conformance::{self, KitSettings, Report, Scenario, scenario::Expect},
    repo_path, spawn_policy,
};

/// How long a reference policy may take to start (a cold Python or Node start on a loaded
/// machine is a few seconds).
const READY_WITHIN: Duration = Duration::from_secs(60);

fn scenario() -> Scenario {
    Scenario::load(&Scenario::default_path()).expect("the shipped scenario loads")
}

/// Fails the test with the report unless every case passed.
fn assert_conforms(name: &str, report: &Report) {
    println!("{name}:\n{report}");
    assert_eq!(report.failed(), 0, "{name} does not conform:\n{report}");
    assert!(report.passed() > 0, "the scenario ran no case");
}

#[tokio::test]
async fn the_default_engine_with_the_scenario_rules_conforms() {
    let rules = repo_path("examples/conformance/rules.yaml");
    let engine = openim_policy::RuleEngine::from_path(&rules).expect("scenario rules load");
    let policy = spawn_policy(openim_policy::Policy::new(engine)).await;
    let report = conformance::run(&scenario(), &policy.url(), KitSettings::default()).await;
    policy.stop().await;
    assert_conforms("rust", &report);
}

#[tokio::test]
async fn a_policy_without_rules_fails_the_kit_case_by_case() {
    // The kit must be able to fail: the default engine without rules continues everything, so
    // every refusal, mask and push case fails, and the others still pass.
    let policy = spawn_policy(openim_policy::Policy::load(None).expect("no rules")).await;
    let report = conformance::run(&scenario(), &policy.url(), KitSettings::default()).await;
    policy.stop().await;
    let failed: Vec<_> = report
        .cases
        .iter()
        .filter(|c| !c.problems.is_empty())
        .map(|c| c.command.as_str())
        .collect();
    assert_eq!(
        failed,
        [
            "callbackBeforeSendSingleMsgCommand",
            "callbackBeforeSendGroupMsgCommand",
            "callbackBeforeMsgModifyCommand",
            "callbackBeforeOfflinePushCommand",
        ],
        "{report}"
    );
}

#[tokio::test]
async fn a_policy_that_is_down_fails_every_case() {
    // The shim continues when the policy is unreachable: only the tap tells that nobody
    // decided.
    let nowhere = format!("http://{}", openim_tests::closed_port().await);
    let settings = KitSettings {
        after_wait: std::time::Duration::from_secs(2),
        ..KitSettings::default()
    };
    let report = conformance::run(&scenario(), &nowhere, settings).await;
    assert_eq!(report.passed(), 0, "{report}");
}

/// Installs the examples' dependencies (`scripts/setup-polyglot`), once per test process.
fn setup() {
    static DONE: OnceLock<()> = OnceLock::new();
    DONE.get_or_init(|| {
        let status = Command::new(repo_path("scripts/setup-polyglot"))
            .status()
            .expect("run scripts/setup-polyglot");
        assert!(status.success(), "scripts/setup-polyglot failed");
    });
}

/// Runs the kit against a reference policy, then checks that the policy counted the scenario's
/// after-events itself: it logs `count=N` on each one.
async fn assert_example_conforms(name: &str, policy: ChildPolicy) {
    let scenario = scenario();
    let report = conformance::run(&scenario, &policy.url(), KitSettings::default()).await;
    assert_conforms(name, &report);
    let counted = scenario
        .cases
        .iter()
        .filter(|c| c.expect == Expect::Counted)
        .count();
    let want = format!("count={counted}");
    let line = policy
        .wait_for_line(Duration::from_secs(10), |l| {
            l.contains("after-event") && l.split_whitespace().any(|t| t == want)
        })
        .await;
    assert!(
        line.is_some(),
        "the {name} policy did not log {want} for its after-events:\n{}",
        policy.log().join("\n")
    );
}

#[tokio::test]
async fn the_go_reference_policy_conforms() {
    setup();
    let bin = repo_path("target/examples/policy-go");
    let status = Command::new("go")
        .args(["build", "-o"])
        .arg(&bin)
        .arg(".")
        .current_dir(repo_path("examples/policy-go"))
        .status()
        .expect("run go build");
    assert!(status.success(), "go build of examples/policy-go failed");
    let mut command = Command::new(bin);
    command.args(["--listen", "{addr}"]);
    let policy = ChildPolicy::start("go", command, READY_WITHIN).await;
    assert_example_conforms("go", policy).await;
}

#[tokio::test]
async fn the_python_reference_policy_conforms() {
    setup();
    let dir = repo_path("examples/policy-python");
    let mut command = Command::new(dir.join(".venv/bin/python"));
    command
        .args(["policy.py", "--listen", "{addr}"])
        .current_dir(dir);
    let policy = ChildPolicy::start("python", command, READY_WITHIN).await;
    assert_example_conforms("python", policy).await;
}

#[tokio::test]
async fn the_node_reference_policy_conforms() {
    setup();
    let dir = repo_path("examples/policy-node");
    let mut command = Command::new("node");
    command
        .args(["policy.js", "--listen", "{addr}"])
        .current_dir(dir);
    let policy = ChildPolicy::start("node", command, READY_WITHIN).await;
    assert_example_conforms("node", policy).await;
}

#[tokio::test]
async fn the_java_reference_policy_conforms() {
    setup();
    let dir = repo_path("examples/policy-java");
    // Generates the stubs from proto/, compiles, and writes target/policy-java.jar (its
    // dependencies in target/lib); the unit tests run in scripts/test. An up-to-date build
    // (scripts/setup-polyglot made one) takes a few seconds.
    let status = Command::new("mvn")
        .args(["-q", "-B", "package", "-DskipTests"])
        .current_dir(&dir)
        .status()
        .expect("run mvn");
    assert!(
        status.success(),
        "mvn package of examples/policy-java failed"
    );
    let mut command = Command::new("java");
    command
        .args(["-jar", "target/policy-java.jar", "--listen", "{addr}"])
        .current_dir(dir);
    let policy = ChildPolicy::start("java", command, READY_WITHIN).await;
    assert_example_conforms("java", policy).await;
}
