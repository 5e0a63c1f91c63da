//! The configuration file (`--config`, YAML) and its environment overrides, parsed into typed,
//! validated settings. Pure: the file's text and an environment lookup function come in, so
//! tests pass a map and never touch the process environment.
//!
//! The file speaks OpenIM's vocabulary so that users can mirror their `webhooks.yml`: one section
//! per callback keyed by OpenIM's config key (`beforeSendSingleMsg`, ...) with `enable` and
//! `timeout`, plus the shim's own `onError`/`errCode`/`errMsg`/`unimplementedTtl`; sections
//! `default` (every callback), `before` and `after` (one kind; `after` also holds the delivery
//! settings), and `spool`. OpenIM's own `url`, `failedContinue`, `deniedTypes`, `allowedTypes`
//! and `attentionIds` are accepted and ignored (OpenIM applies them before calling).
//!
//! Every setting `S.F` can be overridden by the environment variable `OPENIM_SHIM_<S>_<F>`, both
//! upper-cased without separators: `beforeSendSingleMsg.timeout` →
//! `OPENIM_SHIM_BEFORESENDSINGLEMSG_TIMEOUT`, `spool.maxEvents` → `OPENIM_SHIM_SPOOL_MAXEVENTS`.
//! OpenIM's config keys contain no `_`, so the names are unambiguous.

use std::{collections::BTreeMap, fmt, path::PathBuf, time::Duration};

use openim_common::parse_duration;
use serde::{Deserialize, Deserializer, de};

use super::{MAX_BEFORE_TIMEOUT, OnErrorMode};
use crate::commands::{COMMANDS, Command, Kind};

/// Every per-callback key of OpenIM's `webhooks.yml` (PROTOCOL.md §3, main and v3.7+). Keys of
/// callbacks this shim does not serve yet are accepted with a warning, so that a mirrored
/// `webhooks.yml` loads.
pub const OPENIM_CONFIG_KEYS: &[&str] = &[
    "beforeSendSingleMsg",
    "beforeUpdateUserInfoEx",
    "afterUpdateUserInfoEx",
    "afterSendSingleMsg",
    "beforeSendGroupMsg",
    "beforeMsgModify",
    "afterSendGroupMsg",
    "afterMsgSaveDB",
    "afterUserOnline",
    "afterUserOffline",
    "afterUserKickOff",
    "beforeOfflinePush",
    "beforeOnlinePush",
    "beforeGroupOnlinePush",
    "beforeAddFriend",
    "beforeUpdateUserInfo",
    "afterUpdateUserInfo",
    "beforeCreateGroup",
    "afterCreateGroup",
    "beforeMemberJoinGroup",
    "beforeSetGroupMemberInfo",
    "afterSetGroupMemberInfo",
    "afterQuitGroup",
    "afterKickGroupMember",
    "afterDismissGroup",
    "beforeApplyJoinGroup",
    "afterGroupMsgRead",
    "afterSingleMsgRead",
    "beforeUserRegister",
    "afterUserRegister",
    "afterTransferGroupOwner",
    "beforeSetFriendRemark",
    "afterSetFriendRemark",
    "afterGroupMsgRevoke",
    "afterJoinGroup",
    "beforeInviteUserToGroup",
    "afterSetGroupInfo",
    "beforeSetGroupInfo",
    "afterSetGroupInfoEx",
    "beforeSetGroupInfoEx",
    "afterRevokeMsg",
    "beforeAddBlack",
    "afterAddFriend",
    "beforeAddFriendAgree",
    "afterAddFriendAgree",
    "afterDeleteFriend",
    "beforeImportFriends",
    "afterImportFriends",
    "afterRemoveBlack",
    "beforeCreateSingleChatConversations",
    "afterCreateSingleChatConversations",
    "beforeCreateGroupChatConversations",
    "afterCreateGroupChatConversations",
];

/// Prefix of every environment override.
pub const ENV_PREFIX: &str = "OPENIM_SHIM_";

/// Settings of every callback section.
const CALLBACK_FIELDS: &[&str] = &["enable", "timeout"];
/// Settings that only before-callbacks use.
const BEFORE_FIELDS: &[&str] = &["onError", "errCode", "errMsg", "unimplementedTtl"];
/// After-event delivery settings: `after` section only.
const DELIVERY_FIELDS: &[&str] = &["concurrency", "queue", "retryInitial", "retryMax", "maxAge"];
/// Settings of the `spool` section.
const SPOOL_FIELDS: &[&str] = &["enabled", "dir", "maxEvents", "maxBytes"];
/// OpenIM's own per-callback settings: accepted in callback sections and ignored.
const OPENIM_FIELDS: &[&str] = &[
    "failedContinue",
    "deniedTypes",
    "allowedTypes",
    "attentionIds",
];

/// Where a value came from, for error messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// The config file.
    File(PathBuf),
    /// An environment variable.
    Env(String),
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::File(p) => write!(f, "in {}", p.display()),
            Self::Env(name) => write!(f, "from environment variable {name}"),
        }
    }
}

/// Why the configuration cannot be used. Every variant names what to fix.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file cannot be read.
    #[error("cannot read config file {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The file is not YAML, or not a mapping at the top.
    #[error("config file {} is not valid: {message}", path.display())]
    Syntax {
        /// The file.
        path: PathBuf,
        /// The parser's message.
        message: String,
    },
    /// Two settings contradict each other (after every layer is applied).
    #[error("{key}: {message}")]
    Conflict {
        /// `section.field`.
        key: String,
        /// What is wrong.
        message: String,
    },
    /// A key or value is wrong.
    #[error("{key}: {message} ({origin})")]
    Invalid {
        /// `section` or `section.field`.
        key: String,
        /// Where it was set.
        origin: Origin,
        /// What is wrong.
        message: String,
    },
}

/// Settings one section gives a callback (or a kind, or all callbacks); `None` = not set here.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CallbackOverrides {
    /// `enable`: forward the callback to the policy at all.
    pub enable: Option<bool>,
    /// `timeout`: policy deadline (before) or delivery-attempt deadline (after).
    pub timeout: Option<Duration>,
    /// `onError`: before-callbacks only.
    pub on_error: Option<OnErrorMode>,
    /// `errCode` of the refusal made by `onError: refuse`; non-zero.
    pub err_code: Option<i32>,
    /// `errMsg` of the refusal made by `onError: refuse`.
    pub err_msg: Option<String>,
    /// `unimplementedTtl`: how long a policy's UNIMPLEMENTED is remembered.
    pub unimplemented_ttl: Option<Duration>,
}

/// The `after` section's delivery settings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeliveryOverrides {
    /// `concurrency`: deliveries in flight, at most.
    pub concurrency: Option<usize>,
    /// `queue`: events accepted but not yet written to the spool, at most.
    pub queue: Option<usize>,
    /// `retryInitial`: backoff before the first retry.
    pub retry_initial: Option<Duration>,
    /// `retryMax`: longest backoff between retries.
    pub retry_max: Option<Duration>,
    /// `maxAge`: how long an event is retried before it is given up (logged and counted).
    pub max_age: Option<Duration>,
}

/// The `spool` section.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SpoolOverrides {
    /// `enabled`: keep after-events on disk (`false`: in memory, lost on restart).
    pub enabled: Option<bool>,
    /// `dir`: the spool's directory.
    pub dir: Option<PathBuf>,
    /// `maxEvents`: events kept at most.
    pub max_events: Option<u64>,
    /// `maxBytes`: bytes of events kept at most.
    pub max_bytes: Option<u64>,
}

/// The callback sections: every layer a callback's settings are resolved from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CallbackConfig {
    /// `default`: every callback.
    pub default: CallbackOverrides,
    /// `before`: every before-callback.
    pub before: CallbackOverrides,
    /// `after`: every after-callback.
    pub after: CallbackOverrides,
    /// One callback, by OpenIM config key.
    pub by_key: BTreeMap<&'static str, CallbackOverrides>,
}

impl CallbackConfig {
    /// The layers that apply to `command`, most specific first.
    pub fn layers(&self, command: &Command) -> [Option<&CallbackOverrides>; 3] {
        let kind = match command.kind {
            Kind::Before => &self.before,
            Kind::After => &self.after,
        };
        [
            self.by_key.get(command.config_key),
            Some(kind),
            Some(&self.default),
        ]
    }
}

/// Everything the file and the environment set.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FileConfig {
    /// Callback sections.
    pub callbacks: CallbackConfig,
    /// The `after` section's delivery settings.
    pub delivery: DeliveryOverrides,
    /// The `spool` section.
    pub spool: SpoolOverrides,
    /// Things worth a log line that do not stop the shim (e.g. keys of callbacks this shim does
    /// not serve yet).
    pub warnings: Vec<String>,
}

/// A YAML node, just enough to validate keys and read scalars as text.
#[derive(Debug)]
enum Node {
    Null,
    Scalar(String),
    List,
    Map(Vec<(String, Node)>),
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> de::Visitor<'de> for V {
            type Value = Node;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a YAML value")
            }
            fn visit_unit<E>(self) -> Result<Node, E> {
                Ok(Node::Null)
            }
            fn visit_none<E>(self) -> Result<Node, E> {
                Ok(Node::Null)
            }
            fn visit_bool<E>(self, v: bool) -> Result<Node, E> {
                Ok(Node::Scalar(v.to_string()))
            }
            fn visit_i64<E>(self, v: i64) -> Result<Node, E> {
                Ok(Node::Scalar(v.to_string()))
            }
            fn visit_u64<E>(self, v: u64) -> Result<Node, E> {
                Ok(Node::Scalar(v.to_string()))
            }
            fn visit_f64<E>(self, v: f64) -> Result<Node, E> {
                Ok(Node::Scalar(v.to_string()))
            }
            fn visit_str<E>(self, v: &str) -> Result<Node, E> {
                Ok(Node::Scalar(v.to_owned()))
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Node, A::Error> {
                while seq.next_element::<de::IgnoredAny>()?.is_some() {}
                Ok(Node::List)
            }
            fn visit_map<A: de::MapAccess<'de>>(self, mut map: A) -> Result<Node, A::Error> {
                let mut entries = Vec::new();
                while let Some((k, v)) = map.next_entry::<String, Node>()? {
                    entries.push((k, v));
                }
                Ok(Node::Map(entries))
            }
        }
        d.deserialize_any(V)
    }
}

/// One raw setting: its text and where it came from.
#[derive(Debug)]
struct Raw {
    text: String,
    origin: Origin,
}

/// What a section is.
#[derive(Debug, Clone, Copy)]
enum SectionKind {
    Default,
    Before,
    After,
    Spool,
    Callback(&'static Command),
}

impl SectionKind {
    fn of(name: &str) -> Option<Self> {
        Some(match name {
            "default" => Self::Default,
            "before" => Self::Before,
            "after" => Self::After,
            "spool" => Self::Spool,
            _ => Self::Callback(COMMANDS.iter().find(|c| c.config_key == name)?),
        })
    }

    /// Whether `field` may be set in this section; `Err` says why not.
    fn allows(self, field: &str) -> Result<bool, String> {
        let is = |set: &[&str]| set.contains(&field);
        let before_only = || format!("`{field}` applies to before-callbacks only");
        match self {
            Self::Default | Self::Before if is(CALLBACK_FIELDS) || is(BEFORE_FIELDS) => Ok(true),
            Self::After if is(CALLBACK_FIELDS) || is(DELIVERY_FIELDS) => Ok(true),
            Self::After if is(BEFORE_FIELDS) => Err(before_only()),
            Self::Spool if is(SPOOL_FIELDS) => Ok(true),
            Self::Callback(_) if is(CALLBACK_FIELDS) => Ok(true),
            Self::Callback(c) if is(BEFORE_FIELDS) => match c.kind {
                Kind::Before => Ok(true),
                Kind::After => Err(before_only()),
            },
            Self::Callback(_) if is(OPENIM_FIELDS) => Ok(false),
            Self::Callback(_) | Self::Default | Self::Before if is(DELIVERY_FIELDS) => Err(
                format!("`{field}` is a delivery setting: set it in the `after` section"),
            ),
            _ => Err(format!("unknown setting `{field}`")),
        }
    }

    /// Every field an environment variable may set in this section.
    fn env_fields(self) -> Vec<&'static str> {
        let mut f = Vec::new();
        match self {
            Self::Default | Self::Before => {
                f.extend(CALLBACK_FIELDS);
                f.extend(BEFORE_FIELDS);
            }
            Self::After => {
                f.extend(CALLBACK_FIELDS);
                f.extend(DELIVERY_FIELDS);
            }
            Self::Spool => f.extend(SPOOL_FIELDS),
            Self::Callback(c) => {
                f.extend(CALLBACK_FIELDS);
                if c.kind == Kind::Before {
                    f.extend(BEFORE_FIELDS);
                }
            }
        }
        f
    }
}

/// The environment variable that overrides `section.field`.
pub fn env_name(section: &str, field: &str) -> String {
    format!(
        "{ENV_PREFIX}{}_{}",
        section.to_ascii_uppercase(),
        field.to_ascii_uppercase()
    )
}

/// Parses the config file (`file`: its text and path, if there is one) and applies the
/// environment overrides found through `env`.
pub fn parse(
    file: Option<(&str, PathBuf)>,
    env: impl Fn(&str) -> Option<String>,
) -> Result<FileConfig, ConfigError> {
    let mut warnings = Vec::new();
    let mut raw: BTreeMap<String, (SectionKind, BTreeMap<String, Raw>)> = BTreeMap::new();
    if let Some((text, path)) = file {
        read_yaml(text, &path, &mut raw, &mut warnings)?;
    }
    let sections = ["default", "before", "after", "spool"]
        .into_iter()
        .chain(COMMANDS.iter().map(|c| c.config_key));
    for section in sections {
        let Some(kind) = SectionKind::of(section) else {
            continue;
        };
        for field in kind.env_fields() {
            let name = env_name(section, field);
            if let Some(text) = env(&name) {
                raw.entry(section.to_owned())
                    .or_insert_with(|| (kind, BTreeMap::new()))
                    .1
                    .insert(
                        field.to_owned(),
                        Raw {
                            text,
                            origin: Origin::Env(name),
                        },
                    );
            }
        }
    }

    let mut config = FileConfig {
        warnings,
        ..FileConfig::default()
    };
    for (name, (kind, fields)) in raw {
        let mut s = Section {
            name: &name,
            kind,
            fields,
        };
        match kind {
            SectionKind::Default => config.callbacks.default = s.callback()?,
            SectionKind::Before => config.callbacks.before = s.callback()?,
            SectionKind::After => {
                config.callbacks.after = s.callback()?;
                config.delivery = s.delivery()?;
            }
            SectionKind::Spool => config.spool = s.spool()?,
            SectionKind::Callback(c) => {
                config.callbacks.by_key.insert(c.config_key, s.callback()?);
            }
        }
    }
    Ok(config)
}

fn read_yaml(
    text: &str,
    path: &std::path::Path,
    raw: &mut BTreeMap<String, (SectionKind, BTreeMap<String, Raw>)>,
    warnings: &mut Vec<String>,
) -> Result<(), ConfigError> {
    let syntax = |message: String| ConfigError::Syntax {
        path: path.to_owned(),
        message,
    };
    if text.trim().is_empty() {
        return Ok(());
    }
    let top: Node = serde_saphyr::from_str(text).map_err(|e| syntax(e.to_string()))?;
    let entries = match top {
        Node::Map(entries) => entries,
        Node::Null => return Ok(()),
        _ => return Err(syntax("expected a mapping of sections at the top".into())),
    };
    let origin = || Origin::File(path.to_owned());
    let invalid = |key: String, message: String| ConfigError::Invalid {
        key,
        origin: origin(),
        message,
    };
    for (name, node) in entries {
        // OpenIM's own base URL: present in a mirrored webhooks.yml, meaningless here.
        if name == "url" {
            continue;
        }
        let Some(kind) = SectionKind::of(&name) else {
            if OPENIM_CONFIG_KEYS.contains(&name.as_str()) {
                warnings.push(format!(
                    "config key `{name}` is an OpenIM callback this shim does not serve yet: ignored"
                ));
                continue;
            }
            let hint = COMMANDS
                .iter()
                .map(|c| c.config_key)
                .chain(["default", "before", "after", "spool"])
                .find(|k| k.eq_ignore_ascii_case(&name))
                .map(|k| format!(" (did you mean `{k}`?)"))
                .unwrap_or_default();
            return Err(invalid(
                name,
                format!(
                    "unknown key: not a callback of OpenIM's webhooks.yml, nor default, before, \
                     after or spool{hint}"
                ),
            ));
        };
        let fields = match node {
            Node::Map(fields) => fields,
            Node::Null => Vec::new(),
            _ => return Err(invalid(name, "expected a mapping of settings".into())),
        };
        let section = &mut raw
            .entry(name.clone())
            .or_insert_with(|| (kind, BTreeMap::new()))
            .1;
        for (field, value) in fields {
            let key = format!("{name}.{field}");
            if !kind.allows(&field).map_err(|m| invalid(key.clone(), m))? {
                continue;
            }
            match value {
                Node::Scalar(text) => {
                    section.insert(
                        field,
                        Raw {
                            text,
                            origin: origin(),
                        },
                    );
                }
                Node::Null => {}
                Node::List | Node::Map(_) => {
                    return Err(invalid(key, "expected a single value".into()));
                }
            }
        }
    }
    Ok(())
}

/// One section's raw settings, read into typed values.
struct Section<'a> {
    name: &'a str,
    kind: SectionKind,
    fields: BTreeMap<String, Raw>,
}

impl Section<'_> {
    /// Parses `field` with `parse`; `None` if not set.
    fn get<T>(
        &mut self,
        field: &str,
        parse: impl FnOnce(&str) -> Result<T, String>,
    ) -> Result<Option<T>, ConfigError> {
        let Some(raw) = self.fields.remove(field) else {
            return Ok(None);
        };
        parse(raw.text.trim())
            .map(Some)
            .map_err(|message| ConfigError::Invalid {
                key: format!("{}.{field}", self.name),
                origin: raw.origin,
                message,
            })
    }

    fn callback(&mut self) -> Result<CallbackOverrides, ConfigError> {
        // A `default` timeout applies to before-callbacks too, so it has their cap.
        let capped = !matches!(self.kind, SectionKind::After)
            && !matches!(self.kind, SectionKind::Callback(c) if c.kind == Kind::After);
        Ok(CallbackOverrides {
            enable: self.get("enable", boolean)?,
            timeout: self.get("timeout", |s| {
                let d = duration(s)?;
                if capped && d > MAX_BEFORE_TIMEOUT {
                    return Err(format!(
                        "{s} is above OpenIM's 15 s cap: OpenIM would give up first"
                    ));
                }
                Ok(d)
            })?,
            on_error: self.get("onError", |s| match s {
                "continue" => Ok(OnErrorMode::Continue),
                "refuse" => Ok(OnErrorMode::Refuse),
                _ => Err(format!("{s:?} is not `continue` or `refuse`")),
            })?,
            err_code: self.get("errCode", err_code)?,
            err_msg: self.get("errMsg", |s| Ok(s.to_owned()))?,
            unimplemented_ttl: self.get("unimplementedTtl", duration)?,
        })
    }

    fn delivery(&mut self) -> Result<DeliveryOverrides, ConfigError> {
        Ok(DeliveryOverrides {
            concurrency: self.get("concurrency", positive)?,
            queue: self.get("queue", positive)?,
            retry_initial: self.get("retryInitial", duration)?,
            retry_max: self.get("retryMax", duration)?,
            max_age: self.get("maxAge", duration)?,
        })
    }

    fn spool(&mut self) -> Result<SpoolOverrides, ConfigError> {
        Ok(SpoolOverrides {
            enabled: self.get("enabled", boolean)?,
            dir: self.get("dir", |s| {
                if s.is_empty() {
                    Err("must not be empty".to_owned())
                } else {
                    Ok(PathBuf::from(s))
                }
            })?,
            max_events: self.get("maxEvents", |s| positive(s).map(|n| n as u64))?,
            max_bytes: self.get("maxBytes", byte_size)?,
        })
    }
}

fn boolean(s: &str) -> Result<bool, String> {
    match s {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(format!("{s:?} is not true or false")),
    }
}

fn positive(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(0) => Err("must be at least 1".into()),
        Ok(n) => Ok(n),
        Err(_) => Err(format!("{s:?} is not a positive whole number")),
    }
}

/// A non-zero errCode: OpenIM loses a zero code.
pub(crate) fn err_code(s: &str) -> Result<i32, String> {
    match s.parse::<i32>() {
        Ok(0) => Err("must be non-zero: OpenIM loses a zero errCode".to_owned()),
        Ok(n) => Ok(n),
        Err(_) => Err(format!("{s:?} is not a 32-bit integer")),
    }
}

/// A duration as [`parse_duration`] reads it (`500ms`, `2s`, `1m`, or seconds as OpenIM writes
/// them), or whole hours (`24h`).
pub fn duration(s: &str) -> Result<Duration, String> {
    match s.strip_suffix('h') {
        Some(hours) => match hours.trim().parse::<u64>() {
            Ok(h) if h > 0 => Ok(Duration::from_secs(h.saturating_mul(3600))),
            _ => Err(format!("{s:?} is not a duration like 1s, 500ms, 5m or 24h")),
        },
        None => parse_duration(s),
    }
}

/// A size in bytes: a whole number, or with a `KiB`, `MiB` or `GiB` suffix.
pub fn byte_size(s: &str) -> Result<u64, String> {
    let (num, unit) = s
        .find(|c: char| !c.is_ascii_digit())
        .map_or((s, ""), |i| s.split_at(i));
    let n: u64 = num
        .parse()
        .map_err(|_| format!("{s:?} is not a size like 1048576, 512MiB or 1GiB"))?;
    let scale = match unit.trim() {
        "" => 1,
        "KiB" => 1 << 10,
        "MiB" => 1 << 20,
        "GiB" => 1 << 30,
        other => {
            return Err(format!(
                "unknown unit {other:?} in {s:?}: use KiB, MiB or GiB"
            ));
        }
    };
    match n.checked_mul(scale) {
        Some(0) => Err("must be more than zero".into()),
        Some(b) => Ok(b),
        None => Err(format!("{s:?} is too large")),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn no_env(_: &str) -> Option<String> {
        None
    }

    fn yaml(text: &str) -> Result<FileConfig, ConfigError> {
        parse(Some((text, PathBuf::from("shim.yaml"))), no_env)
    }

    fn err(text: &str) -> String {
        yaml(text).unwrap_err().to_string()
    }

    #[test]
    fn a_full_example_parses_into_every_layer() {
        let c = yaml(
            r"
url: http://127.0.0.1:10006/callbackExample
default:
  onError: continue
  unimplementedTtl: 1m
before:
  timeout: 800ms
after:
  timeout: 3s
  concurrency: 8
  queue: 500
  retryInitial: 100ms
  retryMax: 2s
  maxAge: 24h
beforeSendSingleMsg:
  enable: true
  timeout: 1
  failedContinue: true
  deniedTypes: [1, 2]
  onError: refuse
  errCode: 5900
  errMsg: message refused
afterSendGroupMsg:
  enable: false
  attentionIds: []
spool:
  enabled: true
  dir: /var/lib/openim-shim/spool
  maxEvents: 1000
  maxBytes: 64MiB
",
        )
        .unwrap();
        assert_eq!(
            c.callbacks.default,
            CallbackOverrides {
                on_error: Some(OnErrorMode::Continue),
                unimplemented_ttl: Some(Duration::from_secs(60)),
                ..Default::default()
            }
        );
        assert_eq!(c.callbacks.before.timeout, Some(Duration::from_millis(800)));
        assert_eq!(c.callbacks.after.timeout, Some(Duration::from_secs(3)));
        assert_eq!(
            c.callbacks.by_key["beforeSendSingleMsg"],
            CallbackOverrides {
                enable: Some(true),
                timeout: Some(Duration::from_secs(1)),
                on_error: Some(OnErrorMode::Refuse),
                err_code: Some(5900),
                err_msg: Some("message refused".into()),
                unimplemented_ttl: None,
            }
        );
        assert_eq!(c.callbacks.by_key["afterSendGroupMsg"].enable, Some(false));
        assert_eq!(
            c.delivery,
            DeliveryOverrides {
                concurrency: Some(8),
                queue: Some(500),
                retry_initial: Some(Duration::from_millis(100)),
                retry_max: Some(Duration::from_secs(2)),
                max_age: Some(Duration::from_secs(24 * 3600)),
            }
        );
        assert_eq!(
            c.spool,
            SpoolOverrides {
                enabled: Some(true),
                dir: Some("/var/lib/openim-shim/spool".into()),
                max_events: Some(1000),
                max_bytes: Some(64 << 20),
            }
        );
        assert!(c.warnings.is_empty(), "{:?}", c.warnings);
    }

    #[test]
    fn an_empty_file_and_no_file_set_nothing() {
        assert_eq!(yaml("").unwrap(), FileConfig::default());
        assert_eq!(yaml("# only a comment\n").unwrap(), FileConfig::default());
        assert_eq!(parse(None, no_env).unwrap(), FileConfig::default());
    }

    #[test]
    fn environment_variables_override_the_file_and_are_named_after_the_key() {
        let env: HashMap<&str, &str> = [
            ("OPENIM_SHIM_BEFORESENDSINGLEMSG_TIMEOUT", "2s"),
            ("OPENIM_SHIM_BEFORESENDSINGLEMSG_ONERROR", "continue"),
            ("OPENIM_SHIM_DEFAULT_ERRCODE", "5100"),
            ("OPENIM_SHIM_AFTER_MAXAGE", "2h"),
            ("OPENIM_SHIM_SPOOL_MAXEVENTS", "7"),
            ("OPENIM_SHIM_AFTERSENDSINGLEMSG_ENABLE", "false"),
            // Not a setting of any section: ignored (flags have their own variables).
            ("OPENIM_SHIM_NOT_A_SETTING", "x"),
        ]
        .into();
        let c = parse(
            Some((
                "beforeSendSingleMsg: {timeout: 1s, onError: refuse}\n",
                "shim.yaml".into(),
            )),
            |k| env.get(k).map(|v| (*v).to_owned()),
        )
        .unwrap();
        let single = &c.callbacks.by_key["beforeSendSingleMsg"];
        assert_eq!(single.timeout, Some(Duration::from_secs(2)));
        assert_eq!(single.on_error, Some(OnErrorMode::Continue));
        assert_eq!(c.callbacks.default.err_code, Some(5100));
        assert_eq!(c.delivery.max_age, Some(Duration::from_secs(7200)));
        assert_eq!(c.spool.max_events, Some(7));
        assert_eq!(c.callbacks.by_key["afterSendSingleMsg"].enable, Some(false));
    }

    #[test]
    fn an_invalid_environment_value_names_the_variable() {
        let e = parse(None, |k| {
            (k == "OPENIM_SHIM_BEFORESENDGROUPMSG_TIMEOUT").then(|| "20s".to_owned())
        })
        .unwrap_err()
        .to_string();
        assert!(e.starts_with("beforeSendGroupMsg.timeout: "), "{e}");
        assert!(e.contains("15 s cap"), "{e}");
        assert!(
            e.contains("environment variable OPENIM_SHIM_BEFORESENDGROUPMSG_TIMEOUT"),
            "{e}"
        );
    }

    #[test]
    fn every_invalid_value_is_named_by_its_key() {
        for (text, key, why) in [
            (
                "beforeSendSingleMsg: {timeout: 16s}",
                "beforeSendSingleMsg.timeout",
                "15 s cap",
            ),
            ("default: {timeout: 16s}", "default.timeout", "15 s cap"),
            (
                "before: {timeout: fast}",
                "before.timeout",
                "not a duration",
            ),
            ("before: {timeout: 0}", "before.timeout", "more than zero"),
            (
                "beforeSendSingleMsg: {onError: ignore}",
                "beforeSendSingleMsg.onError",
                "`continue` or `refuse`",
            ),
            (
                "beforeSendSingleMsg: {errCode: 0}",
                "beforeSendSingleMsg.errCode",
                "non-zero",
            ),
            (
                "beforeSendSingleMsg: {errCode: 1.5}",
                "beforeSendSingleMsg.errCode",
                "32-bit",
            ),
            (
                "beforeSendSingleMsg: {enable: 'maybe'}",
                "beforeSendSingleMsg.enable",
                "true or false",
            ),
            (
                "beforeSendSingleMsg: {timeot: 1s}",
                "beforeSendSingleMsg.timeot",
                "unknown setting",
            ),
            (
                "afterSendSingleMsg: {onError: refuse}",
                "afterSendSingleMsg.onError",
                "before-callbacks only",
            ),
            (
                "after: {errCode: 5000}",
                "after.errCode",
                "before-callbacks only",
            ),
            (
                "beforeSendSingleMsg: {concurrency: 4}",
                "beforeSendSingleMsg.concurrency",
                "`after` section",
            ),
            ("after: {concurrency: 0}", "after.concurrency", "at least 1"),
            ("spool: {maxBytes: 1TB}", "spool.maxBytes", "unknown unit"),
            ("spool: {dir: ''}", "spool.dir", "not be empty"),
            ("spool: {timeout: 1s}", "spool.timeout", "unknown setting"),
            (
                "beforeSendSingleMsg: {timeout: [1]}",
                "beforeSendSingleMsg.timeout",
                "single value",
            ),
            ("beforeSendSingleMsg: 5", "beforeSendSingleMsg", "mapping"),
            (
                "beforeSendSingleMessage: {}",
                "beforeSendSingleMessage",
                "unknown key",
            ),
        ] {
            let e = err(text);
            assert!(e.starts_with(&format!("{key}: ")), "{text}: {e}");
            assert!(e.contains(why), "{text}: {e}");
            assert!(e.ends_with("(in shim.yaml)"), "{text}: {e}");
        }
    }

    #[test]
    fn a_key_in_the_wrong_case_gets_a_hint() {
        let e = err("BeforeSendSingleMsg: {}");
        assert!(e.contains("did you mean `beforeSendSingleMsg`?"), "{e}");
    }

    #[test]
    fn syntax_errors_name_the_file() {
        for text in ["beforeSendSingleMsg: {timeout: 1s", "- a\n- b\n"] {
            let e = err(text);
            assert!(e.starts_with("config file shim.yaml is not valid: "), "{e}");
        }
    }

    #[test]
    fn openim_callbacks_this_shim_does_not_serve_are_accepted_with_a_warning() {
        let c = yaml("afterGroupMsgRevoke: {enable: true, timeout: 5}\n").unwrap();
        assert_eq!(
            c,
            FileConfig {
                warnings: c.warnings.clone(),
                ..FileConfig::default()
            }
        );
        assert_eq!(c.warnings.len(), 1);
        assert!(c.warnings[0].contains("afterGroupMsgRevoke"));
    }

    /// The table's keys are how users address callbacks: each must be one of OpenIM's.
    #[test]
    fn every_served_callback_has_an_openim_config_key() {
        for c in COMMANDS {
            assert!(
                OPENIM_CONFIG_KEYS.contains(&c.config_key),
                "{} has config key {:?}, not one of OpenIM's",
                c.name,
                c.config_key
            );
            let prefix = match c.kind {
                Kind::Before => "before",
                Kind::After => "after",
            };
            assert!(c.config_key.starts_with(prefix), "{}", c.config_key);
        }
    }

    #[test]
    fn env_names_are_upper_case_without_separators() {
        assert_eq!(
            env_name("beforeSendSingleMsg", "timeout"),
            "OPENIM_SHIM_BEFORESENDSINGLEMSG_TIMEOUT"
        );
        assert_eq!(
            env_name("spool", "maxEvents"),
            "OPENIM_SHIM_SPOOL_MAXEVENTS"
        );
        for k in OPENIM_CONFIG_KEYS {
            assert!(!k.contains('_'), "{k}");
        }
    }

    #[test]
    fn sizes_and_durations_parse() {
        assert_eq!(byte_size("1024"), Ok(1024));
        assert_eq!(byte_size("2KiB"), Ok(2048));
        assert_eq!(byte_size("1GiB"), Ok(1 << 30));
        assert!(byte_size("0").is_err());
        assert!(byte_size("1 GB").is_err());
        assert_eq!(duration("24h"), Ok(Duration::from_secs(86_400)));
        assert_eq!(duration("5"), Ok(Duration::from_secs(5)));
        assert!(duration("0h").is_err());
    }
}
