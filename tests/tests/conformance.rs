//! The conformance kit against every policy implementation of this repository: the default
//! Rust engine with `examples/conformance/rules.yaml`, and the reference policies in Go, Python
//! and Node (`examples/policy-*`), each started as a child process on a free port.
//!
//! The examples need their toolchains' packages: `scripts/setup-examples` installs them into
//! the repository (Go modules, a Python virtualenv, `node_modules`); these tests run it first,
//! and it returns at once when everything is in place.

use openim_tests::{
    conformance::{self, KitSettings, Report, Scenario},
    repo_path, spawn_policy,
};

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
