//! Names of OpenIM's codes (content types, session types) for the rules file, metrics labels and
//! push templates, taken from the contract's enums so they never drift from it.

use policy_proto::v1 as pb;

/// Content types that are notifications (docs/openim-protocol.md §5.4): rules about who may say what never
/// apply to them (OpenIM v3.8 sends group notifications to the group before-send callback).
pub(crate) fn is_notification(content_type: i32) -> bool {
    (1000..=5000).contains(&content_type)
}

/// Every content type of the contract but "unspecified".
fn all_content_types() -> impl Iterator<Item = pb::ContentType> {
    (1..=5000).filter_map(|n| match pb::ContentType::try_from(n) {
        Ok(pb::ContentType::Unspecified) | Err(_) => None,
        Ok(t) => Some(t),
    })
}

/// `CONTENT_TYPE_AT_TEXT` → `AT_TEXT`.
fn upper_name(t: pb::ContentType) -> &'static str {
    let name = t.as_str_name();
    name.strip_prefix("CONTENT_TYPE_").unwrap_or(name)
}

/// The content type whose name, lower case and without `_`, is `folded` (`attext`).
pub(crate) fn content_type_by_folded_name(folded: &str) -> Option<i32> {
    all_content_types()
        .find(|t| {
            let name = upper_name(*t);
            name.len() - name.matches('_').count() == folded.len()
                && name
                    .bytes()
                    .filter(|b| *b != b'_')
                    .map(|b| b.to_ascii_lowercase())
                    .eq(folded.bytes())
        })
        .map(|t| t as i32)
}

/// Metrics label of a content type: `TEXT`, `AT_TEXT`, ...; `OTHER` for numbers the contract
/// does not name.
pub(crate) fn content_type_label(content_type: i32) -> &'static str {
    match pb::ContentType::try_from(content_type) {
        Ok(pb::ContentType::Unspecified) | Err(_) => "OTHER",
        Ok(t) => upper_name(t),
    }
}

/// camelCase name of a content type (`atText`), or its number for those the contract does not
/// name: the default `{contentType}` of push templates.
pub(crate) fn content_type_camel_name(content_type: i32) -> String {
    match pb::ContentType::try_from(content_type) {
        Ok(pb::ContentType::Unspecified) | Err(_) => content_type.to_string(),
        Ok(t) => {
            let mut out = String::new();
            for (i, word) in upper_name(t).split('_').enumerate() {
                let lower = word.to_ascii_lowercase();
                if i == 0 {
                    out.push_str(&lower);
                } else {
                    let mut chars = lower.chars();
                    if let Some(first) = chars.next() {
                        out.push(first.to_ascii_uppercase());
                        out.push_str(chars.as_str());
                    }
                }
            }
            out
        }
    }
}

/// Every named content type with its camelCase name, for the push template's name table.
pub(crate) fn content_type_names() -> impl Iterator<Item = (i32, String)> {
    all_content_types().map(|t| (t as i32, content_type_camel_name(t as i32)))
}

/// Metrics label of a session type.
pub(crate) fn session_type_label(session_type: i32) -> &'static str {
    match pb::SessionType::try_from(session_type) {
        Ok(pb::SessionType::Single) => "single",
        Ok(pb::SessionType::Group | pb::SessionType::WriteGroup) => "group",
        Ok(pb::SessionType::Notification) => "notification",
        Ok(pb::SessionType::Unspecified) | Err(_) => "other",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_come_from_the_contract() {
        assert_eq!(content_type_by_folded_name("attext"), Some(106));
        assert_eq!(content_type_by_folded_name("text"), Some(101));
        assert_eq!(content_type_by_folded_name("markdowntext"), Some(118));
        assert_eq!(content_type_by_folded_name("nope"), None);
        assert_eq!(content_type_label(106), "AT_TEXT");
        assert_eq!(content_type_label(999), "OTHER");
        assert_eq!(content_type_camel_name(106), "atText");
        assert_eq!(content_type_camel_name(102), "picture");
        assert_eq!(content_type_camel_name(999), "999");
        assert!(content_type_names().any(|(n, name)| n == 1501 && name == "groupCreated"));
        assert_eq!(session_type_label(3), "group");
        assert!(is_notification(1501) && !is_notification(110));
    }
}
