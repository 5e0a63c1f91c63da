//! Settings given as text: the command line, whose setting flags are shortcuts for config keys,
//! and the `OPENIM_SHIM_*` environment variables, one per key and named after it. Both are read
//! by the config file's own parser and types, so that `--after-timeout 1h`,
//! `OPENIM_SHIM_AFTER_TIMEOUT=1h` and `after: {timeout: 1h}` mean the same.

use std::{ffi::OsString, path::PathBuf};

use super::{ConfigError, DEFAULT_ON_ERROR_MSG, DEFAULT_POLICY, DEFAULT_SPOOL_DIR, Origin};
use crate::config::file::{Layer, keys};

/// Prefix of the shim's environment variables.
pub const ENV_PREFIX: &str = "OPENIM_SHIM_";

/// Variables of the command line's own flags, read by clap: not settings.
const FLAG_VARIABLES: &[&str] = &["OPENIM_SHIM_CONFIG", "OPENIM_SHIM_WITH_POLICY"];

/// A flag that sets a config key: its long name, the key, what its value is and its default
/// (in `--help`; a test checks that they are the real ones), and what the key means.
#[derive(Debug)]
pub struct Flag {
    pub(super) long: &'static str,
    pub(super) key: &'static str,
    value: &'static str,
    pub(super) default: &'static str,
    help: &'static str,
}

/// Every setting flag; their names predate the config file, and docs and scripts use them.
#[rustfmt::skip]
pub const FLAGS: &[Flag] = &[
    Flag { long: "listen", key: "listen", value: "ADDR", default: "0.0.0.0:10006", help: "Address to listen on for OpenIM's callbacks" },
    Flag { long: "policy", key: "policy.targets", value: "URL[,URL...]", default: DEFAULT_POLICY, help: "The policy service: http://host:port (a host name is looked up in DNS, every address a replica to balance over; a Kubernetes headless Service), or unix:/path/to.sock for a policy next to the shim; several, separated by commas" },
    Flag { long: "timeout", key: "before.timeout", value: "DURATION", default: "1s", help: "Policy deadline for before-callbacks, e.g. 1s or 500ms. Keep it well under OpenIM's webhook timeout (5 s in its sample config, 15 s at most)" },
    Flag { long: "after-timeout", key: "after.timeout", value: "DURATION", default: "5s", help: "Deadline of one after-event delivery attempt" },
    Flag { long: "on-error", key: "default.onError", value: "continue|refuse", default: "continue", help: "What before-callbacks answer when the policy gives no decision or the body is malformed" },
    Flag { long: "on-error-code", key: "default.errCode", value: "CODE", default: "5000", help: "errCode of refusals made by `onError: refuse`" },
    Flag { long: "on-error-msg", key: "default.errMsg", value: "TEXT", default: DEFAULT_ON_ERROR_MSG, help: "errMsg of refusals made by `onError: refuse`" },
    Flag { long: "unimplemented-ttl", key: "default.unimplementedTtl", value: "DURATION", default: "30s", help: "How long a policy's UNIMPLEMENTED answer to a before-callback is remembered: meanwhile that callback continues without asking" },
    Flag { long: "refuse-code", key: "refuseCode", value: "CODE", default: "5000", help: "errCode used when the policy refuses with code 0" },
    Flag { long: "max-body", key: "maxBody", value: "SIZE", default: "4MiB", help: "Largest accepted request body, e.g. 4194304 or 4MiB" },
    Flag { long: "after-queue", key: "after.queue", value: "N", default: "10000", help: "After-events accepted but not yet written to the spool, at most; more are dropped (logged and counted)" },
    Flag { long: "after-concurrency", key: "after.concurrency", value: "N", default: "64", help: "After-event deliveries in flight, at most" },
    Flag { long: "spool-dir", key: "spool.dir", value: "DIR", default: DEFAULT_SPOOL_DIR, help: "Directory of the after-event spool (created if missing): after-events wait there until the policy has them, across policy outages and shim restarts" },
    Flag { long: "spool-backend", key: "spool.backend", value: "local|redis", default: "local", help: "Where after-events wait: local (a file in --spool-dir, this process's own) or redis (a stream every shim of a fleet shares; the local spool is the fallback while Redis is unreachable)" },
    Flag { long: "redis-url", key: "redis.url", value: "URL", default: super::DEFAULT_REDIS_URL, help: "Redis of --spool-backend redis: redis://[user:password@]host:port[/db], rediss:// for TLS" },
    Flag { long: "admin-listen", key: "admin.listen", value: "ADDR", default: "none", help: "Address for /metrics, /readyz, /healthz and /policyz, which then leave the callback port" },
    Flag { long: "log-format", key: "logFormat", value: "text|json", default: "text", help: "Log format (the level is set with RUST_LOG, default info)" },
];

/// How the sources stack, for `--help`.
const PRECEDENCE: &str = "Settings, lowest first: defaults < config file (--config) < environment \
variables < flags. Each config key `section.field` has the environment variable \
OPENIM_SHIM_<SECTION>_<FIELD>, upper-cased without separators (before.timeout: \
OPENIM_SHIM_BEFORE_TIMEOUT; the top-level listen: OPENIM_SHIM_LISTEN). For one callback, the \
most specific section that sets a field wins: its own, then before/after, then default. See \
examples/shim.yaml.";

/// Command line of `openim-shim`.
#[derive(Debug, Clone, clap::Parser)]
#[command(
    name = "openim-shim",
    version,
    about = "Receives OpenIM webhook callbacks, asks a gRPC policy service, answers in OpenIM's format.",
    long_about = "Receives OpenIM webhook callbacks, asks a gRPC policy service, answers in OpenIM's format.\n\n\
        Point OpenIM's webhooks.yml `url` at http://<this host>:<port>/callbackExample (any path \
        prefix works: the command is the last path segment).",
    after_help = PRECEDENCE,
    // `openim-shim replay ...` takes its own flags only.
    args_conflicts_with_subcommands = true
)]
pub struct Args {
    /// A tool instead of the server.
    #[command(subcommand)]
    pub command: Option<Tool>,

    /// The setting flags given.
    #[command(flatten)]
    pub flags: SettingFlags,

    /// Config file (YAML): every setting, and per-callback sections keyed like OpenIM's
    /// webhooks.yml; see examples/shim.yaml.
    #[arg(long, env = "OPENIM_SHIM_CONFIG")]
    pub config: Option<PathBuf>,

    /// Try-out mode: also run the default policy inside this process, on a loopback port, and
    /// use it instead of `--policy`. Production runs `openim-policy` as its own service.
    #[arg(long, env = "OPENIM_SHIM_WITH_POLICY")]
    pub with_policy: bool,

    /// Rules file for `--with-policy`.
    #[arg(long, env = "OPENIM_POLICY_RULES", requires = "with_policy")]
    pub rules: Option<PathBuf>,
}

/// The tools of `openim-shim`, besides serving.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum Tool {
    /// Sends captured before-callbacks (capture.enabled) to a policy, through the shim's own
    /// conversion code, and reports how its verdicts differ from the captured ones: a table on
    /// standard output, JSON with --report. Exit status 1 when changes or errors exceed
    /// --max-changed or --max-errors, 2 when the replay cannot run.
    Replay(crate::replay::ReplayArgs),
}

/// The setting flags given on the command line, with their values as written.
#[derive(Debug, Clone, Default)]
pub struct SettingFlags(pub Vec<(&'static Flag, String)>);

impl clap::FromArgMatches for SettingFlags {
    fn from_arg_matches(matches: &clap::ArgMatches) -> Result<Self, clap::Error> {
        let given = |f: &'static Flag| Some((f, matches.get_one::<String>(f.long)?.clone()));
        Ok(Self(FLAGS.iter().filter_map(given).collect()))
    }

    fn update_from_arg_matches(&mut self, matches: &clap::ArgMatches) -> Result<(), clap::Error> {
        *self = Self::from_arg_matches(matches)?;
        Ok(())
    }
}

impl clap::Args for SettingFlags {
    fn augment_args(cmd: clap::Command) -> clap::Command {
        cmd.args(FLAGS.iter().map(|f| {
            let (help, key, env, default) = (f.help, f.key, env_name(f.key), f.default);
            let help = format!("{help}. Sets `{key}` [env: {env}] [default: {default}]");
            clap::Arg::new(f.long)
                .long(f.long)
                .value_name(f.value)
                .help(help)
        }))
    }

    fn augment_args_for_update(cmd: clap::Command) -> clap::Command {
        Self::augment_args(cmd)
    }
}

/// The environment variable of `key`: `before.timeout` → `OPENIM_SHIM_BEFORE_TIMEOUT`. Keys
/// contain no `_`, so no two keys share a variable.
pub fn env_name(key: &str) -> String {
    format!("{ENV_PREFIX}{}", key.replace('.', "_").to_ascii_uppercase())
}

/// The layers that the `OPENIM_SHIM_*` variables of `env` set, and a warning for each that is
/// not a setting (tests and scripts use the prefix for their own variables too).
pub(super) fn env_layers(
    env: impl IntoIterator<Item = (OsString, OsString)>,
    warnings: &mut Vec<String>,
) -> Result<Vec<Layer>, ConfigError> {
    let keys = keys();
    let mut layers = Vec::new();
    for (name, value) in env {
        let name = name.to_string_lossy();
        if !name.starts_with(ENV_PREFIX) || FLAG_VARIABLES.contains(&&*name) {
            continue;
        }
        let origin = Origin::Env(name.clone().into_owned());
        if let Some(key) = keys.iter().find(|k| env_name(k) == name) {
            layers.push(text_layer(key, &value.to_string_lossy(), &origin)?);
            continue;
        }
        // Each flag used to have a variable named after it: refused when the key's differs,
        // as an ignored deadline or failure mode is worse than a refusal to start.
        let old = |f: &&Flag| format!("{ENV_PREFIX}{}", f.long.replace('-', "_").to_uppercase());
        match FLAGS.iter().find(|f| old(f) == name) {
            Some(f) => {
                let message = format!("renamed: set {} instead", env_name(f.key));
                return Err(ConfigError::new(f.key, message, Some(origin)));
            }
            None => warnings.push(format!(
                "environment variable {name} is not a setting of openim-shim: ignored"
            )),
        }
    }
    Ok(layers)
}

/// The layer that sets `key` to `text`, given by `origin`: the file's parser reads it as the
/// document `{"section": {"field": "text"}}`, whose quoted string YAML reads as whatever the
/// key's type asks for (a number, true or false, ...).
pub(super) fn text_layer(key: &str, text: &str, origin: &Origin) -> Result<Layer, ConfigError> {
    let mut doc = serde_json::Value::from(text);
    for part in key.rsplit('.') {
        doc = serde_json::json!({ part: doc });
    }
    Layer::from_yaml(&doc.to_string(), origin)
}
