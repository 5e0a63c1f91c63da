//! The rules file: its format (YAML, camelCase keys like OpenIM's own configuration) and the
//! checks made while reading it. Values are checked as they are read, so that an error points
//! at the line of the offending key; checks across keys are made when the engine is built
//! (`super::build`), with the key's path and line. `examples/rules.yaml` documents every key.

use std::{
    collections::BTreeMap,
    fmt,
    num::NonZeroU32,
    path::{Path, PathBuf},
    time::SystemTime,
};

pub use openim_common::units::{ByteSize, Duration};

use serde::{
    Deserialize, Deserializer,
    de::{self, MapAccess, Visitor, value::MapAccessDeserializer},
};
pub use serde_saphyr::Spanned;

use super::template::Template;
use crate::engine::TextField;

/// A rules file that could not be used, with enough detail to fix it.
#[derive(Debug, thiserror::Error)]
pub enum RulesError {
    /// A file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// Not valid YAML, not the expected shape, or a value that is not acceptable; the message
    /// gives the line, the column and the key.
    #[error("invalid rules file {path}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// Parser message, with line, column and the offending line.
        message: String,
    },
    /// Well-formed, but values do not fit together.
    #[error("{}", invalid_message(.path.as_deref(), *.line, .key, .message))]
    Invalid {
        /// The rules file, when the rules came from one.
        path: Option<PathBuf>,
        /// Line of the offending key, when known.
        line: Option<u64>,
        /// Path of the offending key, e.g. `wordLists[1].errCode`.
        key: String,
        /// What is wrong.
        message: String,
    },
}

fn invalid_message(path: Option<&Path>, line: Option<u64>, key: &str, message: &str) -> String {
    let mut s = String::from("invalid rules");
    if let Some(path) = path {
        s.push_str(&format!(" file {}", path.display()));
    }
    if let Some(line) = line {
        s.push_str(&format!(", line {line}"));
    }
    format!("{s}: {key}: {message}")
}

impl RulesError {
    /// An error about `key`, at the line of `at` when known.
    pub(crate) fn invalid<T>(
        key: impl Into<String>,
        at: &Spanned<T>,
        message: impl Into<String>,
    ) -> Self {
        let line = at.referenced.line();
        Self::Invalid {
            path: None,
            line: (line > 0).then_some(line),
            key: key.into(),
            message: message.into(),
        }
    }

    /// The same error, naming the rules file it is about.
    pub(crate) fn in_file(self, file: &Path) -> Self {
        match self {
            Self::Invalid {
                path: None,
                line,
                key,
                message,
            } => Self::Invalid {
                path: Some(file.to_owned()),
                line,
                key,
                message,
            },
            other => other,
        }
    }
}

/// The whole rules file. Every section is optional; an empty file continues everything.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RulesFile {
    /// A name for this version of the rules (a date, a commit): shown in the
    /// `openim_policy_rules_info` metric and the reload log line. Free text, optional.
    #[serde(default)]
    pub version: Option<String>,
    /// Run the whole engine in dry-run: log and count what it would do, and continue.
    #[serde(default)]
    pub dry_run: bool,
    /// Users (admins, bots) that mutes, rate limits, content-type and length rules never stop.
    #[serde(default, rename = "exemptUserIDs")]
    pub exempt_user_ids: Vec<String>,
    /// Sensitive-word lists.
    #[serde(default)]
    pub word_lists: Vec<Spanned<WordListSpec>>,
    /// Muted users and groups.
    #[serde(default)]
    pub mutes: Option<MutesSpec>,
    /// Per-sender message rate limit.
    #[serde(default)]
    pub rate_limit: Option<RateLimitSpec>,
    /// Content types allowed or denied per conversation kind.
    #[serde(default)]
    pub content_types: Option<ContentTypesSpec>,
    /// Size limits of messages.
    #[serde(default)]
    pub limits: Option<LimitsSpec>,
    /// Links to domains outside an allow-list.
    #[serde(default)]
    pub links: Option<Spanned<LinksSpec>>,
    /// Messages whose content OpenIM's clients cannot decode (default: refused).
    #[serde(default)]
    pub undecodable_content: Option<UndecodableSpec>,
    /// Offline push rules.
    #[serde(default)]
    pub push: Option<PushSpec>,
    /// Audit log of decisions and sent messages.
    #[serde(default)]
    pub audit: Option<AuditSpec>,
}

/// One sensitive-word list.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WordListSpec {
    /// Name, used in logs, metrics and the refusal detail.
    pub name: NonEmpty,
    /// What a match does.
    pub action: ActionSpec,
    /// The words, matched case-insensitively after Unicode folding.
    #[serde(default)]
    pub words: Vec<Spanned<String>>,
    /// A file with more words, one per line (`#` starts a comment line); relative to the rules
    /// file.
    #[serde(default)]
    pub words_file: Option<Spanned<PathBuf>>,
    /// Ignore separators (spaces, punctuation, symbols, zero-width characters) inserted between
    /// letters to dodge the filter: `b.a.d` matches `bad`.
    #[serde(default)]
    pub ignore_separators: bool,
    /// Match Latin-script words only as whole words (`ass` does not match in `class`).
    #[serde(default)]
    pub whole_words: bool,
    /// `action: mask`: each matched character becomes this one (default `*`).
    #[serde(default)]
    pub mask: Option<char>,
    /// `action: mask`: the whole match becomes this text instead.
    #[serde(default)]
    pub replacement: Option<Spanned<String>>,
    /// errCode of a refusal (default 5001).
    #[serde(default)]
    pub err_code: Option<ErrCode>,
    /// errMsg of a refusal.
    #[serde(default)]
    pub err_msg: Option<String>,
    /// Where the list applies (default: everywhere).
    #[serde(default)]
    pub fields: Option<Spanned<Vec<FieldSpec>>>,
    /// Log and count matches, change nothing.
    #[serde(default)]
    pub dry_run: bool,
}

/// What a word list does with a match.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ActionSpec {
    /// Replace the match (messages through msg-modify; rewritable text fields).
    Mask,
    /// Refuse the message or operation.
    Refuse,
    /// Only log and count the match.
    Flag,
}

/// Where a word list applies: messages, or one kind of user-written text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum FieldSpec {
    /// Message text (text, @, quote, advanced text, markdown, custom).
    Messages,
    /// [`TextField::Nickname`].
    Nickname,
    /// [`TextField::GroupName`].
    GroupName,
    /// [`TextField::GroupNotification`].
    GroupNotification,
    /// [`TextField::GroupIntroduction`].
    GroupIntroduction,
    /// [`TextField::GroupMemberNickname`].
    GroupMemberNickname,
    /// [`TextField::FriendRemark`].
    FriendRemark,
    /// [`TextField::FriendRequestMessage`].
    FriendRequestMessage,
    /// [`TextField::GroupRequestMessage`].
    GroupRequestMessage,
}

impl FieldSpec {
    /// The text field, or `None` for messages.
    pub fn text_field(self) -> Option<TextField> {
        Some(match self {
            Self::Messages => return None,
            Self::Nickname => TextField::Nickname,
            Self::GroupName => TextField::GroupName,
            Self::GroupNotification => TextField::GroupNotification,
            Self::GroupIntroduction => TextField::GroupIntroduction,
            Self::GroupMemberNickname => TextField::GroupMemberNickname,
            Self::FriendRemark => TextField::FriendRemark,
            Self::FriendRequestMessage => TextField::FriendRequestMessage,
            Self::GroupRequestMessage => TextField::GroupRequestMessage,
        })
    }
}

/// Muted users and groups.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MutesSpec {
    /// Users who may not send messages.
    #[serde(default)]
    pub users: Vec<MuteEntry>,
    /// Groups where nobody may send messages.
    #[serde(default)]
    pub groups: Vec<MuteEntry>,
    /// errCode of the refusal (default 5002).
    #[serde(default)]
    pub err_code: Option<ErrCode>,
    /// errMsg of the refusal.
    #[serde(default)]
    pub err_msg: Option<String>,
    /// Log and count, refuse nothing.
    #[serde(default)]
    pub dry_run: bool,
}

/// A muted user or group: an ID, or `{id, until, reason}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MuteEntry {
    /// User or group ID.
    pub id: String,
    /// End of the mute; none = until removed from the file.
    pub until: Option<SystemTime>,
    /// Why (for people reading the file and the logs).
    pub reason: Option<String>,
}

impl<'de> Deserialize<'de> for MuteEntry {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase", deny_unknown_fields)]
        struct Full {
            id: NonEmpty,
            #[serde(default)]
            until: Option<Timestamp>,
            #[serde(default)]
            reason: Option<String>,
        }
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = MuteEntry;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an ID, or {id, until, reason}")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<MuteEntry, E> {
                if v.trim().is_empty() {
                    return Err(E::custom("an ID must not be empty"));
                }
                Ok(MuteEntry {
                    id: v.to_owned(),
                    until: None,
                    reason: None,
                })
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<MuteEntry, E> {
                self.visit_str(&v.to_string())
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<MuteEntry, A::Error> {
                let f = Full::deserialize(MapAccessDeserializer::new(map))?;
                Ok(MuteEntry {
                    id: f.id.0,
                    until: f.until.map(|t| t.0),
                    reason: f.reason,
                })
            }
        }
        d.deserialize_any(V)
    }
}

/// Per-sender rate limit (token bucket).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RateLimitSpec {
    /// Messages allowed per `per`, on average.
    pub messages: NonZeroU32,
    /// The period, e.g. `10s` or `1m`.
    pub per: Duration,
    /// Messages allowed in a burst (default: `messages`).
    #[serde(default)]
    pub burst: Option<NonZeroU32>,
    /// errCode of the refusal (default 5003).
    #[serde(default)]
    pub err_code: Option<ErrCode>,
    /// errMsg of the refusal.
    #[serde(default)]
    pub err_msg: Option<String>,
    /// Log and count, refuse nothing.
    #[serde(default)]
    pub dry_run: bool,
}

/// Content types allowed or denied per conversation kind.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ContentTypesSpec {
    /// One-to-one chats.
    #[serde(default)]
    pub single: Option<Spanned<TypeFilterSpec>>,
    /// Group chats.
    #[serde(default)]
    pub group: Option<Spanned<TypeFilterSpec>>,
    /// errCode of the refusal (default 5004).
    #[serde(default)]
    pub err_code: Option<ErrCode>,
    /// errMsg of the refusal.
    #[serde(default)]
    pub err_msg: Option<String>,
    /// Log and count, refuse nothing.
    #[serde(default)]
    pub dry_run: bool,
}

/// Either an allow-list or a deny-list of content types.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TypeFilterSpec {
    /// Only these types may be sent.
    #[serde(default)]
    pub allow: Option<Vec<ContentTypeSpec>>,
    /// These types may not be sent.
    #[serde(default)]
    pub deny: Option<Vec<ContentTypeSpec>>,
}

/// Size limits of messages.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LimitsSpec {
    /// Most characters of user text in one message (all its text fields together).
    #[serde(default)]
    pub max_text_length: Option<NonZeroU32>,
    /// Most bytes of a message's content, whatever its type.
    #[serde(default)]
    pub max_content_bytes: Option<ByteSize>,
    /// errCode of the refusal (default 5005).
    #[serde(default)]
    pub err_code: Option<ErrCode>,
    /// errMsg of the refusal.
    #[serde(default)]
    pub err_msg: Option<String>,
    /// Log and count, refuse nothing.
    #[serde(default)]
    pub dry_run: bool,
}

/// What to do with a message of a type with text whose content OpenIM's clients cannot decode:
/// not JSON as Go reads it, not a JSON object, or a text key holding something else than a
/// string (`json.Unmarshal` fails; see `crate::content`).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UndecodableSpec {
    /// Refuse (default), or check the raw content as one text.
    #[serde(default)]
    pub action: UndecodableAction,
    /// errCode of the refusal (default 5007).
    #[serde(default)]
    pub err_code: Option<ErrCode>,
    /// errMsg of the refusal.
    #[serde(default)]
    pub err_msg: Option<String>,
    /// Log and count, refuse nothing.
    #[serde(default)]
    pub dry_run: bool,
}

/// What the undecodable-content rule does.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum UndecodableAction {
    /// Refuse the message.
    #[default]
    Refuse,
    /// Check the raw content with the word lists and the link rule, as one text; a match of a
    /// masking rule refuses (a text that cannot be decoded cannot be masked).
    CheckRaw,
}

/// Links outside an allow-list of domains.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LinksSpec {
    /// Refuse the message or mask the link.
    pub action: LinkActionSpec,
    /// Domains links may point to; their subdomains are allowed too.
    #[serde(default)]
    pub allow_domains: Vec<Domain>,
    /// Also count `example.com` without `http://` or `www.` as a link (default true; such
    /// detection also sees `file.txt` as a domain).
    #[serde(default = "yes")]
    pub bare_domains: bool,
    /// `action: mask`: each character of the link becomes this one (default `*`).
    #[serde(default)]
    pub mask: Option<char>,
    /// `action: mask`: the whole link becomes this text instead.
    #[serde(default)]
    pub replacement: Option<String>,
    /// errCode of the refusal (default 5006).
    #[serde(default)]
    pub err_code: Option<ErrCode>,
    /// errMsg of the refusal.
    #[serde(default)]
    pub err_msg: Option<String>,
    /// Log and count, change nothing.
    #[serde(default)]
    pub dry_run: bool,
}

fn yes() -> bool {
    true
}

/// What the link rule does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum LinkActionSpec {
    /// Refuse the message.
    Refuse,
    /// Mask the link (through msg-modify).
    Mask,
}

/// Offline push rules.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PushSpec {
    /// New title: a template such as `{senderNickname}`.
    #[serde(default)]
    pub title: Option<Template>,
    /// New body text: a template such as `[{contentType}]`.
    #[serde(default)]
    pub desc: Option<Template>,
    /// `{contentType}` names by content type, e.g. `picture: "[图片]"`.
    #[serde(default)]
    pub content_type_names: BTreeMap<ContentTypeSpec, String>,
    /// Skip the offline push of messages from muted users or in muted groups.
    #[serde(default)]
    pub suppress_muted: bool,
    /// Push to at most this many users (the first ones of the list).
    #[serde(default)]
    pub max_recipients: Option<NonZeroU32>,
    /// How many senders' nicknames to remember for `{senderNickname}` (default 100000).
    #[serde(default)]
    pub nickname_cache_size: Option<NonZeroU32>,
    /// Log and count, change nothing.
    #[serde(default)]
    pub dry_run: bool,
}

/// Audit log.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AuditSpec {
    /// The JSON-lines file; rotated files get `.1`, `.2`, ... appended. Optional with
    /// `stdout: true`.
    #[serde(default)]
    pub path: Option<PathBuf>,
    /// Also (or only) write the lines to standard output, for a container's log collector
    /// (the process's own logs go to standard error).
    #[serde(default)]
    pub stdout: bool,
    /// Rotate when the file reaches this size (default `100MiB`).
    #[serde(default)]
    pub max_file_size: Option<ByteSize>,
    /// Rotated files kept (default 5).
    #[serde(default)]
    pub keep_files: Option<u32>,
    /// What of a message's content to write.
    #[serde(default)]
    pub content: AuditContent,
    /// Lines waiting to be written at most; more are dropped and counted (default 10000).
    #[serde(default)]
    pub queue_size: Option<NonZeroU32>,
    /// A file holding a secret key (at least 16 bytes): user and group IDs are then written as
    /// keyed hashes (`h:` and 32 hex digits of HMAC-SHA256, as `openim_common::pseudonym`), which still join lines of the
    /// same user but no longer name them. Relative to the rules file.
    #[serde(default)]
    pub id_key_file: Option<PathBuf>,
}

/// What the audit log writes of a message's content.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum AuditContent {
    /// Nothing but its size.
    #[default]
    None,
    /// The content with every word-list match masked.
    Masked,
    /// The content as sent.
    Full,
}

/// A positive errCode (OpenIM loses a code of 0 or below).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ErrCode(pub i32);

impl<'de> Deserialize<'de> for ErrCode {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match i32::deserialize(d)? {
            n if n <= 0 => Err(de::Error::custom(
                "errCode must be positive: OpenIM loses a code of 0 or below",
            )),
            n => Ok(Self(n)),
        }
    }
}

/// A string that is not empty or blank.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NonEmpty(pub String);

impl<'de> Deserialize<'de> for NonEmpty {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        if s.trim().is_empty() {
            return Err(de::Error::custom("must not be empty"));
        }
        Ok(Self(s))
    }
}

/// A point in time, RFC 3339 (`2030-01-31T18:00:00Z`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timestamp(pub SystemTime);

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        humantime::parse_rfc3339_weak(s.trim())
            .map(Self)
            .map_err(|e| {
                de::Error::custom(format!(
                    "{s:?} is not a time like 2030-01-31T18:00:00Z: {e}"
                ))
            })
    }
}

/// A content type, by OpenIM's number (`101`) or by name (`text`, `atText`, `AT_TEXT`, ...: the
/// contract's `ContentType` names, in any case, with or without `_`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct ContentTypeSpec(pub i32);

impl ContentTypeSpec {
    fn parse(s: &str) -> Result<Self, String> {
        let s = s.trim();
        if let Ok(n) = s.parse::<i32>() {
            return Ok(Self(n));
        }
        let wanted: String = s
            .chars()
            .filter(|c| *c != '_')
            .map(|c| c.to_ascii_lowercase())
            .collect();
        super::kinds::content_type_by_folded_name(&wanted)
            .map(Self)
            .ok_or_else(|| {
                format!("unknown content type {s:?}: use a number or a name like text, picture, atText, custom")
            })
    }
}

impl<'de> Deserialize<'de> for ContentTypeSpec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = ContentTypeSpec;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a content type number or name")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<ContentTypeSpec, E> {
                i32::try_from(v)
                    .map(ContentTypeSpec)
                    .map_err(|_| E::custom("content type out of range"))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<ContentTypeSpec, E> {
                i32::try_from(v)
                    .map(ContentTypeSpec)
                    .map_err(|_| E::custom("content type out of range"))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<ContentTypeSpec, E> {
                ContentTypeSpec::parse(v).map_err(E::custom)
            }
        }
        d.deserialize_any(V)
    }
}

/// A domain name of a links allow-list, lower case, without scheme or path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Domain(pub String);

impl<'de> Deserialize<'de> for Domain {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        let domain = s.trim().trim_end_matches('.').to_ascii_lowercase();
        let valid = !domain.is_empty()
            && domain.split('.').all(|label| {
                !label.is_empty()
                    && label
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-')
            });
        if !valid {
            return Err(de::Error::custom(format!(
                "{s:?} is not a domain like example.com (no scheme, no path; IDNs in xn-- form)"
            )));
        }
        Ok(Self(domain))
    }
}

impl RulesFile {
    /// Reads and parses a rules file (the checks across keys happen when the engine is built).
    pub fn from_path(path: &Path) -> Result<Self, RulesError> {
        let text = std::fs::read_to_string(path).map_err(|source| RulesError::Read {
            path: path.to_owned(),
            source,
        })?;
        let name = path.display().to_string();
        Self::parse_named(&text, Some(&name)).map_err(|message| RulesError::Parse {
            path: path.to_owned(),
            message,
        })
    }

    /// Parses rules from YAML text; an empty document is an empty rule set.
    pub fn parse(text: &str) -> Result<Self, String> {
        Self::parse_named(text, None)
    }

    /// Parses rules from YAML text read from `name` (the file the snippet of an error names;
    /// else `<input>`).
    fn parse_named(text: &str, name: Option<&str>) -> Result<Self, String> {
        if text.trim().is_empty() {
            return Ok(Self::default());
        }
        serde_saphyr::from_str(text).map_err(|e: serde_saphyr::Error| {
            e.render_with_options(serde_saphyr::render_options! { source_name: name })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(yaml: &str) -> String {
        RulesFile::parse(yaml).unwrap_err()
    }

    #[test]
    fn an_empty_file_is_an_empty_rule_set() {
        let r = RulesFile::parse("# nothing yet\n").unwrap();
        assert!(r.word_lists.is_empty() && r.mutes.is_none() && !r.dry_run);
    }

    #[test]
    fn value_errors_name_the_line_and_the_problem() {
        let e =
            err("wordLists:\n  - name: x\n    action: refuse\n    errCode: 0\n    words: [a]\n");
        assert!(
            e.contains("line 4") && e.contains("errCode must be positive"),
            "{e}"
        );
        let e =
            err("wordLists:\n  - name: x\n    action: refuse\n    errCode: -5\n    words: [a]\n");
        assert!(e.contains("errCode must be positive"), "{e}");
        let e = err("rateLimit:\n  messages: 5\n  per: soon\n");
        assert!(e.contains("line 3") && e.contains("soon"), "{e}");
        let e = err("mutes:\n  users:\n    - {id: u1, until: tomorrow}\n");
        assert!(
            e.contains("line 3") && e.contains("2030-01-31T18:00:00Z"),
            "{e}"
        );
        let e = err("contentTypes:\n  group:\n    deny: [pictures]\n");
        assert!(e.contains("line 3") && e.contains("pictures"), "{e}");
        let e = err("links:\n  action: refuse\n  allowDomains: [\"https://x.com/\"]\n");
        assert!(e.contains("line 3") && e.contains("not a domain"), "{e}");
        let e = err("audit:\n  path: a.log\n  maxFileSize: 10XB\n");
        assert!(e.contains("line 3") && e.contains("XB"), "{e}");
    }

    #[test]
    fn unknown_keys_are_named_with_their_line() {
        let e = err("wordLists:\n  - name: x\n    action: mask\n    word: [a]\n");
        assert!(
            e.contains("line 4") && e.contains("unknown field `word`"),
            "{e}"
        );
        let e = err("push:\n  tilte: x\n");
        assert!(e.contains("line 2") && e.contains("tilte"), "{e}");
    }

    #[test]
    fn mutes_are_ids_or_entries_with_an_expiry() {
        let r = RulesFile::parse(
            "mutes:\n  users: [u1, 42, {id: u2, until: 2030-01-31T18:00:00Z, reason: spam}]\n",
        )
        .unwrap();
        let users = r.mutes.unwrap().users;
        assert_eq!(users[0].id, "u1");
        assert_eq!(users[1].id, "42");
        assert_eq!(users[2].id, "u2");
        assert_eq!(
            users[2].until,
            Some(humantime::parse_rfc3339("2030-01-31T18:00:00Z").unwrap())
        );
        let e = err("mutes:\n  users:\n    - {user: u1}\n");
        assert!(
            e.contains("line 3") && e.contains("unknown field `user`"),
            "{e}"
        );
    }

    /// The units are the shim's too (`openim_common::units`): hours and binary sizes.
    #[test]
    fn durations_and_sizes_read_the_shared_grammar() {
        let r = RulesFile::parse(
            "rateLimit: {messages: 5, per: 1h}\naudit: {path: a.log, maxFileSize: 64KiB}\n\
             limits: {maxContentBytes: 4096}\n",
        )
        .unwrap();
        assert_eq!(r.rate_limit.unwrap().per.to_string(), "1h");
        assert_eq!(r.audit.unwrap().max_file_size, Some(ByteSize(65_536)));
        assert_eq!(r.limits.unwrap().max_content_bytes, Some(ByteSize(4096)));
        let e = err("rateLimit:\n  messages: 5\n  per: 0s\n");
        assert!(e.contains("line 3") && e.contains("more than zero"), "{e}");
    }

    #[test]
    fn content_types_and_domains_parse_in_their_usual_spellings() {
        for name in ["text", "TEXT", "Text", "101"] {
            assert_eq!(
                ContentTypeSpec::parse(name),
                Ok(ContentTypeSpec(101)),
                "{name}"
            );
        }
        for name in ["atText", "AT_TEXT", "at_text"] {
            assert_eq!(
                ContentTypeSpec::parse(name),
                Ok(ContentTypeSpec(106)),
                "{name}"
            );
        }
        assert_eq!(
            ContentTypeSpec::parse("markdownText"),
            Ok(ContentTypeSpec(118))
        );
        let r =
            RulesFile::parse("links:\n  action: mask\n  allowDomains: [OpenIM.io., example.com]\n")
                .unwrap();
        let links = r.links.unwrap().value;
        assert_eq!(links.allow_domains[0].0, "openim.io");
        assert!(links.bare_domains);
    }
}
