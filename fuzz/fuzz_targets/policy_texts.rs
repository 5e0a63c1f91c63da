//! The default engine's reading and matching of message texts (issue 17).
//!
//! Even inputs: any content of any type. The content reader never panics, and its canonical
//! rewrite reads back as written; the engine never panics; a msg-modify content is a JSON object
//! whose texts decode, and masking is idempotent (the masked content passes msg-modify unchanged
//! and before-send unrefused); a masked nickname passes the same check.
//!
//! Odd inputs: a word of a list, changed by the folding the engine promises (letter case,
//! full-width and half-width forms, decomposed accents with marks in any order, invisible
//! characters, and separators for a list that ignores them), between any texts, is always found:
//! refused in before-send, or masked (or refused) in msg-modify.
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use openim_policy::{Engine, RuleEngine, TextField, TextVerdict, content, rules::RulesFile};
use policy_proto::v1 as pb;
use unicode_normalization::{UnicodeNormalization, char::canonical_combining_class};

const RULES: &str = r#"
wordLists:
  - name: refuse
    action: refuse
    ignoreSeparators: true
    words: [scam, idiot, 坏词, straße, οδος, ệ]
  - name: mask
    action: mask
    words: [spam.example, バカ]
  - name: replace
    action: mask
    replacement: "[x]"
    words: [darn]
  - name: watch
    action: flag
    wholeWords: true
    words: [crypto]
links:
  action: mask
  allowDomains: [openim.io]
limits: {maxTextLength: 5000}
"#;

/// The rules above with unreadable content refused (the default), and checked raw.
static ENGINES: LazyLock<[RuleEngine; 2]> = LazyLock::new(|| {
    let engine = |extra: &str| {
        RuleEngine::from_rules(RulesFile::parse(&format!("{RULES}{extra}")).expect("rules"))
            .expect("engine")
    };
    [
        engine(""),
        engine("undecodableContent: {action: checkRaw}\n"),
    ]
});

/// Words of the `refuse` list (ignores separators) and of the `mask` list (does not).
const REFUSED: &[&str] = &["scam", "idiot", "坏词", "straße", "οδος", "ệ"];
const MASKED: &[&str] = &["spam.example", "バカ"];

const TYPES: &[i32] = &[101, 106, 110, 114, 117, 118, 119, 120, 102, 1501];

fn message(content_type: i32, content: String) -> pb::Message {
    pb::Message {
        sender_user_id: "u1".into(),
        session_type: 1,
        content_type,
        content,
        ..Default::default()
    }
}

fn is_json_object(s: &str) -> bool {
    s.trim_start().starts_with('{') && serde_json::from_str::<serde::de::IgnoredAny>(s).is_ok()
}

fn any_content(engine: &RuleEngine, content_type: i32, bytes: &[u8]) {
    let ctx = pb::CallbackContext::default();
    // The reader, on any bytes.
    let texts = content::read_texts(content_type, bytes);
    if texts.error().is_none() && !texts.keys.is_empty() {
        let masked: Vec<Option<String>> = texts
            .fields
            .values
            .iter()
            .map(|v| v.as_deref().map(|t| t.chars().map(|_| '*').collect()))
            .collect();
        let refs: Vec<Option<&str>> = masked.iter().map(Option::as_deref).collect();
        if let Some(canon) = content::canonical_object(bytes, texts.keys, &refs) {
            let back = content::read_texts(content_type, canon.as_bytes());
            assert_eq!(back.error(), None, "{canon}");
            let got: Vec<Option<&str>> = back.fields.values.iter().map(|v| v.as_deref()).collect();
            assert_eq!(got, refs, "{canon}");
            assert!(is_json_object(&canon), "{canon}");
            assert_eq!(
                content::canonical_object(canon.as_bytes(), texts.keys, &refs).as_deref(),
                Some(canon.as_str())
            );
        }
    }
    // The engine, on the content as OpenIM sends it (valid UTF-8).
    let text = String::from_utf8_lossy(bytes).into_owned();
    let m = message(content_type, text.clone());
    let _ = engine.check_message(&ctx, &m);
    let r = engine.modify_message(&ctx, &m);
    if let Some(new) = &r.content {
        assert!(r.refuse.is_none());
        assert!(is_json_object(new), "not an object: {new}");
        assert_eq!(
            content::read_texts(content_type, new.as_bytes()).error(),
            None,
            "{new}"
        );
        let again = message(content_type, new.clone());
        let r2 = engine.modify_message(&ctx, &again);
        assert!(
            r2.refuse.is_none() && r2.content.is_none(),
            "masking is not idempotent: {text:?} → {new:?} → {r2:?}"
        );
        assert_eq!(engine.check_message(&ctx, &again), None, "{new}");
    }
    if let TextVerdict::Replace(new) = engine.check_text(&ctx, TextField::Nickname, &text) {
        assert!(
            matches!(
                engine.check_text(&ctx, TextField::Nickname, &new),
                TextVerdict::Pass
            ),
            "masked nickname {new:?} of {text:?} does not pass"
        );
    }
}

const INVISIBLE: &[char] = &[
    '\u{200B}', '\u{AD}', '\u{200D}', '\u{2060}', '\u{FE0F}', '\u{FEFF}',
];
const SEPARATORS: &[&str] = &[".", " ", "-", "😀", "\u{3000}", "，", "_", "*", "/"];

/// Half-width forms of the katakana of the words.
fn half_width(c: char) -> Option<&'static str> {
    Some(match c {
        'バ' => "ﾊﾞ",
        'カ' => "ｶ",
        _ => return None,
    })
}

/// `c` as a user could type it, by `how`.
fn variant(c: char, how: u8, separators: bool, out: &mut String) {
    match how % 8 {
        1 => out.extend(c.to_uppercase()),
        2 => out.extend(c.to_lowercase()),
        3 => match (c.is_ascii_alphanumeric(), half_width(c)) {
            (true, _) => out.push(char::from_u32(c as u32 + 0xFEE0).unwrap_or(c)),
            (_, Some(h)) => out.push_str(h),
            _ => out.push(c),
        },
        4 => out.extend(c.to_string().nfd()),
        5 => {
            // Decomposed, marks of different classes in another (equivalent) order.
            let mut chars: Vec<char> = c.to_string().nfd().collect();
            chars[1..].sort_by_key(|m| std::cmp::Reverse(canonical_combining_class(*m)));
            out.extend(chars);
        }
        6 => {
            out.push(c);
            out.push(INVISIBLE[usize::from(how / 8) % INVISIBLE.len()]);
        }
        7 if separators => {
            out.push(c);
            out.push_str(SEPARATORS[usize::from(how / 8) % SEPARATORS.len()]);
        }
        _ => out.push(c),
    }
}

fn word_is_found(engine: &RuleEngine, data: &[u8]) {
    let ctx = pb::CallbackContext::default();
    let [pick, kind, rest @ ..] = data else {
        return;
    };
    let refused = pick % 2 == 0;
    let words = if refused { REFUSED } else { MASKED };
    let word = words[usize::from(pick / 2) % words.len()];
    let n = word.chars().count();
    let (hows, rest) = rest.split_at(n.min(rest.len()));
    let mut typed = String::new();
    for (i, c) in word.chars().enumerate() {
        let how = hows.get(i).copied().unwrap_or(0);
        // Nothing inserted after the last character: it would not be part of the word.
        let how = if i + 1 == n && how % 8 >= 6 { 0 } else { how };
        variant(c, how, refused, &mut typed);
    }
    let (before, after) = rest.split_at(rest.len() / 2);
    let text = format!(
        "{} {typed} {}",
        String::from_utf8_lossy(before),
        String::from_utf8_lossy(after)
    );
    let content_type = TYPES[usize::from(*kind) % 8];
    let keys = content::text_keys(content_type);
    let key = keys[usize::from(kind / 8) % keys.len()];
    let content = serde_json::json!({ key: text }).to_string();
    let m = message(content_type, content);
    if refused {
        assert!(
            engine.check_message(&ctx, &m).is_some(),
            "{word:?} typed as {typed:?} is not refused in {text:?}"
        );
    } else {
        let r = engine.modify_message(&ctx, &m);
        assert!(
            r.refuse.is_some() || r.content.is_some(),
            "{word:?} typed as {typed:?} is not masked in {text:?}"
        );
    }
}

fuzz_target!(|data: &[u8]| {
    let [kind, mode, rest @ ..] = data else {
        return;
    };
    let engine = &ENGINES[usize::from(mode & 1)];
    if mode & 2 == 0 {
        any_content(engine, TYPES[usize::from(*kind) % TYPES.len()], rest);
    } else {
        word_is_found(engine, &data[2..]);
    }
});
