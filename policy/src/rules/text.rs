//! Where the user-written text is in a message: OpenIM's `content` is itself a JSON document
//! whose shape depends on the content type (docs/openim-protocol.md §5.2, OpenIM SDK element structs):
//!
//! | type | text keys |
//! | --- | --- |
//! | 101 Text | `content` |
//! | 106 AtText | `text` |
//! | 110 Custom | `data`, `description`, `extension` |
//! | 114 Quote | `text` (the quoted message was checked when it was sent) |
//! | 117 AdvancedText | `text` (its `messageEntityList` offsets count characters: per-character masking keeps them right) |
//! | 118 MarkdownText | `content` |

use std::{borrow::Cow, fmt};

use policy_proto::v1 as pb;
use serde::{
    Deserialize, Deserializer,
    de::{IgnoredAny, MapAccess, SeqAccess, Visitor},
};
use serde_json::{Map, Value};

/// Content keys holding user text, by content type; empty for types without user text.
pub(crate) fn text_keys(content_type: i32) -> &'static [&'static str] {
    use pb::ContentType as T;
    match T::try_from(content_type) {
        Ok(T::Text | T::MarkdownText) => &["content"],
        Ok(T::AtText | T::Quote | T::AdvancedText) => &["text"],
        Ok(T::Custom) => &["data", "description", "extension"],
        _ => &[],
    }
}

/// A string value, or nothing for any other JSON value (so that an odd value in one key does
/// not hide the text of the others).
struct Lenient<'a>(Option<Cow<'a, str>>);

impl<'de: 'a, 'a> Deserialize<'de> for Lenient<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
            type Value = Lenient<'a>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Lenient(Some(Cow::Borrowed(v))))
            }
            fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Lenient(Some(Cow::Owned(v.to_owned()))))
            }
            fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
                Ok(Lenient(Some(Cow::Owned(v))))
            }
            fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
                Ok(Lenient(None))
            }
            fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
                Ok(Lenient(None))
            }
            fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
                Ok(Lenient(None))
            }
            fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
                Ok(Lenient(None))
            }
            fn visit_unit<E>(self) -> Result<Self::Value, E> {
                Ok(Lenient(None))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Lenient(None))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(Lenient(None))
            }
        }
        d.deserialize_any(V(std::marker::PhantomData))
    }
}

/// Every key any type keeps text in; the content type then picks its own.
#[derive(Deserialize, Default)]
struct TextKeys<'a> {
    #[serde(borrow, default)]
    content: Option<Lenient<'a>>,
    #[serde(borrow, default)]
    text: Option<Lenient<'a>>,
    #[serde(borrow, default)]
    data: Option<Lenient<'a>>,
    #[serde(borrow, default)]
    description: Option<Lenient<'a>>,
    #[serde(borrow, default)]
    extension: Option<Lenient<'a>>,
}

/// The user-written texts of a message: up to three, by content key. Borrowed from the content
/// when they have no JSON escapes.
#[derive(Default)]
pub(crate) struct Texts<'a> {
    parts: [Option<(&'static str, Cow<'a, str>)>; 3],
}

impl<'a> Texts<'a> {
    /// The texts of `message`; none when its type has no text or its content is not a JSON
    /// object.
    pub(crate) fn of(message: &'a pb::Message) -> Self {
        let keys = text_keys(message.content_type);
        if keys.is_empty() {
            return Self::default();
        }
        let Ok(mut found) = serde_json::from_str::<TextKeys<'a>>(&message.content) else {
            return Self::default();
        };
        let mut texts = Self::default();
        for (slot, key) in texts.parts.iter_mut().zip(keys) {
            let value = match *key {
                "content" => found.content.take(),
                "text" => found.text.take(),
                "data" => found.data.take(),
                "description" => found.description.take(),
                _ => found.extension.take(),
            };
            *slot = value.and_then(|v| v.0).map(|t| (*key, t));
        }
        texts
    }

    /// `(key, text)` pairs.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&'static str, &str)> {
        self.parts.iter().flatten().map(|(k, t)| (*k, t.as_ref()))
    }

    /// Characters of all texts together.
    pub(crate) fn char_count(&self) -> usize {
        self.iter().map(|(_, t)| t.chars().count()).sum()
    }
}

/// Applies `edit` to each text of the message (with its key) and returns the new content JSON,
/// or `None` when the message has no text or `edit` changed nothing. Other keys are kept, in
/// order.
pub(crate) fn rewrite(
    message: &pb::Message,
    mut edit: impl FnMut(&str, &str) -> Option<String>,
) -> Option<String> {
    let keys = text_keys(message.content_type);
    if keys.is_empty() {
        return None;
    }
    let mut content: Map<String, Value> = serde_json::from_str(&message.content).ok()?;
    let mut changed = false;
    for key in keys {
        if let Some(Value::String(text)) = content.get_mut(*key)
            && let Some(new) = edit(key, text)
        {
            *text = new;
            changed = true;
        }
    }
    if !changed {
        return None;
    }
    serde_json::to_string(&content).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(content_type: pb::ContentType, content: &str) -> pb::Message {
        pb::Message {
            content_type: content_type as i32,
            content: content.into(),
            ..Default::default()
        }
    }

    fn texts(m: &pb::Message) -> Vec<(&'static str, String)> {
        Texts::of(m)
            .iter()
            .map(|(k, t)| (k, t.to_owned()))
            .collect()
    }

    #[test]
    fn each_type_has_its_text_keys() {
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
        ];
        for (t, content, want) in cases {
            let got = texts(&message(t, content));
            let want: Vec<_> = want.into_iter().map(|(k, v)| (k, v.to_owned())).collect();
            assert_eq!(got, want, "{t:?}");
        }
    }

    #[test]
    fn other_types_broken_content_and_odd_values_have_no_text() {
        use pb::ContentType as T;
        assert!(texts(&message(T::Picture, r#"{"content":"hi"}"#)).is_empty());
        assert!(texts(&message(T::Text, "not json")).is_empty());
        assert!(texts(&message(T::Text, r#"{"content":5}"#)).is_empty());
        // An odd value in one key does not hide the others.
        let m = message(
            T::Custom,
            r#"{"data":{"x":[1,2]},"description":"bad word","extension":null}"#,
        );
        assert_eq!(texts(&m), vec![("description", "bad word".to_owned())]);
    }

    #[test]
    fn texts_are_counted_in_characters() {
        let m = message(
            pb::ContentType::Custom,
            r#"{"data":"你好","description":"ab"}"#,
        );
        assert_eq!(Texts::of(&m).char_count(), 4);
    }

    #[test]
    fn rewriting_keeps_the_other_keys_in_order() {
        let m = message(
            pb::ContentType::Text,
            r#"{"z":1,"content":"bad word","a":[true]}"#,
        );
        let out = rewrite(&m, |_, t| Some(t.replace("bad", "***")));
        assert_eq!(
            out.as_deref(),
            Some(r#"{"z":1,"content":"*** word","a":[true]}"#)
        );
        let m = message(
            pb::ContentType::Custom,
            r#"{"data":"bad","description":"fine","extension":"bad"}"#,
        );
        let out = rewrite(&m, |_, t| t.contains("bad").then(|| "***".to_owned()));
        assert_eq!(
            out.as_deref(),
            Some(r#"{"data":"***","description":"fine","extension":"***"}"#)
        );
    }

    #[test]
    fn no_edit_means_no_new_content() {
        let m = message(pb::ContentType::Text, r#"{"content":"fine"}"#);
        assert_eq!(rewrite(&m, |_, _| None), None);
    }
}
