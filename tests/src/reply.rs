//! Reads a reply the way OpenIM does (docs/openim-protocol.md §2.2), strictly: any reply that is not valid
//! for every server version fails the test.

use serde_json::Value;

/// What a reply means to OpenIM.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Meaning {
    /// Continue (possibly with changes).
    Continue,
    /// Refuse with this error.
    Refuse {
        /// errCode (non-zero).
        err_code: i32,
        /// errMsg.
        err_msg: String,
        /// errDlt.
        err_dlt: String,
    },
}

fn int32(reply: &Value, key: &str) -> i32 {
    match reply.get(key) {
        None | Some(Value::Null) => 0,
        Some(Value::Number(n)) => n
            .as_i64()
            .and_then(|v| i32::try_from(v).ok())
            .filter(|_| !n.to_string().contains(['.', 'e', 'E']))
            .unwrap_or_else(|| panic!("{key} is not a JSON int32 in {reply}")),
        Some(other) => panic!("{key} is {other}, not a JSON integer, in {reply}"),
    }
}

fn string(reply: &Value, key: &str) -> String {
    match reply.get(key) {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => panic!("{key} is {other}, not a string, in {reply}"),
    }
}

/// The meaning of `reply`, asserting that it is portable: `actionCode` 0 (it means opposite
/// things on v3.5 and v3.7+), and either a continue with `errCode` 0 and `nextCode` 0 (so that
/// v3.0-v3.4 continue too) or a refusal with `nextCode` exactly 1 and a non-zero `errCode`.
pub fn meaning(reply: &Value) -> Meaning {
    assert!(reply.is_object(), "reply is not a JSON object: {reply}");
    assert_eq!(
        int32(reply, "actionCode"),
        0,
        "actionCode must be 0: {reply}"
    );
    let next = int32(reply, "nextCode");
    let code = int32(reply, "errCode");
    match next {
        0 => {
            assert_eq!(
                code, 0,
                "a continue must have errCode 0 (v3.0-v3.4 refuse otherwise): {reply}"
            );
            Meaning::Continue
        }
        1 => {
            assert_ne!(code, 0, "a refusal needs a non-zero errCode: {reply}");
            Meaning::Refuse {
                err_code: code,
                err_msg: string(reply, "errMsg"),
                err_dlt: string(reply, "errDlt"),
            }
        }
        other => panic!("nextCode {other} is neither 0 nor 1: {reply}"),
    }
}
