//! Where the user-written text is in a message: OpenIM's `content` is itself a JSON document
//! whose shape depends on the content type (PROTOCOL.md §5.2). Text messages (101) carry it in
//! `{"content":"..."}`.

use std::borrow::Cow;

use policy_proto::v1 as pb;
use serde::Deserialize;
use serde_json::{Map, Value};

/// Content key holding the text, by content type; `None` for types without user text.
fn text_key(content_type: i32) -> Option<&'static str> {
    (content_type == pb::ContentType::Text as i32).then_some("content")
}

/// The user-written text of `message`, if its type has any and its content is well-formed.
/// Borrows from the content when the text has no JSON escapes.
pub(super) fn of(message: &pb::Message) -> Option<Cow<'_, str>> {
    #[derive(Deserialize)]
    struct TextElem<'a> {
        #[serde(borrow)]
        content: Option<Cow<'a, str>>,
    }
    text_key(message.content_type)?;
    serde_json::from_str::<TextElem<'_>>(&message.content)
        .ok()?
        .content
}

/// Applies `edit` to the message's text and returns the new content JSON, or `None` when the
/// message has no text or `edit` changed nothing. Other keys of the content are kept, in order.
pub(super) fn rewrite(
    message: &pb::Message,
    edit: impl FnOnce(&str) -> Option<String>,
) -> Option<String> {
    let key = text_key(message.content_type)?;
    let mut content: Map<String, Value> = serde_json::from_str(&message.content).ok()?;
    let Some(Value::String(text)) = content.get_mut(key) else {
        return None;
    };
    *text = edit(text)?;
    serde_json::to_string(&content).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text_message(content: &str) -> pb::Message {
        pb::Message {
            content_type: pb::ContentType::Text as i32,
            content: content.into(),
            ..Default::default()
        }
    }

    #[test]
    fn the_text_of_a_text_message_is_its_inner_content() {
        let m = text_message(r#"{"content":"hello \"you\""}"#);
        assert_eq!(of(&m).as_deref(), Some(r#"hello "you""#));
    }

    #[test]
    fn other_types_and_broken_content_have_no_text() {
        let mut m = text_message(r#"{"content":"hi"}"#);
        m.content_type = pb::ContentType::Picture as i32;
        assert_eq!(of(&m), None);
        assert_eq!(of(&text_message("not json")), None);
        assert_eq!(of(&text_message(r#"{"content":5}"#)), None);
    }

    #[test]
    fn rewriting_keeps_the_other_keys_in_order() {
        let m = text_message(r#"{"z":1,"content":"bad word","a":[true]}"#);
        let out = rewrite(&m, |t| Some(t.replace("bad", "***")));
        assert_eq!(
            out.as_deref(),
            Some(r#"{"z":1,"content":"*** word","a":[true]}"#)
        );
    }

    #[test]
    fn no_edit_means_no_new_content() {
        let m = text_message(r#"{"content":"fine"}"#);
        assert_eq!(rewrite(&m, |_| None), None);
    }
}
