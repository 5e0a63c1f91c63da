//! Content rules that need no scan of the text: content types allowed or denied per
//! conversation kind, and size limits.

use policy_proto::v1 as pb;

use super::{
    file::{ContentTypesSpec, LimitsSpec, RulesError, Spanned, TypeFilterSpec},
    rule::Rule,
};

/// Default errCode of the content-type rule.
const TYPES_CODE: i32 = 5004;
/// Default errMsg of the content-type rule.
const TYPES_MSG: &str = "this kind of message cannot be sent here";
/// Default errCode of the size limits.
const LIMITS_CODE: i32 = 5005;
/// Default errMsg of the size limits.
const LIMITS_MSG: &str = "message too long";

/// An allow-list or a deny-list.
#[derive(Debug)]
struct TypeFilter {
    allow: bool,
    types: Vec<i32>,
}

impl TypeFilter {
    fn new(key: &str, spec: &Spanned<TypeFilterSpec>) -> Result<Self, RulesError> {
        let (allow, list) = match (&spec.value.allow, &spec.value.deny) {
            (Some(list), None) => (true, list),
            (None, Some(list)) => (false, list),
            _ => {
                return Err(RulesError::invalid(
                    key,
                    spec,
                    "set exactly one of allow and deny",
                ));
            }
        };
        let mut types: Vec<i32> = list.iter().map(|t| t.0).collect();
        types.sort_unstable();
        types.dedup();
        Ok(Self { allow, types })
    }

    fn permits(&self, content_type: i32) -> bool {
        self.types.binary_search(&content_type).is_ok() == self.allow
    }
}

/// Content types per conversation kind.
#[derive(Debug)]
pub(crate) struct ContentTypes {
    /// Name, refusal, dry-run, counters.
    pub(crate) rule: Rule,
    single: Option<TypeFilter>,
    group: Option<TypeFilter>,
}

impl ContentTypes {
    /// Validates the section.
    pub(crate) fn new(spec: &ContentTypesSpec) -> Result<Self, RulesError> {
        Ok(Self {
            rule: Rule::new(
                "contentTypes",
                "contentTypes",
                spec.err_code.map_or(TYPES_CODE, |c| c.0),
                spec.err_msg.as_deref().unwrap_or(TYPES_MSG),
                spec.dry_run,
            ),
            single: spec
                .single
                .as_ref()
                .map(|s| TypeFilter::new("contentTypes.single", s))
                .transpose()?,
            group: spec
                .group
                .as_ref()
                .map(|s| TypeFilter::new("contentTypes.group", s))
                .transpose()?,
        })
    }

    /// Whether a message of `content_type` may be sent in a conversation of `session_type`.
    pub(crate) fn permits(&self, session_type: i32, content_type: i32) -> bool {
        let filter = match pb::SessionType::try_from(session_type) {
            Ok(pb::SessionType::Single) => &self.single,
            Ok(pb::SessionType::Group | pb::SessionType::WriteGroup) => &self.group,
            _ => &None,
        };
        filter.as_ref().is_none_or(|f| f.permits(content_type))
    }
}

/// Size limits.
#[derive(Debug)]
pub(crate) struct Limits {
    /// Name, refusal, dry-run, counters.
    pub(crate) rule: Rule,
    /// Most characters of text per message.
    pub(crate) max_text_chars: Option<usize>,
    /// Most bytes of content per message.
    pub(crate) max_content_bytes: Option<usize>,
}

impl Limits {
    /// The section.
    pub(crate) fn new(spec: &LimitsSpec) -> Self {
        Self {
            rule: Rule::new(
                "limits",
                "limits",
                spec.err_code.map_or(LIMITS_CODE, |c| c.0),
                spec.err_msg.as_deref().unwrap_or(LIMITS_MSG),
                spec.dry_run,
            ),
            max_text_chars: spec.max_text_length.map(|n| n.get() as usize),
            max_content_bytes: spec
                .max_content_bytes
                .map(|b| usize::try_from(b.0).unwrap_or(usize::MAX)),
        }
    }

    /// Whether `content` (the raw content) is too large.
    pub(crate) fn content_too_large(&self, content: &str) -> bool {
        self.max_content_bytes
            .is_some_and(|max| content.len() > max)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::file::RulesFile;

    fn types(yaml: &str) -> Result<ContentTypes, String> {
        ContentTypes::new(&RulesFile::parse(yaml).unwrap().content_types.unwrap())
            .map_err(|e| e.to_string())
    }

    #[test]
    fn allow_and_deny_lists_apply_per_conversation_kind() {
        let t = types("contentTypes:\n  single: {deny: [picture, 105]}\n  group: {allow: [text, atText, quote]}\n")
            .unwrap();
        let (single, group) = (
            pb::SessionType::Single as i32,
            pb::SessionType::Group as i32,
        );
        assert!(!t.permits(single, 102) && !t.permits(single, 105));
        assert!(t.permits(single, 101) && t.permits(single, 110));
        assert!(t.permits(group, 101) && t.permits(group, 106) && t.permits(group, 114));
        assert!(!t.permits(group, 102) && !t.permits(group, 110));
        assert!(
            t.permits(pb::SessionType::Notification as i32, 102),
            "no rule there"
        );
    }

    #[test]
    fn a_filter_is_either_an_allow_or_a_deny_list() {
        let e = types("contentTypes:\n  group: {allow: [text], deny: [picture]}\n").unwrap_err();
        assert!(
            e.contains("contentTypes.group") && e.contains("line 2"),
            "{e}"
        );
        let e = types("contentTypes:\n  single: {}\n").unwrap_err();
        assert!(
            e.contains("contentTypes.single") && e.contains("exactly one"),
            "{e}"
        );
    }

    #[test]
    fn content_size_is_counted_in_bytes() {
        let spec = RulesFile::parse("limits: {maxContentBytes: 10, maxTextLength: 3}\n")
            .unwrap()
            .limits
            .unwrap();
        let l = Limits::new(&spec);
        assert!(!l.content_too_large("0123456789"));
        assert!(l.content_too_large("01234567890"));
        assert_eq!(l.max_text_chars, Some(3));
    }
}
