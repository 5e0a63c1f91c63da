//! A message's content as OpenIM's clients read it.
//!
//! OpenIM's `content` is a JSON document whose shape depends on the content type
//! (docs/openim-protocol.md §5.2). Every OpenIM client decodes it with openim-sdk-core, which is
//! Go on every platform: `json.Unmarshal` into the SDK's element struct of the content type
//! (`sdk_struct`, `msgHandleByContentType`). The policy must check the text the receiver is
//! shown, so it reads the content with Go's rules ([`gojson`]'s module docs): keys in any letter
//! case, the last of duplicate keys, invalid UTF-8 and lone surrogate escapes as U+FFFD. Reading
//! it any other way lets a word through that the receiver sees (issue 17: `{"Content":"scam"}`,
//! `{"content":"ok","content":"scam"}`, `{"content":"scam \ud800"}`).
//!
//! | type | SDK element | text fields |
//! | --- | --- | --- |
//! | 101 Text | `TextElem` | `content` |
//! | 106 AtText | `AtTextElem` | `text` |
//! | 110 Custom, 119 CustomNotTriggerConversation, 120 CustomOnlineOnly | `CustomElem` | `data`, `description`, `extension` |
//! | 114 Quote | `QuoteElem` | `text` |
//! | 117 AdvancedText | `AdvancedTextElem` | `text` |
//! | 118 MarkdownText | `MarkdownTextElem` | `content` |
//!
//! The elements' other fields (`atUserList`, `quoteMessage`, ...) have other names under case
//! folding, so they never change which value a text field gets; a wrong type in one of them makes
//! `Unmarshal` return an error after storing the texts (new messages are then dropped by the SDK,
//! history still shows them), so the texts are checked either way.

mod gojson;

use std::borrow::Cow;

pub use gojson::{GoError, GoFields, canonical_object, read_fields};
use policy_proto::v1 as pb;

/// The text fields of the SDK element of `content_type`, by their JSON names; empty for types
/// without user text.
pub fn text_keys(content_type: i32) -> &'static [&'static str] {
    use pb::ContentType as T;
    match T::try_from(content_type) {
        Ok(T::Text | T::MarkdownText) => &["content"],
        Ok(T::AtText | T::Quote | T::AdvancedText) => &["text"],
        Ok(T::Custom | T::CustomNotTriggerConversation | T::CustomOnlineOnly) => {
            &["data", "description", "extension"]
        }
        _ => &[],
    }
}

/// The user texts of a message's content, as the SDK decodes them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContentTexts<'a> {
    /// The element's text fields ([`text_keys`]).
    pub keys: &'static [&'static str],
    /// What `json.Unmarshal` leaves in them, and its error.
    pub fields: GoFields<'a>,
}

impl ContentTexts<'_> {
    /// `(key, text)` of each text field a string was stored into.
    pub fn iter(&self) -> impl Iterator<Item = (&'static str, &str)> {
        self.keys
            .iter()
            .zip(&self.fields.values)
            .filter_map(|(k, v)| v.as_deref().map(|v| (*k, v)))
    }

    /// Whether `json.Unmarshal` returns an error: the SDK then drops a new message (but shows
    /// what it decoded when it reads it back from history).
    pub fn error(&self) -> Option<GoError> {
        self.fields.error
    }
}

/// The texts of a message of `content_type` whose content is `content`, read as openim-sdk-core
/// reads them. Types without user text have none (and no error).
pub fn read_texts(content_type: i32, content: &[u8]) -> ContentTexts<'_> {
    let keys = text_keys(content_type);
    if keys.is_empty() {
        return ContentTexts {
            keys,
            fields: GoFields {
                values: Vec::new(),
                error: None,
            },
        };
    }
    ContentTexts {
        keys,
        fields: read_fields(content, keys),
    }
}

/// The content with its texts replaced, in canonical form ([`canonical_object`]): one key per
/// text field, spelt as the SDK spells it, so that the new text is the only one any client can
/// read. `edit(key, text)` gives a text's replacement, or `None` to keep it. `None` when the
/// content has no text fields, cannot be decoded ([`ContentTexts::error`]), or nothing changed.
pub fn rewrite(
    content_type: i32,
    content: &str,
    mut edit: impl FnMut(&str, &str) -> Option<String>,
) -> Option<String> {
    let texts = read_texts(content_type, content.as_bytes());
    if texts.keys.is_empty() || texts.error().is_some() {
        return None;
    }
    let mut changed = false;
    let new: Vec<Option<Cow<'_, str>>> = texts
        .keys
        .iter()
        .zip(&texts.fields.values)
        .map(|(key, value)| {
            let value = value.as_deref()?;
            Some(match edit(key, value) {
                Some(new) => {
                    changed = true;
                    Cow::Owned(new)
                }
                None => Cow::Borrowed(value),
            })
        })
        .collect();
    if !changed {
        return None;
    }
    let values: Vec<Option<&str>> = new.iter().map(Option::as_deref).collect();
    canonical_object(content.as_bytes(), texts.keys, &values)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(t: pb::ContentType, content: &str) -> Vec<(&'static str, String)> {
        read_texts(t as i32, content.as_bytes())
            .iter()
            .map(|(k, v)| (k, v.to_owned()))
            .collect()
    }

    #[test]
    fn each_type_has_the_text_fields_of_its_sdk_element() {
        use pb::ContentType as T;
        let cases = [
            (
                T::Text,
                r#"{"content":"hello \"you\""}"#,
                vec![("content", r#"hello "you""#)],
            ),
            (
                T::AtText,
                r#"{"text":"@Bob hi","atUserList":["u2"],"isAtSelf":false}"#,
                vec![("text", "@Bob hi")],
            ),
            (
                T::Quote,
                r#"{"text":"reply","quoteMessage":{"content":"{\"content\":\"old\"}"}}"#,
                vec![("text", "reply")],
            ),
            (
                T::AdvancedText,
                r#"{"text":"bold","messageEntityList":[{"type":"bold","offset":0,"length":4}]}"#,
                vec![("text", "bold")],
            ),
            (
                T::MarkdownText,
                r#"{"content":"**md**"}"#,
                vec![("content", "**md**")],
            ),
            (
                T::Custom,
                r#"{"data":"d","description":"desc","extension":"ext"}"#,
                vec![("data", "d"), ("description", "desc"), ("extension", "ext")],
            ),
            (
                T::CustomNotTriggerConversation,
                r#"{"Data":"d"}"#,
                vec![("data", "d")],
            ),
            (
                T::CustomOnlineOnly,
                r#"{"extension":"e"}"#,
                vec![("extension", "e")],
            ),
        ];
        for (t, content, want) in cases {
            let want: Vec<_> = want.into_iter().map(|(k, v)| (k, v.to_owned())).collect();
            assert_eq!(texts(t, content), want, "{t:?}");
        }
        assert!(texts(T::Picture, r#"{"content":"hi"}"#).is_empty());
        assert_eq!(read_texts(T::Picture as i32, b"not json").error(), None);
        assert!(read_texts(T::Text as i32, b"not json").error().is_some());
    }

    #[test]
    fn the_three_bypasses_of_issue_17_read_as_the_client_reads_them() {
        use pb::ContentType as T;
        assert_eq!(
            texts(T::Text, r#"{"Content":"scam"}"#),
            [("content", "scam".into())]
        );
        assert_eq!(
            texts(T::Text, r#"{"content":"ok","content":"scam"}"#),
            [("content", "scam".into())]
        );
        assert_eq!(
            texts(T::Text, r#"{"content":"scam \ud800"}"#),
            [("content", "scam \u{FFFD}".into())]
        );
    }

    #[test]
    fn a_rewrite_is_canonical_and_keeps_the_other_keys_in_order() {
        let t = pb::ContentType::Text as i32;
        let out = rewrite(
            t,
            r#"{"z":1,"Content":"bad","a":[true],"content":"bad word"}"#,
            |_, s| Some(s.replace("bad", "***")),
        );
        assert_eq!(
            out.as_deref(),
            Some(r#"{"z":1,"content":"*** word","a":[true]}"#)
        );
        let c = pb::ContentType::Custom as i32;
        let out = rewrite(
            c,
            r#"{"data":"bad","description":"fine","extension":"bad"}"#,
            |_, s| s.contains("bad").then(|| "***".to_owned()),
        );
        assert_eq!(
            out.as_deref(),
            Some(r#"{"data":"***","description":"fine","extension":"***"}"#)
        );
        assert_eq!(rewrite(t, r#"{"content":"fine"}"#, |_, _| None), None);
        assert_eq!(
            rewrite(t, r#"{"content":5}"#, |_, _| Some("x".into())),
            None
        );
        assert_eq!(
            rewrite(pb::ContentType::Picture as i32, "{}", |_, _| Some(
                "x".into()
            )),
            None
        );
    }
}
