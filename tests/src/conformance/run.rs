//! Runs a scenario: the real shim (in this process) in front of the tap in front of the policy
//! under test; each case's request is posted the way OpenIM posts it.

use std::{fmt, time::Duration};

use openim_shim::commands::Kind;

use super::{
    check,
    scenario::{Case, Expect, PolicyAnswer, Scenario},
    tap::Tap,
};
use crate::{openim_http, shim_settings, spawn_grpc, spawn_shim};

/// How the kit runs the shim.
#[derive(Debug, Clone, Copy)]
pub struct KitSettings {
    /// The shim's deadline for the policy's decision. Generous by default: the kit checks
    /// decisions, not speed.
    pub timeout: Duration,
    /// How long to wait for an after-event to reach the policy.
    pub after_wait: Duration,
}

impl Default for KitSettings {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(5),
            after_wait: Duration::from_secs(10),
        }
    }
}

/// The outcome of one case.
#[derive(Debug, Clone)]
pub struct CaseResult {
    /// The case's name.
    pub name: String,
    /// The command posted.
    pub command: String,
    /// What was wrong; empty when it passed.
    pub problems: Vec<String>,
}

/// The outcome of a whole scenario.
#[derive(Debug, Clone)]
pub struct Report {
    /// One result per case, in order.
    pub cases: Vec<CaseResult>,
}

impl Report {
    /// Number of cases that passed.
    pub fn passed(&self) -> usize {
        self.cases.iter().filter(|c| c.problems.is_empty()).count()
    }

    /// Number of cases that failed.
    pub fn failed(&self) -> usize {
        self.cases.len() - self.passed()
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for case in &self.cases {
            let verdict = if case.problems.is_empty() {
                "ok  "
            } else {
                "FAIL"
            };
            writeln!(f, "{verdict} {} ({})", case.name, case.command)?;
            for p in &case.problems {
                writeln!(f, "       {p}")?;
            }
        }
        write!(f, "{} passed, {} failed", self.passed(), self.failed())
    }
}

/// Runs every case of `scenario` against the policy at `policy_url`.
pub async fn run(scenario: &Scenario, policy_url: &str, settings: KitSettings) -> Report {
    let tap = match Tap::new(policy_url) {
        Ok(tap) => tap,
        Err(e) => {
            return Report {
                cases: scenario
                    .cases
                    .iter()
                    .map(|c| CaseResult {
                        name: c.name.clone(),
                        command: c.command.clone(),
                        problems: vec![format!("invalid policy URL {policy_url:?}: {e}")],
                    })
                    .collect(),
            };
        }
    };
    let tap_server = spawn_grpc(tap.clone().router()).await;
    let mut shim = shim_settings(&tap_server.url());
    shim.timeout = settings.timeout;
    shim.after_timeout = settings.timeout;
    let shim = spawn_shim(shim).await;

    let mut cases = Vec::with_capacity(scenario.cases.len());
    for (i, case) in scenario.cases.iter().enumerate() {
        // A distinct operation ID per case tells the policy's calls apart.
        let operation_id = format!("conformance-{}", i + 1);
        let problems = run_case(case, &operation_id, shim.addr, &tap, settings).await;
        cases.push(CaseResult {
            name: case.name.clone(),
            command: case.command.clone(),
            problems,
        });
    }
    shim.stop().await;
    tap_server.stop().await;
    Report { cases }
}

async fn run_case(
    case: &Case,
    operation_id: &str,
    shim: std::net::SocketAddr,
    tap: &Tap,
    settings: KitSettings,
) -> Vec<String> {
    let path = format!("/openim/{}", case.command);
    let reply = openim_http::post(shim, &path, &case.body, Some(operation_id)).await;
    let mut problems = Vec::new();
    if reply.status != 200 {
        problems.push(format!("HTTP status {} (OpenIM needs 200)", reply.status));
    }
    problems.extend(check::problems(&case.expect, &case.body, &reply.body));

    // Before-callbacks were answered by the policy before OpenIM got its reply; after-events
    // are delivered in the background.
    let wait = match case.kind {
        Kind::Before => settings.timeout + Duration::from_secs(1),
        Kind::After => settings.after_wait,
    };
    match tap.call(case.rpc, operation_id, wait).await {
        None => problems.push(format!(
            "the policy was never called ({} with operationid {operation_id})",
            case.rpc
        )),
        Some(call) => {
            let want = match case.policy {
                PolicyAnswer::Ok => tonic::Code::Ok,
                PolicyAnswer::Unimplemented => tonic::Code::Unimplemented,
            };
            if call.code != want {
                let detail = if call.message.is_empty() {
                    String::new()
                } else {
                    format!(": {}", call.message)
                };
                let why = match (want, case.expect == Expect::Counted) {
                    (tonic::Code::Ok, true) => " (so the after-event was not counted)",
                    (tonic::Code::Ok, false) => " (a continue that the policy did not decide)",
                    _ => "",
                };
                problems.push(format!(
                    "{} answered {:?}{detail}, expected {want:?}{why}",
                    case.rpc, call.code
                ));
            }
        }
    }
    problems
}
