//! `conformance`: runs the conformance kit against a running policy service and prints one line
//! per case and a summary; exits 1 if any case fails.
//!
//! ```sh
//! cargo run -p openim-tests --bin conformance -- --policy http://127.0.0.1:50051
//! ```
//!
//! The real shim runs inside this process, with a recording proxy between it and the policy;
//! see `docs/write-a-policy.md`.

use std::{path::PathBuf, process::ExitCode, time::Duration};

use clap::Parser;
use openim_common::parse_duration;
use openim_tests::conformance::{self, KitSettings, Scenario};

/// Command line of `conformance`.
#[derive(Debug, Parser)]
#[command(
    name = "conformance",
    about = "Runs the openim-policy conformance scenario through the real shim against a policy service."
)]
struct Args {
    /// gRPC URL of the policy under test.
    #[arg(long, env = "CONFORMANCE_POLICY")]
    policy: String,

    /// Scenario file (YAML); fixture paths in it are relative to it.
    #[arg(long, default_value_os_t = Scenario::default_path())]
    scenario: PathBuf,

    /// The shim's deadline for each policy decision.
    #[arg(long, default_value = "5s", value_parser = parse_duration)]
    timeout: Duration,

    /// How long to wait for an after-event to reach the policy.
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    after_wait: Duration,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    let scenario = match Scenario::load(&args.scenario) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("conformance: {e}");
            return ExitCode::from(2);
        }
    };
    let settings = KitSettings {
        timeout: args.timeout,
        after_wait: args.after_wait,
    };
    println!(
        "conformance: {} cases from {} against {}",
        scenario.cases.len(),
        args.scenario.display(),
        args.policy
    );
    let report = conformance::run(&scenario, &args.policy, settings).await;
    println!("{report}");
    if report.failed() == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
