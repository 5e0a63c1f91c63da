//! The conformance kit: one scenario table (OpenIM requests → what the reply must mean to
//! OpenIM) run through the real shim against any policy. Every policy implementation of this
//! repository passes it (`tests/tests/conformance.rs`), and a policy author runs it against
//! their own policy with `cargo run -p openim-tests --bin conformance -- --policy URL`.
//!
//! - [`scenario`]: the table, read from YAML (`examples/conformance/scenario.yaml`).
//! - [`tap`]: a recording proxy between the shim and the policy: it shows how the policy
//!   answered each call, including after-events, whose answers OpenIM never sees.
//! - [`check`]: judges one reply against a case's expectation.
//! - [`run`](mod@run): starts the shim and the tap and runs the cases.

pub mod check;
pub mod run;
pub mod scenario;
pub mod tap;

pub use run::{CaseResult, KitSettings, Report, run};
pub use scenario::{Scenario, ScenarioError};
