//! OpenIM's webhook wire protocol, the parts shared by every callback: where the command is in a
//! request, how to decode OpenIM's bodies leniently, and how to encode replies strictly.
//!
//! Pure code: no I/O. The authority is `docs/openim-protocol.md` (§1.1 URL forms, §2 replies, §7 decoding).

use bytes::Bytes;
use serde::{Deserialize, Deserializer, Serialize};

/// The reply that lets the operation continue unchanged. Every field is written (not `{}`) so
/// that it reads the same on every server version: `errCode` 0 also continues on v3.0-v3.4,
/// `actionCode` 0 and `nextCode` 0 on v3.5+.
pub const CONTINUE: &[u8] = br#"{"actionCode":0,"errCode":0,"errMsg":"","errDlt":"","nextCode":0}"#;

/// `nextCode` value that makes OpenIM refuse the operation (v3.5+).
const NEXT_CODE_STOP: i32 = 1;

/// OpenIM's `CommonCallbackResp` followed by the callback's change fields. `actionCode` is always
/// 0: since v3.7 a non-zero `actionCode` means "continue", before v3.7 it meant "refuse", so it
/// carries no portable meaning (docs/openim-protocol.md §2.2).
#[derive(Serialize)]
struct WireReply<'a, C> {
    #[serde(rename = "actionCode")]
    action_code: i32,
    #[serde(rename = "errCode")]
    err_code: i32,
    #[serde(rename = "errMsg")]
    err_msg: &'a str,
    #[serde(rename = "errDlt")]
    err_dlt: &'a str,
    #[serde(rename = "nextCode")]
    next_code: i32,
    #[serde(flatten)]
    changes: C,
}

/// No change fields: used by refusals.
#[derive(Serialize)]
struct NoChanges {}

/// Encodes a refusal: `actionCode` 0 + `nextCode` 1 + a non-zero `errCode`, which refuses on
/// v3.5 and v3.7+ (v3.6 ignores every refusal) and, through the non-zero `errCode`, on v3.0-v3.4.
/// `err_code` must already be non-zero (see [`crate::callbacks::Encoder::refusal`]).
pub fn refuse(err_code: i32, err_msg: &str, err_dlt: &str) -> Bytes {
    debug_assert_ne!(err_code, 0, "a refusal needs a non-zero errCode");
    encode(&WireReply {
        action_code: 0,
        err_code,
        err_msg,
        err_dlt,
        next_code: NEXT_CODE_STOP,
        changes: NoChanges {},
    })
}

/// Encodes a continue reply that carries change fields. `changes` must serialise as a struct
/// whose unchanged fields are skipped (OpenIM reads absent as "keep").
pub fn modify<C: Serialize>(changes: &C) -> Bytes {
    encode(&WireReply {
        action_code: 0,
        err_code: 0,
        err_msg: "",
        err_dlt: "",
        next_code: 0,
        changes,
    })
}

fn encode<T: Serialize>(reply: &T) -> Bytes {
    // Serialising plain structs of strings, integers, lists and string-keyed maps into a Vec
    // cannot fail; should it ever, continuing is the safe answer.
    serde_json::to_vec(reply).map_or_else(|_| Bytes::from_static(CONTINUE), Bytes::from)
}

/// Deserialises `null` as the type's default: OpenIM's Go structs emit nil slices and pointers as
/// `null` (docs/openim-protocol.md §1.2, §7). Use with `#[serde(deserialize_with = "openim::nullable")]`.
pub fn nullable<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

/// Finds the callback command of a request, trying the forms of every server version in turn
/// and returning the first that `is_known` accepts: the last non-empty path segment
/// (`{url}/{command}`, v3.4.2+), then the `command` query parameter (`{url}?command=`, v3.0-v3.4).
/// Returns `None` when neither names a known command; the caller then reads the body's
/// `callbackCommand` (v2, and a last resort for every version).
pub fn command_from_uri<'a>(
    path: &'a str,
    query: Option<&'a str>,
    is_known: impl Fn(&str) -> bool,
) -> Option<&'a str> {
    let last_segment = path.rsplit('/').find(|s| !s.is_empty());
    if let Some(seg) = last_segment.filter(|s| is_known(s)) {
        return Some(seg);
    }
    // Command names are plain ASCII identifiers, so no percent-decoding is needed to match one.
    query?
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(k, v)| *k == "command" && is_known(v))
        .map(|(_, v)| v)
}

/// The last non-empty path segment, used to name an unknown command in logs.
pub fn last_segment(path: &str) -> &str {
    path.rsplit('/').find(|s| !s.is_empty()).unwrap_or("")
}

/// The two fields every OpenIM body starts with, read without building the rest of the
/// document.
#[derive(Debug, Default, Deserialize)]
pub struct BodyHead {
    /// `callbackCommand`, every OpenIM request body carries it.
    #[serde(rename = "callbackCommand")]
    pub command: Option<String>,
    /// `operationID`, most bodies carry it.
    #[serde(rename = "operationID")]
    pub operation_id: Option<String>,
}

impl BodyHead {
    /// The head of `body`, empty if it is not a JSON object.
    pub fn of(body: &[u8]) -> Self {
        serde_json::from_slice(body).unwrap_or_default()
    }
}

/// Reads the body's `callbackCommand`, if any and not empty.
pub fn command_from_body(body: &[u8]) -> Option<String> {
    BodyHead::of(body).command.filter(|c| !c.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn known(c: &str) -> bool {
        c.starts_with("callback")
    }

    #[test]
    fn the_command_is_the_last_path_segment() {
        let cmd = command_from_uri("/openim/callbackBeforeSendSingleMsgCommand", None, known);
        assert_eq!(cmd, Some("callbackBeforeSendSingleMsgCommand"));
    }

    #[test]
    fn a_trailing_slash_in_the_base_url_still_finds_the_command() {
        let cmd = command_from_uri("/openim//callbackBeforeSendSingleMsgCommand", None, known);
        assert_eq!(cmd, Some("callbackBeforeSendSingleMsgCommand"));
    }

    #[test]
    fn main_s_routing_key_query_is_ignored() {
        let cmd = command_from_uri(
            "/openim/callbackAfterSendSingleMsgCommand",
            Some("key=eyJzZW5kSUQiOiIxIn0%3D"),
            known,
        );
        assert_eq!(cmd, Some("callbackAfterSendSingleMsgCommand"));
    }

    #[test]
    fn v3_0_to_v3_4_put_the_command_in_the_query() {
        let cmd = command_from_uri(
            "/openim",
            Some("contenttype=json&command=callbackMsgModifyCommand"),
            known,
        );
        assert_eq!(cmd, Some("callbackMsgModifyCommand"));
    }

    #[test]
    fn no_known_command_in_the_uri_gives_none() {
        assert_eq!(
            command_from_uri("/openim", Some("contenttype=json"), known),
            None
        );
        assert_eq!(command_from_uri("/", None, known), None);
    }

    #[test]
    fn the_body_command_is_read_without_the_rest_of_the_body() {
        let body = br#"{"sendID":"1","callbackCommand":"callbackBeforeSendSingleMsgCommand","x":[1,{"y":null}]}"#;
        assert_eq!(
            command_from_body(body).as_deref(),
            Some("callbackBeforeSendSingleMsgCommand")
        );
        assert_eq!(command_from_body(b"not json"), None);
        assert_eq!(command_from_body(br#"{"callbackCommand":""}"#), None);
    }

    #[test]
    fn continue_is_all_zero_and_complete() {
        let v: serde_json::Value = serde_json::from_slice(CONTINUE).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"actionCode":0,"errCode":0,"errMsg":"","errDlt":"","nextCode":0})
        );
    }

    #[test]
    fn a_refusal_has_next_code_one_action_code_zero_and_the_error() {
        let body = refuse(5001, "message rejected", "matched rule: spam");
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"actionCode":0,"errCode":5001,"errMsg":"message rejected",
                               "errDlt":"matched rule: spam","nextCode":1})
        );
    }

    #[test]
    fn a_modify_reply_continues_and_carries_only_the_given_fields() {
        #[derive(Serialize)]
        struct Changes {
            #[serde(skip_serializing_if = "Option::is_none")]
            content: Option<&'static str>,
            #[serde(skip_serializing_if = "Option::is_none")]
            ex: Option<&'static str>,
        }
        let body = modify(&Changes {
            content: Some(r#"{"content":"***"}"#),
            ex: None,
        });
        assert_eq!(
            std::str::from_utf8(&body).unwrap(),
            r#"{"actionCode":0,"errCode":0,"errMsg":"","errDlt":"","nextCode":0,"content":"{\"content\":\"***\"}"}"#
        );
    }

    #[test]
    fn null_decodes_as_empty() {
        #[derive(Deserialize)]
        struct T {
            #[serde(deserialize_with = "nullable")]
            list: Vec<String>,
        }
        let t: T = serde_json::from_str(r#"{"list":null}"#).unwrap();
        assert!(t.list.is_empty());
    }
}
