//! Generates `docs/reference.md`, the policy author's reference of every service, RPC, message,
//! field and enum of the contract, from the comments in the `.proto` files (kept in the
//! crate's `FILE_DESCRIPTOR_SET` as source info). `tests/tests/docs_reference.rs` checks that
//! the committed file is current; `BLESS=1` rewrites it.

use std::fmt::Write as _;

use prost::Message as _;
use prost_types::{
    DescriptorProto, EnumDescriptorProto, FieldDescriptorProto, FileDescriptorProto,
    FileDescriptorSet, ServiceDescriptorProto,
    field_descriptor_proto::{Label, Type},
    source_code_info::Location,
};

/// The package documented.
const PACKAGE: &str = "openim.policy.v1";

// Field numbers of descriptor.proto, which make up source-info paths.
const FILE_MESSAGES: i32 = 4;
const FILE_ENUMS: i32 = 5;
const FILE_SERVICES: i32 = 6;
const FILE_SYNTAX: i32 = 12;
const MESSAGE_FIELDS: i32 = 2;
const MESSAGE_NESTED: i32 = 3;
const MESSAGE_ENUMS: i32 = 4;
const ENUM_VALUES: i32 = 2;
const SERVICE_METHODS: i32 = 2;

/// The reference of the contract in `descriptor_set` (an encoded `FileDescriptorSet` with
/// source info), as Markdown.
pub fn render(descriptor_set: &[u8]) -> String {
    let set = FileDescriptorSet::decode(descriptor_set).expect("a valid FileDescriptorSet");
    let files: Vec<_> = set.file.iter().filter(|f| f.package() == PACKAGE).collect();
    let mut out = String::new();
    let _ = writeln!(out, "# `{PACKAGE}` reference\n");
    out.push_str(
        "<!-- Generated from the comments of proto/openim/policy/v1/*.proto by \
         tests/src/reference.rs: do not edit. After changing the contract, run\n     \
         BLESS=1 cargo test -p openim-tests --test docs_reference -->\n\n",
    );
    out.push_str(
        "Every service, RPC, message, field and enum of the contract between `openim-shim` and a \
         policy service, with the comments of the `.proto` files. Start with the contract \
         overview in [common.proto](#openimpolicyv1commonproto); the guides are in \
         [write-a-policy.md](write-a-policy.md).\n\n",
    );
    out.push_str("Files:\n\n");
    for file in &files {
        let _ = writeln!(out, "- [{}](#{})", file.name(), anchor(file.name()));
    }
    for file in files {
        render_file(&mut out, file);
    }
    out
}

/// Comments by source-info path.
struct Comments<'a>(&'a [Location]);

impl Comments<'_> {
    /// The comment attached to `path` (leading, else trailing), without the `//` indentation.
    fn at(&self, path: &[i32]) -> String {
        let Some(loc) = self.0.iter().find(|l| l.path == path) else {
            return String::new();
        };
        let raw = loc
            .leading_comments
            .as_deref()
            .filter(|c| !c.trim().is_empty())
            .or(loc.trailing_comments.as_deref())
            .unwrap_or_default();
        raw.lines()
            .map(|l| l.strip_prefix(' ').unwrap_or(l).trim_end())
            .collect::<Vec<_>>()
            .join("\n")
            .trim()
            .to_owned()
    }
}

fn render_file(out: &mut String, file: &FileDescriptorProto) {
    let locations = file
        .source_code_info
        .as_ref()
        .map_or(&[][..], |s| &s.location[..]);
    let comments = Comments(locations);
    let _ = writeln!(out, "\n## {}\n", file.name());
    let header = comments.at(&[FILE_SYNTAX]);
    if header.contains('\n') {
        // Long file headers are laid out as plain text (indented lists, aligned columns).
        let _ = writeln!(out, "```text\n{header}\n```\n");
    } else if !header.is_empty() {
        let _ = writeln!(out, "{}\n", prose(&header));
    }
    for (i, service) in (0_i32..).zip(&file.service) {
        render_service(out, service, &comments, &[FILE_SERVICES, i]);
    }
    for (i, message) in (0_i32..).zip(&file.message_type) {
        render_message(out, message, &comments, &[FILE_MESSAGES, i], "");
    }
    for (i, e) in (0_i32..).zip(&file.enum_type) {
        render_enum(out, e, &comments, &[FILE_ENUMS, i], "");
    }
}

fn render_service(
    out: &mut String,
    service: &ServiceDescriptorProto,
    comments: &Comments<'_>,
    path: &[i32],
) {
    let _ = writeln!(out, "### {}\n", service.name());
    let _ = writeln!(out, "{}\n", prose(&comments.at(path)));
    let _ = writeln!(out, "| RPC | Request | Response |\n| --- | --- | --- |");
    for method in &service.method {
        let _ = writeln!(
            out,
            "| [{name}](#{anchor}) | {req} | {resp} |",
            name = method.name(),
            anchor = anchor(&format!("{}.{}", service.name(), method.name())),
            req = type_link(method.input_type()),
            resp = type_link(method.output_type()),
        );
    }
    out.push('\n');
    for (i, method) in (0_i32..).zip(&service.method) {
        let mut method_path = path.to_vec();
        method_path.extend([SERVICE_METHODS, i]);
        let _ = writeln!(out, "#### {}.{}\n", service.name(), method.name());
        let _ = writeln!(
            out,
            "`rpc {}({}) returns ({})`\n",
            method.name(),
            short(method.input_type()),
            short(method.output_type())
        );
        let _ = writeln!(out, "{}\n", prose(&comments.at(&method_path)));
    }
}

fn render_message(
    out: &mut String,
    message: &DescriptorProto,
    comments: &Comments<'_>,
    path: &[i32],
    prefix: &str,
) {
    if message.options.as_ref().is_some_and(|o| o.map_entry()) {
        return; // shown as the `map<K, V>` type of its field
    }
    let name = format!("{prefix}{}", message.name());
    let _ = writeln!(out, "### {name}\n");
    let _ = writeln!(out, "{}\n", prose(&comments.at(path)));
    if message.field.is_empty() {
        out.push_str("No fields.\n\n");
    } else {
        out.push_str("| Field | Type | Description |\n| --- | --- | --- |\n");
        for (i, field) in (0_i32..).zip(&message.field) {
            let mut field_path = path.to_vec();
            field_path.extend([MESSAGE_FIELDS, i]);
            let _ = writeln!(
                out,
                "| `{}` = {} | {} | {} |",
                field.name(),
                field.number(),
                field_type(field, message),
                cell(&comments.at(&field_path))
            );
        }
        out.push('\n');
    }
    for (i, nested) in (0_i32..).zip(&message.nested_type) {
        let mut nested_path = path.to_vec();
        nested_path.extend([MESSAGE_NESTED, i]);
        render_message(out, nested, comments, &nested_path, &format!("{name}."));
    }
    for (i, e) in (0_i32..).zip(&message.enum_type) {
        let mut enum_path = path.to_vec();
        enum_path.extend([MESSAGE_ENUMS, i]);
        render_enum(out, e, comments, &enum_path, &format!("{name}."));
    }
}

fn render_enum(
    out: &mut String,
    e: &EnumDescriptorProto,
    comments: &Comments<'_>,
    path: &[i32],
    prefix: &str,
) {
    let _ = writeln!(out, "### {prefix}{}\n", e.name());
    let _ = writeln!(out, "{}\n", prose(&comments.at(path)));
    out.push_str("| Value | Number | Description |\n| --- | --- | --- |\n");
    for (i, value) in (0_i32..).zip(&e.value) {
        let mut value_path = path.to_vec();
        value_path.extend([ENUM_VALUES, i]);
        let _ = writeln!(
            out,
            "| `{}` | {} | {} |",
            value.name(),
            value.number(),
            cell(&comments.at(&value_path))
        );
    }
    out.push('\n');
}

/// A field's type as written in the .proto file, with a link for messages and enums.
fn field_type(field: &FieldDescriptorProto, parent: &DescriptorProto) -> String {
    if field.label() == Label::Repeated
        && field.r#type() == Type::Message
        && let Some(entry) = parent.nested_type.iter().find(|n| {
            n.options.as_ref().is_some_and(|o| o.map_entry())
                && field.type_name().ends_with(&format!(".{}", n.name()))
        })
        && let [key, value] = &entry.field[..]
    {
        return format!(
            "map<{}, {}>",
            bare_type(key).replace('`', ""),
            bare_type(value).replace('`', "")
        );
    }
    let base = bare_type(field);
    if field.label() == Label::Repeated {
        format!("repeated {base}")
    } else if field.proto3_optional() {
        format!("optional {base}")
    } else {
        base
    }
}

fn bare_type(field: &FieldDescriptorProto) -> String {
    let scalar = match field.r#type() {
        Type::Message | Type::Enum | Type::Group => return type_link(field.type_name()),
        Type::Double => "double",
        Type::Float => "float",
        Type::Int64 => "int64",
        Type::Uint64 => "uint64",
        Type::Int32 => "int32",
        Type::Fixed64 => "fixed64",
        Type::Fixed32 => "fixed32",
        Type::Bool => "bool",
        Type::String => "string",
        Type::Bytes => "bytes",
        Type::Uint32 => "uint32",
        Type::Sfixed32 => "sfixed32",
        Type::Sfixed64 => "sfixed64",
        Type::Sint32 => "sint32",
        Type::Sint64 => "sint64",
    };
    format!("`{scalar}`")
}

/// `.openim.policy.v1.Foo` → `Foo`.
fn short(type_name: &str) -> &str {
    type_name
        .strip_prefix(&format!(".{PACKAGE}."))
        .unwrap_or(type_name)
}

/// A link to a type of the package, or the type's full name for others.
fn type_link(type_name: &str) -> String {
    let name = short(type_name);
    match name.strip_prefix('.') {
        Some(foreign) => format!("`{foreign}`"),
        None => format!("[{name}](#{})", anchor(name)),
    }
}

/// GitHub's heading anchor: lower case, punctuation dropped, spaces as dashes.
fn anchor(heading: &str) -> String {
    heading
        .chars()
        .filter_map(|c| match c {
            'A'..='Z' => Some(c.to_ascii_lowercase()),
            'a'..='z' | '0'..='9' | '-' | '_' => Some(c),
            ' ' => Some('-'),
            _ => None,
        })
        .collect()
}

/// A comment as Markdown prose: `<` outside code spans escaped, so that it is not read as HTML.
fn prose(comment: &str) -> String {
    let mut out = String::with_capacity(comment.len());
    let mut in_code = false;
    for c in comment.chars() {
        match c {
            '`' => {
                in_code = !in_code;
                out.push(c);
            }
            '<' if !in_code => out.push_str("&lt;"),
            _ => out.push(c),
        }
    }
    out
}

/// A comment as one table cell: one line, `|` escaped.
fn cell(comment: &str) -> String {
    prose(comment)
        .split('\n')
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
        .replace('|', "\\|")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anchors_follow_github() {
        assert_eq!(
            anchor("MessageService.BeforeSendSingleMsg"),
            "messageservicebeforesendsinglemsg"
        );
        assert_eq!(
            anchor("openim/policy/v1/common.proto"),
            "openimpolicyv1commonproto"
        );
        assert_eq!(anchor("Platform"), "platform");
    }

    #[test]
    fn cells_are_one_line_with_pipes_and_html_escaped() {
        assert_eq!(cell("a |b\n c <d> `<e>`"), r"a \|b c &lt;d> `<e>`");
    }

    #[test]
    fn every_message_field_and_rpc_of_the_contract_is_in_the_reference() {
        let doc = render(policy_proto::FILE_DESCRIPTOR_SET);
        for needle in [
            "#### MessageService.BeforeSendSingleMsg",
            "### BeforeMsgModifyResponse",
            "| `content` = 2 | optional `string` |",
            "| `values` = 1 | map<string, bool> |",
            "| `at_user_ids` = 16 | [StringList](#stringlist) |",
            "| `CONTENT_TYPE_TEXT` | 101 | Text: content {\"content\":\"...\"}. |",
            "### ConversationService",
            "| `session_type` = 9 | [SessionType](#sessiontype) |",
            "### SessionType",
        ] {
            assert!(doc.contains(needle), "missing {needle:?}");
        }
    }
}
