//! Push text templates: literal text with `{placeholder}`s, parsed once when the rules are read
//! (an unknown placeholder is an error at its line), rendered per push.

use std::fmt;

use serde::{Deserialize, Deserializer, de};

/// A value a template can insert.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Var {
    /// `{senderID}`: the sender's user ID.
    SenderId,
    /// `{senderNickname}`: the sender's nickname as last seen in a message callback, else the
    /// sender's user ID.
    SenderNickname,
    /// `{groupID}`: the group ID (empty for one-to-one chats).
    GroupId,
    /// `{contentType}`: the content type's name (see `contentTypeNames`).
    ContentType,
    /// `{title}`: the message's own push title.
    Title,
    /// `{desc}`: the message's own push text.
    Desc,
}

const VARS: [(&str, Var); 6] = [
    ("senderID", Var::SenderId),
    ("senderNickname", Var::SenderNickname),
    ("groupID", Var::GroupId),
    ("contentType", Var::ContentType),
    ("title", Var::Title),
    ("desc", Var::Desc),
];

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Text(String),
    Var(Var),
}

/// A parsed template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    parts: Vec<Part>,
}

impl Template {
    /// Parses `{name}` placeholders; `{{` and `}}` are literal braces.
    pub fn parse(s: &str) -> Result<Self, String> {
        let mut parts = Vec::new();
        let mut text = String::new();
        let mut rest = s;
        while let Some(i) = rest.find(['{', '}']) {
            text.push_str(&rest[..i]);
            let tail = &rest[i..];
            if tail.starts_with("{{") || tail.starts_with("}}") {
                text.push_str(&tail[..1]);
                rest = &tail[2..];
            } else if tail.starts_with('}') {
                return Err(format!("unmatched `}}` in {s:?}: write `}}}}` for a brace"));
            } else {
                let end = tail
                    .find('}')
                    .ok_or_else(|| format!("unclosed `{{` in {s:?}"))?;
                let name = &tail[1..end];
                let var = VARS
                    .iter()
                    .find(|(n, _)| *n == name)
                    .map(|(_, v)| *v)
                    .ok_or_else(|| {
                        let known: Vec<_> = VARS.iter().map(|(n, _)| format!("{{{n}}}")).collect();
                        format!("unknown placeholder {{{name}}}: use {}", known.join(", "))
                    })?;
                if !text.is_empty() {
                    parts.push(Part::Text(std::mem::take(&mut text)));
                }
                parts.push(Part::Var(var));
                rest = &tail[end + 1..];
            }
        }
        text.push_str(rest);
        if !text.is_empty() {
            parts.push(Part::Text(text));
        }
        Ok(Self { parts })
    }

    /// Renders the template, taking each placeholder's value from `value`.
    pub fn render<'a>(&self, value: impl Fn(Var) -> &'a str) -> String {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Text(t) => out.push_str(t),
                Part::Var(v) => out.push_str(value(*v)),
            }
        }
        out
    }
}

impl<'de> Deserialize<'de> for Template {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse(&s).map_err(de::Error::custom)
    }
}

impl fmt::Display for Template {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for part in &self.parts {
            match part {
                Part::Text(t) => f.write_str(&t.replace('{', "{{").replace('}', "}}"))?,
                Part::Var(v) => {
                    let name = VARS.iter().find(|(_, x)| x == v).map_or("?", |(n, _)| n);
                    write!(f, "{{{name}}}")?;
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(v: Var) -> &'static str {
        match v {
            Var::SenderId => "u1",
            Var::SenderNickname => "Alice",
            Var::GroupId => "g1",
            Var::ContentType => "picture",
            Var::Title => "old title",
            Var::Desc => "old desc",
        }
    }

    #[test]
    fn placeholders_are_replaced_and_braces_escaped() {
        let t =
            Template::parse("{senderNickname} ({senderID}) in {groupID}: [{contentType}] {{x}}")
                .unwrap();
        assert_eq!(t.render(values), "Alice (u1) in g1: [picture] {x}");
        assert_eq!(
            Template::parse("New message").unwrap().render(values),
            "New message"
        );
        assert_eq!(
            Template::parse("{title}!").unwrap().render(values),
            "old title!"
        );
        assert_eq!(
            t.to_string(),
            "{senderNickname} ({senderID}) in {groupID}: [{contentType}] {{x}}"
        );
    }

    #[test]
    fn unknown_or_unbalanced_placeholders_are_errors() {
        let e = Template::parse("{nickname}").unwrap_err();
        assert!(
            e.contains("unknown placeholder {nickname}") && e.contains("{senderNickname}"),
            "{e}"
        );
        assert!(
            Template::parse("{senderID")
                .unwrap_err()
                .contains("unclosed")
        );
        assert!(Template::parse("a}b").unwrap_err().contains("unmatched"));
    }
}
