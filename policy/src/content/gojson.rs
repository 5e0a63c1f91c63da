//! JSON read the way Go's `encoding/json` (v1, the `json.Unmarshal` OpenIM's SDK calls) reads it,
//! for the few things the policy needs: the syntax Go accepts, Go's string decoding, and which
//! struct field a key lands in.
//!
//! Go's rules, from `encoding/json` (`scanner.go`, `decode.go`, `fold.go`, Go 1.21 to 1.26):
//! - **Syntax** is checked over the whole input before anything is stored: RFC 8259 JSON, at most
//!   10,000 nested arrays and objects, only whitespace after the value. Inside strings any byte
//!   from 0x20 up is accepted, invalid UTF-8 included.
//! - **Strings** decode with each byte of invalid UTF-8 replaced by U+FFFD, and each escaped
//!   surrogate (`\u` and four hex digits, D800-DFFF) that is not a high surrogate followed by an
//!   escaped low one replaced by U+FFFD.
//! - **Keys** are decoded like strings, then matched to a struct field: a field whose name is the
//!   key exactly, else the first field whose name is equal to it under Unicode simple case
//!   folding (`bytes.EqualFold`: `Content`, `CONTENT`, and `K` with the Kelvin sign `K`, `S`
//!   with the long `ſ`). Every matching key is stored in turn, so the last one wins.
//! - **Values** of a string field: a string is stored; `null` stores nothing (the field keeps
//!   what an earlier key gave it); any other value is a type error, which stores nothing either
//!   but makes `Unmarshal` return an error once it has stored everything else.
//!
//! Everything here is iterative (no recursion), so deep nesting cannot overflow the stack.

use std::borrow::Cow;

/// Go's `maxNestingDepth`: more nested arrays and objects than this is a syntax error.
pub(crate) const MAX_DEPTH: usize = 10_000;

/// One token of a JSON text, with its raw bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Event<'a> {
    /// `{`.
    ObjectStart,
    /// `}`.
    ObjectEnd,
    /// `[`.
    ArrayStart,
    /// `]`.
    ArrayEnd,
    /// An object key: the bytes between its quotes, escapes not decoded.
    Key(&'a [u8]),
    /// A string value: the bytes between its quotes, escapes not decoded.
    Str(&'a [u8]),
    /// A number, `true`, `false` or `null`, as written.
    Scalar(&'a [u8]),
}

/// Where the JSON text stops being one Go accepts (a byte offset).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SyntaxError(pub(crate) usize);

fn skip_ws(b: &[u8], mut p: usize) -> usize {
    while let Some(b' ' | b'\t' | b'\n' | b'\r') = b.get(p) {
        p += 1;
    }
    p
}

/// The string starting at `b[p] == '"'`: its raw contents and the offset after it.
fn string(b: &[u8], p: usize) -> Result<(&[u8], usize), SyntaxError> {
    let start = p + 1;
    let mut q = start;
    loop {
        match b.get(q) {
            None => return Err(SyntaxError(q)),
            Some(b'"') => return Ok((&b[start..q], q + 1)),
            Some(b'\\') => match b.get(q + 1) {
                Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => q += 2,
                Some(b'u') => {
                    if b.len() < q + 6 || !b[q + 2..q + 6].iter().all(u8::is_ascii_hexdigit) {
                        return Err(SyntaxError(q));
                    }
                    q += 6;
                }
                _ => return Err(SyntaxError(q)),
            },
            Some(c) if *c < 0x20 => return Err(SyntaxError(q)),
            Some(_) => q += 1,
        }
    }
}

fn digits(b: &[u8], mut p: usize) -> usize {
    while b.get(p).is_some_and(u8::is_ascii_digit) {
        p += 1;
    }
    p
}

/// The number starting at `p`: the offset after it.
fn number(b: &[u8], mut p: usize) -> Result<usize, SyntaxError> {
    if b.get(p) == Some(&b'-') {
        p += 1;
    }
    match b.get(p) {
        Some(b'0') => p += 1,
        Some(b'1'..=b'9') => p = digits(b, p + 1),
        _ => return Err(SyntaxError(p)),
    }
    if b.get(p) == Some(&b'.') {
        if !b.get(p + 1).is_some_and(u8::is_ascii_digit) {
            return Err(SyntaxError(p + 1));
        }
        p = digits(b, p + 1);
    }
    if let Some(b'e' | b'E') = b.get(p) {
        p += 1;
        if let Some(b'+' | b'-') = b.get(p) {
            p += 1;
        }
        if !b.get(p).is_some_and(u8::is_ascii_digit) {
            return Err(SyntaxError(p));
        }
        p = digits(b, p);
    }
    Ok(p)
}

/// The key at `p` (after optional whitespace), its colon, and the offset after the colon.
fn key<'a>(b: &'a [u8], p: usize, visit: &mut impl FnMut(Event<'a>)) -> Result<usize, SyntaxError> {
    let p = skip_ws(b, p);
    if b.get(p) != Some(&b'"') {
        return Err(SyntaxError(p));
    }
    let (raw, p) = string(b, p)?;
    visit(Event::Key(raw));
    let p = skip_ws(b, p);
    if b.get(p) != Some(&b':') {
        return Err(SyntaxError(p));
    }
    Ok(p + 1)
}

/// Walks the JSON text `b`, calling `visit` with each token in order, and fails where Go's
/// scanner would. Tokens before a syntax error have been visited: callers that store anything
/// must drop it on error, as Go does.
pub(crate) fn walk<'a>(b: &'a [u8], mut visit: impl FnMut(Event<'a>)) -> Result<(), SyntaxError> {
    // Open containers: true for an object.
    let mut stack: Vec<bool> = Vec::new();
    let mut p = 0;
    'value: loop {
        p = skip_ws(b, p);
        match b.get(p) {
            Some(b'{') => {
                if stack.len() >= MAX_DEPTH {
                    return Err(SyntaxError(p));
                }
                stack.push(true);
                visit(Event::ObjectStart);
                p = skip_ws(b, p + 1);
                if b.get(p) == Some(&b'}') {
                    p += 1;
                    stack.pop();
                    visit(Event::ObjectEnd);
                } else {
                    p = key(b, p, &mut visit)?;
                    continue 'value;
                }
            }
            Some(b'[') => {
                if stack.len() >= MAX_DEPTH {
                    return Err(SyntaxError(p));
                }
                stack.push(false);
                visit(Event::ArrayStart);
                p = skip_ws(b, p + 1);
                if b.get(p) == Some(&b']') {
                    p += 1;
                    stack.pop();
                    visit(Event::ArrayEnd);
                } else {
                    continue 'value;
                }
            }
            Some(b'"') => {
                let (raw, next) = string(b, p)?;
                visit(Event::Str(raw));
                p = next;
            }
            Some(b't' | b'f' | b'n') => {
                let word: &[u8] = match b[p] {
                    b't' => b"true",
                    b'f' => b"false",
                    _ => b"null",
                };
                if !b[p..].starts_with(word) {
                    return Err(SyntaxError(p));
                }
                visit(Event::Scalar(&b[p..p + word.len()]));
                p += word.len();
            }
            Some(b'-' | b'0'..=b'9') => {
                let end = number(b, p)?;
                visit(Event::Scalar(&b[p..end]));
                p = end;
            }
            _ => return Err(SyntaxError(p)),
        }
        // After a value: close containers, or go on to the next element.
        loop {
            p = skip_ws(b, p);
            let Some(&in_object) = stack.last() else {
                return if p == b.len() {
                    Ok(())
                } else {
                    Err(SyntaxError(p))
                };
            };
            match b.get(p) {
                Some(b',') => {
                    p += 1;
                    if in_object {
                        p = key(b, p, &mut visit)?;
                    }
                    continue 'value;
                }
                Some(b'}') if in_object => {
                    p += 1;
                    stack.pop();
                    visit(Event::ObjectEnd);
                }
                Some(b']') if !in_object => {
                    p += 1;
                    stack.pop();
                    visit(Event::ArrayEnd);
                }
                _ => return Err(SyntaxError(p)),
            }
        }
    }
}

/// Go's `utf8.DecodeRune` on valid input: the character at the start of `b` and its length, or
/// `None` when `b` does not start with a valid UTF-8 sequence (Go then takes one byte as U+FFFD).
/// Rust's and Go's notions of valid UTF-8 are the same (no surrogates, no overlong forms, nothing
/// above U+10FFFF).
fn decode_rune(b: &[u8]) -> Option<(char, usize)> {
    let width = match b.first()? {
        0x00..=0x7F => 1,
        0xC2..=0xDF => 2,
        0xE0..=0xEF => 3,
        0xF0..=0xF4 => 4,
        _ => return None,
    };
    let s = std::str::from_utf8(b.get(..width)?).ok()?;
    s.chars().next().map(|c| (c, width))
}

/// The four hex digits at the start of `b` (after a `\u`), or `None`.
fn hex4(b: &[u8]) -> Option<u32> {
    let digits = std::str::from_utf8(b.get(..4)?).ok()?;
    u32::from_str_radix(digits, 16).ok()
}

/// The string a JSON string's raw contents decode to in Go (`unquote`): escapes decoded, each
/// byte of invalid UTF-8 and each unpaired surrogate escape replaced by U+FFFD. Borrowed when
/// there is nothing to decode. `raw` must have passed [`walk`].
pub(crate) fn unquote(raw: &[u8]) -> Cow<'_, str> {
    if !raw.contains(&b'\\')
        && let Ok(s) = std::str::from_utf8(raw)
    {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(raw.len());
    let mut p = 0;
    while p < raw.len() {
        match raw[p] {
            b'\\' => {
                let esc = raw.get(p + 1).copied().unwrap_or(b'\\');
                p += 2;
                out.push(match esc {
                    b'b' => '\u{8}',
                    b'f' => '\u{c}',
                    b'n' => '\n',
                    b'r' => '\r',
                    b't' => '\t',
                    b'u' => {
                        let Some(first) = hex4(&raw[p..]) else {
                            // Not reachable after `walk`; keep going like Go would not.
                            out.push(char::REPLACEMENT_CHARACTER);
                            continue;
                        };
                        p += 4;
                        if (0xD800..0xE000).contains(&first) {
                            // Go: a surrogate pairs with a following `\u` escape, or is U+FFFD.
                            let second = (raw[p..].starts_with(b"\\u"))
                                .then(|| hex4(&raw[p + 2..]))
                                .flatten();
                            match second {
                                Some(low)
                                    if (0xD800..0xDC00).contains(&first)
                                        && (0xDC00..0xE000).contains(&low) =>
                                {
                                    p += 6;
                                    let c = 0x10000 + ((first - 0xD800) << 10) + (low - 0xDC00);
                                    char::from_u32(c).unwrap_or(char::REPLACEMENT_CHARACTER)
                                }
                                _ => char::REPLACEMENT_CHARACTER,
                            }
                        } else {
                            char::from_u32(first).unwrap_or(char::REPLACEMENT_CHARACTER)
                        }
                    }
                    // `"`, `\`, `/`.
                    other => char::from(other),
                });
            }
            _ => match decode_rune(&raw[p..]) {
                Some((c, n)) => {
                    out.push(c);
                    p += n;
                }
                None => {
                    out.push(char::REPLACEMENT_CHARACTER);
                    p += 1;
                }
            },
        }
    }
    Cow::Owned(out)
}

/// Whether Go stores a decoded `key` into a field named `name` (ASCII): equal under Unicode
/// simple case folding. The only non-ASCII characters that fold to an ASCII letter are the
/// Kelvin sign (to `K`) and the long s `ſ` (to `S`).
pub(crate) fn key_folds_to(key: &str, name: &str) -> bool {
    debug_assert!(name.is_ascii());
    let mut key = key.chars();
    for n in name.bytes() {
        let Some(k) = key.next() else { return false };
        let same = match k {
            '\u{212A}' => n.eq_ignore_ascii_case(&b'k'),
            'ſ' => n.eq_ignore_ascii_case(&b's'),
            k if k.is_ascii() => (k as u8).eq_ignore_ascii_case(&n),
            _ => false,
        };
        if !same {
            return false;
        }
    }
    key.next().is_none()
}

/// The field of a struct with string fields `names` (ASCII, distinct under folding) that Go
/// stores `key` into: an exact match, else a match under case folding.
pub(crate) fn field_of(key: &str, names: &[&str]) -> Option<usize> {
    names
        .iter()
        .position(|n| *n == key)
        .or_else(|| names.iter().position(|n| key_folds_to(key, n)))
}

/// Why Go's `json.Unmarshal` of a JSON text into a struct of string fields returns an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GoError {
    /// Not JSON as Go reads it (`*json.SyntaxError`): nothing is stored.
    Syntax {
        /// Byte offset where the text stops being JSON.
        offset: usize,
    },
    /// JSON, but a string, number, boolean or array rather than an object (or `null`):
    /// `*json.UnmarshalTypeError`, nothing is stored.
    NotAnObject,
    /// The first key of a field whose value is not a string (nor `null`):
    /// `*json.UnmarshalTypeError`. Go still stores every string value, this field's included
    /// (from its other keys).
    FieldType {
        /// The field, by its index in the names read.
        field: usize,
    },
}

/// What Go's `json.Unmarshal` leaves in a struct of string fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GoFields<'a> {
    /// Each field's value, by the index of its name; `None` where no string was stored (Go
    /// leaves `""`).
    pub values: Vec<Option<Cow<'a, str>>>,
    /// The error `Unmarshal` returns, if any (the first, as Go reports it).
    pub error: Option<GoError>,
}

/// What Go's `json.Unmarshal(content, &s)` leaves in `s`, a struct whose string fields have the
/// JSON names `names` (ASCII, distinct under case folding; the struct's other fields do not
/// change which value a text field gets), and the error it returns.
pub fn read_fields<'a>(content: &'a [u8], names: &[&str]) -> GoFields<'a> {
    let mut values: Vec<Option<Cow<'a, str>>> = vec![None; names.len()];
    let mut error = None;
    let mut depth = 0usize;
    // The field the last key at depth 1 lands in (`Some(None)`: a key of no field).
    let mut field: Option<usize> = None;
    let mut top = true;
    let walked = walk(content, |event| {
        if top {
            top = false;
            match event {
                Event::ObjectStart => {}
                Event::Scalar(b"null") => {}
                _ => error = Some(GoError::NotAnObject),
            }
        } else if depth == 1 {
            match event {
                Event::Key(raw) => field = field_of(&unquote(raw), names),
                Event::Str(raw) => {
                    if let Some(f) = field {
                        values[f] = Some(unquote(raw));
                    }
                }
                Event::Scalar(b"null") | Event::ObjectEnd => {}
                Event::Scalar(_) | Event::ObjectStart | Event::ArrayStart | Event::ArrayEnd => {
                    if let (Some(f), None) = (field, error) {
                        error = Some(GoError::FieldType { field: f });
                    }
                }
            }
        }
        match event {
            Event::ObjectStart | Event::ArrayStart => depth += 1,
            Event::ObjectEnd | Event::ArrayEnd => depth -= 1,
            _ => {}
        }
    });
    match walked {
        Err(SyntaxError(offset)) => GoFields {
            values: vec![None; names.len()],
            error: Some(GoError::Syntax { offset }),
        },
        Ok(()) if error == Some(GoError::NotAnObject) => GoFields {
            values: vec![None; names.len()],
            error,
        },
        Ok(()) => GoFields { values, error },
    }
}

/// `s` as a JSON string, escaped the way `serde_json` (and Go, but for `<`, `>`, `&`, U+2028 and
/// U+2029, which Go escapes and both read back the same) writes it.
fn push_json_string(out: &mut String, s: &str) {
    // Serialising a `str` cannot fail.
    if let Ok(quoted) = serde_json::to_string(s) {
        out.push_str(&quoted);
    }
}

/// A canonical form of the JSON object `content`, read the same by Go and by strict readers:
/// whitespace dropped, every string and key decoded as Go decodes it and written again as valid
/// UTF-8 (so invalid bytes and lone surrogates become the U+FFFD Go reads), numbers as written.
/// At the top level, every key Go would store into one of the string fields `names` is dropped,
/// and field `i` is written once, under its exact name, with `values[i]` (where the first of
/// its keys was; at the end if it had none), or left out when `values[i]` is `None`.
///
/// `None` when `content` is not a JSON object as Go reads it.
pub fn canonical_object(content: &[u8], names: &[&str], values: &[Option<&str>]) -> Option<String> {
    debug_assert_eq!(names.len(), values.len());
    let mut out = String::with_capacity(content.len() + 16);
    let mut written = vec![false; names.len()];
    let mut depth = 0usize;
    // Whether a comma is due before the next member or element.
    let mut comma = false;
    // Skipping the value of a dropped top-level key: the depth to get back to.
    let mut skipping: Option<usize> = None;
    let mut first = true;
    let mut is_object = false;
    let field_member = |out: &mut String, i: usize, comma: &mut bool| {
        if let Some(v) = values[i] {
            if *comma {
                out.push(',');
            }
            push_json_string(out, names[i]);
            out.push(':');
            push_json_string(out, v);
            *comma = true;
        }
    };
    let walked = walk(content, |event| {
        if first {
            first = false;
            is_object = event == Event::ObjectStart;
        }
        if let Some(back_to) = skipping {
            match event {
                Event::ObjectStart | Event::ArrayStart => depth += 1,
                Event::ObjectEnd | Event::ArrayEnd => depth -= 1,
                Event::Key(_) | Event::Str(_) | Event::Scalar(_) => {}
            }
            if depth == back_to && !matches!(event, Event::Key(_)) {
                skipping = None;
            }
            return;
        }
        match event {
            Event::Key(raw) => {
                let key = unquote(raw);
                if depth == 1
                    && let Some(i) = field_of(&key, names)
                {
                    if !written[i] {
                        written[i] = true;
                        field_member(&mut out, i, &mut comma);
                    }
                    skipping = Some(depth);
                    return;
                }
                if comma {
                    out.push(',');
                }
                push_json_string(&mut out, &key);
                out.push(':');
                comma = false;
            }
            Event::ObjectStart | Event::ArrayStart => {
                if comma {
                    out.push(',');
                }
                out.push(if event == Event::ObjectStart {
                    '{'
                } else {
                    '['
                });
                depth += 1;
                comma = false;
            }
            Event::ObjectEnd | Event::ArrayEnd => {
                if depth == 1 && event == Event::ObjectEnd {
                    for (i, done) in written.iter_mut().enumerate() {
                        if !*done {
                            *done = true;
                            field_member(&mut out, i, &mut comma);
                        }
                    }
                }
                out.push(if event == Event::ObjectEnd { '}' } else { ']' });
                depth -= 1;
                comma = true;
            }
            Event::Str(raw) => {
                if comma {
                    out.push(',');
                }
                push_json_string(&mut out, &unquote(raw));
                comma = true;
            }
            Event::Scalar(raw) => {
                if comma {
                    out.push(',');
                }
                // Numbers and literals are ASCII.
                out.push_str(std::str::from_utf8(raw).unwrap_or("null"));
                comma = true;
            }
        }
    });
    (walked.is_ok() && is_object).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(content: &str, names: &[&str]) -> (Vec<Option<String>>, Option<GoError>) {
        read_bytes(content.as_bytes(), names)
    }

    fn read_bytes(content: &[u8], names: &[&str]) -> (Vec<Option<String>>, Option<GoError>) {
        let f = read_fields(content, names);
        (
            f.values
                .into_iter()
                .map(|v| v.map(Cow::into_owned))
                .collect(),
            f.error,
        )
    }

    fn text(content: &str) -> Option<String> {
        let (v, e) = read(content, &["content"]);
        assert_eq!(e, None, "{content}");
        v[0].clone()
    }

    #[test]
    fn keys_match_in_any_case_and_the_last_one_wins() {
        assert_eq!(text(r#"{"Content":"scam"}"#).as_deref(), Some("scam"));
        assert_eq!(text(r#"{"CONTENT":"scam"}"#).as_deref(), Some("scam"));
        assert_eq!(
            text(r#"{"content":"ok","content":"scam"}"#).as_deref(),
            Some("scam")
        );
        assert_eq!(
            text(r#"{"content":"scam","cOntent":"ok"}"#).as_deref(),
            Some("ok")
        );
        // Escaped keys are decoded before matching.
        assert_eq!(text(r#"{"\u0063ontent":"scam"}"#).as_deref(), Some("scam"));
        // Not the same name: other letters, extra characters, other scripts.
        assert_eq!(text(r#"{"contents":"scam"}"#), None);
        assert_eq!(text(r#"{"cοntent":"scam"}"#), None, "Greek omicron");
        assert_eq!(text(r#"{"ｃontent":"scam"}"#), None, "full-width c");
        assert_eq!(text(r#"{"content ":"scam"}"#), None);
    }

    #[test]
    fn the_kelvin_sign_and_the_long_s_fold_to_ascii_letters() {
        let names = ["description", "kind"];
        let (v, _) = read(r#"{"deſcription":"a","\u212Aind":"b"}"#, &names);
        assert_eq!(v, [Some("a".to_owned()), Some("b".to_owned())]);
        // Dotted and dotless i do not fold to i in simple folding.
        let (v, _) = read(r#"{"descrİption":"a","descrıption":"b"}"#, &names);
        assert_eq!(v, [None, None]);
    }

    #[test]
    fn null_keeps_the_value_and_other_types_are_errors_that_keep_it_too() {
        assert_eq!(
            text(r#"{"content":"scam","content":null}"#).as_deref(),
            Some("scam")
        );
        for other in ["5", "true", "[]", r#"{"a":"b"}"#, "-1.5e3"] {
            let content = format!(r#"{{"content":"scam","Content":{other},"x":1}}"#);
            let (v, e) = read(&content, &["content"]);
            assert_eq!(v[0].as_deref(), Some("scam"), "{content}");
            assert_eq!(e, Some(GoError::FieldType { field: 0 }), "{content}");
        }
        // A non-string value of a key of no field is nobody's business.
        assert_eq!(
            text(r#"{"x":[1,{"y":2}],"content":"hi"}"#).as_deref(),
            Some("hi")
        );
    }

    #[test]
    fn invalid_utf8_and_lone_surrogates_become_replacement_characters() {
        assert_eq!(
            text(r#"{"content":"scam \ud800"}"#).as_deref(),
            Some("scam \u{FFFD}")
        );
        assert_eq!(
            text(r#"{"content":"\udc00\ud800x\ud83d\ude00"}"#).as_deref(),
            Some("\u{FFFD}\u{FFFD}x😀")
        );
        // A high surrogate followed by a non-low escape: both decoded on their own.
        assert_eq!(
            text(r#"{"content":"\ud800\u0041"}"#).as_deref(),
            Some("\u{FFFD}A")
        );
        assert_eq!(
            text(r#"{"content":"\ud800\ud800\udc00"}"#).as_deref(),
            Some("\u{FFFD}𐀀")
        );
        // Each byte of an invalid sequence is one U+FFFD (Go's DecodeRune), where Rust's lossy
        // decoding would make one of a truncated sequence.
        let (v, e) = read_bytes(
            b"{\"content\":\"a\xF0\x90\x80b\xED\xA0\x80\"}",
            &["content"],
        );
        assert_eq!(e, None);
        assert_eq!(
            v[0].as_deref(),
            Some("a\u{FFFD}\u{FFFD}\u{FFFD}b\u{FFFD}\u{FFFD}\u{FFFD}")
        );
        // In keys too: a key with a replaced byte is another name.
        let (v, e) = read_bytes(b"{\"con\xFFtent\":\"x\"}", &["content"]);
        assert_eq!((v, e), (vec![None], None));
    }

    #[test]
    fn escapes_decode_like_go() {
        assert_eq!(
            text(r#"{"content":"a\"b\\c\/d\b\f\n\r\t\u00e9\u4E2D"}"#).as_deref(),
            Some("a\"b\\c/d\u{8}\u{c}\n\r\té中")
        );
    }

    #[test]
    fn syntax_errors_store_nothing() {
        for bad in [
            "",
            " ",
            "{",
            r#"{"content":"scam"} x"#,
            r#"{"content":"scam",}"#,
            r#"{"content":"scam" "x":1}"#,
            r#"{"content":'scam'}"#,
            "{\"content\":\"a\u{1}b\"}",
            r#"{"content":"\x41"}"#,
            r#"{"content":"\u12"}"#,
            r#"{"content":"scam","n":01}"#,
            r#"{"content":"scam","n":1.}"#,
            r#"{"content":"scam","n":-}"#,
            r#"{"content":"scam","n":.5}"#,
            r#"{"content":"scam","n":1e}"#,
            r#"{"content":"scam","n":tru}"#,
            r#"{"content":"scam","n":nulll}"#,
            r#"{"content":"scam","n":NaN}"#,
            "\u{feff}{\"content\":\"scam\"}",
            r#"{"content":"scam"}}"#,
            r#"[1,]"#,
            r#"{"a" : [1 2]}"#,
        ] {
            let (v, e) = read(bad, &["content"]);
            assert!(matches!(e, Some(GoError::Syntax { .. })), "{bad:?}: {e:?}");
            assert_eq!(v, [None], "{bad:?}");
        }
        // Whitespace Go accepts.
        assert_eq!(
            text(" \t\r\n{ \"content\" :\n\"x\" } \n").as_deref(),
            Some("x")
        );
        // 0x7F and bytes from 0x80 up are fine inside strings.
        assert_eq!(text("{\"content\":\"\u{7f}\"}").as_deref(), Some("\u{7f}"));
    }

    #[test]
    fn nesting_is_limited_to_ten_thousand_levels_without_recursion() {
        let nested = |n: usize| {
            format!(
                r#"{{"content":"scam","x":{}{}}}"#,
                "[".repeat(n - 1),
                "]".repeat(n - 1)
            )
        };
        assert_eq!(text(&nested(MAX_DEPTH)).as_deref(), Some("scam"));
        let (_, e) = read(&nested(MAX_DEPTH + 1), &["content"]);
        assert!(matches!(e, Some(GoError::Syntax { .. })), "{e:?}");
        // Far deeper input fails cleanly.
        let (_, e) = read(&"[".repeat(1_000_000), &["content"]);
        assert!(matches!(e, Some(GoError::Syntax { .. })));
    }

    #[test]
    fn anything_but_an_object_is_a_type_error_and_null_is_nothing() {
        for other in [r#""scam""#, "5", "true", r#"["scam"]"#] {
            let (v, e) = read(other, &["content"]);
            assert_eq!((v, e), (vec![None], Some(GoError::NotAnObject)), "{other}");
        }
        assert_eq!(read("null", &["content"]), (vec![None], None));
    }

    #[test]
    fn numbers_go_accepts() {
        for n in [
            "0",
            "-0",
            "12",
            "-1.25",
            "1e400",
            "1E+2",
            "2e-3",
            "123456789012345678901234567890",
        ] {
            let (v, e) = read(&format!(r#"{{"n":{n},"content":"x"}}"#), &["content"]);
            assert_eq!((v[0].as_deref(), e), (Some("x"), None), "{n}");
        }
    }

    #[test]
    fn the_canonical_form_keeps_one_key_per_field_and_go_s_reading_of_the_rest() {
        let names = ["text"];
        let canon = |c: &[u8], v: Option<&str>| canonical_object(c, &names, &[v]);
        assert_eq!(
            canon(
                br#"{"a":1, "Text":"x", "b":[1,{"c":null}], "TEXT":"y", "text":null}"#,
                Some("***")
            )
            .as_deref(),
            Some(r#"{"a":1,"text":"***","b":[1,{"c":null}]}"#)
        );
        // A field without a key is added at the end; `None` writes no key.
        assert_eq!(
            canon(br#"{"a":{}}"#, Some("m")).as_deref(),
            Some(r#"{"a":{},"text":"m"}"#)
        );
        assert_eq!(canon(br#"{"text":"x"}"#, None).as_deref(), Some("{}"));
        assert_eq!(canon(b"{}", Some("m")).as_deref(), Some(r#"{"text":"m"}"#));
        // Strings anywhere are written back as Go reads them.
        assert_eq!(
            canon(
                b"{\"q\":{\"k\\ud800\":\"\xFF\\u00e9\"},\"text\":\"x\"}",
                Some("x")
            )
            .as_deref(),
            Some("{\"q\":{\"k\u{FFFD}\":\"\u{FFFD}é\"},\"text\":\"x\"}")
        );
        // Nested keys that look like a field stay.
        assert_eq!(
            canon(br#"{"q":{"text":"scam"}}"#, None).as_deref(),
            Some(r#"{"q":{"text":"scam"}}"#)
        );
        assert_eq!(canon(b"[]", Some("x")), None);
        assert_eq!(canon(b"null", Some("x")), None);
        assert_eq!(canon(b"{", Some("x")), None);
    }

    #[test]
    fn the_canonical_form_reads_the_same_and_is_stable() {
        let names = ["data", "description", "extension"];
        let content =
            r#" {"DATA":"a","x":"\ud800","description":"b","deſcription":"c","data":null} "#
                .as_bytes();
        let before = read_fields(content, &names);
        let values: Vec<Option<&str>> = before.values.iter().map(|v| v.as_deref()).collect();
        let canon = canonical_object(content, &names, &values).unwrap();
        let after = read_fields(canon.as_bytes(), &names);
        assert_eq!(
            after,
            GoFields {
                values: before.values.clone(),
                error: None
            }
        );
        assert_eq!(
            canonical_object(canon.as_bytes(), &names, &values).as_deref(),
            Some(&*canon)
        );
        serde_json::from_str::<serde_json::Value>(&canon).unwrap();
    }
}
