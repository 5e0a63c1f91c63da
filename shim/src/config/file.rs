//! The settings' schema: the config file's keys and sections as serde types (camelCase keys,
//! unknown keys refused), read from YAML with errors that name the key and the line. Settings
//! given as text (environment variables, flags) go through the same types ([`super::sources`]),
//! so a setting has one grammar wherever it is set.
//!
//! The file speaks OpenIM's vocabulary so that users can start from a copy of their
//! `webhooks.yml`: one section per callback, keyed by OpenIM's config key
//! (`beforeSendSingleMsg`, ...), in which OpenIM's own keys (`failedContinue`, `deniedTypes`,
//! `allowedTypes`, `attentionIds`, and the top-level `url`) are accepted and ignored: OpenIM
//! applies them before calling.

use std::{
    cell::RefCell,
    collections::BTreeMap,
    fmt,
    net::SocketAddr,
    num::{NonZeroI32, NonZeroU32, NonZeroU64, NonZeroUsize},
    path::{Path, PathBuf},
};

use openim_common::{ByteSize, Duration, telemetry::LogFormat};
use serde::{
    Deserialize, Deserializer,
    de::{self, DeserializeSeed, IgnoredAny, IntoDeserializer, MapAccess, Visitor},
};

use super::{ConfigError, MAX_BEFORE_TIMEOUT, Origin};
use crate::commands::{COMMANDS, Kind};

/// One source of settings (the config file, an environment variable, a flag): what it sets.
/// Field by field, `None` is "not set here"; `examples/shim.yaml` explains each key.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Layer {
    pub(crate) shim: Config,
    /// Sections of single callbacks, by config key.
    pub(crate) callbacks: BTreeMap<&'static str, Section>,
    /// What is worth a warning: keys of OpenIM callbacks this shim does not serve yet.
    pub(crate) warnings: Vec<String>,
}

/// The shim's own keys; the others are callbacks' ([`Callbacks`]). Adding a section is a struct
/// and a field here: the file, the environment variables and the error messages follow.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub(crate) struct Config {
    pub(crate) listen: Option<SocketAddr>,
    /// Where the policy is, and how its endpoints are reached.
    pub(crate) policy: Policy,
    pub(crate) max_body: Option<ByteSize>,
    #[serde(deserialize_with = "positive_code")]
    pub(crate) refuse_code: Option<NonZeroI32>,
    pub(crate) log_format: Option<LogFormat>,
    pub(crate) ready_requires_policy: Option<bool>,
    /// How the shim stops.
    pub(crate) shutdown: Shutdown,
    /// Every callback.
    pub(crate) default: Section,
    /// Every before-callback.
    pub(crate) before: Section,
    /// Every after-callback, and the delivery of after-events.
    pub(crate) after: After,
    pub(crate) spool: Spool,
    /// The Redis server of `spool.backend: redis`.
    pub(crate) redis: Redis,
    /// Recording callbacks for replay.
    pub(crate) capture: Capture,
    /// The shadow policy.
    pub(crate) shadow: Shadow,
    /// TLS on the callback listener.
    pub(crate) tls: Tls,
    /// Who may call.
    pub(crate) auth: Auth,
    /// Bounds on what callers may hold.
    pub(crate) limits: Limits,
    /// The operators' endpoints.
    pub(crate) admin: Admin,
}

/// A callback's settings: the `default` and `before` sections, and a before-callback's own.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct Section {
    pub(crate) enable: Option<bool>,
    /// Capped, also in `default`: it applies to before-callbacks too.
    #[serde(deserialize_with = "before_timeout")]
    pub(crate) timeout: Option<Duration>,
    pub(crate) on_error: Option<OnErrorMode>,
    #[serde(deserialize_with = "positive_code")]
    pub(crate) err_code: Option<NonZeroI32>,
    pub(crate) err_msg: Option<String>,
    pub(crate) unimplemented_ttl: Option<Duration>,
    failed_continue: IgnoredAny,
    denied_types: IgnoredAny,
    allowed_types: IgnoredAny,
    attention_ids: IgnoredAny,
}

/// An after-callback's own section: OpenIM does not wait for these, so no failure mode.
#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct AfterCallback {
    enable: Option<bool>,
    timeout: Option<Duration>,
    failed_continue: IgnoredAny,
    denied_types: IgnoredAny,
    allowed_types: IgnoredAny,
    attention_ids: IgnoredAny,
}

/// The `after` section.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default, rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct After {
    pub(crate) enable: Option<bool>,
    pub(crate) timeout: Option<Duration>,
    pub(crate) concurrency: Option<NonZeroUsize>,
    pub(crate) queue: Option<NonZeroUsize>,
    pub(crate) retry_initial: Option<Duration>,
    pub(crate) retry_max: Option<Duration>,
    pub(crate) max_age: Option<Duration>,
}

/// The `policy` section.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default, rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct Policy {
    pub(crate) targets: Option<Targets>,
    /// Targets of single services, by service name (`GroupService`, ...).
    pub(crate) services: Option<BTreeMap<String, Targets>>,
    pub(crate) resolve_interval: Option<Duration>,
    pub(crate) dns_server: Option<SocketAddr>,
    pub(crate) connect_timeout: Option<Duration>,
    pub(crate) keepalive: Option<Duration>,
    pub(crate) eject_after: Option<NonZeroU32>,
    pub(crate) eject_time: Option<Duration>,
    pub(crate) max_eject_time: Option<Duration>,
    pub(crate) max_reply: Option<ByteSize>,
    #[serde(deserialize_with = "non_empty_path")]
    pub(crate) tls_ca: Option<PathBuf>,
    #[serde(deserialize_with = "non_empty_path")]
    pub(crate) tls_cert: Option<PathBuf>,
    #[serde(deserialize_with = "non_empty_path")]
    pub(crate) tls_key: Option<PathBuf>,
    pub(crate) tls_server_name: Option<String>,
}

/// The `tls` section: the callback listener's certificate.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default, rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct Tls {
    #[serde(deserialize_with = "non_empty_path")]
    pub(crate) cert: Option<PathBuf>,
    #[serde(deserialize_with = "non_empty_path")]
    pub(crate) key: Option<PathBuf>,
    pub(crate) reload_interval: Option<Duration>,
}

/// The `auth` section.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default, rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct Auth {
    #[serde(deserialize_with = "secret")]
    pub(crate) path_secret: Option<String>,
    #[serde(deserialize_with = "secret")]
    pub(crate) token: Option<String>,
    pub(crate) token_header: Option<String>,
    pub(crate) allow: Option<Cidrs>,
    pub(crate) trusted_proxies: Option<Cidrs>,
}

/// The `limits` section.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default, rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct Limits {
    pub(crate) header_timeout: Option<Duration>,
    pub(crate) body_timeout: Option<Duration>,
    pub(crate) idle_timeout: Option<Duration>,
    pub(crate) max_connections: Option<NonZeroUsize>,
    pub(crate) max_concurrent: Option<NonZeroUsize>,
    pub(crate) body_budget: Option<ByteSize>,
}

/// The `admin` section.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default, rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct Admin {
    pub(crate) listen: Option<SocketAddr>,
}

/// Networks: a list, or one string of comma-separated networks; `10.0.0.0/8`, or an address
/// alone for just that address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Cidrs(pub(crate) Vec<ipnet::IpNet>);

impl<'de> Deserialize<'de> for Cidrs {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Written {
            One(String),
            Many(Vec<String>),
        }
        let list = match Written::deserialize(d)? {
            Written::One(s) => s.split(',').map(|t| t.trim().to_owned()).collect(),
            Written::Many(l) => l,
        };
        let parse = |t: &str| {
            t.parse::<ipnet::IpNet>()
                .or_else(|_| t.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                .map_err(|_| {
                    de::Error::custom(format!(
                        "{t:?} is not a network (10.0.0.0/8) nor an address"
                    ))
                })
        };
        let nets = list.iter().filter(|t| !t.is_empty()).map(|t| parse(t));
        Ok(Self(nets.collect::<Result<_, _>>()?))
    }
}

/// A secret compared with what callers send: long enough not to be guessed.
fn secret<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    match Option::<String>::deserialize(d)? {
        Some(s) if s.len() < 16 => Err(de::Error::custom(
            "too short: use at least 16 characters (e.g. `openssl rand -hex 16`)",
        )),
        Some(s) if !s.bytes().all(|b| b.is_ascii_graphic() && b != b'/') => Err(de::Error::custom(
            "printable ASCII without spaces or `/` only",
        )),
        s => Ok(s),
    }
}

/// Policy targets: a list, or one string of comma-separated targets (as `--policy` takes them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Targets(pub(crate) Vec<String>);

impl<'de> Deserialize<'de> for Targets {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let list = list(d)?;
        if list.is_empty() {
            return Err(de::Error::custom("no target"));
        }
        Ok(Self(list))
    }
}

/// A list of names: a YAML list, or one string of comma-separated names (as flags and
/// environment variables give them); blanks dropped.
fn list<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Written {
        One(String),
        Many(Vec<String>),
    }
    let list = match Written::deserialize(d)? {
        Written::One(s) => s.split(',').map(|t| t.trim().to_owned()).collect(),
        Written::Many(l) => l,
    };
    Ok(list.into_iter().filter(|t| !t.is_empty()).collect())
}

/// The `shutdown` section.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default, rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct Shutdown {
    pub(crate) drain_delay: Option<Duration>,
    pub(crate) timeout: Option<Duration>,
}

/// The `spool` section.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default, rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct Spool {
    pub(crate) enabled: Option<bool>,
    #[serde(deserialize_with = "non_empty_path")]
    pub(crate) dir: Option<PathBuf>,
    pub(crate) max_events: Option<NonZeroU64>,
    pub(crate) max_bytes: Option<ByteSize>,
    pub(crate) backend: Option<SpoolBackend>,
    pub(crate) drain_timeout: Option<Duration>,
}

/// `spool.backend`: where after-events wait for delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum SpoolBackend {
    /// A redb database in `spool.dir`, this process's own.
    Local,
    /// A Redis stream shared by every shim (the local spool is the fallback).
    Redis,
}

/// The `redis` section.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default, rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct Redis {
    pub(crate) url: Option<String>,
    pub(crate) username: Option<String>,
    pub(crate) password: Option<String>,
    #[serde(deserialize_with = "non_empty_path")]
    pub(crate) ca_file: Option<PathBuf>,
    pub(crate) stream: Option<String>,
    pub(crate) group: Option<String>,
    pub(crate) consumer: Option<String>,
    pub(crate) claim_idle: Option<Duration>,
    pub(crate) timeout: Option<Duration>,
}

/// The `capture` section.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct Capture {
    pub(crate) enabled: Option<bool>,
    #[serde(deserialize_with = "non_empty_path")]
    pub(crate) dir: Option<PathBuf>,
    pub(crate) max_file_size: Option<ByteSize>,
    pub(crate) max_total_size: Option<ByteSize>,
    pub(crate) sample: Option<Fraction>,
    pub(crate) commands: Option<CommandKeys>,
    pub(crate) queue: Option<NonZeroUsize>,
    pub(crate) hash_key: Option<String>,
}

/// The `shadow` section.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct Shadow {
    pub(crate) targets: Option<Targets>,
    pub(crate) timeout: Option<Duration>,
    pub(crate) sample: Option<Fraction>,
    pub(crate) commands: Option<CommandKeys>,
    pub(crate) concurrency: Option<NonZeroUsize>,
    pub(crate) disagreement_sample: Option<Fraction>,
}

/// A share, from 0 to 1.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Fraction(pub(crate) f64);

impl<'de> Deserialize<'de> for Fraction {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let f = f64::deserialize(d)?;
        if !(0.0..=1.0).contains(&f) {
            return Err(de::Error::custom(format!(
                "{f} is not a share: from 0 (none) to 1 (all)"
            )));
        }
        Ok(Self(f))
    }
}

/// Callbacks by config key (`beforeSendSingleMsg`, ...): a list, or one string of
/// comma-separated keys (as an environment variable gives them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CommandKeys(pub(crate) Vec<&'static str>);

impl<'de> Deserialize<'de> for CommandKeys {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        // An empty list: every callback.
        let mut keys = Vec::new();
        for name in list(d)? {
            let Some(c) = COMMANDS.iter().find(|c| c.config_key == name) else {
                return Err(de::Error::custom(format!(
                    "unknown callback {name:?}: a key of OpenIM's webhooks.yml, such as \
                     beforeSendSingleMsg"
                )));
            };
            if !keys.contains(&c.config_key) {
                keys.push(c.config_key);
            }
        }
        Ok(Self(keys))
    }
}

/// `onError`: what a before-callback answers without a policy decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum OnErrorMode {
    /// Let the operation through (fail open).
    Continue,
    /// Refuse it with `errCode`/`errMsg` (fail closed).
    Refuse,
}

impl Section {
    /// A section with only `enable` and `timeout` (`after`'s, an after-callback's).
    pub(crate) fn after(enable: Option<bool>, timeout: Option<Duration>) -> Self {
        Self {
            enable,
            timeout,
            ..Self::default()
        }
    }

    /// This section, with what it does not set taken from `lower`.
    pub(crate) fn or(self, lower: &Self) -> Self {
        Self {
            enable: self.enable.or(lower.enable),
            timeout: self.timeout.or(lower.timeout),
            on_error: self.on_error.or(lower.on_error),
            err_code: self.err_code.or(lower.err_code),
            err_msg: self.err_msg.or_else(|| lower.err_msg.clone()),
            unimplemented_ttl: self.unimplemented_ttl.or(lower.unimplemented_ttl),
            ..self
        }
    }
}

fn before_timeout<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
    match Option::<Duration>::deserialize(d)? {
        Some(t) if t.0 > MAX_BEFORE_TIMEOUT => Err(de::Error::custom(format!(
            "{t} is above OpenIM's 15 s cap: OpenIM would give up first"
        ))),
        t => Ok(t),
    }
}

/// An errCode OpenIM passes on: a positive int32 (0 is lost, and OpenIM's RPC layer rewrites
/// negative codes).
fn positive_code<'de, D: Deserializer<'de>>(d: D) -> Result<Option<NonZeroI32>, D::Error> {
    match Option::<NonZeroI32>::deserialize(d)? {
        Some(c) if c.get() < 0 => Err(de::Error::custom(format!(
            "{c} is negative: an errCode must be positive"
        ))),
        c => Ok(c),
    }
}

fn non_empty_path<'de, D: Deserializer<'de>>(d: D) -> Result<Option<PathBuf>, D::Error> {
    match Option::<PathBuf>::deserialize(d)? {
        Some(p) if p.as_os_str().is_empty() => Err(de::Error::custom("must not be empty")),
        p => Ok(p),
    }
}

impl Layer {
    /// Reads the config file at `path`.
    pub fn read(path: &Path) -> Result<Self, ConfigError> {
        let origin = Origin::File(path.to_owned(), None);
        let unreadable =
            |e| ConfigError::new("", format!("cannot read: {e}"), Some(origin.clone()));
        Self::from_yaml(&std::fs::read_to_string(path).map_err(unreadable)?, &origin)
    }

    /// Reads YAML `text` given by `origin`, twice: as the shim's [`Config`], which skips the
    /// callbacks' keys, and as [`Callbacks`], which skips the shim's.
    pub fn from_yaml(text: &str, origin: &Origin) -> Result<Self, ConfigError> {
        let shim = parse(text, origin)?;
        let Callbacks(callbacks, warnings) = parse(text, origin)?;
        Ok(Self {
            shim,
            callbacks,
            warnings,
        })
    }
}

/// Reads YAML `text`; errors name the key, and the line in a file.
fn parse<T: for<'de> Deserialize<'de>>(text: &str, origin: &Origin) -> Result<T, ConfigError> {
    let mut key = String::new();
    let parsed = serde_saphyr::with_deserializer_from_str(text, |d| {
        serde_path_to_error::deserialize(d).map_err(|e| {
            key = e.path().to_string();
            e.into_inner()
        })
    });
    parsed.map_err(|e| {
        // serde-saphyr ends its messages with the position: ` at line 3, column 5`.
        let e = e.without_snippet().to_string();
        let (message, at) = e.rsplit_once(" at line ").unwrap_or((&e, ""));
        let line = at.split(',').next().and_then(|l| l.parse().ok());
        let origin = match origin {
            Origin::File(path, _) => Origin::File(path.clone(), line),
            other => other.clone(),
        };
        // `.` is the document, `?` a key not read (the YAML ended first).
        let key = key.trim_matches(['.', '?']);
        ConfigError::new(key, message, Some(origin))
    })
}

/// The callbacks' sections of a file, by config key, and the keys of callbacks this shim does
/// not serve yet; any other key that is not the shim's is refused. Its own visitor.
#[derive(Default)]
struct Callbacks(BTreeMap<&'static str, Section>, Vec<String>);

impl<'de> Deserialize<'de> for Callbacks {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(Callbacks::default())
    }
}

impl<'de> Visitor<'de> for Callbacks {
    type Value = Self;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a mapping of settings and sections")
    }

    /// An empty file, or one with only comments.
    fn visit_unit<E: de::Error>(self) -> Result<Self, E> {
        Ok(self)
    }

    fn visit_map<A: MapAccess<'de>>(mut self, mut map: A) -> Result<Self, A::Error> {
        let shim: Vec<_> = keys()
            .into_iter()
            .filter_map(|k| Some(k.split('.').next()?.to_owned()))
            .collect();
        while let Some(key) = map.next_key::<String>()? {
            if let Some(c) = COMMANDS.iter().find(|c| c.config_key == key) {
                // A section with every key commented out is empty, not an error.
                let section = match c.kind {
                    Kind::Before => map.next_value::<Option<Section>>()?,
                    Kind::After => {
                        let a = map.next_value::<Option<AfterCallback>>()?;
                        a.map(|a| Section::after(a.enable, a.timeout))
                    }
                };
                self.0.insert(c.config_key, section.unwrap_or_default());
            } else if shim.contains(&key) || key == "url" {
                map.next_value::<IgnoredAny>()?;
            } else if key == "afterGroupMsgRevoke" {
                // OpenIM's keys are in the command table, but for callbacks not served yet:
                // accepted, so that a copy of OpenIM's `webhooks.yml` loads.
                map.next_value::<IgnoredAny>()?;
                let warning = "is an OpenIM callback this shim does not serve yet: ignored";
                self.1.push(format!("config key `{key}` {warning}"));
            } else {
                let hint = COMMANDS
                    .iter()
                    .map(|c| c.config_key)
                    .find(|k| k.eq_ignore_ascii_case(&key));
                let hint = hint
                    .map(|k| format!(" (did you mean `{k}`?)"))
                    .unwrap_or_default();
                let message = format!(
                    "unknown key: not a setting of the shim nor a callback of OpenIM's webhooks.yml{hint}"
                );
                // Refused while reading its value, so that the error has the key and the line.
                return map
                    .next_value_seed(Refuse(message))
                    .map(|never| match never {});
            }
        }
        Ok(self)
    }
}

/// Reads a value by refusing it with this message.
struct Refuse(String);

impl<'de> DeserializeSeed<'de> for Refuse {
    type Value = std::convert::Infallible;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        IgnoredAny::deserialize(d)?;
        Err(de::Error::custom(self.0))
    }
}

/// Every key, `section.field` (`field` at the top), callback sections included, read off the
/// serde types: their derived impls name each struct's fields to [`Keys`].
pub fn keys() -> Vec<String> {
    let keys = RefCell::new(Vec::new());
    let _ = Config::deserialize(Keys(String::new(), &keys));
    for c in COMMANDS {
        let section = Keys(format!("{}.", c.config_key), &keys);
        let _ = match c.kind {
            Kind::Before => Section::deserialize(section).map(drop),
            Kind::After => AfterCallback::deserialize(section).map(drop),
        };
    }
    let mut keys = keys.into_inner();
    // Commands that share a config key share its section.
    keys.sort();
    keys.dedup();
    keys
}

/// A deserializer that answers every struct field with nothing, and notes the key of each field
/// that holds a setting (an `Option`); `.0` is the key so far, `section.`.
struct Keys<'a>(String, &'a RefCell<Vec<String>>);

impl<'de> Deserializer<'de> for Keys<'_> {
    type Error = de::value::Error;

    /// OpenIM's own keys ([`IgnoredAny`]): accepted in the file, not settings.
    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        visitor.visit_unit()
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        self.1
            .borrow_mut()
            .push(self.0.trim_end_matches('.').to_owned());
        visitor.visit_none()
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        let field = |f: &&'static str| (*f, Keys(format!("{}{f}.", self.0), self.1));
        visitor.visit_map(de::value::MapDeserializer::new(fields.iter().map(field)))
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf unit
        unit_struct newtype_struct seq tuple tuple_struct map enum identifier ignored_any
    }
}

impl<'de> IntoDeserializer<'de, de::value::Error> for Keys<'_> {
    type Deserializer = Self;

    fn into_deserializer(self) -> Self {
        self
    }
}
