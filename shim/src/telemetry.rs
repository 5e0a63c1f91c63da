//! Prometheus metrics: the process-wide recorder behind `GET /metrics`, and the descriptions of
//! every metric the shim records (the `# HELP` lines).
//!
//! The `metrics` facade has one global recorder per process, so every shim in a process (tests
//! run several) shares one registry.

use std::{sync::OnceLock, time::Duration};

use metrics::{Counter, Histogram, describe_counter, describe_gauge, describe_histogram};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

use crate::{
    commands::Command,
    outcome::{Cause, Outcome},
};

/// Latency buckets, in seconds: from the 100 µs of a cached answer to OpenIM's 15 s cap.
const LATENCY_BUCKETS: &[f64] = &[
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
    5.0, 10.0, 15.0,
];

/// How often histogram samples are folded into buckets (the exporter's "upkeep"), so memory
/// stays bounded between scrapes.
const UPKEEP_INTERVAL: Duration = Duration::from_secs(5);

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// The metrics of one command, recorded on every callback. The handles are resolved once per
/// command (see `PerCallback::metrics`): the `metrics` macros with labels build, allocate and
/// look up a key on every call.
#[derive(Debug)]
pub(crate) struct CallbackMetrics {
    command: &'static str,
    /// By outcome, registered on first use: a histogram per command and outcome from the start
    /// would put ~500 empty histograms in `/metrics`.
    durations: [OnceLock<Histogram>; Outcome::ALL.len()],
    outcomes: [Counter; Outcome::ALL.len()],
}

impl CallbackMetrics {
    /// The handles of `command`; registering them adds its series to `/metrics`.
    pub(crate) fn new(command: &'static Command) -> Self {
        Self {
            command: command.name,
            durations: Default::default(),
            outcomes: Outcome::ALL.map(|outcome| {
                metrics::counter!(
                    "openim_shim_callbacks_total",
                    "command" => command.name, "outcome" => outcome.as_str()
                )
            }),
        }
    }

    /// Counts one answered callback with `outcome` and records how long it took.
    pub(crate) fn record(&self, outcome: Outcome, took: Duration) {
        self.durations[outcome as usize]
            .get_or_init(|| {
                metrics::histogram!("openim_shim_callback_duration_seconds",
                    "command" => self.command, "outcome" => outcome.as_str())
            })
            .record(took.as_secs_f64());
        self.outcomes[outcome as usize].increment(1);
    }

    /// The counter of before-callbacks without a decision because of `cause` (a rare path: the
    /// handle is looked up when needed).
    pub(crate) fn failure(&self, cause: Cause) -> Counter {
        metrics::counter!("openim_shim_policy_failures_total",
            "command" => self.command, "cause" => cause.as_str())
    }

    /// The counter of policy changes to `field` rejected by the mutation guard.
    pub(crate) fn rejected(&self, field: &'static str) -> Counter {
        metrics::counter!("openim_shim_rejected_changes_total",
            "command" => self.command, "field" => field)
    }
}

/// The handle that renders the process's metrics; installs the recorder on first use.
pub fn prometheus() -> PrometheusHandle {
    HANDLE.get_or_init(install).clone()
}

fn install() -> PrometheusHandle {
    // `set_buckets` only fails on an empty list.
    let builder = PrometheusBuilder::new()
        .set_buckets(LATENCY_BUCKETS)
        .unwrap_or_else(|_| PrometheusBuilder::new());
    let recorder = builder.build_recorder();
    let handle = recorder.handle();
    if metrics::set_global_recorder(recorder).is_err() {
        tracing::warn!(
            "another metrics recorder is installed in this process: /metrics shows nothing"
        );
    }
    let upkeep = handle.clone();
    // A thread, not a task: it must outlive any one runtime (tests start many).
    let spawned = std::thread::Builder::new()
        .name("metrics-upkeep".into())
        .spawn(move || {
            loop {
                std::thread::sleep(UPKEEP_INTERVAL);
                upkeep.run_upkeep();
            }
        });
    if let Err(e) = spawned {
        tracing::warn!(error = %e, "cannot start the metrics upkeep thread");
    }
    describe();
    // Exported from the start at 0, so that an alert's `increase()` sees the first one.
    metrics::counter!("openim_shim_panics_total").absolute(0);
    handle
}

fn describe() {
    describe_counter!(
        "openim_shim_callbacks_total",
        "Callbacks answered, by command and outcome: continue, refuse, modify (policy decisions), \
         fail_open, fail_closed (no decision: onError applied), unimplemented, disabled \
         (no policy call), accepted, dropped, malformed (after-callbacks)."
    );
    describe_counter!(
        "openim_shim_policy_failures_total",
        "Before-callbacks without a policy decision, by command and cause: unavailable, timeout, \
         error (gRPC error status), malformed (body), body (unreadable), panic (a shim bug)."
    );
    describe_counter!(
        "openim_shim_rejected_changes_total",
        "Policy changes not forwarded because they would break OpenIM, by command and field."
    );
    describe_histogram!(
        "openim_shim_callback_duration_seconds",
        metrics::Unit::Seconds,
        "Time to answer OpenIM, by command and outcome."
    );
    describe_gauge!(
        "openim_shim_policy_endpoints",
        "Policy endpoints by pool and state (usable, ejected, not_serving, connecting, \
         disconnected), as of the scrape."
    );
    describe_counter!(
        "openim_shim_unknown_commands_total",
        "Callbacks with a command the shim does not serve (answered continue)."
    );
    describe_counter!(
        "openim_shim_panics_total",
        "Handler panics (answered like a policy failure, with the callback's onError)."
    );
    describe_counter!(
        "openim_shim_after_deliveries_total",
        "After-events done with, by command and result: delivered, unimplemented, duplicate \
         (ALREADY_EXISTS), rejected (INVALID_ARGUMENT)."
    );
    describe_counter!(
        "openim_shim_after_retries_total",
        "Failed after-event delivery attempts that will be retried, by command and cause."
    );
    describe_counter!(
        "openim_shim_after_dropped_total",
        "After-events lost, by command and reason: queue_full, spool_full, expired, \
         shutting_down, shutdown (in-memory spool), spool_error (storage failure), corrupt, \
         unknown_command, trimmed (deleted from the Redis stream by someone else)."
    );
    describe_gauge!(
        "openim_shim_after_queue_depth",
        "After-events accepted and not yet written to the spool."
    );
    describe_gauge!(
        "openim_shim_after_in_flight",
        "After-events being delivered (including waits between retries)."
    );
    describe_gauge!(
        "openim_shim_spool_events",
        "After-events waiting for delivery, by backend: local (this shim's spool; with Redis, \
         the fallback), redis (the whole stream, every shim's)."
    );
    describe_counter!(
        "openim_shim_capture_written_total",
        "Callbacks written to the capture files."
    );
    describe_counter!(
        "openim_shim_capture_dropped_total",
        "Callbacks not captured because the capture's queue was full."
    );
    describe_counter!(
        "openim_shim_capture_errors_total",
        "Capture records that could not be written (disk full, permissions)."
    );
    describe_counter!(
        "openim_shim_shadow_total",
        "Shadow policy answers, by command and agreement with the primary's: same, \
         continue_to_refuse, refuse_to_continue, different_code, different_rewrite, error."
    );
    describe_counter!(
        "openim_shim_shadow_dropped_total",
        "Before-callbacks not copied to the shadow policy: shadow.concurrency calls in flight."
    );
    describe_gauge!(
        "openim_shim_spool_bytes",
        metrics::Unit::Bytes,
        "Bytes of after-event records in the local spool."
    );
    describe_gauge!(
        "openim_shim_spool_file_bytes",
        metrics::Unit::Bytes,
        "Size of the local spool's file (at most spool.maxBytes)."
    );
    describe_gauge!(
        "openim_shim_spool_oldest_age_seconds",
        metrics::Unit::Seconds,
        "Age of the oldest after-event waiting for delivery, by backend (0: none). Alert on it."
    );
    describe_gauge!(
        "openim_shim_spool_pending",
        "Redis stream entries read by a shim and not yet acknowledged (being delivered)."
    );
    describe_histogram!(
        "openim_shim_spool_commit_delay_seconds",
        metrics::Unit::Seconds,
        "From an after-event's acknowledgement to OpenIM until it is stored (fsync, or the \
         XADD's reply), by backend: what a crash can lose."
    );
    describe_counter!(
        "openim_shim_spool_claimed_total",
        "Redis entries taken over from another shim that stopped delivering them (XAUTOCLAIM)."
    );
    describe_counter!(
        "openim_shim_spool_fallback_total",
        "After-events written to the local spool because Redis could not take them."
    );
    describe_counter!(
        "openim_shim_spool_moved_total",
        "After-events moved from the local spool to Redis once it answered again."
    );
    describe_counter!(
        "openim_shim_spool_redis_errors_total",
        "Failed Redis commands, by operation."
    );
    describe_counter!(
        "openim_shim_spool_reopens_total",
        "Reopenings of the local spool's database after a storage error."
    );
}
