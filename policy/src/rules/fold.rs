//! Text folding for matching: the form in which words and message text are compared, with a map
//! back to the original text so that a match can be masked where the user wrote it.
//!
//! Folding, character by character:
//! - compatibility decomposition (the "K" of NFKC): full-width `ＡＢＣ１` is `abc1`, half-width
//!   `ｶ` is `カ`, `①` is `1`, ligatures come apart. It is done per character, so that every
//!   folded byte knows the character it came from, and combining marks are then put in canonical
//!   order (`e\u{302}\u{323}` is `e\u{323}\u{302}`): comparing these forms matches exactly the
//!   texts whose NFKC forms are equal (NFKC and NFKD have the same equivalence classes);
//! - case folded: lower case of the upper case of the lower case, decomposed again, so that every
//!   case form of a letter folds alike (`ß`, `ẞ` and `SS` are `ss`, `ς` and `Σ` are `σ`);
//! - invisible characters dropped, always (Unicode's default-ignorable code points: zero-width
//!   space and joiners, soft hyphen, word joiner, bidirectional controls, variation selectors,
//!   Hangul fillers, tags): a client shows `s\u{200b}cam` as `scam`;
//! - optionally, separators dropped: every character that is not a letter, a combining mark or
//!   a digit (spaces, punctuation, symbols and emoji, zero-width and other format characters), so
//!   that `b.a.d`, `b a d`, `b\u{200b}ad` and `坏-词` read as `bad` and `坏词`.
//!
//! Not covered: look-alike letters from other scripts (Cyrillic `а` for Latin `a`) and
//! Traditional/Simplified Chinese variants; list both forms.

use std::ops::Range;

use unicode_normalization::char::{canonical_combining_class, decompose_compatible};
use unicode_properties::{GeneralCategoryGroup, UnicodeGeneralCategory};

/// A folded text and, for each of its bytes, where the character it came from starts in the
/// original text.
#[derive(Debug, Default)]
pub(crate) struct Folded {
    /// The folded text.
    pub(crate) text: String,
    /// Original byte offset of the character each folded byte came from. `u32`: requests are
    /// capped far below 4 GiB (16 MiB), and it halves the map.
    src: Vec<u32>,
    /// Combining marks waiting to be put in canonical order, with their original offsets.
    marks: Vec<(u8, char, u32)>,
}

/// Whether `c` separates words rather than being part of one: not a letter, mark or digit.
pub(crate) fn is_separator(c: char) -> bool {
    if c.is_ascii() {
        return !c.is_ascii_alphanumeric();
    }
    !matches!(
        c.general_category_group(),
        GeneralCategoryGroup::Letter | GeneralCategoryGroup::Mark | GeneralCategoryGroup::Number
    )
}

/// Whether `c` is a default-ignorable code point (Unicode `DerivedCoreProperties.txt`,
/// `Default_Ignorable_Code_Point`): rendered as nothing, so never part of what a reader sees.
pub(crate) fn is_invisible(c: char) -> bool {
    matches!(c,
        '\u{AD}' | '\u{34F}' | '\u{61C}' | '\u{115F}'..='\u{1160}' | '\u{17B4}'..='\u{17B5}'
        | '\u{180B}'..='\u{180F}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}'
        | '\u{2060}'..='\u{206F}' | '\u{3164}' | '\u{FE00}'..='\u{FE0F}' | '\u{FEFF}'
        | '\u{FFA0}' | '\u{FFF0}'..='\u{FFF8}' | '\u{1BCA0}'..='\u{1BCA3}'
        | '\u{1D173}'..='\u{1D17A}' | '\u{E0000}'..='\u{E0FFF}')
}

/// CJK unified ideographs (the bulk of Chinese text): no decomposition, no case, letters. Skips
/// the table look-ups for them.
fn is_plain_ideograph(c: char) -> bool {
    matches!(c, '\u{3400}'..='\u{4DBF}' | '\u{4E00}'..='\u{9FFF}')
}

impl Folded {
    /// Folds `original` into this buffer, replacing what it held; keeps the allocations.
    pub(crate) fn fold(&mut self, original: &str, drop_separators: bool) {
        self.text.clear();
        self.src.clear();
        self.text.reserve(original.len());
        self.src.reserve(original.len());
        self.marks.clear();
        for (at, c) in original.char_indices() {
            // Requests are far smaller than 4 GiB; saturate rather than wrap if one is not.
            let at = u32::try_from(at).unwrap_or(u32::MAX);
            if c.is_ascii() {
                self.flush_marks();
                if !drop_separators || c.is_ascii_alphanumeric() {
                    self.text.push(c.to_ascii_lowercase());
                    self.src.push(at);
                }
            } else if is_plain_ideograph(c) {
                self.flush_marks();
                self.push(c, at);
            } else {
                decompose_compatible(c, |d| {
                    for l in d.to_lowercase() {
                        for u in l.to_uppercase() {
                            for f in u.to_lowercase() {
                                decompose_compatible(f, |x| self.emit(x, at, drop_separators));
                            }
                        }
                    }
                });
            }
        }
        self.flush_marks();
    }

    /// One folded character of the original character at `at`.
    fn emit(&mut self, c: char, at: u32, drop_separators: bool) {
        let class = canonical_combining_class(c);
        if class == 0 {
            // A starter ends a run of marks, also when it is dropped (as a blocker would).
            self.flush_marks();
        }
        if is_invisible(c) || (drop_separators && is_separator(c)) {
            return;
        }
        if class == 0 {
            self.push(c, at);
        } else {
            self.marks.push((class, c, at));
        }
    }

    /// Writes the pending combining marks in canonical order (stable by combining class).
    fn flush_marks(&mut self) {
        if self.marks.is_empty() {
            return;
        }
        self.marks.sort_by_key(|(class, _, _)| *class);
        for i in 0..self.marks.len() {
            let (_, c, at) = self.marks[i];
            self.push(c, at);
        }
        self.marks.clear();
    }

    fn push(&mut self, c: char, at: u32) {
        self.text.push(c);
        self.src.extend(std::iter::repeat_n(at, c.len_utf8()));
    }

    /// The range of `original` (the text last folded) that the folded range `folded` came from:
    /// whole original characters, from the first one matched to the last (marks put in canonical
    /// order may come from characters in another order).
    pub(crate) fn original_range(&self, original: &str, folded: Range<usize>) -> Range<usize> {
        debug_assert!(folded.start < folded.end && folded.end <= self.src.len());
        let from = &self.src[folded];
        let start = from.iter().copied().min().unwrap_or(0) as usize;
        let last = from.iter().copied().max().unwrap_or(0) as usize;
        let end = last + original[last..].chars().next().map_or(0, char::len_utf8);
        start..end
    }

    /// Releases memory after an unusually large text, so a long-lived buffer stays small.
    pub(crate) fn trim(&mut self, keep: usize) {
        if self.text.capacity() > keep {
            self.text = String::new();
            self.src = Vec::new();
            self.marks = Vec::new();
        }
    }
}

/// Folds a word of a word list the way message text is folded.
pub(crate) fn fold_word(word: &str, drop_separators: bool) -> String {
    let mut f = Folded::default();
    f.fold(word, drop_separators);
    f.text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fold(s: &str, drop: bool) -> String {
        fold_word(s, drop)
    }

    #[test]
    fn full_width_and_case_fold_to_lower_ascii() {
        assert_eq!(fold("ＢＵＹ　Ｎｏｗ！", false), "buy now!");
        assert_eq!(fold("ＳＰＡＭ．ｅｘａｍｐｌｅ", false), "spam.example");
        assert_eq!(fold("Straße ÉTÉ", false), fold("straße été", false));
    }

    #[test]
    fn half_width_katakana_matches_full_width() {
        assert_eq!(fold("ﾊﾞｶ", false), fold("バカ", false));
        assert_ne!(
            fold("ハカ", false),
            fold("バカ", false),
            "the voiced mark counts"
        );
    }

    #[test]
    fn compatibility_characters_fold_to_their_plain_form() {
        assert_eq!(fold("①②", false), "12");
        assert_eq!(fold("ﬁne", false), "fine");
        assert_eq!(fold("㈱", false), "(株)");
        // Precomposed and combining forms are the same text.
        assert_eq!(fold("caf\u{e9}", false), fold("cafe\u{301}", false));
    }

    #[test]
    fn invisible_characters_are_dropped_even_when_separators_are_kept() {
        for hidden in [
            "s\u{200b}cam",
            "s\u{ad}cam",
            "sc\u{200d}am",
            "\u{feff}scam\u{2060}",
            "s\u{e0073}cam",
            "s\u{fe0f}cam",
            "s\u{3164}cam",
        ] {
            assert_eq!(fold(hidden, false), "scam", "{hidden:?}");
        }
        assert_eq!(fold("s cam", false), "s cam", "a visible space stays");
    }

    #[test]
    fn every_case_form_of_a_letter_folds_alike() {
        assert_eq!(fold("STRASSE", false), fold("straße", false));
        assert_eq!(fold("STRAẞE", false), fold("straße", false));
        assert_eq!(fold("ΟΔΟΣ", false), fold("οδος", false));
        assert_eq!(fold("\u{212A}elvin", false), "kelvin");
        assert_eq!(fold("ǅ", false), fold("Ǆ", false));
    }

    #[test]
    fn combining_marks_in_any_order_fold_alike() {
        // e + dot below + circumflex (Vietnamese ệ), typed with the marks the other way round.
        assert_eq!(fold("\u{1EC7}", false), fold("e\u{302}\u{323}", false));
        assert_eq!(
            fold("e\u{323}\u{302}", false),
            fold("e\u{302}\u{323}", false)
        );
        // Marks of the same class keep their order (they are not equivalent swapped).
        assert_ne!(
            fold("a\u{301}\u{300}", false),
            fold("a\u{300}\u{301}", false)
        );
        let original = "xe\u{302}\u{323}y";
        let mut f = Folded::default();
        f.fold(original, false);
        let word = fold("\u{1EC7}", false);
        let at = f.text.find(&word).unwrap();
        let r = f.original_range(original, at..at + word.len());
        assert_eq!(&original[r], "e\u{302}\u{323}");
    }

    #[test]
    fn chinese_text_is_kept_as_is() {
        assert_eq!(fold("这是坏词吗", false), "这是坏词吗");
    }

    #[test]
    fn dropping_separators_removes_what_is_inserted_to_dodge_a_filter() {
        for dodge in [
            "b.a.d",
            "b a d",
            "B-A-D",
            "b\u{200b}a\u{200d}d",
            "b_a*d",
            "b😀a😀d",
            "ｂ．ａ．ｄ",
        ] {
            assert_eq!(fold(dodge, true), "bad", "{dodge:?}");
        }
        for dodge in [
            "坏-词",
            "坏 词",
            "坏，词",
            "坏・词",
            "坏　词",
            "坏\u{3000}词",
        ] {
            assert_eq!(fold(dodge, true), "坏词", "{dodge:?}");
        }
        // Letters, marks and digits stay.
        assert_eq!(fold("a1é", true), fold("a1é", false));
    }

    #[test]
    fn ranges_map_back_to_whole_original_characters() {
        let original = "Hi ＢＡＤ guy";
        let mut f = Folded::default();
        f.fold(original, false);
        let at = f.text.find("bad").unwrap();
        let r = f.original_range(original, at..at + 3);
        assert_eq!(&original[r], "ＢＡＤ");

        let original = "x b.a.d y 坏-词!";
        f.fold(original, true);
        let at = f.text.find("bad").unwrap();
        assert_eq!(&original[f.original_range(original, at..at + 3)], "b.a.d");
        let at = f.text.find("坏词").unwrap();
        assert_eq!(
            &original[f.original_range(original, at..at + "坏词".len())],
            "坏-词"
        );

        // A match inside a decomposed character covers the whole character.
        let original = "①";
        f.fold(original, false);
        assert_eq!(&original[f.original_range(original, 0..1)], "①");
    }

    #[test]
    fn the_buffer_is_reused_and_trimmed_after_a_large_text() {
        let mut f = Folded::default();
        f.fold(&"a".repeat(1000), false);
        f.fold("b", false);
        assert_eq!(f.text, "b");
        f.trim(100);
        assert_eq!(f.text.capacity(), 0);
    }
}
