//! The shim's settings: its command line, the config file and the environment overrides, and
//! how they resolve into each callback's settings.
//!
//! Layers, lowest first: built-in defaults; command-line flags (each can also be set by its
//! environment variable, `OPENIM_SHIM_*` in `--help`); the config file (`--config`, see
//! [`file`](mod@file)); the environment overrides `OPENIM_SHIM_<SECTION>_<FIELD>`. For one callback, the
//! most specific section that sets a field wins: its own section (`beforeSendSingleMsg`), then its
//! kind's (`before`/`after`), then `default`, then the flags.

pub mod file;

use std::{net::SocketAddr, path::PathBuf, time::Duration};

use openim_common::{parse_duration, telemetry::LogFormat};

use clap::Parser;

pub use file::{CallbackConfig, CallbackOverrides, ConfigError, FileConfig};

use crate::{
    commands::{Command, Kind},
    policy_client::ClientSettings,
};

/// Default listen address: the port of OpenIM's sample `webhooks.yml` URL.
pub const DEFAULT_LISTEN: &str = "0.0.0.0:10006";
/// Default policy service URL.
pub const DEFAULT_POLICY: &str = "http://127.0.0.1:50051";
/// Default directory of the after-event spool, relative to the working directory.
pub const DEFAULT_SPOOL_DIR: &str = "./data/spool";
/// Default errCode of refusals made by `onError: refuse`.
pub const DEFAULT_ON_ERROR_CODE: i32 = 5000;
/// Default errMsg of refusals made by `onError: refuse`.
pub const DEFAULT_ON_ERROR_MSG: &str = "operation refused: policy unavailable";

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

/// `onError` as a config section sets it; the refusal's code and message are separate settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnErrorMode {
    /// Fail open.
    Continue,
    /// Fail closed.
    Refuse,
}

/// Everything the shim needs to run.
#[derive(Debug, Clone)]
pub struct Settings {
    /// gRPC URL of the policy service: http://host:port, or unix:/path/to.sock for a policy next
    /// to the shim on a Unix domain socket.
    pub policy_url: String,
    /// Default deadline of a before-callback's policy call (sent as the gRPC deadline).
    pub timeout: Duration,
    /// Default deadline of one after-event delivery attempt.
    pub after_timeout: Duration,
    /// Default failure mode of before-callbacks.
    pub on_error: OnError,
    /// errCode and errMsg of `onError: refuse` set in a config section without its own
    /// `errCode`/`errMsg`, when [`Settings::on_error`] is `Continue` (when it is `Refuse`, its
    /// code and message are the defaults).
    pub on_error_refusal: (i32, String),
    /// errCode used when the policy refuses with code 0 (OpenIM would lose a zero code).
    pub refuse_err_code: i32,
    /// Largest accepted request body.
    pub max_body_bytes: usize,
    /// After-events accepted but not yet written to the spool, at most; more are dropped
    /// (logged and counted).
    pub after_queue_capacity: usize,
    /// After-event deliveries in flight, at most.
    pub after_concurrency: usize,
    /// How long the policy's UNIMPLEMENTED answer to a before-callback is remembered, per RPC:
    /// meanwhile that callback continues without a round trip.
    pub unimplemented_ttl: Duration,
    /// Retries of after-event deliveries.
    pub retry: RetrySettings,
    /// The after-event spool.
    pub spool: SpoolSettings,
    /// Per-callback sections of the config file and the environment.
    pub callbacks: CallbackConfig,
    /// How the policy's endpoints are reached (its targets come from `policy_url`).
    pub policy: ClientSettings,
}

/// When failed after-event deliveries are retried: exponential backoff from `initial`, doubling up
/// to `max`, each wait drawn at random between half and all of it (jitter), for at most `max_age`
/// after the event arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetrySettings {
    /// Backoff before the first retry.
    pub initial: Duration,
    /// Longest backoff.
    pub max: Duration,
    /// How long an event is retried before it is given up (logged and counted).
    pub max_age: Duration,
}

impl Default for RetrySettings {
    fn default() -> Self {
        Self {
            initial: Duration::from_millis(200),
            max: Duration::from_secs(5),
            max_age: Duration::from_secs(24 * 3600),
        }
    }
}

/// Where after-events wait for delivery, and how many.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpoolSettings {
    /// The directory of the on-disk spool; `None`: in memory (lost on restart).
    pub dir: Option<PathBuf>,
    /// Events kept at most; further events are dropped (logged and counted).
    pub max_events: u64,
    /// Bytes of events kept at most; further events are dropped (logged and counted).
    pub max_bytes: u64,
}

impl Default for SpoolSettings {
    /// In memory: the binary's flags default to a disk spool in [`DEFAULT_SPOOL_DIR`]; library
    /// users (and tests, which run many shims side by side) choose a directory explicitly.
    fn default() -> Self {
        Self {
            dir: None,
            max_events: 1_000_000,
            max_bytes: 1 << 30,
        }
    }
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            policy_url: DEFAULT_POLICY.to_owned(),
            timeout: Duration::from_secs(1),
            after_timeout: Duration::from_secs(5),
            on_error: OnError::Continue,
            on_error_refusal: (DEFAULT_ON_ERROR_CODE, DEFAULT_ON_ERROR_MSG.to_owned()),
            refuse_err_code: 5000,
            max_body_bytes: 4 << 20,
            after_queue_capacity: 10_000,
            after_concurrency: 64,
            unimplemented_ttl: Duration::from_secs(30),
            retry: RetrySettings::default(),
            spool: SpoolSettings::default(),
            callbacks: CallbackConfig::default(),
            policy: ClientSettings::default(),
        }
    }
}

/// One callback's settings, every layer applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallbackSettings {
    /// Forward it to the policy at all. Off: before-callbacks continue without asking,
    /// after-events are acknowledged and not delivered (counted).
    pub enable: bool,
    /// Policy deadline (before) or deadline of one delivery attempt (after).
    pub timeout: Duration,
    /// What a before-callback answers without a policy decision.
    pub on_error: OnError,
    /// How long the policy's UNIMPLEMENTED is remembered (before-callbacks).
    pub unimplemented_ttl: Duration,
}

impl Settings {
    /// The policy client's settings: `policy` with the targets of `policy_url` (a
    /// comma-separated list).
    pub fn client_settings(&self) -> ClientSettings {
        ClientSettings {
            targets: self
                .policy_url
                .split(',')
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .map(str::to_owned)
                .collect(),
            ..self.policy.clone()
        }
    }

    /// The settings of `command`: the most specific section that sets a field wins.
    pub fn callback(&self, command: &Command) -> CallbackSettings {
        let layers = self.callbacks.layers(command);
        fn first<T>(
            layers: &[Option<&CallbackOverrides>],
            get: impl Fn(&CallbackOverrides) -> Option<T>,
        ) -> Option<T> {
            layers.iter().flatten().find_map(|l| get(l))
        }
        let base_timeout = match command.kind {
            Kind::Before => self.timeout,
            Kind::After => self.after_timeout,
        };
        let (base_code, base_msg) = match &self.on_error {
            OnError::Refuse { err_code, err_msg } => (*err_code, err_msg.as_str()),
            OnError::Continue => (self.on_error_refusal.0, self.on_error_refusal.1.as_str()),
        };
        let mode = first(&layers, |l| l.on_error).unwrap_or(match self.on_error {
            OnError::Continue => OnErrorMode::Continue,
            OnError::Refuse { .. } => OnErrorMode::Refuse,
        });
        let on_error = match mode {
            OnErrorMode::Continue => OnError::Continue,
            OnErrorMode::Refuse => OnError::Refuse {
                err_code: first(&layers, |l| l.err_code).unwrap_or(base_code),
                err_msg: first(&layers, |l| l.err_msg.clone())
                    .unwrap_or_else(|| base_msg.to_owned()),
            },
        };
        CallbackSettings {
            enable: first(&layers, |l| l.enable).unwrap_or(true),
            timeout: first(&layers, |l| l.timeout).unwrap_or(base_timeout),
            on_error,
            unimplemented_ttl: first(&layers, |l| l.unimplemented_ttl)
                .unwrap_or(self.unimplemented_ttl),
        }
    }

    /// Applies what the config file and the environment set on top of these settings.
    pub fn apply(&mut self, file: FileConfig) -> Result<(), ConfigError> {
        let FileConfig {
            callbacks,
            delivery,
            spool,
            warnings: _,
        } = file;
        self.callbacks = callbacks;
        if let Some(n) = delivery.concurrency {
            self.after_concurrency = n;
        }
        if let Some(n) = delivery.queue {
            self.after_queue_capacity = n;
        }
        if let Some(d) = delivery.retry_initial {
            self.retry.initial = d;
        }
        if let Some(d) = delivery.retry_max {
            self.retry.max = d;
        }
        if let Some(d) = delivery.max_age {
            self.retry.max_age = d;
        }
        if let Some(dir) = spool.dir {
            self.spool.dir = Some(dir);
        }
        if spool.enabled == Some(false) {
            self.spool.dir = None;
        }
        if let Some(n) = spool.max_events {
            self.spool.max_events = n;
        }
        if let Some(n) = spool.max_bytes {
            self.spool.max_bytes = n;
        }
        if self.retry.initial > self.retry.max {
            return Err(ConfigError::Conflict {
                key: "after.retryInitial".into(),
                message: format!(
                    "{:?} is longer than after.retryMax ({:?})",
                    self.retry.initial, self.retry.max
                ),
            });
        }
        Ok(())
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

    /// gRPC URL of the policy service: http://host:port, or unix:/path/to.sock for a policy next
    /// to the shim on a Unix domain socket.
    #[arg(long, env = "OPENIM_SHIM_POLICY", default_value = DEFAULT_POLICY)]
    pub policy: String,

    /// Config file (YAML) with per-callback settings keyed like OpenIM's webhooks.yml; see
    /// examples/shim.yaml. Its settings override the flags; OPENIM_SHIM_<SECTION>_<FIELD>
    /// environment variables override the file.
    #[arg(long, env = "OPENIM_SHIM_CONFIG")]
    pub config: Option<PathBuf>,

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
    #[arg(long, env = "OPENIM_SHIM_ON_ERROR_CODE", default_value_t = DEFAULT_ON_ERROR_CODE,
          value_parser = parse_err_code)]
    pub on_error_code: i32,

    /// errMsg of refusals made by `--on-error refuse`.
    #[arg(long, env = "OPENIM_SHIM_ON_ERROR_MSG", default_value = DEFAULT_ON_ERROR_MSG)]
    pub on_error_msg: String,

    /// errCode used when the policy refuses with code 0.
    #[arg(long, env = "OPENIM_SHIM_REFUSE_CODE", default_value_t = 5000, value_parser = parse_err_code)]
    pub refuse_code: i32,

    /// Largest accepted request body, in bytes.
    #[arg(long, env = "OPENIM_SHIM_MAX_BODY", default_value_t = 4 << 20)]
    pub max_body: usize,

    /// After-events accepted but not yet written to the spool, at most; more are dropped
    /// (logged and counted).
    #[arg(long, env = "OPENIM_SHIM_AFTER_QUEUE", default_value_t = 10_000,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub after_queue: u32,

    /// After-event deliveries in flight, at most.
    #[arg(long, env = "OPENIM_SHIM_AFTER_CONCURRENCY", default_value_t = 64,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub after_concurrency: u32,

    /// Directory of the after-event spool (created if missing). After-events wait there until
    /// the policy has them, across policy outages and shim restarts.
    #[arg(long, env = "OPENIM_SHIM_SPOOL_DIR", default_value = DEFAULT_SPOOL_DIR)]
    pub spool_dir: PathBuf,

    /// How long a policy's UNIMPLEMENTED answer to a before-callback is remembered: meanwhile
    /// that callback continues without asking.
    #[arg(long, env = "OPENIM_SHIM_UNIMPLEMENTED_TTL", default_value = "30s",
          value_parser = parse_duration)]
    pub unimplemented_ttl: Duration,

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

/// Settings ready to run, and what is worth a warning.
#[derive(Debug)]
pub struct Loaded {
    /// The settings.
    pub settings: Settings,
    /// Things to log that do not stop the shim.
    pub warnings: Vec<String>,
}

impl Args {
    /// The settings the flags alone describe.
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
            on_error_refusal: (self.on_error_code, self.on_error_msg.clone()),
            refuse_err_code: self.refuse_code,
            max_body_bytes: self.max_body,
            after_queue_capacity: self.after_queue as usize,
            after_concurrency: self.after_concurrency as usize,
            unimplemented_ttl: self.unimplemented_ttl,
            retry: RetrySettings::default(),
            spool: SpoolSettings {
                dir: Some(self.spool_dir.clone()),
                ..SpoolSettings::default()
            },
            callbacks: CallbackConfig::default(),
            policy: ClientSettings::default(),
        }
    }

    /// The settings of the flags, the config file (if `--config`) and the environment overrides
    /// read through `env` (the process environment in `main`, a map in tests).
    pub fn load(&self, env: impl Fn(&str) -> Option<String>) -> Result<Loaded, ConfigError> {
        let text = match &self.config {
            Some(path) => {
                Some(
                    std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                        path: path.clone(),
                        source,
                    })?,
                )
            }
            None => None,
        };
        let file = file::parse(text.as_deref().zip(self.config.clone()), env)?;
        let warnings = file.warnings.clone();
        let mut settings = self.settings();
        settings.apply(file)?;
        Ok(Loaded { settings, warnings })
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
    file::err_code(s)
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
        assert_eq!(s.after_timeout, Duration::from_secs(5));
        assert_eq!(s.on_error, OnError::Continue);
        assert_eq!(s.unimplemented_ttl, Duration::from_secs(30));
        // The binary spools on disk by default.
        assert_eq!(s.spool.dir, Some(PathBuf::from(DEFAULT_SPOOL_DIR)));
        assert_eq!(s.spool.max_events, 1_000_000);
        assert_eq!(s.spool.max_bytes, 1 << 30);
        assert_eq!(
            s.retry,
            RetrySettings {
                initial: Duration::from_millis(200),
                max: Duration::from_secs(5),
                max_age: Duration::from_secs(86_400),
            }
        );
        for c in crate::commands::COMMANDS {
            let cb = s.callback(c);
            assert!(cb.enable, "{}", c.name);
            let timeout = match c.kind {
                Kind::Before => Duration::from_secs(1),
                Kind::After => Duration::from_secs(5),
            };
            assert_eq!(cb.timeout, timeout, "{}", c.name);
        }
    }

    fn command(key: &str) -> &'static Command {
        crate::commands::COMMANDS
            .iter()
            .find(|c| c.config_key == key)
            .unwrap()
    }

    fn loaded(
        args: &[&str],
        yaml: Option<&str>,
        env: &[(&str, &str)],
    ) -> Result<Loaded, ConfigError> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("shim.yaml");
        let mut argv = vec!["openim-shim"];
        argv.extend_from_slice(args);
        let path_arg = path.display().to_string();
        if let Some(yaml) = yaml {
            std::fs::write(&path, yaml).unwrap();
            argv.extend(["--config", path_arg.as_str()]);
        }
        let env: std::collections::HashMap<String, String> = env
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Args::try_parse_from(argv)
            .unwrap()
            .load(|k| env.get(k).cloned())
    }

    #[test]
    fn the_most_specific_section_wins_and_flags_are_the_defaults() {
        let l = loaded(
            &[
                "--timeout",
                "700ms",
                "--on-error-code",
                "5100",
                "--after-timeout",
                "9s",
            ],
            Some(
                "default: {errMsg: busy}\n\
                 before: {onError: refuse, unimplementedTtl: 5s}\n\
                 beforeSendGroupMsg: {onError: continue, timeout: 300ms}\n\
                 beforeMsgModify: {errCode: 5900, enable: false}\n\
                 afterSendGroupMsg: {timeout: 2s}\n",
            ),
            &[],
        )
        .unwrap();
        let s = &l.settings;
        let single = s.callback(command("beforeSendSingleMsg"));
        assert_eq!(
            single,
            CallbackSettings {
                enable: true,
                timeout: Duration::from_millis(700),
                on_error: OnError::Refuse {
                    err_code: 5100,
                    err_msg: "busy".into()
                },
                unimplemented_ttl: Duration::from_secs(5),
            }
        );
        let group = s.callback(command("beforeSendGroupMsg"));
        assert_eq!(group.on_error, OnError::Continue);
        assert_eq!(group.timeout, Duration::from_millis(300));
        let modify = s.callback(command("beforeMsgModify"));
        assert!(!modify.enable);
        assert_eq!(
            modify.on_error,
            OnError::Refuse {
                err_code: 5900,
                err_msg: "busy".into()
            }
        );
        assert_eq!(
            s.callback(command("afterSendGroupMsg")).timeout,
            Duration::from_secs(2)
        );
        assert_eq!(
            s.callback(command("afterSendSingleMsg")).timeout,
            Duration::from_secs(9)
        );
    }

    #[test]
    fn environment_overrides_apply_without_a_file_and_over_it() {
        let l = loaded(
            &[],
            Some("beforeSendSingleMsg: {timeout: 2s}\nspool: {maxEvents: 10}\n"),
            &[
                ("OPENIM_SHIM_BEFORESENDSINGLEMSG_TIMEOUT", "3s"),
                ("OPENIM_SHIM_SPOOL_ENABLED", "false"),
                ("OPENIM_SHIM_AFTER_CONCURRENCY", "3"),
            ],
        )
        .unwrap();
        let s = &l.settings;
        assert_eq!(
            s.callback(command("beforeSendSingleMsg")).timeout,
            Duration::from_secs(3)
        );
        assert_eq!(s.spool.dir, None);
        assert_eq!(s.spool.max_events, 10);
        assert_eq!(s.after_concurrency, 3);

        let l = loaded(
            &[],
            None,
            &[("OPENIM_SHIM_AFTERSENDSINGLEMSG_ENABLE", "false")],
        )
        .unwrap();
        assert!(!l.settings.callback(command("afterSendSingleMsg")).enable);
    }

    #[test]
    fn a_missing_file_or_contradictory_retries_are_refused_by_name() {
        let args =
            Args::try_parse_from(["openim-shim", "--config", "/nonexistent/shim.yaml"]).unwrap();
        let e = args.load(|_| None).unwrap_err().to_string();
        assert!(
            e.contains("cannot read config file /nonexistent/shim.yaml"),
            "{e}"
        );
        let e = loaded(&[], Some("after: {retryInitial: 10s}\n"), &[])
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("after.retryInitial: 10s is longer than after.retryMax"),
            "{e}"
        );
    }

    /// The example file documents the defaults: applying its generic sections must change
    /// nothing, and its per-callback sections mean what their comments say.
    #[test]
    fn the_example_config_loads_and_its_defaults_are_the_real_ones() {
        let yaml = include_str!("../../examples/shim.yaml");
        let l = loaded(&[], Some(yaml), &[]).unwrap();
        assert!(l.warnings.is_empty(), "{:?}", l.warnings);
        let defaults = Args::try_parse_from(["openim-shim"]).unwrap().settings();
        let s = &l.settings;
        assert_eq!(s.spool, defaults.spool);
        assert_eq!(s.retry, defaults.retry);
        assert_eq!(s.after_concurrency, defaults.after_concurrency);
        assert_eq!(s.after_queue_capacity, defaults.after_queue_capacity);
        for c in crate::commands::COMMANDS {
            let cb = s.callback(c);
            assert!(cb.enable, "{}", c.name);
            if !["beforeSendSingleMsg", "beforeSendGroupMsg"].contains(&c.config_key) {
                assert_eq!(cb, defaults.callback(c), "{}", c.name);
            }
        }
        let single = s.callback(command("beforeSendSingleMsg"));
        assert_eq!(single.timeout, Duration::from_millis(500));
        assert!(matches!(
            single.on_error,
            OnError::Refuse { err_code: 5900, .. }
        ));
        let group = s.callback(command("beforeSendGroupMsg"));
        assert_eq!(
            (group.timeout, group.on_error),
            (Duration::from_millis(500), OnError::Continue)
        );
    }

    #[test]
    fn unserved_openim_keys_come_back_as_warnings() {
        let l = loaded(&[], Some("afterGroupMsgRevoke: {enable: true}\n"), &[]).unwrap();
        assert_eq!(l.warnings.len(), 1);
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
