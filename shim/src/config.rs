//! The shim's settings: where they come from, and how they resolve into each callback's.
//!
//! Every setting has one key: `section.field` in the config file (`listen`, `policy`, `maxBody`,
//! `refuseCode`, `logFormat` at the top); one environment variable named after it,
//! `OPENIM_SHIM_<SECTION>_<FIELD>` upper-cased without separators; maybe a flag, a shortcut for
//! the key (`--timeout` sets `before.timeout`). All are read by the same serde types ([`file`];
//! text through [`sources`]), so a value means the same wherever it is set. Precedence, lowest
//! first: defaults < config file < environment variables < flags. For one callback, the most
//! specific section that sets a field wins: its own, then `before`/`after`, then `default`.

pub mod file;
pub mod sources;
#[cfg(test)]
mod tests;

use std::{
    collections::BTreeMap,
    ffi::OsString,
    fmt,
    net::{Ipv4Addr, SocketAddr},
    num::NonZeroUsize,
    path::PathBuf,
    time::Duration,
};

use openim_common::telemetry::LogFormat;

pub use file::Layer;
use file::{OnErrorMode, Section};
pub use sources::{Args, Tool};

use crate::{
    commands::{COMMANDS, Command, Kind},
    policy_client::{ClientSettings, DiscoverySettings, EndpointSettings, PolicyTls, SERVICES},
};

/// Default listen address: the port of OpenIM's sample `webhooks.yml` URL.
pub const DEFAULT_LISTEN: SocketAddr =
    SocketAddr::new(std::net::IpAddr::V4(Ipv4Addr::UNSPECIFIED), 10006);
/// Default policy service URL.
pub const DEFAULT_POLICY: &str = "http://127.0.0.1:50051";
/// Default directory of the after-event spool of the binary, relative to the working directory.
pub const DEFAULT_SPOOL_DIR: &str = "./data/spool";
/// Default directory of the capture files, relative to the working directory.
pub const DEFAULT_CAPTURE_DIR: &str = "./data/capture";
/// Default errCode of refusals made by `onError: refuse`.
pub const DEFAULT_ON_ERROR_CODE: i32 = 5000;
/// Default errMsg of refusals made by `onError: refuse`.
pub const DEFAULT_ON_ERROR_MSG: &str = "operation refused: policy unavailable";
/// Longest useful before-callback deadline: OpenIM's HTTP client gives up after 15 s whatever
/// its config says.
pub const MAX_BEFORE_TIMEOUT: Duration = Duration::from_secs(15);

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

/// Everything the shim needs to serve.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The policy service: its targets, and how its endpoints are reached.
    pub policy: ClientSettings,
    /// Deadline of a before-callback's policy call (sent as the gRPC deadline), for callbacks
    /// missing from [`Settings::callbacks`].
    pub timeout: Duration,
    /// Deadline of one after-event delivery attempt, for callbacks missing from `callbacks`.
    pub after_timeout: Duration,
    /// Failure mode of before-callbacks missing from `callbacks`.
    pub on_error: OnError,
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
    /// Each callback's settings by config key, every layer applied (all of them after
    /// [`Args::load`]); the fields above serve the others.
    pub callbacks: BTreeMap<&'static str, CallbackSettings>,
    /// How the shim stops.
    pub shutdown: ShutdownSettings,
    /// `/readyz` also requires a usable policy endpoint (off: the shim is ready whenever it can
    /// answer OpenIM, which it can with the policy down, by each callback's failure mode).
    pub ready_requires_policy: bool,
    /// Recording callbacks to files.
    pub capture: CaptureSettings,
    /// The shadow policy.
    pub shadow: ShadowSettings,
    /// Who may call the shim.
    pub auth: AuthSettings,
    /// Bounds on connections, requests and the memory they hold.
    pub limits: LimitSettings,
    /// TLS on the callback listener: the certificate chain and key files (`None`: plain HTTP).
    pub tls: Option<(PathBuf, PathBuf)>,
    /// How often TLS files (the listener's, the policy link's) are looked at for changes.
    pub tls_reload: Duration,
}

/// Recording callbacks to JSON lines files (`crate::capture`), for `openim-shim replay`.
#[derive(Clone, PartialEq)]
pub struct CaptureSettings {
    /// Record at all (off by default).
    pub enabled: bool,
    /// The directory of the files (created if missing).
    pub dir: PathBuf,
    /// Size at which the file being written is rotated.
    pub max_file_bytes: u64,
    /// Bytes of capture files kept at most: the oldest are deleted.
    pub max_total_bytes: u64,
    /// Share of callbacks recorded, 0 to 1.
    pub sample: f64,
    /// Config keys of the recorded callbacks; empty: all.
    pub commands: Vec<&'static str>,
    /// Records waiting to be written, at most; more are dropped (counted).
    pub queue: usize,
    /// When set, user and group IDs in bodies are replaced by their keyed hash (HMAC-SHA-256
    /// with this key).
    pub hash_key: Option<String>,
}

impl fmt::Debug for CaptureSettings {
    /// Without the hash key: it is a secret, and settings end up in logs.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CaptureSettings")
            .field("enabled", &self.enabled)
            .field("dir", &self.dir)
            .field("max_file_bytes", &self.max_file_bytes)
            .field("max_total_bytes", &self.max_total_bytes)
            .field("sample", &self.sample)
            .field("commands", &self.commands)
            .field("queue", &self.queue)
            .field("hash_key", &self.hash_key.as_ref().map(|_| "<set>"))
            .finish()
    }
}

impl Default for CaptureSettings {
    fn default() -> Self {
        Self {
            enabled: false,
            dir: DEFAULT_CAPTURE_DIR.into(),
            max_file_bytes: 64 << 20,
            max_total_bytes: 1 << 30,
            sample: 1.0,
            commands: Vec::new(),
            queue: 10_000,
            hash_key: None,
        }
    }
}

/// A secret setting: compared in constant time, never printed (not even in `Debug`).
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(pub String);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(..)")
    }
}

/// Who may call the shim; every check that is set must pass. All off by default: OpenIM open
/// source signs nothing, so these are what can be configured on its side (its `url`) or on a
/// proxy in front.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuthSettings {
    /// Callbacks must be POSTed under `/s/<secret>/` (OpenIM's `url` carries it).
    pub path_secret: Option<Secret>,
    /// Callbacks must carry this token in `token_header` (`Bearer <token>` in `Authorization`).
    pub token: Option<Secret>,
    /// The header of the token, lower case: `authorization` takes `Bearer <token>`, any other
    /// the token alone.
    pub token_header: String,
    /// Callers must come from these networks (empty: from anywhere).
    pub allow: Vec<ipnet::IpNet>,
    /// Proxies whose `X-Forwarded-For` is believed: the caller is then the address before the
    /// last of these in the chain.
    pub trusted_proxies: Vec<ipnet::IpNet>,
}

impl Default for AuthSettings {
    fn default() -> Self {
        Self {
            path_secret: None,
            token: None,
            token_header: "authorization".into(),
            allow: Vec::new(),
            trusted_proxies: Vec::new(),
        }
    }
}

/// A second policy asked about copies of before-callbacks, whose answers are only compared
/// (`crate::shadow`).
#[derive(Debug, Clone, PartialEq)]
pub struct ShadowSettings {
    /// Its targets, as `policy.targets`; empty: no shadow.
    pub targets: Vec<String>,
    /// Deadline of a shadow call.
    pub timeout: Duration,
    /// Share of before-callbacks copied, 0 to 1.
    pub sample: f64,
    /// Config keys of the copied before-callbacks; empty: all.
    pub commands: Vec<&'static str>,
    /// Shadow calls in flight, at most; more copies are dropped (counted).
    pub concurrency: usize,
    /// Share of disagreements logged (and captured, if the capture is on), 0 to 1.
    pub disagreement_sample: f64,
}

impl Default for ShadowSettings {
    fn default() -> Self {
        Self {
            targets: Vec::new(),
            timeout: Duration::from_secs(1),
            sample: 1.0,
            commands: Vec::new(),
            concurrency: 64,
            disagreement_sample: 0.1,
        }
    }
}

impl AuthSettings {
    /// Whether any check is set.
    pub fn any(&self) -> bool {
        self.path_secret.is_some() || self.token.is_some() || !self.allow.is_empty()
    }
}

/// Bounds on what callers may hold; a slow or abusive caller must not hold memory,
/// connections, or the shim's stop.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LimitSettings {
    /// A request's head must arrive within this, counted from when the connection is ready for
    /// it (so it is also how long a kept-alive connection may wait for its next request).
    pub header_timeout: Duration,
    /// A request's body must arrive within this; then a before-callback gets its `onError`.
    pub body_timeout: Duration,
    /// A connection that moves no byte either way for this long is closed (a stalled TLS
    /// handshake, body or reader).
    pub idle_timeout: Duration,
    /// Open connections, at most; more wait in the kernel's backlog.
    pub max_connections: usize,
    /// Callbacks in flight, at most; more are shed at once: their `onError` (cause `shed`).
    pub max_concurrent: usize,
    /// Bytes of request bodies held in memory by all requests together, at most; a body that
    /// would go over is shed.
    pub body_budget: usize,
}

impl Default for LimitSettings {
    fn default() -> Self {
        Self {
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            // Under the common 1,024 open-file limit, with room for the spool, the policy's
            // connections and the admin listener.
            max_connections: 768,
            max_concurrent: 1024,
            body_budget: 64 << 20,
        }
    }
}

/// How the shim stops on SIGTERM: first it says it is not ready (`/readyz` 503) and keeps
/// serving for `drain_delay`, while load balancers stop sending (Kubernetes removes the pod's
/// endpoints in parallel with the signal, and that takes seconds to reach kube-proxy, DNS
/// caches and OpenIM's open connections); then it stops accepting, finishes the requests in
/// flight and commits its after-events; everything within `timeout` of the signal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShutdownSettings {
    /// Serving on after the signal, not ready.
    pub drain_delay: Duration,
    /// From the signal to the exit, at most: requests still in flight are cut then. Keep it
    /// under the orchestrator's grace period (Kubernetes: 30 s by default).
    pub timeout: Duration,
}

impl Default for ShutdownSettings {
    fn default() -> Self {
        Self {
            drain_delay: Duration::from_secs(5),
            timeout: Duration::from_secs(25),
        }
    }
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

/// Where after-events wait for delivery, and how many.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpoolSettings {
    /// The directory of the on-disk spool (with Redis: the fallback); `None`: in memory (lost on
    /// restart).
    pub dir: Option<PathBuf>,
    /// Events kept at most (in Redis: the stream's length, approximately); further events are
    /// dropped (logged and counted).
    pub max_events: u64,
    /// Size of the local spool's file at most; further events are dropped (logged and counted).
    pub max_bytes: u64,
    /// Redis instead of the local spool (then the local spool is only the fallback).
    pub redis: Option<RedisSettings>,
    /// How long a SIGTERM keeps delivering what is pending, at most (within the caller's
    /// deadline).
    pub drain_timeout: Duration,
}

/// The Redis stream that a fleet of shims shares (`spool.backend: redis`).
#[derive(Clone, PartialEq, Eq)]
pub struct RedisSettings {
    /// `redis://[user:password@]host:port[/db]`, or `rediss://` for TLS.
    pub url: String,
    /// User name (ACL), overriding the URL's.
    pub username: Option<String>,
    /// Password, overriding the URL's.
    pub password: Option<String>,
    /// PEM file of the CA that signed the server's certificate (`rediss://`); default: the
    /// system's roots.
    pub ca_file: Option<PathBuf>,
    /// The stream's key; the attempt counts are in the hash `<stream>:attempts`.
    pub stream: String,
    /// The consumer group every shim reads in.
    pub group: String,
    /// This shim's consumer name, unique in the group.
    pub consumer: String,
    /// How long an entry read by a shim may go without a sign of life before another shim takes
    /// it over (XAUTOCLAIM).
    pub claim_idle: Duration,
    /// Response timeout of every command but the blocking read.
    pub timeout: Duration,
}

impl fmt::Debug for RedisSettings {
    /// Without the password (the URL's too).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisSettings")
            .field("url", &redact_url(&self.url))
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "***"))
            .field("ca_file", &self.ca_file)
            .field("stream", &self.stream)
            .field("group", &self.group)
            .field("consumer", &self.consumer)
            .field("claim_idle", &self.claim_idle)
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// `url` with the password (`:secret@`) replaced by `***`, for logs.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &url[scheme + 3..at];
            match userinfo.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

/// Default Redis URL.
pub const DEFAULT_REDIS_URL: &str = "redis://127.0.0.1:6379";
/// Default stream key.
pub const DEFAULT_REDIS_STREAM: &str = "openim-shim:after";
/// Default consumer group.
pub const DEFAULT_REDIS_GROUP: &str = "openim-shim";

impl Default for Settings {
    /// The spool is in memory: the binary's is in [`DEFAULT_SPOOL_DIR`]; library users (and
    /// tests, which run many shims side by side) choose a directory.
    fn default() -> Self {
        Self {
            policy: ClientSettings::default(),
            timeout: Duration::from_secs(1),
            after_timeout: Duration::from_secs(5),
            on_error: OnError::Continue,
            refuse_err_code: 5000,
            max_body_bytes: 4 << 20,
            after_queue_capacity: 10_000,
            after_concurrency: 64,
            unimplemented_ttl: Duration::from_secs(30),
            retry: RetrySettings {
                initial: Duration::from_millis(200),
                max: Duration::from_secs(5),
                max_age: Duration::from_secs(24 * 3600),
            },
            spool: SpoolSettings {
                dir: None,
                max_events: 1_000_000,
                max_bytes: 1 << 30,
                redis: None,
                drain_timeout: Duration::from_secs(10),
            },
            callbacks: BTreeMap::new(),
            shutdown: ShutdownSettings::default(),
            ready_requires_policy: false,
            capture: CaptureSettings::default(),
            shadow: ShadowSettings::default(),
            auth: AuthSettings::default(),
            limits: LimitSettings::default(),
            tls: None,
            tls_reload: Duration::from_secs(10),
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

/// Where a setting was set, for error messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// The config file, and the line when known.
    File(PathBuf, Option<u64>),
    /// An environment variable.
    Env(String),
    /// A flag, by its long name.
    Flag(&'static str),
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::File(path, None) => write!(f, "in {}", path.display()),
            Self::File(path, Some(line)) => write!(f, "in {}, line {line}", path.display()),
            Self::Env(name) => write!(f, "environment variable {name}"),
            Self::Flag(long) => write!(f, "flag --{long}"),
        }
    }
}

/// A setting that cannot be used: which, what is wrong, and where it was set.
#[derive(Debug, thiserror::Error)]
#[error("{key}: {message}{}", origin.as_ref().map(|o| format!(" ({o})")).unwrap_or_default())]
pub struct ConfigError {
    /// `section.field`, `section` or `field`; `config file` when the whole file is at fault.
    pub key: String,
    /// What is wrong.
    pub message: String,
    /// Where it was set; none for settings that contradict each other.
    pub origin: Option<Origin>,
}

impl ConfigError {
    pub(crate) fn new(key: &str, message: impl Into<String>, origin: Option<Origin>) -> Self {
        let key = if key.is_empty() { "config file" } else { key };
        let (key, message) = (key.to_owned(), message.into());
        Self {
            key,
            message,
            origin,
        }
    }
}

/// Settings ready to run, and what is worth a warning.
#[derive(Debug)]
pub struct Loaded {
    /// What the shim serves with.
    pub settings: Settings,
    /// Address to listen on.
    pub listen: SocketAddr,
    /// Address of the operators' endpoints (`/metrics`, `/readyz`, `/healthz`, `/policyz`), when
    /// not the callbacks'.
    pub admin_listen: Option<SocketAddr>,
    /// Log line format.
    pub log_format: LogFormat,
    /// Things to log that do not stop the shim.
    pub warnings: Vec<String>,
}

impl Args {
    /// The settings of the flags, the environment `env` (the process's in `main`, a list in
    /// tests) and the config file (if `--config`), over the binary's defaults.
    pub fn load(
        &self,
        env: impl IntoIterator<Item = (OsString, OsString)>,
    ) -> Result<Loaded, ConfigError> {
        // Highest precedence first: flags, environment variables, the file.
        let mut warnings = Vec::new();
        let flags = self.flags.0.iter();
        let flags = flags.map(|(f, text)| sources::text_layer(f.key, text, &Origin::Flag(f.long)));
        let mut layers = flags.collect::<Result<Vec<_>, _>>()?;
        layers.extend(sources::env_layers(env, &mut warnings)?);
        if let Some(path) = &self.config {
            layers.push(Layer::read(path)?);
        }
        warnings.extend(layers.iter().flat_map(|l| l.warnings.iter().cloned()));
        let mut base = Settings::default();
        base.spool.dir = Some(DEFAULT_SPOOL_DIR.into());
        let l = Layers(&layers);
        let settings = Settings::resolve(&layers, &base)?;
        let listen = l.or(|c| c.listen, DEFAULT_LISTEN);
        let any_https = settings
            .policy
            .targets
            .iter()
            .chain(settings.policy.services.values().flatten())
            .any(|t| t.starts_with("https://"));
        if settings.policy.tls.is_some() && !any_https {
            warnings.push(
                "policy.tlsCa is set but no policy target is https://: the policy link is not \
                 encrypted"
                    .into(),
            );
        }
        Ok(Loaded {
            settings,
            listen,
            admin_listen: l.or(|c| c.admin.listen.map(Some), None),
            log_format: l.or(|c| c.log_format, LogFormat::Text),
            warnings,
        })
    }
}

impl Settings {
    /// `b` (the defaults) with what `layers` set applied; `layers` highest precedence first.
    pub fn resolve(layers: &[Layer], b: &Self) -> Result<Self, ConfigError> {
        let l = Layers(layers);
        let [before, after] = [Kind::Before, Kind::After].map(|k| l.callback(None, k, b));
        let retry = RetrySettings {
            initial: l.or(|c| c.after.retry_initial, b.retry.initial),
            max: l.or(|c| c.after.retry_max, b.retry.max),
            max_age: l.or(|c| c.after.max_age, b.retry.max_age),
        };
        if retry.initial > retry.max {
            let [initial, max] = [retry.initial, retry.max].map(openim_common::Duration);
            let message = format!("{initial} is longer than after.retryMax ({max})");
            return Err(ConfigError::new("after.retryInitial", message, None));
        }
        let on_disk = l.or(|c| c.spool.enabled, true);
        Ok(Self {
            policy: l.policy(&b.policy)?,
            timeout: before.timeout,
            after_timeout: after.timeout,
            on_error: before.on_error,
            unimplemented_ttl: before.unimplemented_ttl,
            refuse_err_code: l.or(|c| c.refuse_code, b.refuse_err_code),
            max_body_bytes: l.or(|c| c.max_body.map(|s| s.0 as usize), b.max_body_bytes),
            after_queue_capacity: l.or(|c| c.after.queue, b.after_queue_capacity),
            after_concurrency: l.or(|c| c.after.concurrency, b.after_concurrency),
            retry,
            spool: SpoolSettings {
                dir: on_disk
                    .then(|| l.or(|c| c.spool.dir.clone(), b.spool.dir.clone()))
                    .flatten(),
                max_events: l.or(|c| c.spool.max_events, b.spool.max_events),
                max_bytes: l.or(|c| c.spool.max_bytes, b.spool.max_bytes),
                redis: l.redis(b.spool.redis.as_ref())?,
                drain_timeout: l.or(|c| c.spool.drain_timeout, b.spool.drain_timeout),
            },
            callbacks: COMMANDS
                .iter()
                .map(|c| (c.config_key, l.callback(Some(c), c.kind, b)))
                .collect(),
            shutdown: {
                let s = ShutdownSettings {
                    drain_delay: l.or(|c| c.shutdown.drain_delay, b.shutdown.drain_delay),
                    timeout: l.or(|c| c.shutdown.timeout, b.shutdown.timeout),
                };
                if s.drain_delay >= s.timeout {
                    let message = "must be shorter than shutdown.timeout: requests in flight \
                                   need time to finish";
                    return Err(ConfigError::new("shutdown.drainDelay", message, None));
                }
                s
            },
            ready_requires_policy: l.or(|c| c.ready_requires_policy, b.ready_requires_policy),
            capture: l.capture(&b.capture)?,
            shadow: l.shadow(&b.shadow)?,
            auth: l.auth(&b.auth),
            limits: l.limits(&b.limits),
            tls: l.pair(
                ("tls.cert", |c| c.tls.cert.clone()),
                ("tls.key", |c| c.tls.key.clone()),
                b.tls.clone(),
            )?,
            tls_reload: l.or(|c| c.tls.reload_interval, b.tls_reload),
        })
    }

    /// The settings of `command`.
    pub fn callback(&self, command: &Command) -> CallbackSettings {
        let resolved = self.callbacks.get(command.config_key).cloned();
        resolved.unwrap_or_else(|| Layers(&[]).callback(Some(command), command.kind, self))
    }
}

/// A consumer name unique to this process: the host name (a Kubernetes pod's name) and a random
/// suffix, so that a restarted container is a new consumer and never replays another's reads.
fn default_consumer() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "openim-shim".to_owned());
    format!("{host}-{:08x}", fastrand::u32(..))
}

/// The sources of settings, highest precedence first: flags, environment variables, the file.
struct Layers<'a>(&'a [Layer]);

/// A setting read from a layer's config.
type Get<T> = fn(&file::Config) -> Option<T>;

impl Layers<'_> {
    /// Two settings that go together (a certificate and its key): both or neither.
    fn pair(
        &self,
        (a_key, a): (&str, Get<PathBuf>),
        (b_key, b): (&str, Get<PathBuf>),
        base: Option<(PathBuf, PathBuf)>,
    ) -> Result<Option<(PathBuf, PathBuf)>, ConfigError> {
        match (self.or(a, None::<PathBuf>), self.or(b, None)) {
            (Some(a), Some(b)) => Ok(Some((a, b))),
            (None, None) => Ok(base),
            (Some(_), None) => Err(ConfigError::new(
                b_key,
                format!("missing: {a_key} is set"),
                None,
            )),
            (None, Some(_)) => Err(ConfigError::new(
                a_key,
                format!("missing: {b_key} is set"),
                None,
            )),
        }
    }

    /// Who may call, over `b`.
    fn auth(&self, b: &AuthSettings) -> AuthSettings {
        let secret = |s: Option<String>| s.map(Secret);
        AuthSettings {
            path_secret: self.or(
                |c| secret(c.auth.path_secret.clone()).map(Some),
                b.path_secret.clone(),
            ),
            token: self.or(|c| secret(c.auth.token.clone()).map(Some), b.token.clone()),
            token_header: self.or(
                |c| c.auth.token_header.as_ref().map(|h| h.to_ascii_lowercase()),
                b.token_header.clone(),
            ),
            allow: self.or(|c| c.auth.allow.clone().map(|n| n.0), b.allow.clone()),
            trusted_proxies: self.or(
                |c| c.auth.trusted_proxies.clone().map(|n| n.0),
                b.trusted_proxies.clone(),
            ),
        }
    }

    /// The limits, over `b`.
    fn limits(&self, b: &LimitSettings) -> LimitSettings {
        let l = &|c: &file::Config| c.limits.clone();
        LimitSettings {
            header_timeout: self.or(|c| l(c).header_timeout, b.header_timeout),
            body_timeout: self.or(|c| l(c).body_timeout, b.body_timeout),
            idle_timeout: self.or(|c| l(c).idle_timeout, b.idle_timeout),
            max_connections: self.or(|c| l(c).max_connections.map(|n| n.get()), b.max_connections),
            max_concurrent: self.or(|c| l(c).max_concurrent.map(|n| n.get()), b.max_concurrent),
            body_budget: self.or(
                |c| {
                    l(c).body_budget
                        .map(|s| usize::try_from(s.0).unwrap_or(usize::MAX))
                },
                b.body_budget,
            ),
        }
    }

    /// The value of the highest source that sets it, or `base`.
    fn or<T: Into<U>, U>(&self, get: impl Fn(&file::Config) -> Option<T>, base: U) -> U {
        let set = self.0.iter().find_map(|l| get(&l.shim));
        set.map_or(base, Into::into)
    }

    /// The Redis settings, if `spool.backend` is `redis` (over `b`'s, if it had them).
    fn redis(&self, b: Option<&RedisSettings>) -> Result<Option<RedisSettings>, ConfigError> {
        let backend = self.or(
            |c| c.spool.backend,
            match b {
                Some(_) => file::SpoolBackend::Redis,
                None => file::SpoolBackend::Local,
            },
        );
        if backend == file::SpoolBackend::Local {
            return Ok(None);
        }
        let text = |s: Option<&String>, d: &str| s.cloned().unwrap_or_else(|| d.to_owned());
        let url = self.or(
            |c| c.redis.url.clone(),
            text(b.map(|b| &b.url), DEFAULT_REDIS_URL),
        );
        if let Err(e) = redis::IntoConnectionInfo::into_connection_info(url.as_str()) {
            let message = format!("{}: {e}", redact_url(&url));
            return Err(ConfigError::new("redis.url", message, None));
        }
        let claim_idle = self.or(
            |c| c.redis.claim_idle,
            b.map_or(Duration::from_secs(30), |b| b.claim_idle),
        );
        if claim_idle < Duration::from_secs(1) {
            let message = "must be at least 1s: shims renew what they hold every third of it";
            return Err(ConfigError::new("redis.claimIdle", message, None));
        }
        Ok(Some(RedisSettings {
            url,
            username: self.or(
                |c| c.redis.username.clone().map(Some),
                b.and_then(|b| b.username.clone()),
            ),
            password: self.or(
                |c| c.redis.password.clone().map(Some),
                b.and_then(|b| b.password.clone()),
            ),
            ca_file: self.or(
                |c| c.redis.ca_file.clone().map(Some),
                b.and_then(|b| b.ca_file.clone()),
            ),
            stream: self.or(
                |c| c.redis.stream.clone(),
                text(b.map(|b| &b.stream), DEFAULT_REDIS_STREAM),
            ),
            group: self.or(
                |c| c.redis.group.clone(),
                text(b.map(|b| &b.group), DEFAULT_REDIS_GROUP),
            ),
            consumer: self.or(
                |c| c.redis.consumer.clone(),
                b.map_or_else(default_consumer, |b| b.consumer.clone()),
            ),
            claim_idle,
            timeout: self.or(
                |c| c.redis.timeout,
                b.map_or(Duration::from_secs(2), |b| b.timeout),
            ),
        }))
    }

    /// The policy client's settings over `b`.
    fn policy(&self, b: &ClientSettings) -> Result<ClientSettings, ConfigError> {
        let targets = |t: Option<file::Targets>| t.map(|t| t.0);
        let services = self.or(|c| c.policy.services.clone(), BTreeMap::new());
        if let Some(unknown) = services.keys().find(|s| !SERVICES.contains(&s.as_str())) {
            let message = format!(
                "unknown service {unknown:?}: one of {}",
                SERVICES.join(", ")
            );
            return Err(ConfigError::new("policy.services", message, None));
        }
        let e = &b.endpoint;
        let identity = self.pair(
            ("policy.tlsCert", |c| c.policy.tls_cert.clone()),
            ("policy.tlsKey", |c| c.policy.tls_key.clone()),
            b.tls.as_ref().and_then(|t| t.files.identity.clone()),
        )?;
        let ca = self.or(
            |c| c.policy.tls_ca.clone().map(Some),
            b.tls.as_ref().map(|t| t.files.ca.clone()),
        );
        let server_name = self.or(
            |c| c.policy.tls_server_name.clone().map(Some),
            b.tls.as_ref().and_then(|t| t.server_name.clone()),
        );
        let tls = match ca {
            Some(ca) => Some(PolicyTls {
                files: openim_common::tls::ClientFiles { ca, identity },
                server_name,
                reload: self.or(
                    |c| c.tls.reload_interval,
                    b.tls.as_ref().map_or(Duration::from_secs(10), |t| t.reload),
                ),
            }),
            None if identity.is_some() || server_name.is_some() => {
                let message = "missing: policy.tlsCert, policy.tlsKey and policy.tlsServerName \
                               need the CA of the policy's certificate";
                return Err(ConfigError::new("policy.tlsCa", message, None));
            }
            None => None,
        };
        let targets = self.or(|c| targets(c.policy.targets.clone()), b.targets.clone());
        let all = targets
            .iter()
            .chain(services.values().flat_map(|t| t.0.iter()));
        if tls.is_none()
            && let Some(https) = all.into_iter().find(|t| t.starts_with("https://"))
        {
            let message = format!(
                "{https} says TLS, and TLS to the policy needs policy.tlsCa (the CA that signed \
                 the policy's certificate; with policy.tlsCert and policy.tlsKey for mutual TLS): \
                 refusing to start rather than send in plaintext"
            );
            return Err(ConfigError::new("policy.targets", message, None));
        }
        Ok(ClientSettings {
            tls,
            targets,
            services: if services.is_empty() {
                b.services.clone()
            } else {
                services.into_iter().map(|(k, v)| (k, v.0)).collect()
            },
            endpoint: EndpointSettings {
                connect_timeout: self.or(|c| c.policy.connect_timeout, e.connect_timeout),
                keepalive: self.or(|c| c.policy.keepalive, e.keepalive),
                eject_after: self.or(|c| c.policy.eject_after, e.eject_after),
                eject_base: self.or(|c| c.policy.eject_time, e.eject_base),
                eject_max: self.or(|c| c.policy.max_eject_time, e.eject_max),
                ..e.clone()
            },
            discovery: DiscoverySettings {
                interval: self.or(|c| c.policy.resolve_interval, b.discovery.interval),
                dns_server: self.or(|c| c.policy.dns_server.map(Some), b.discovery.dns_server),
            },
            max_reply_bytes: self.or(
                |c| {
                    c.policy
                        .max_reply
                        .map(|s| usize::try_from(s.0).unwrap_or(usize::MAX))
                },
                b.max_reply_bytes,
            ),
        })
    }

    /// The capture's settings over `b`.
    fn capture(&self, b: &CaptureSettings) -> Result<CaptureSettings, ConfigError> {
        let s = CaptureSettings {
            enabled: self.or(|c| c.capture.enabled, b.enabled),
            dir: self.or(|c| c.capture.dir.clone(), b.dir.clone()),
            max_file_bytes: self.or(|c| c.capture.max_file_size.map(|s| s.0), b.max_file_bytes),
            max_total_bytes: self.or(|c| c.capture.max_total_size.map(|s| s.0), b.max_total_bytes),
            sample: self.or(|c| c.capture.sample.map(|f| f.0), b.sample),
            commands: self.or(
                |c| c.capture.commands.clone().map(|k| k.0),
                b.commands.clone(),
            ),
            queue: self.or(|c| c.capture.queue.map(NonZeroUsize::get), b.queue),
            hash_key: self.or(|c| c.capture.hash_key.clone().map(Some), b.hash_key.clone()),
        };
        if s.max_total_bytes < s.max_file_bytes {
            let message = "must be at least capture.maxFileSize";
            return Err(ConfigError::new("capture.maxTotalSize", message, None));
        }
        if let Some(key) = &s.hash_key
            && let Err(e) = openim_common::pseudonym::Pseudonymizer::new(key.as_bytes())
        {
            return Err(ConfigError::new("capture.hashKey", e.to_string(), None));
        }
        Ok(s)
    }

    /// The shadow's settings over `b`.
    fn shadow(&self, b: &ShadowSettings) -> Result<ShadowSettings, ConfigError> {
        let s = ShadowSettings {
            targets: self.or(|c| c.shadow.targets.clone().map(|t| t.0), b.targets.clone()),
            timeout: self.or(|c| c.shadow.timeout, b.timeout),
            sample: self.or(|c| c.shadow.sample.map(|f| f.0), b.sample),
            commands: self.or(
                |c| c.shadow.commands.clone().map(|k| k.0),
                b.commands.clone(),
            ),
            concurrency: self.or(
                |c| c.shadow.concurrency.map(NonZeroUsize::get),
                b.concurrency,
            ),
            disagreement_sample: self.or(
                |c| c.shadow.disagreement_sample.map(|f| f.0),
                b.disagreement_sample,
            ),
        };
        let after = COMMANDS
            .iter()
            .find(|c| c.kind == Kind::After && s.commands.contains(&c.config_key));
        if let Some(c) = after {
            let message = format!(
                "{} is an after-callback: only before-callbacks have a verdict to compare",
                c.config_key
            );
            return Err(ConfigError::new("shadow.commands", message, None));
        }
        Ok(s)
    }

    /// The settings of `command` (`None`: of a callback of `kind` without its own section) over
    /// `b`: per field, the most specific section that sets it, as its highest source does.
    fn callback(&self, command: Option<&Command>, kind: Kind, b: &Settings) -> CallbackSettings {
        let own = |l: &Layer| command.and_then(|c| l.callbacks.get(c.config_key).cloned());
        let of_kind = |l: &Layer| match kind {
            Kind::Before => l.shim.before.clone(),
            Kind::After => Section::after(l.shim.after.enable, l.shim.after.timeout),
        };
        let ordered = self.0.iter().map(|l| own(l).unwrap_or_default());
        let ordered = ordered.chain(self.0.iter().map(of_kind));
        let ordered = ordered.chain(self.0.iter().map(|l| l.shim.default.clone()));
        let s = ordered.fold(Section::default(), |s, lower| s.or(&lower));
        let (code, msg) = match &b.on_error {
            OnError::Refuse { err_code, err_msg } => (*err_code, err_msg.clone()),
            OnError::Continue => (DEFAULT_ON_ERROR_CODE, DEFAULT_ON_ERROR_MSG.to_owned()),
        };
        let refuse = s.on_error.map(|m| m == OnErrorMode::Refuse);
        let timeout = match kind {
            Kind::Before => b.timeout,
            Kind::After => b.after_timeout,
        };
        CallbackSettings {
            enable: s.enable.unwrap_or(true),
            timeout: s.timeout.map_or(timeout, Into::into),
            on_error: match refuse.unwrap_or(b.on_error != OnError::Continue) {
                false => OnError::Continue,
                true => OnError::Refuse {
                    err_code: s.err_code.map_or(code, Into::into),
                    err_msg: s.err_msg.unwrap_or(msg),
                },
            },
            unimplemented_ttl: s.unimplemented_ttl.map_or(b.unimplemented_ttl, Into::into),
        }
    }
}
