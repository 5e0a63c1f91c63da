//! Masking: replacing ranges of a text (word matches, links), per character or as a whole.
//! Ranges may overlap (several lists can match the same characters); overlapping ranges are
//! masked once, the way of the one that starts first.

use std::ops::Range;

/// How a match is masked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Masker {
    /// Each character becomes this one (keeps the text's length in characters).
    PerChar(char),
    /// The whole match becomes this text.
    Whole(String),
}

/// Which rule's masker masks a span: an index, so spans can live in a per-thread buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MaskRef {
    /// Word list number `n`.
    Word(u32),
    /// The link rule.
    Link,
}

/// A range of the original text to mask.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct MaskSpan {
    /// Byte range, on character boundaries.
    pub(crate) range: Range<usize>,
    /// Whose masker.
    pub(crate) by: MaskRef,
}

/// `text` with `spans` masked. Sorts `spans`.
pub(crate) fn apply<'m>(
    text: &str,
    spans: &mut [MaskSpan],
    masker: impl Fn(MaskRef) -> &'m Masker,
) -> String {
    spans.sort_unstable_by_key(|s| (s.range.start, std::cmp::Reverse(s.range.end)));
    let mut out = String::with_capacity(text.len());
    let mut done = 0;
    let mut i = 0;
    while i < spans.len() {
        let start = spans[i].range.start.max(done);
        let mut end = spans[i].range.end;
        let by = spans[i].by;
        i += 1;
        while i < spans.len() && spans[i].range.start < end {
            end = end.max(spans[i].range.end);
            i += 1;
        }
        if start >= end {
            continue;
        }
        out.push_str(&text[done..start]);
        match masker(by) {
            Masker::PerChar(c) => {
                out.extend(std::iter::repeat_n(*c, text[start..end].chars().count()));
            }
            Masker::Whole(s) => out.push_str(s),
        }
        done = end;
    }
    out.push_str(&text[done..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn span(range: Range<usize>, by: MaskRef) -> MaskSpan {
        MaskSpan { range, by }
    }

    #[test]
    fn spans_are_masked_per_character_or_whole() {
        let star = Masker::PerChar('*');
        let whole = Masker::Whole("[x]".into());
        let m = |r: MaskRef| if r == MaskRef::Link { &whole } else { &star };
        let text = "坏词 and evil.com ok";
        let mut spans = vec![span(11..19, MaskRef::Link), span(0..6, MaskRef::Word(0))];
        assert_eq!(apply(text, &mut spans, m), "** and [x] ok");
    }

    #[test]
    fn overlapping_spans_are_masked_once_by_the_first() {
        let star = Masker::PerChar('*');
        let hash = Masker::PerChar('#');
        let m = |r: MaskRef| if r == MaskRef::Word(1) { &hash } else { &star };
        let mut spans = vec![span(2..5, MaskRef::Word(1)), span(0..3, MaskRef::Word(0))];
        assert_eq!(apply("abcdefg", &mut spans, m), "*****fg");
        let mut spans = vec![span(1..3, MaskRef::Word(1)), span(1..2, MaskRef::Word(0))];
        assert_eq!(apply("abcd", &mut spans, m), "a##d");
    }
}
