//! One capture line: what is kept of a callback, and its JSON form. Written by the capture's
//! writer and read back by `openim-shim replay`, so both use the types here. Pure.
//!
//! A line is `{"v":1,"time":…,"event":"callback","command":…,"kind":"before",
//! "operationID":…,"body":{…},"reply":{…},"outcome":…,"cause":…,"policyLatencyUs":…}`. The
//! body is OpenIM's JSON as it was sent (byte for byte, so a replay decodes exactly what the
//! shim decoded), unless IDs are hashed (then in the body and the replies); a body that is not
//! JSON is kept as a string in
//! `bodyText`. A shadow disagreement is an `"event":"shadow"` line that also has `shadow`: the
//! shadow policy's reply, outcome, agreement and latency.

use std::time::{Duration, SystemTime};

use bytes::Bytes;
use openim_common::pseudonym::Pseudonymizer;
use serde::{Deserialize, Serialize};
use serde_json::{Value, value::RawValue};

use crate::{
    commands::Kind,
    compare::Agreement,
    outcome::{Cause, Outcome},
};

/// Version of the line format, in every line (`v`).
pub const VERSION: u32 = 1;

/// A callback as the shim served it, before it is written (the handler only copies reference
/// counted buffers into it; the JSON is made on the writer's thread).
#[derive(Debug, Clone)]
pub(crate) struct Record {
    pub(crate) time: SystemTime,
    /// The command as OpenIM sent it.
    pub(crate) command: &'static str,
    pub(crate) kind: Kind,
    pub(crate) operation_id: String,
    pub(crate) body: Bytes,
    pub(crate) reply: Bytes,
    pub(crate) outcome: Outcome,
    pub(crate) cause: Option<Cause>,
    pub(crate) policy_latency: Option<Duration>,
    /// A shadow disagreement: the shadow policy's answer.
    pub(crate) shadow: Option<ShadowAnswer>,
}

/// The shadow policy's answer to a callback, next to the primary's.
#[derive(Debug, Clone)]
pub(crate) struct ShadowAnswer {
    /// Its reply (empty when it gave no decision).
    pub(crate) reply: Bytes,
    /// Its outcome, or why it gave no decision.
    pub(crate) outcome: String,
    pub(crate) agreement: Agreement,
    pub(crate) latency: Duration,
}

/// A capture line, as written and as read back.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Line {
    /// [`VERSION`].
    pub v: u32,
    /// RFC 3339, UTC, milliseconds.
    pub time: String,
    /// `callback`, or `shadow` (a shadow disagreement).
    pub event: String,
    /// The command as OpenIM sent it.
    pub command: String,
    /// `before` or `after`.
    pub kind: String,
    /// OpenIM's operation ID (the header's, else the body's).
    #[serde(rename = "operationID", default)]
    pub operation_id: String,
    /// OpenIM's JSON body.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<Box<RawValue>>,
    /// A body that is not JSON, as text (lossy UTF-8).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body_text: Option<String>,
    /// The reply sent to OpenIM (JSON).
    pub reply: Box<RawValue>,
    /// The callback's outcome (`continue`, `refuse`, `modify`, `fail_open`, ...).
    pub outcome: String,
    /// Why there was no policy decision, if there was none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cause: Option<String>,
    /// How long the policy took, in microseconds, if it was asked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy_latency_us: Option<u64>,
    /// Whether user and group IDs were replaced by their keyed hash.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub ids_hashed: bool,
    /// The shadow policy's answer (`event: shadow`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shadow: Option<ShadowLine>,
}

/// The shadow part of a line.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ShadowLine {
    /// Its reply, when it decided.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply: Option<Box<RawValue>>,
    /// Its outcome, or the cause of its failure.
    pub outcome: String,
    /// How its answer relates to the primary's.
    pub agreement: String,
    /// How long it took, in microseconds.
    pub latency_us: u64,
}

impl Record {
    /// The record's line (without its newline); IDs in the body replaced through `ids`.
    pub(crate) fn to_line(&self, ids: Option<&Pseudonymizer>) -> String {
        let (body, body_text) = match json(&self.body, ids) {
            Some(body) => (Some(body), None),
            None => (None, Some(String::from_utf8_lossy(&self.body).into_owned())),
        };
        // Replies may echo the request's IDs (SetGroupInfo's does): hashed alike, so that a
        // replay of the hashed body is compared with a reply that has the same pseudonyms.
        let reply = json(&self.reply, ids).unwrap_or_else(null);
        let line = Line {
            v: VERSION,
            time: humantime::format_rfc3339_millis(self.time).to_string(),
            event: if self.shadow.is_some() {
                "shadow"
            } else {
                "callback"
            }
            .to_owned(),
            command: self.command.to_owned(),
            kind: match self.kind {
                Kind::Before => "before",
                Kind::After => "after",
            }
            .to_owned(),
            operation_id: self.operation_id.clone(),
            body,
            body_text,
            reply,
            outcome: self.outcome.as_str().to_owned(),
            cause: self.cause.map(|c| c.as_str().to_owned()),
            policy_latency_us: self.policy_latency.map(micros),
            ids_hashed: ids.is_some(),
            shadow: self.shadow.as_ref().map(|s| ShadowLine {
                reply: json(&s.reply, ids),
                outcome: s.outcome.clone(),
                agreement: s.agreement.as_str().to_owned(),
                latency_us: micros(s.latency),
            }),
        };
        // Cannot fail: every field is a string, a number or already JSON.
        serde_json::to_string(&line).unwrap_or_default()
    }
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

fn null() -> Box<RawValue> {
    RawValue::from_string("null".to_owned()).unwrap_or_else(|_| unreachable!("valid JSON"))
}

/// `bytes` as JSON, verbatim when no IDs are replaced; `None` if it is not JSON.
fn json(bytes: &[u8], ids: Option<&Pseudonymizer>) -> Option<Box<RawValue>> {
    let text = std::str::from_utf8(bytes).ok()?;
    match ids {
        None => RawValue::from_string(text.trim().to_owned()).ok(),
        Some(ids) => {
            let mut value: Value = serde_json::from_str(text).ok()?;
            pseudonymize(&mut value, ids);
            serde_json::value::to_raw_value(&value).ok()
        }
    }
}

/// Replaces, anywhere in `value`, the user and group IDs (values of [`is_id_key`] keys: strings,
/// and strings in lists) by their keyed hash. IDs inside string-encoded JSON (a message's
/// `content`, `ex`) are left as they are: the shim does not know their shape.
pub(crate) fn pseudonymize(value: &mut Value, ids: &Pseudonymizer) {
    match value {
        Value::Object(map) => {
            for (key, v) in map.iter_mut() {
                if is_id_key(key) {
                    hash_strings(v, ids);
                } else {
                    pseudonymize(v, ids);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| pseudonymize(v, ids)),
        _ => {}
    }
}

fn hash_strings(value: &mut Value, ids: &Pseudonymizer) {
    match value {
        Value::String(s) => *s = ids.hash(s),
        Value::Array(items) => items.iter_mut().for_each(|v| hash_strings(v, ids)),
        // A list of members (objects with a `userID`, ...).
        other => pseudonymize(other, ids),
    }
}

/// Whether an OpenIM JSON key holds user or group IDs: `sendID`, `recvID`, `userID`,
/// `groupID`, `ownerUserID`, `friendUserIDs`, `atUserIDList`, `conversationID` (it is made of
/// user or group IDs), ... but not message, operation, platform or connection IDs.
pub(crate) fn is_id_key(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    const SUFFIXES: [&str; 6] = [
        "userid",
        "userids",
        "useridlist",
        "groupid",
        "groupids",
        "conversationid",
    ];
    const KEYS: [&str; 7] = [
        "sendid",
        "recvid",
        "receiveid",
        "ownerid",
        "applyid",
        "membersid",
        "atuserlist",
    ];
    SUFFIXES.iter().any(|s| k.ends_with(s)) || KEYS.contains(&k.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(body: &[u8]) -> Record {
        Record {
            time: SystemTime::UNIX_EPOCH + Duration::from_millis(1_751_452_800_123),
            command: "callbackBeforeSendSingleMsgCommand",
            kind: Kind::Before,
            operation_id: "op-1".into(),
            body: Bytes::copy_from_slice(body),
            reply: Bytes::from_static(crate::openim::CONTINUE),
            outcome: Outcome::Continue,
            cause: None,
            policy_latency: Some(Duration::from_micros(420)),
            shadow: None,
        }
    }

    #[test]
    fn a_line_keeps_the_body_byte_for_byte_and_reads_back() {
        let body = br#"{"sendID":"4826475913","content":"{\"content\":\"hi\"}","z":1,"a":2}"#;
        let line = record(body).to_line(None);
        let read: Line = serde_json::from_str(&line).unwrap();
        assert_eq!(read.body.unwrap().get().as_bytes(), body);
        assert_eq!(
            (
                read.v,
                read.time.as_str(),
                read.event.as_str(),
                read.kind.as_str()
            ),
            (1, "2025-07-02T10:40:00.123Z", "callback", "before")
        );
        assert_eq!(read.policy_latency_us, Some(420));
        assert_eq!(read.reply.get().as_bytes(), crate::openim::CONTINUE);
        assert!(!read.ids_hashed && read.cause.is_none());
    }

    #[test]
    fn a_body_that_is_not_json_is_kept_as_text() {
        let line = record(b"not json \xff").to_line(None);
        let read: Line = serde_json::from_str(&line).unwrap();
        assert!(read.body.is_none());
        assert_eq!(read.body_text.as_deref(), Some("not json \u{fffd}"));
    }

    #[test]
    fn user_and_group_ids_are_hashed_everywhere_and_nothing_else() {
        let ids = Pseudonymizer::new(b"0123456789abcdef").unwrap();
        let body = br#"{"sendID":"u1","recvID":"u2","groupID":"","serverMsgID":"m1",
            "operationID":"op","atUserIDList":["u3","u4"],"platformID":2,
            "memberList":[{"userID":"u5","nickname":"Eve","groupID":"g1"}],
            "content":"{\"content\":\"hi u1\"}"}"#;
        let line = record(body).to_line(Some(&ids));
        let read: Line = serde_json::from_str(&line).unwrap();
        assert!(read.ids_hashed);
        let v: Value = serde_json::from_str(read.body.unwrap().get()).unwrap();
        assert_eq!(v["sendID"], ids.hash("u1"));
        assert_eq!(v["recvID"], ids.hash("u2"));
        assert_eq!(v["groupID"], "");
        assert_eq!(v["atUserIDList"][1], ids.hash("u4"));
        assert_eq!(v["memberList"][0]["userID"], ids.hash("u5"));
        assert_eq!(v["memberList"][0]["groupID"], ids.hash("g1"));
        assert_eq!(v["memberList"][0]["nickname"], "Eve");
        for kept in ["serverMsgID", "operationID"] {
            assert!(!v[kept].as_str().unwrap().starts_with("h:"), "{kept}");
        }
        assert_eq!(v["platformID"], 2);
        assert_eq!(v["content"], "{\"content\":\"hi u1\"}");
        assert!(
            !line.contains("\"u1\"") && !line.contains("\"u5\""),
            "{line}"
        );
    }

    #[test]
    fn id_keys_are_recognised_by_name() {
        for k in [
            "sendID",
            "recvID",
            "userID",
            "groupId",
            "ownerUserID",
            "friendUserIDs",
        ] {
            assert!(is_id_key(k), "{k}");
        }
        for k in [
            "conversationID",
            "atUserIDList",
            "invitedUserIDs",
            "kickedUserIDs",
        ] {
            assert!(is_id_key(k), "{k}");
        }
        for k in [
            "serverMsgID",
            "clientMsgID",
            "operationID",
            "platformID",
            "connID",
        ] {
            assert!(!is_id_key(k), "{k}");
        }
    }
}
