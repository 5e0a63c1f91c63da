//! Judges one reply: does it mean what the case expects, as OpenIM reads it? Pure: the reply
//! and the request in, a list of problems out.

use serde_json::{Map, Value};

use super::scenario::Expect;
use crate::reply::{Meaning, meaning};

/// Keys every reply has; any other key is a change (unless it echoes the request).
const COMMON_KEYS: [&str; 5] = ["actionCode", "errCode", "errMsg", "errDlt", "nextCode"];

/// Push texts OpenIM copies from a `BeforeOfflinePush` reply: all of them are replaced, so the
/// ones the policy did not mean to change must be the request's.
const PUSH_TEXTS: [&str; 6] = [
    "title",
    "desc",
    "ex",
    "iOSPushSound",
    "iOSBadgeCount",
    "signalInfo",
];

/// What is wrong with `reply` (the reply to `request`) for `expect`; empty when it conforms.
pub fn problems(expect: &Expect, request: &[u8], reply: &[u8]) -> Vec<String> {
    let reply: Value = match serde_json::from_slice(reply) {
        Ok(v @ Value::Object(_)) => v,
        _ => {
            return vec![format!(
                "the reply is not a JSON object: {}",
                String::from_utf8_lossy(reply)
            )];
        }
    };
    let request: Map<String, Value> = serde_json::from_slice(request).unwrap_or_default();
    // `meaning` asserts the reply is portable across OpenIM versions; a reply that is not is a
    // problem to report, not a crash of the kit.
    let read = std::panic::catch_unwind(|| meaning(&reply));
    let Ok(got) = read else {
        return vec![format!("OpenIM versions disagree on the reply {reply}")];
    };
    let mut out = Vec::new();
    match expect {
        Expect::Continue | Expect::Counted => {
            want_continue(&got, &mut out);
            for key in changed_keys(&reply, &request) {
                out.push(format!(
                    "expected no change, the reply sets `{key}`: {reply}"
                ));
            }
        }
        Expect::Refuse {
            err_code,
            err_msg,
            err_dlt,
        } => match &got {
            Meaning::Refuse {
                err_code: code,
                err_msg: msg,
                err_dlt: dlt,
            } => {
                if code != err_code {
                    out.push(format!("expected errCode {err_code}, got {code}"));
                }
                if let Some(want) = err_msg.as_ref().filter(|w| *w != msg) {
                    out.push(format!("expected errMsg {want:?}, got {msg:?}"));
                }
                if let Some(want) = err_dlt.as_ref().filter(|w| *w != dlt) {
                    out.push(format!("expected errDlt {want:?}, got {dlt:?}"));
                }
            }
            Meaning::Continue => out.push(format!("expected a refusal, got continue: {reply}")),
        },
        Expect::Text(text) => {
            want_continue(&got, &mut out);
            check_text(&reply, text, &mut out);
        }
        Expect::PushTitle(title) => {
            want_continue(&got, &mut out);
            check_push(&reply, &request, title, &mut out);
        }
    }
    out
}

fn want_continue(got: &Meaning, out: &mut Vec<String>) {
    if let Meaning::Refuse {
        err_code, err_msg, ..
    } = got
    {
        out.push(format!(
            "expected continue, got a refusal ({err_code}, {err_msg:?})"
        ));
    }
}

/// Reply keys beyond the common ones whose value is not the request's.
fn changed_keys<'a>(reply: &'a Value, request: &Map<String, Value>) -> Vec<&'a str> {
    reply
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(k, v)| !COMMON_KEYS.contains(&k.as_str()) && request.get(*k) != Some(*v))
        .map(|(k, _)| k.as_str())
        .collect()
}

fn check_text(reply: &Value, text: &str, out: &mut Vec<String>) {
    let Some(content) = reply.get("content").and_then(Value::as_str) else {
        out.push(format!("expected a new `content` string, got {reply}"));
        return;
    };
    match serde_json::from_str::<Value>(content) {
        Ok(Value::Object(obj)) => match obj.get("content") {
            Some(Value::String(got)) if got == text => {}
            other => out.push(format!(
                "expected the content's text {text:?}, got {other:?} in {content}"
            )),
        },
        _ => out.push(format!("`content` is not a JSON object: {content:?}")),
    }
}

fn check_push(reply: &Value, request: &Map<String, Value>, title: &str, out: &mut Vec<String>) {
    let Some(info) = reply.get("offlinePushInfo").and_then(Value::as_object) else {
        out.push(format!(
            "expected new push texts (`offlinePushInfo`), got {reply}"
        ));
        return;
    };
    for key in PUSH_TEXTS {
        let got = info.get(key).unwrap_or(&Value::Null);
        let want = if key == "title" {
            Value::from(title)
        } else {
            request.get(key).cloned().unwrap_or(Value::Null)
        };
        if *got != want {
            out.push(format!(
                "push `{key}`: expected {want}, got {got} (the reply replaces every push text: \
                 copy the request's and change only the title)"
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MODIFY_REQUEST: &str = r#"{"content":"{\"content\":\"buy spam.example\"}","ex":""}"#;

    fn check(expect: &Expect, request: &str, reply: &str) -> Vec<String> {
        problems(expect, request.as_bytes(), reply.as_bytes())
    }

    const CONTINUE: &str = r#"{"actionCode":0,"errCode":0,"errMsg":"","errDlt":"","nextCode":0}"#;

    #[test]
    fn a_plain_continue_conforms_to_continue_and_an_echo_is_no_change() {
        assert!(check(&Expect::Continue, MODIFY_REQUEST, CONTINUE).is_empty());
        let echo = r#"{"actionCode":0,"errCode":0,"errMsg":"","errDlt":"","nextCode":0,"content":"{\"content\":\"buy spam.example\"}"}"#;
        assert!(check(&Expect::Continue, MODIFY_REQUEST, echo).is_empty());
    }

    #[test]
    fn a_change_or_a_refusal_is_not_a_continue() {
        let changed = r#"{"actionCode":0,"errCode":0,"errMsg":"","errDlt":"","nextCode":0,"content":"{\"content\":\"x\"}"}"#;
        assert_eq!(check(&Expect::Continue, MODIFY_REQUEST, changed).len(), 1);
        let refused = r#"{"actionCode":0,"errCode":5001,"errMsg":"no","errDlt":"","nextCode":1}"#;
        assert_eq!(check(&Expect::Continue, MODIFY_REQUEST, refused).len(), 1);
    }

    #[test]
    fn a_refusal_is_checked_by_code_and_by_message_when_given() {
        let refused = r#"{"actionCode":0,"errCode":5001,"errMsg":"no","errDlt":"d","nextCode":1}"#;
        let by_code = Expect::Refuse {
            err_code: 5001,
            err_msg: None,
            err_dlt: None,
        };
        assert!(check(&by_code, "{}", refused).is_empty());
        let other_msg = Expect::Refuse {
            err_code: 5001,
            err_msg: Some("yes".into()),
            err_dlt: None,
        };
        assert_eq!(check(&other_msg, "{}", refused).len(), 1);
        let other_code = Expect::Refuse {
            err_code: 5002,
            err_msg: None,
            err_dlt: Some("d".into()),
        };
        assert_eq!(check(&other_code, "{}", refused).len(), 1);
        assert_eq!(check(&by_code, "{}", CONTINUE).len(), 1);
    }

    #[test]
    fn masked_text_must_be_inside_a_json_object_content() {
        let masked = r#"{"actionCode":0,"errCode":0,"errMsg":"","errDlt":"","nextCode":0,"content":"{\"content\":\"buy ************\"}"}"#;
        let expect = Expect::Text("buy ************".into());
        assert!(check(&expect, MODIFY_REQUEST, masked).is_empty());
        let bare = r#"{"actionCode":0,"errCode":0,"errMsg":"","errDlt":"","nextCode":0,"content":"buy ************"}"#;
        assert_eq!(check(&expect, MODIFY_REQUEST, bare).len(), 1);
        assert_eq!(check(&expect, MODIFY_REQUEST, CONTINUE).len(), 1);
    }

    #[test]
    fn a_push_title_change_must_keep_the_other_texts() {
        let request = r#"{"title":"old","desc":"","ex":"","iOSPushSound":"+1","iOSBadgeCount":true,"signalInfo":""}"#;
        let expect = Expect::PushTitle("New".into());
        let good = r#"{"actionCode":0,"errCode":0,"errMsg":"","errDlt":"","nextCode":0,"offlinePushInfo":{"title":"New","desc":"","ex":"","iOSPushSound":"+1","iOSBadgeCount":true,"signalInfo":""}}"#;
        assert!(check(&expect, request, good).is_empty());
        let lost = r#"{"actionCode":0,"errCode":0,"errMsg":"","errDlt":"","nextCode":0,"offlinePushInfo":{"title":"New","desc":"","ex":"","iOSPushSound":"","iOSBadgeCount":false,"signalInfo":""}}"#;
        assert_eq!(check(&expect, request, lost).len(), 2);
    }

    #[test]
    fn a_reply_that_versions_read_differently_is_reported_not_a_crash() {
        let ambiguous = r#"{"actionCode":1,"errCode":0,"nextCode":0}"#;
        assert_eq!(check(&Expect::Continue, "{}", ambiguous).len(), 1);
        assert_eq!(check(&Expect::Continue, "{}", "not json").len(), 1);
    }
}
