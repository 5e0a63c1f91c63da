//! Issue 17 end to end: with the shipped `examples/rules.yaml`, through the real shim and
//! policy, a word cannot get past the policy by writing the message content so that the policy
//! reads it differently from OpenIM's clients (Go's `encoding/json`): another letter case of the
//! key, a duplicate key, a lone surrogate escape, and generated variants of them (escaped
//! letters, invisible characters, `null` duplicates, every text-bearing content type). Refusing
//! words are refused in before-send and msg-modify; masking words are masked in msg-modify, and
//! Go reads only the masked text from the new content.

use fastrand::Rng;
use openim_policy::Policy;
use openim_tests::{
    fixture, go_decoder, go_textread,
    openim_http::post,
    reply::{Meaning, meaning},
    repo_path, shim_settings, spawn_policy, spawn_shim,
};
use serde_json::Value;

const SINGLE: &str = "callbackBeforeSendSingleMsgCommand";
const GROUP: &str = "callbackBeforeSendGroupMsgCommand";
const MODIFY: &str = "callbackBeforeMsgModifyCommand";

/// Variants generated per test run.
const VARIANTS: usize = 150;

/// The fixture of `command` carrying `content` of `content_type`, from sender `sender` (the
/// shipped rules limit each sender's rate).
fn body(command: &str, content_type: i32, content: &str, sender: usize) -> Vec<u8> {
    let mut v: Value = serde_json::from_slice(&fixture(&format!("{command}.json"))).unwrap();
    v["content"] = content.into();
    v["contentType"] = content_type.into();
    v["sendID"] = format!("reader-{sender}").into();
    serde_json::to_vec(&v).unwrap()
}

async fn call(addr: std::net::SocketAddr, command: &str, body: &[u8]) -> (Value, Vec<u8>) {
    let reply = post(addr, &format!("/openim/{command}"), body, Some("op-17")).await;
    assert_eq!(reply.status, 200);
    (reply.json(), reply.body.to_vec())
}

fn refusal_code(reply: &Value) -> Option<i32> {
    match meaning(reply) {
        Meaning::Refuse { err_code, .. } => Some(err_code),
        _ => None,
    }
}

/// `key` spelt as Go still matches it: letters in random case, `ſ` for `s`, some escaped.
fn spell(key: &str, rng: &mut Rng) -> String {
    key.chars()
        .map(|c| match rng.u8(..8) {
            0 | 1 => c.to_ascii_uppercase().to_string(),
            2 if c == 's' => "ſ".to_owned(),
            3 => format!("\\u{:04x}", c as u32),
            _ => c.to_string(),
        })
        .collect()
}

/// `word` inside a JSON string as a client shows it: letters escaped, invisible characters
/// between them, full-width forms.
fn hide(word: &str, rng: &mut Rng) -> String {
    let mut out = String::new();
    for c in word.chars() {
        match rng.u8(..8) {
            0 => out.push_str(&format!("\\u{:04X}", c as u32)),
            1 if c.is_ascii_alphabetic() => {
                out.push(char::from_u32(c as u32 - 0x21 + 0xFF01).unwrap_or(c));
            }
            _ => out.push(c),
        }
        match rng.u8(..10) {
            0 => out.push('\u{200B}'),
            1 => out.push_str("\\u00ad"),
            2 => out.push('\u{2060}'),
            _ => {}
        }
    }
    out
}

/// A content of `content_type` whose text field `key` reads (in Go) as something holding
/// `hidden`, behind decoys a reader other than Go's would take instead.
fn variant(key: &str, hidden: &str, rng: &mut Rng) -> String {
    let mut members = Vec::new();
    if rng.bool() {
        // A clean decoy, overridden by the later key.
        members.push(format!(r#""{}":"all fine""#, spell(key, rng)));
    }
    if rng.u8(..3) == 0 {
        members.push(r#""atUserList":["u2"],"isAtSelf":false"#.to_owned());
    }
    let tail = match rng.u8(..4) {
        0 => "\\ud800",
        1 => " \\udc00!",
        2 => "\\ud83d\\ude00",
        _ => "",
    };
    members.push(format!(r#""{}":"you {hidden}{tail}""#, spell(key, rng)));
    if rng.bool() {
        // `null` keeps the value.
        members.push(format!(r#""{}":null"#, spell(key, rng)));
    }
    format!("{{{}}}", members.join(","))
}

/// Content types whose text the policy checks, and one of each one's text keys.
fn kind(rng: &mut Rng) -> (i32, &'static str) {
    const KINDS: &[(i32, &[&str])] = &[
        (101, &["content"]),
        (106, &["text"]),
        (110, &["data", "description", "extension"]),
        (114, &["text"]),
        (117, &["text"]),
        (118, &["content"]),
        (119, &["data", "description", "extension"]),
        (120, &["data", "description", "extension"]),
    ];
    let (t, keys) = KINDS[rng.usize(..KINDS.len())];
    (t, keys[rng.usize(..keys.len())])
}

#[tokio::test]
async fn contents_read_differently_by_clients_do_not_get_words_past_the_shipped_rules() {
    let policy = Policy::load(Some(&repo_path("examples/rules.yaml"))).unwrap();
    let policy = spawn_policy(policy).await;
    let shim = spawn_shim(shim_settings(&policy.url())).await;
    let a = shim.addr;
    let mut sender = 0;
    let mut next = || {
        sender += 1;
        sender
    };

    // The issue's three bypasses: each displays "scam" to the receiver.
    let bypasses = [
        r#"{"Content":"scam"}"#,
        r#"{"content":"ok","content":"scam"}"#,
        r#"{"content":"scam \ud800"}"#,
    ];
    for content in bypasses {
        for command in [SINGLE, GROUP, MODIFY] {
            let (reply, _) = call(a, command, &body(command, 101, content, next())).await;
            assert_eq!(
                refusal_code(&reply),
                Some(5001),
                "{command} {content}: {reply}"
            );
        }
    }

    // Generated variants, with a refusing word (the `abuse` list) and a masking one
    // (`spam-link`).
    let mut rng = Rng::with_seed(17);
    let mut masked_replies = Vec::new();
    for i in 0..VARIANTS {
        let (content_type, key) = kind(&mut rng);
        let word = ["scam", "idiot"][i % 2];
        let content = variant(key, &hide(word, &mut rng), &mut rng);
        for command in [SINGLE, GROUP, MODIFY] {
            let (reply, _) = call(a, command, &body(command, content_type, &content, next())).await;
            assert_eq!(
                refusal_code(&reply),
                Some(5001),
                "{command} type {content_type}: {content}: {reply}"
            );
        }
        let content = variant(key, &hide("spam.example", &mut rng), &mut rng);
        let (reply, raw) = call(a, MODIFY, &body(MODIFY, content_type, &content, next())).await;
        assert_eq!(meaning(&reply), Meaning::Continue, "{content}: {reply}");
        let new = reply["content"]
            .as_str()
            .unwrap_or_else(|| panic!("not masked: {content}: {reply}"))
            .to_owned();
        masked_replies.push((content_type, content, new, raw));
    }

    // What the clients read from the masked contents: the masked texts only.
    let reads = go_textread::read(
        &masked_replies
            .iter()
            .map(|(t, _, new, _)| (KIND_NAMES[t], new.as_bytes()))
            .collect::<Vec<_>>(),
    );
    for ((_, content, new, _), read) in masked_replies.iter().zip(&reads) {
        assert_eq!(read.error, "", "{content} → {new}");
        for text in &read.values {
            let visible: String = text
                .chars()
                .filter(|c| !matches!(c, '\u{200B}' | '\u{AD}' | '\u{2060}'))
                .collect();
            assert!(
                !visible.to_lowercase().contains("spam") && !visible.contains('ｓ'),
                "{content} → {new}: Go reads {text:?}"
            );
        }
    }
    // And OpenIM reads the replies as meant, on every server version.
    let verdicts = go_decoder::check(
        &masked_replies
            .iter()
            .map(|(_, _, _, raw)| ("CallbackMsgModifyCommandResp", &raw[..]))
            .collect::<Vec<_>>(),
    );
    for (v, (_, _, new, _)) in verdicts.iter().zip(&masked_replies) {
        assert!(!v.assert_portable(new));
    }

    // Content clients cannot decode is refused (`undecodableContent`).
    for content in [
        r#"{"content":"scam""#,
        r#"{"content":5}"#,
        "scam",
        r#"["scam"]"#,
    ] {
        for command in [SINGLE, MODIFY] {
            let (reply, _) = call(a, command, &body(command, 101, content, next())).await;
            assert_eq!(
                refusal_code(&reply),
                Some(5007),
                "{command} {content}: {reply}"
            );
        }
    }
    shim.stop().await;
    policy.stop().await;
}

/// go-textread's kind names by content type.
static KIND_NAMES: std::sync::LazyLock<std::collections::HashMap<i32, &'static str>> =
    std::sync::LazyLock::new(|| {
        openim_tests::content_cases::KINDS
            .iter()
            .filter_map(|k| Some((k.parse().ok()?, *k)))
            .collect()
    });
