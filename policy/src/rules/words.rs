//! Sensitive-word lists: each with an action (mask, refuse, flag), a scope (messages and/or
//! text fields) and a matching mode. All lists with the same separator mode share one
//! Aho-Corasick automaton over folded words (see `fold`), so a text is scanned once per mode
//! whatever the number of lists and words; overlapping matches are all reported, so that a word
//! of one list never hides a word of another.

use std::{
    ops::{ControlFlow, Range},
    path::{Path, PathBuf},
};

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};

use super::{
    file::{ActionSpec, RulesError, Spanned, WordListSpec},
    fold::{Folded, fold_word},
    mask::Masker,
    rule::Rule,
};
use crate::engine::TextField;

/// Default errCode of a refusing word list.
const DEFAULT_REFUSE_CODE: i32 = 5001;
/// Default errMsg of a refusing word list.
const DEFAULT_REFUSE_MSG: &str = "message rejected by content policy";

/// Where a word list applies: messages and/or text fields, as a bit set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Scope(u16);

impl Scope {
    /// Message text.
    pub(crate) const MESSAGES: Self = Self(1);
    /// Everywhere.
    const ALL: Self = Self(u16::MAX);

    /// One text field.
    pub(crate) fn field(field: TextField) -> Self {
        let i = TextField::ALL.iter().position(|f| *f == field).unwrap_or(0);
        Self(2 << i)
    }

    fn overlaps(self, other: Self) -> bool {
        self.0 & other.0 != 0
    }
}

/// What a list does with a match.
#[derive(Debug)]
pub(crate) enum Action {
    /// Mask the match.
    Mask(Masker),
    /// Refuse.
    Refuse,
    /// Log and count only.
    Flag,
}

/// A word list, minus its words (those live in the automata).
#[derive(Debug)]
pub(crate) struct WordList {
    /// Name, refusal, dry-run, counters.
    pub(crate) rule: Rule,
    /// What a match does.
    pub(crate) action: Action,
    scope: Scope,
    whole_words: bool,
}

/// Folded words of all lists with one separator mode, and the list of each word.
#[derive(Debug)]
struct Automaton {
    matcher: AhoCorasick,
    list_of_pattern: Vec<u32>,
    drop_separators: bool,
}

/// The folded forms of a text that the scans need (reused between texts).
#[derive(Debug, Default)]
pub(crate) struct FoldBufs {
    /// Separators kept.
    pub(crate) kept: Folded,
    /// Separators dropped.
    pub(crate) stripped: Folded,
}

/// All word lists of a rule set.
#[derive(Debug, Default)]
pub(crate) struct WordFilter {
    lists: Vec<WordList>,
    automata: Vec<Automaton>,
}

/// The words of one list: those in the file, then those of its `wordsFile`.
fn words_of(
    i: usize,
    spec: &WordListSpec,
    base_dir: &Path,
    sources: &mut Vec<PathBuf>,
) -> Result<Vec<(String, String, Option<u64>)>, RulesError> {
    // (word, key, line)
    let mut words: Vec<(String, String, Option<u64>)> = spec
        .words
        .iter()
        .enumerate()
        .map(|(j, w)| {
            let line = w.referenced.line();
            (
                w.value.clone(),
                format!("wordLists[{i}].words[{j}]"),
                (line > 0).then_some(line),
            )
        })
        .collect();
    if let Some(file) = &spec.words_file {
        let path = base_dir.join(&file.value);
        let text = std::fs::read_to_string(&path).map_err(|source| RulesError::Read {
            path: path.clone(),
            source,
        })?;
        for (n, line) in text.lines().enumerate() {
            let word = line.trim();
            if word.is_empty() || word.starts_with('#') {
                continue;
            }
            words.push((
                word.to_owned(),
                format!(
                    "wordLists[{i}].wordsFile ({} line {})",
                    path.display(),
                    n + 1
                ),
                Some(file.referenced.line()).filter(|l| *l > 0),
            ));
        }
        sources.push(path);
    }
    Ok(words)
}

impl WordFilter {
    /// Validates the lists, reads their word files (relative to `base_dir`, recorded in
    /// `sources`) and builds the automata.
    pub(crate) fn new(
        specs: &[Spanned<WordListSpec>],
        base_dir: &Path,
        sources: &mut Vec<PathBuf>,
    ) -> Result<Self, RulesError> {
        let mut lists = Vec::with_capacity(specs.len());
        // Folded words by separator mode: [kept, dropped].
        let mut patterns: [Vec<(String, u32)>; 2] = [Vec::new(), Vec::new()];
        for (i, item) in specs.iter().enumerate() {
            let spec = &item.value;
            let key = |field: &str| format!("wordLists[{i}].{field}");
            let action = match spec.action {
                ActionSpec::Refuse => Action::Refuse,
                ActionSpec::Flag => Action::Flag,
                ActionSpec::Mask => Action::Mask(match (&spec.mask, &spec.replacement) {
                    (Some(_), Some(r)) => {
                        return Err(RulesError::invalid(
                            key("replacement"),
                            r,
                            "set either mask (per character) or replacement (whole match)",
                        ));
                    }
                    (_, Some(r)) => Masker::Whole(r.value.clone()),
                    (m, None) => Masker::PerChar(m.unwrap_or('*')),
                }),
            };
            if spec.action != ActionSpec::Mask
                && (spec.mask.is_some() || spec.replacement.is_some())
            {
                return Err(RulesError::invalid(
                    key("mask"),
                    item,
                    "mask and replacement are for `action: mask` lists",
                ));
            }
            if spec.whole_words && spec.ignore_separators {
                return Err(RulesError::invalid(
                    key("wholeWords"),
                    item,
                    "wholeWords cannot be combined with ignoreSeparators",
                ));
            }
            let scope = match &spec.fields {
                None => Scope::ALL,
                Some(fields) if fields.value.is_empty() => {
                    return Err(RulesError::invalid(
                        key("fields"),
                        fields,
                        "must not be empty",
                    ));
                }
                Some(fields) => Scope(fields.value.iter().fold(0, |bits, f| {
                    bits | f.text_field().map_or(Scope::MESSAGES, Scope::field).0
                })),
            };
            let words = words_of(i, spec, base_dir, sources)?;
            if words.is_empty() {
                return Err(RulesError::invalid(
                    key("words"),
                    item,
                    "the list has no words",
                ));
            }
            let mode = usize::from(spec.ignore_separators);
            let list = u32::try_from(i).unwrap_or(u32::MAX);
            for (word, word_key, line) in words {
                let folded = fold_word(&word, spec.ignore_separators);
                if word.trim().is_empty() || folded.is_empty() {
                    return Err(RulesError::Invalid {
                        path: None,
                        line,
                        key: word_key,
                        message: if word.trim().is_empty() {
                            "must not be empty".to_owned()
                        } else {
                            format!(
                                "{word:?} has nothing left to match once separators are ignored"
                            )
                        },
                    });
                }
                patterns[mode].push((folded, list));
            }
            lists.push(WordList {
                rule: Rule::new(
                    "wordList",
                    &spec.name.0,
                    spec.err_code.map_or(DEFAULT_REFUSE_CODE, |c| c.0),
                    spec.err_msg.as_deref().unwrap_or(DEFAULT_REFUSE_MSG),
                    spec.dry_run,
                ),
                action,
                scope,
                whole_words: spec.whole_words,
            });
        }
        let mut automata = Vec::new();
        for (mode, patterns) in patterns.into_iter().enumerate() {
            if patterns.is_empty() {
                continue;
            }
            let matcher = AhoCorasickBuilder::new()
                // Every match, overlapping ones included: see the module docs.
                .match_kind(MatchKind::Standard)
                .build(patterns.iter().map(|(p, _)| p))
                .map_err(|e| RulesError::Invalid {
                    path: None,
                    line: None,
                    key: "wordLists".into(),
                    message: e.to_string(),
                })?;
            automata.push(Automaton {
                matcher,
                list_of_pattern: patterns.into_iter().map(|(_, l)| l).collect(),
                drop_separators: mode == 1,
            });
        }
        Ok(Self { lists, automata })
    }

    /// The lists, by number.
    pub(crate) fn list(&self, n: u32) -> &WordList {
        &self.lists[n as usize]
    }

    /// Whether any list matches with separators kept / dropped.
    pub(crate) fn needs(&self) -> (bool, bool) {
        let has = |drop| self.automata.iter().any(|a| a.drop_separators == drop);
        (has(false), has(true))
    }

    /// Number of lists.
    pub(crate) fn list_count(&self) -> usize {
        self.lists.len()
    }

    /// Number of words, all lists together.
    pub(crate) fn word_count(&self) -> usize {
        self.automata.iter().map(|a| a.list_of_pattern.len()).sum()
    }

    /// Calls `visit` with each match in `text` of a list in `scope` that `wanted` accepts:
    /// the list's number, the list, and the matched range of `text` (whole characters). `bufs`
    /// must hold `text` folded in the modes [`Self::needs`] asks for. Stops when `visit` breaks.
    pub(crate) fn scan<'s>(
        &'s self,
        text: &str,
        bufs: &FoldBufs,
        scope: Scope,
        wanted: impl Fn(&Action) -> bool,
        mut visit: impl FnMut(u32, &'s WordList, Range<usize>) -> ControlFlow<()>,
    ) -> ControlFlow<()> {
        for a in &self.automata {
            let folded = if a.drop_separators {
                &bufs.stripped
            } else {
                &bufs.kept
            };
            for m in a.matcher.find_overlapping_iter(folded.text.as_str()) {
                let n = a.list_of_pattern[m.pattern().as_usize()];
                let list = &self.lists[n as usize];
                if !list.scope.overlaps(scope) || !wanted(&list.action) {
                    continue;
                }
                if list.whole_words && !on_word_boundaries(&folded.text, m.range()) {
                    continue;
                }
                visit(n, list, folded.original_range(text, m.range()))?;
            }
        }
        ControlFlow::Continue(())
    }
}

/// Whether `range` of `text` is not inside a longer Latin-script word.
fn on_word_boundaries(text: &str, range: Range<usize>) -> bool {
    let before = text[..range.start].chars().next_back();
    let after = text[range.end..].chars().next();
    !before.is_some_and(|c| c.is_ascii_alphanumeric())
        && !after.is_some_and(|c| c.is_ascii_alphanumeric())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::{file::RulesFile, mask};

    fn filter(yaml: &str) -> WordFilter {
        let rules = RulesFile::parse(yaml).unwrap();
        WordFilter::new(&rules.word_lists, Path::new("."), &mut Vec::new()).unwrap()
    }

    fn error(yaml: &str) -> String {
        let rules = RulesFile::parse(yaml).unwrap();
        WordFilter::new(&rules.word_lists, Path::new("."), &mut Vec::new())
            .unwrap_err()
            .to_string()
    }

    fn bufs(f: &WordFilter, text: &str) -> FoldBufs {
        let mut b = FoldBufs::default();
        let (kept, stripped) = f.needs();
        if kept {
            b.kept.fold(text, false);
        }
        if stripped {
            b.stripped.fold(text, true);
        }
        b
    }

    /// (list name, matched original text) of every match in messages.
    fn matches(f: &WordFilter, text: &str) -> Vec<(String, String)> {
        let b = bufs(f, text);
        let mut out = Vec::new();
        let _ = f.scan(
            text,
            &b,
            Scope::MESSAGES,
            |_| true,
            |_, l, r| {
                out.push((l.rule.name.clone(), text[r].to_owned()));
                ControlFlow::Continue(())
            },
        );
        out.sort();
        out
    }

    /// `text` with every mask-list match masked.
    fn masked(f: &WordFilter, text: &str) -> String {
        let b = bufs(f, text);
        let mut spans = Vec::new();
        let _ = f.scan(
            text,
            &b,
            Scope::MESSAGES,
            |a| matches!(a, Action::Mask(_)),
            |n, _, r| {
                spans.push(mask::MaskSpan {
                    range: r,
                    by: mask::MaskRef::Word(n),
                });
                ControlFlow::Continue(())
            },
        );
        mask::apply(text, &mut spans, |r| match r {
            mask::MaskRef::Word(n) => match &f.list(n).action {
                Action::Mask(m) => m,
                _ => unreachable!(),
            },
            mask::MaskRef::Link => unreachable!(),
        })
    }

    #[test]
    fn masking_replaces_each_character_and_ignores_case() {
        let f =
            filter("wordLists:\n  - {name: spam, action: mask, words: [spam.example, buy now]}\n");
        assert_eq!(
            masked(&f, "BUY NOW at spam.example!"),
            "******* at ************!"
        );
        assert_eq!(masked(&f, "all fine"), "all fine");
    }

    #[test]
    fn full_width_and_half_width_forms_match() {
        let f = filter("wordLists:\n  - {name: m, action: mask, words: [spam, バカ, 坏词]}\n");
        assert_eq!(masked(&f, "ＳＰＡＭ！"), "****！");
        assert_eq!(masked(&f, "ﾊﾞｶ"), "***", "three half-width characters");
        assert_eq!(masked(&f, "这是坏词吗"), "这是**吗");
        let f = filter("wordLists:\n  - {name: m, action: mask, words: [ＢＡＤ]}\n");
        assert_eq!(masked(&f, "so bad"), "so ***", "words are folded too");
    }

    #[test]
    fn separators_inserted_to_dodge_are_ignored_when_asked() {
        let yaml =
            "wordLists:\n  - {name: m, action: mask, ignoreSeparators: true, words: [bad, 坏词]}\n";
        let f = filter(yaml);
        assert_eq!(masked(&f, "a b.a.d one"), "a ***** one");
        assert_eq!(masked(&f, "a b a d one"), "a ***** one");
        assert_eq!(masked(&f, "x 坏-词 y"), "x *** y");
        assert_eq!(masked(&f, "坏\u{200b}词"), "***");
        let f = filter("wordLists:\n  - {name: m, action: mask, words: [bad]}\n");
        assert_eq!(masked(&f, "b.a.d"), "b.a.d", "only when asked");
    }

    #[test]
    fn whole_match_replacement_and_custom_mask_characters() {
        let f = filter(
            "wordLists:\n  - {name: a, action: mask, replacement: '[censored]', words: [darn]}\n  - {name: b, action: mask, mask: '#', words: [heck]}\n",
        );
        assert_eq!(masked(&f, "Darn it, heck."), "[censored] it, ####.");
    }

    #[test]
    fn overlapping_words_of_different_lists_are_all_found() {
        let f = filter(
            "wordLists:\n  - {name: mask, action: mask, words: [spam.example, bad]}\n  - {name: abuse, action: refuse, words: [example]}\n  - {name: watch, action: flag, words: [badword]}\n",
        );
        assert_eq!(
            matches(&f, "spam.example badword"),
            vec![
                ("abuse".to_owned(), "example".to_owned()),
                ("mask".to_owned(), "bad".to_owned()),
                ("mask".to_owned(), "spam.example".to_owned()),
                ("watch".to_owned(), "badword".to_owned()),
            ]
        );
        assert_eq!(masked(&f, "a badword"), "a ***word");
    }

    #[test]
    fn whole_words_do_not_match_inside_longer_words() {
        let f = filter("wordLists:\n  - {name: m, action: mask, wholeWords: true, words: [ass]}\n");
        assert_eq!(masked(&f, "class ass, Ass!"), "class ***, ***!");
        assert_eq!(
            masked(&f, "坏ass"),
            "坏***",
            "CJK neighbours are boundaries"
        );
    }

    #[test]
    fn scopes_limit_lists_to_their_fields() {
        let f = filter(
            "wordLists:\n  - {name: nick, action: refuse, fields: [nickname], words: [admin]}\n  - {name: all, action: refuse, words: [idiot]}\n",
        );
        assert_eq!(
            matches(&f, "admin idiot"),
            vec![("all".to_owned(), "idiot".to_owned())]
        );
        let text = "admin idiot";
        let b = bufs(&f, text);
        let mut names = Vec::new();
        let _ = f.scan(
            text,
            &b,
            Scope::field(TextField::Nickname),
            |_| true,
            |_, l, _| {
                names.push(l.rule.name.clone());
                ControlFlow::Continue(())
            },
        );
        names.sort();
        assert_eq!(names, ["all", "nick"]);
    }

    #[test]
    fn the_scan_stops_when_asked() {
        let f = filter("wordLists:\n  - {name: r, action: refuse, words: [a, b]}\n");
        let b = bufs(&f, "a b a b");
        let mut n = 0;
        let flow = f.scan(
            "a b a b",
            &b,
            Scope::MESSAGES,
            |_| true,
            |_, _, _| {
                n += 1;
                ControlFlow::Break(())
            },
        );
        assert_eq!((n, flow), (1, ControlFlow::Break(())));
    }

    #[test]
    fn invalid_lists_are_rejected_with_their_key_and_line() {
        let e = error("wordLists:\n  - name: x\n    action: mask\n    words: [ok, ' ']\n");
        assert!(
            e.contains("wordLists[0].words[1]") && e.contains("line 4"),
            "{e}"
        );
        assert!(e.contains("must not be empty"), "{e}");
        let e = error(
            "wordLists:\n  - name: x\n    action: mask\n    ignoreSeparators: true\n    words: [ok, '-']\n",
        );
        assert!(
            e.contains("wordLists[0].words[1]") && e.contains("separators"),
            "{e}"
        );
        let e = error(
            "wordLists:\n  - name: x\n    action: mask\n    mask: '#'\n    replacement: x\n    words: [a]\n",
        );
        assert!(
            e.contains("wordLists[0].replacement") && e.contains("line 5"),
            "{e}"
        );
        let e =
            error("wordLists:\n  - name: x\n    action: refuse\n    mask: '#'\n    words: [a]\n");
        assert!(e.contains("wordLists[0].mask"), "{e}");
        let e = error("wordLists:\n  - name: x\n    action: refuse\n");
        assert!(
            e.contains("wordLists[0].words") && e.contains("no words"),
            "{e}"
        );
        let e = error("wordLists:\n  - {name: x, action: refuse, fields: [], words: [a]}\n");
        assert!(e.contains("wordLists[0].fields"), "{e}");
    }

    #[test]
    fn words_files_are_read_relative_to_the_rules_file() {
        let dir = std::env::temp_dir().join(format!("openim-policy-words-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("list.txt"), "# comment\n\nfoo\n 坏词 \n").unwrap();
        let rules = RulesFile::parse(
            "wordLists:\n  - {name: f, action: mask, words: [bar], wordsFile: list.txt}\n",
        )
        .unwrap();
        let mut sources = Vec::new();
        let f = WordFilter::new(&rules.word_lists, &dir, &mut sources).unwrap();
        assert_eq!(f.word_count(), 3);
        assert_eq!(sources, [dir.join("list.txt")]);
        assert_eq!(masked(&f, "foo bar 坏词"), "*** *** **");

        std::fs::write(dir.join("list.txt"), "ok\n - \n").unwrap();
        let rules = RulesFile::parse(
            "wordLists:\n  - {name: f, action: mask, ignoreSeparators: true, wordsFile: list.txt}\n",
        )
        .unwrap();
        let e = WordFilter::new(&rules.word_lists, &dir, &mut Vec::new())
            .unwrap_err()
            .to_string();
        assert!(e.contains("list.txt line 2"), "{e}");
        let rules =
            RulesFile::parse("wordLists:\n  - {name: f, action: mask, wordsFile: nope.txt}\n")
                .unwrap();
        let e = WordFilter::new(&rules.word_lists, &dir, &mut Vec::new())
            .unwrap_err()
            .to_string();
        assert!(e.contains("nope.txt"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
