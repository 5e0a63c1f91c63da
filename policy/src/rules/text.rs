//! Where the user-written text is in a message: the text fields of its content, read as
//! OpenIM's clients read them (see [`crate::content`]); and the rule for content they cannot
//! decode.

use policy_proto::v1 as pb;

use super::{
    file::{UndecodableAction, UndecodableSpec},
    rule::Rule,
};
use crate::content::{self, ContentTexts, GoError};

/// Default errCode of the undecodable-content rule.
const UNDECODABLE_CODE: i32 = 5007;
/// Default errMsg of the undecodable-content rule.
const UNDECODABLE_MSG: &str = "message content cannot be read";

/// What happens to a message of a type with text whose content the clients cannot decode. Such
/// content never comes from OpenIM's SDKs or REST API, and a client shows nothing of it (or, from
/// history, what it decoded before the error), so it is refused unless the rules say to check
/// its raw text instead: never let through unread.
#[derive(Debug)]
pub(crate) struct Undecodable {
    /// Name, refusal, dry-run, counters.
    pub(crate) rule: Rule,
    /// Refuse, or check the raw text.
    pub(crate) action: UndecodableAction,
}

impl Undecodable {
    /// The rule from its section (absent: refuse with the defaults).
    pub(crate) fn new(spec: Option<&UndecodableSpec>) -> Self {
        let default = UndecodableSpec::default();
        let spec = spec.unwrap_or(&default);
        Self {
            rule: Rule::new(
                "undecodableContent",
                "undecodableContent",
                spec.err_code.map_or(UNDECODABLE_CODE, |c| c.0),
                spec.err_msg.as_deref().unwrap_or(UNDECODABLE_MSG),
                spec.dry_run,
            ),
            action: spec.action,
        }
    }
}

/// The user-written texts of a message, as the receiver's client reads them.
pub(crate) struct Texts<'a>(ContentTexts<'a>);

impl<'a> Texts<'a> {
    /// The texts of `message`; none when its type has no text.
    pub(crate) fn of(message: &'a pb::Message) -> Self {
        Self(content::read_texts(
            message.content_type,
            message.content.as_bytes(),
        ))
    }

    /// `(key, text)` pairs.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&'static str, &str)> {
        self.0.iter()
    }

    /// Characters of all texts together.
    pub(crate) fn char_count(&self) -> usize {
        self.iter().map(|(_, t)| t.chars().count()).sum()
    }

    /// Why the client cannot decode the content, for a type with text: it then shows nothing
    /// (or, read back from history, what it decoded before the error).
    pub(crate) fn error(&self) -> Option<GoError> {
        self.0.error()
    }
}

/// Applies `edit` to each text of the message (with its key) and returns the new content JSON
/// in canonical form (one key per text field, see [`content::rewrite`]), or `None` when the
/// message has no text, its content cannot be decoded, or `edit` changed nothing.
pub(crate) fn rewrite(
    message: &pb::Message,
    edit: impl FnMut(&str, &str) -> Option<String>,
) -> Option<String> {
    content::rewrite(message.content_type, &message.content, edit)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_are_counted_in_characters() {
        let m = pb::Message {
            content_type: pb::ContentType::Custom as i32,
            content: r#"{"data":"你好","description":"ab"}"#.into(),
            ..Default::default()
        };
        assert_eq!(Texts::of(&m).char_count(), 4);
    }
}
