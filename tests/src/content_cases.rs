//! Message contents generated from a seed to tell apart readers of JSON: keys in other letter
//! cases and look-alike keys, duplicate keys, escapes, surrogates (paired, lone, reversed),
//! invalid UTF-8 bytes, `null` and other types where a string belongs, nested objects and arrays
//! (some at Go's depth limit), numbers, broken syntax, truncations and byte flips. Used by the
//! differential test against Go (`tests/tests/content_differential.rs`).
//!
//! The same seed and count always give the same cases.

use fastrand::Rng;

/// Kinds of content a case is read as: the content types whose text the policy checks, and
/// `probe`, a struct whose field names exercise the case folding of `k` and `s` (no SDK text
/// field has a `k`).
pub const KINDS: &[&str] = &[
    "101", "106", "110", "114", "117", "118", "119", "120", "probe",
];

/// Field names of the `probe` kind.
pub const PROBE_FIELDS: &[&str] = &["kind", "sks", "content"];

/// One generated content.
#[derive(Debug, Clone)]
pub struct Case {
    /// One of [`KINDS`].
    pub kind: &'static str,
    /// The content's bytes (not always UTF-8, not always JSON).
    pub content: Vec<u8>,
}

/// The text field names of `kind`.
pub fn fields_of(kind: &str) -> &'static [&'static str] {
    match kind {
        "probe" => PROBE_FIELDS,
        n => openim_policy::content::text_keys(n.parse().unwrap_or(0)),
    }
}

/// Keys of the SDK elements' other fields, and of nothing.
const OTHER_KEYS: &[&str] = &[
    "atUserList",
    "atUsersInfo",
    "quoteMessage",
    "isAtSelf",
    "messageEntityList",
    "textElem",
    "x",
    "",
    "contents",
    "tex",
];

/// Characters that look like, or fold like, a letter of a key.
fn look_alike(c: char, rng: &mut Rng) -> String {
    let options: &[&str] = match c.to_ascii_lowercase() {
        'k' => &["\u{212A}", "K", "k", "\u{138}"],
        's' => &["ſ", "S", "s", "\u{455}"],
        'i' => &["ı", "İ", "I", "\u{456}"],
        'o' => &["о", "ο", "O", "\u{FF4F}"],
        'e' => &["е", "E", "\u{FF45}"],
        'c' => &["с", "C", "\u{FF43}"],
        'a' => &["а", "A", "\u{FF41}"],
        't' => &["T", "\u{FF54}", "\u{442}"],
        'n' => &["N", "\u{FF4E}", "\u{578}"],
        _ => &[],
    };
    if options.is_empty() {
        return c.to_string();
    }
    options[rng.usize(..options.len())].to_owned()
}

/// A key spelt like `name` might be: exactly, another case, look-alikes, escapes, extra bytes.
fn key_variant(name: &str, rng: &mut Rng) -> Vec<u8> {
    let mut out = Vec::new();
    let style = rng.u8(..10);
    for c in name.chars() {
        let piece = match style {
            0..=2 => c.to_string(),
            3..=5 => {
                if rng.bool() {
                    c.to_ascii_uppercase().to_string()
                } else {
                    c.to_string()
                }
            }
            6 | 7 => {
                if rng.u8(..4) == 0 {
                    look_alike(c, rng)
                } else {
                    c.to_string()
                }
            }
            _ => {
                // Escaped letters.
                if rng.u8(..3) == 0 {
                    let code = if rng.bool() {
                        c as u32
                    } else {
                        c.to_ascii_uppercase() as u32
                    };
                    let esc = format!("\\u{code:04x}");
                    out.extend_from_slice(
                        if rng.bool() {
                            esc.to_uppercase().replace("\\U", "\\u")
                        } else {
                            esc
                        }
                        .as_bytes(),
                    );
                    continue;
                }
                c.to_string()
            }
        };
        out.extend_from_slice(piece.as_bytes());
    }
    match rng.u8(..40) {
        0 => out.push(b' '),
        1 => out.extend_from_slice("\u{200b}".as_bytes()),
        2 => out.push(0xFF),
        3 => out.extend_from_slice(b"\\u0000"),
        4 => out.insert(0, b'_'),
        _ => {}
    }
    out
}

const WORDS: &[&str] = &[
    "scam",
    "ok",
    "spam",
    "坏词",
    "hello",
    "idiot",
    " ",
    "Ｓｃａｍ",
    "s.c.a.m",
    "😀",
    "é",
];

/// The inside of a JSON string: text, escapes, surrogates, invalid bytes.
fn string_body(rng: &mut Rng, out: &mut Vec<u8>) {
    for _ in 0..rng.usize(0..6) {
        let piece: &[u8] = match rng.u8(..32) {
            0..=9 => WORDS[rng.usize(..WORDS.len())].as_bytes(),
            10 => br#"\""#,
            11 => br"\\",
            12 => br"\/",
            13 => br"\n\t\r\b\f",
            14 => br"\u00e9\u4E2D",
            15 => br"\ud83d\ude00",
            16 => br"\ud800",
            17 => br"\udc00",
            18 => br"\ud800\u0041",
            19 => br"\ud800\ud800\udc00",
            20 => br"\udc00\ud800",
            21 => b"\xFF",
            22 => b"\xC0\x80",
            23 => b"\xED\xA0\x80",
            24 => b"\xF0\x90\x80",
            25 => b"\xE2\x82",
            26 => b"\x7F",
            27 => "\u{2028}".as_bytes(),
            28 => br"\u0000",
            29 => br"\uDBFF\uDFFF",
            30 => {
                // Rare syntax errors inside strings.
                match rng.u8(..24) {
                    0 => b"\x01",
                    1 => br"\x",
                    2 => br"\u12",
                    3 => b"\n",
                    _ => b"ok",
                }
            }
            _ => br"\u0073cam",
        };
        out.extend_from_slice(piece);
    }
}

fn ws(rng: &mut Rng, out: &mut Vec<u8>) {
    if rng.u8(..4) == 0 {
        for _ in 0..rng.usize(1..3) {
            out.push(match rng.u8(..200) {
                0 => 0x0C, // form feed: not JSON whitespace
                1 => 0xA0, // nor is a lone NBSP byte
                n => [b' ', b'\t', b'\n', b'\r'][usize::from(n % 4)],
            });
        }
    }
}

fn number(rng: &mut Rng) -> &'static [u8] {
    const GOOD: &[&[u8]] = &[
        b"0",
        b"-0",
        b"5",
        b"-12",
        b"1.5",
        b"1e400",
        b"2E-3",
        b"1e+2",
        b"123456789012345678901",
    ];
    const BAD: &[&[u8]] = &[b"01", b"1.", b"-", b".5", b"1e", b"+1", b"NaN", b"0x10"];
    if rng.u8(..8) == 0 {
        BAD[rng.usize(..BAD.len())]
    } else {
        GOOD[rng.usize(..GOOD.len())]
    }
}

/// A value: mostly strings where a text field is, anything elsewhere.
fn value(rng: &mut Rng, depth: usize, out: &mut Vec<u8>) {
    ws(rng, out);
    match rng.u8(..100) {
        0..=54 => {
            out.push(b'"');
            string_body(rng, out);
            out.push(b'"');
        }
        55..=66 => out.extend_from_slice(b"null"),
        67..=74 => out.extend_from_slice(number(rng)),
        75..=78 => out.extend_from_slice(if rng.bool() { b"true" } else { b"false" }),
        79..=88 if depth < 4 => object(rng, depth + 1, out),
        89..=96 if depth < 4 => {
            out.push(b'[');
            for i in 0..rng.usize(0..4) {
                if i > 0 {
                    out.push(b',');
                }
                value(rng, depth + 1, out);
            }
            out.push(b']');
        }
        97 if depth == 1 => {
            // Around Go's nesting limit of 10,000.
            let n = [9_998, 9_999, 10_000, 10_001][rng.usize(..4)] - depth;
            out.extend(std::iter::repeat_n(b'[', n));
            out.extend(std::iter::repeat_n(b']', n));
        }
        98 if rng.u8(..4) == 0 => {
            out.extend_from_slice(if rng.bool() { b"tru" } else { b"nulll" });
        }
        _ => out.extend_from_slice(b"\"x\""),
    }
    ws(rng, out);
}

/// An object whose keys are often spellings of `fields` (at the top level).
fn object_with(rng: &mut Rng, fields: &[&str], depth: usize, out: &mut Vec<u8>) {
    out.push(b'{');
    for i in 0..rng.usize(0..6) {
        if i > 0 {
            out.push(b',');
            if rng.u8(..60) == 0 {
                out.push(b',');
            }
        }
        ws(rng, out);
        let name = if !fields.is_empty() && rng.u8(..10) < 7 {
            fields[rng.usize(..fields.len())]
        } else {
            OTHER_KEYS[rng.usize(..OTHER_KEYS.len())]
        };
        out.push(b'"');
        out.extend_from_slice(&key_variant(name, rng));
        out.push(b'"');
        ws(rng, out);
        out.push(b':');
        value(rng, depth, out);
    }
    out.push(b'}');
}

fn object(rng: &mut Rng, depth: usize, out: &mut Vec<u8>) {
    // Nested objects look like the elements too: their keys must not count.
    object_with(rng, &["content", "text", "data"], depth, out);
}

/// One content read as `kind`.
fn content(rng: &mut Rng, kind: &str) -> Vec<u8> {
    let mut out = Vec::new();
    ws(rng, &mut out);
    if rng.u8(..100) < 88 {
        object_with(rng, fields_of(kind), 1, &mut out);
    } else {
        value(rng, 1, &mut out);
    }
    ws(rng, &mut out);
    // Damage some.
    match rng.u8(..100) {
        0 | 1 if !out.is_empty() => out.truncate(rng.usize(..out.len())),
        2 | 3 if !out.is_empty() => {
            let at = rng.usize(..out.len());
            out[at] = rng.u8(..);
        }
        6 => out.extend_from_slice(b" x"),
        7 => out.splice(0..0, "\u{FEFF}".bytes()).for_each(drop),
        8 => out.extend_from_slice(b"{}"),
        _ => {}
    }
    out
}

/// `n` cases from `seed`.
pub fn generate(seed: u64, n: usize) -> Vec<Case> {
    let mut rng = Rng::with_seed(seed);
    (0..n)
        .map(|_| {
            let kind = KINDS[rng.usize(..KINDS.len())];
            Case {
                kind,
                content: content(&mut rng, kind),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_gives_the_same_cases() {
        let a = generate(7, 50);
        let b = generate(7, 50);
        assert!(
            a.iter()
                .zip(&b)
                .all(|(x, y)| x.kind == y.kind && x.content == y.content)
        );
    }
}
