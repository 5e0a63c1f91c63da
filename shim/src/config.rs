//! The shim's settings and its command line. Every flag can also be set by an environment
//! variable (`OPENIM_SHIM_*`), so containers need no arguments.

use std::{net::SocketAddr, path::PathBuf, time::Duration};

use openim_common::{parse_duration, telemetry::LogFormat};

use clap::Parser;

/// Default listen address: the port of OpenIM's sample `webhooks.yml` URL.
pub const DEFAULT_LISTEN: &str = "0.0.0.0:10006";
/// Default policy service URL.
pub const DEFAULT_POLICY: &str = "http://127.0.0.1:50051";

/// What to answer OpenIM when the policy gives no decision (error status, timeout, unreachable)
/// or a before-callback body cannot be decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OnError {
    /// Let the operation through (fail open).
    Continue,
    /// Refuse the operation with this error (fail closed).
    Refuse {
        /// errCode returned to the client; non-zero.
        err_code: i32,
        /// errMsg returned to the client.
        err_msg: String,
    },
}

/// Everything the shim needs to run.
#[derive(Debug, Clone)]
pub struct Settings {
    /// gRPC URL of the policy service.
    pub policy_url: String,
    /// Deadline of a before-callback's policy call (sent as the gRPC deadline).
    pub timeout: Duration,
    /// Deadline of one after-event delivery.
    pub after_timeout: Duration,
    /// Failure mode of before-callbacks.
    pub on_error: OnError,
    /// errCode used when the policy refuses with code 0 (OpenIM would lose a zero code).
    pub refuse_err_code: i32,
    /// Largest accepted request body.
    pub max_body_bytes: usize,
    /// After-events waiting for delivery, at most.
    pub after_queue_capacity: usize,
    /// After-event deliveries in flight, at most.
    pub after_concurrency: usize,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            policy_url: DEFAULT_POLICY.to_owned(),
            timeout: Duration::from_secs(1),
            after_timeout: Duration::from_secs(5),
            on_error: OnError::Continue,
            refuse_err_code: 5000,
            max_body_bytes: 4 << 20,
            after_queue_capacity: 10_000,
            after_concurrency: 64,
        }
    }
}

/// `--on-error` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OnErrorArg {
    /// Let the operation through.
    Continue,
    /// Refuse it with `--on-error-code` / `--on-error-msg`.
    Refuse,
}

/// Command line of `openim-shim`.
#[derive(Debug, Parser)]
#[command(
    name = "openim-shim",
    version,
    about = "Receives OpenIM webhook callbacks, asks a gRPC policy service, answers in OpenIM's format.",
    long_about = "Receives OpenIM webhook callbacks, asks a gRPC policy service, answers in OpenIM's format.\n\n\
        Point OpenIM's webhooks.yml `url` at http://<this host>:<port>/callbackExample (any path \
        prefix works: the command is the last path segment)."
)]
pub struct Args {
    /// Address to listen on for OpenIM's callbacks.
    #[arg(long, env = "OPENIM_SHIM_LISTEN", default_value = DEFAULT_LISTEN)]
    pub listen: SocketAddr,

    /// gRPC URL of the policy service.
    #[arg(long, env = "OPENIM_SHIM_POLICY", default_value = DEFAULT_POLICY)]
    pub policy: String,

    /// Policy deadline for before-callbacks, e.g. 1s or 500ms. Keep it well under OpenIM's
    /// webhook timeout (5 s in the sample config, 15 s at most).
    #[arg(long, env = "OPENIM_SHIM_TIMEOUT", default_value = "1s", value_parser = parse_before_timeout)]
    pub timeout: Duration,

    /// Deadline of one after-event delivery.
    #[arg(long, env = "OPENIM_SHIM_AFTER_TIMEOUT", default_value = "5s", value_parser = parse_duration)]
    pub after_timeout: Duration,

    /// What before-callbacks answer when the policy gives no decision or the body is malformed.
    #[arg(long, env = "OPENIM_SHIM_ON_ERROR", value_enum, default_value_t = OnErrorArg::Continue)]
    pub on_error: OnErrorArg,

    /// errCode of refusals made by `--on-error refuse`.
    #[arg(long, env = "OPENIM_SHIM_ON_ERROR_CODE", default_value_t = 5000,
          value_parser = parse_err_code)]
    pub on_error_code: i32,

    /// errMsg of refusals made by `--on-error refuse`.
    #[arg(
        long,
        env = "OPENIM_SHIM_ON_ERROR_MSG",
        default_value = "operation refused: policy unavailable"
    )]
    pub on_error_msg: String,

    /// errCode used when the policy refuses with code 0.
    #[arg(long, env = "OPENIM_SHIM_REFUSE_CODE", default_value_t = 5000, value_parser = parse_err_code)]
    pub refuse_code: i32,

    /// Largest accepted request body, in bytes.
    #[arg(long, env = "OPENIM_SHIM_MAX_BODY", default_value_t = 4 << 20)]
    pub max_body: usize,

    /// After-events waiting for delivery, at most; more are dropped (logged and counted).
    #[arg(long, env = "OPENIM_SHIM_AFTER_QUEUE", default_value_t = 10_000,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub after_queue: u32,

    /// After-event deliveries in flight, at most.
    #[arg(long, env = "OPENIM_SHIM_AFTER_CONCURRENCY", default_value_t = 64,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub after_concurrency: u32,

    /// Try-out mode: also run the default policy inside this process, on a loopback port, and
    /// use it instead of `--policy`. Production runs `openim-policy` as its own service.
    #[arg(long, env = "OPENIM_SHIM_WITH_POLICY")]
    pub with_policy: bool,

    /// Log format (the level is set with `RUST_LOG`, default `info`).
    #[arg(long, env = "OPENIM_SHIM_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,

    /// Rules file for `--with-policy`.
    #[arg(long, env = "OPENIM_POLICY_RULES", requires = "with_policy")]
    pub rules: Option<PathBuf>,
}

impl Args {
    /// The settings these arguments describe.
    pub fn settings(&self) -> Settings {
        Settings {
            policy_url: self.policy.clone(),
            timeout: self.timeout,
            after_timeout: self.after_timeout,
            on_error: match self.on_error {
                OnErrorArg::Continue => OnError::Continue,
                OnErrorArg::Refuse => OnError::Refuse {
                    err_code: self.on_error_code,
                    err_msg: self.on_error_msg.clone(),
                },
            },
            refuse_err_code: self.refuse_code,
            max_body_bytes: self.max_body,
            after_queue_capacity: self.after_queue as usize,
            after_concurrency: self.after_concurrency as usize,
        }
    }
}

/// Longest useful before-callback deadline: OpenIM's HTTP client gives up after 15 s whatever
/// its config says (PROTOCOL.md §1.3).
pub const MAX_BEFORE_TIMEOUT: Duration = Duration::from_secs(15);

/// A duration, at most [`MAX_BEFORE_TIMEOUT`].
pub fn parse_before_timeout(s: &str) -> Result<Duration, String> {
    let d = parse_duration(s)?;
    if d > MAX_BEFORE_TIMEOUT {
        return Err(format!(
            "{s} is above OpenIM's 15 s cap: OpenIM would give up first"
        ));
    }
    Ok(d)
}

fn parse_err_code(s: &str) -> Result<i32, String> {
    match s.parse::<i32>() {
        Ok(0) => Err("must be non-zero: OpenIM loses a zero errCode".to_owned()),
        Ok(n) => Ok(n),
        Err(e) => Err(e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn before_timeouts_are_capped_at_openim_s_limit() {
        assert!(parse_before_timeout("16s").is_err());
        assert_eq!(parse_before_timeout("15s"), Ok(MAX_BEFORE_TIMEOUT));
    }

    #[test]
    fn defaults_are_the_documented_ones() {
        let args = Args::try_parse_from(["openim-shim"]).unwrap();
        assert_eq!(args.listen, DEFAULT_LISTEN.parse().unwrap());
        let s = args.settings();
        assert_eq!(s.policy_url, DEFAULT_POLICY);
        assert_eq!(s.timeout, Duration::from_secs(1));
        assert_eq!(s.on_error, OnError::Continue);
    }

    #[test]
    fn on_error_refuse_carries_its_code_and_message() {
        let args = Args::try_parse_from([
            "openim-shim",
            "--on-error",
            "refuse",
            "--on-error-code",
            "5100",
        ])
        .unwrap();
        assert_eq!(
            args.settings().on_error,
            OnError::Refuse {
                err_code: 5100,
                err_msg: "operation refused: policy unavailable".into()
            }
        );
        assert!(Args::try_parse_from(["openim-shim", "--on-error-code", "0"]).is_err());
    }

    #[test]
    fn rules_need_with_policy() {
        assert!(Args::try_parse_from(["openim-shim", "--rules", "r.yaml"]).is_err());
        assert!(
            Args::try_parse_from(["openim-shim", "--with-policy", "--rules", "r.yaml"]).is_ok()
        );
    }
}
