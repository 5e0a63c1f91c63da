//! Sensitive-word lists: one Aho-Corasick automaton per action, so a message is scanned once
//! per action whatever the number of words.

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use policy_proto::v1 as pb;

use super::file::{ActionSpec, RulesError, WordListSpec};

/// Default errCode of a refusing word list.
const DEFAULT_REFUSE_CODE: i32 = 5001;
/// Default errMsg of a refusing word list.
const DEFAULT_REFUSE_MSG: &str = "message rejected by content policy";

/// A validated word list, minus its words (those live in the automaton).
#[derive(Debug)]
pub(super) struct WordList {
    name: String,
    mask: char,
    err_code: i32,
    err_msg: String,
}

impl WordList {
    /// The refusal a match of this list produces.
    pub(super) fn refusal(&self) -> pb::Refusal {
        pb::Refusal {
            err_code: self.err_code,
            err_msg: self.err_msg.clone(),
            err_dlt: format!("matched rule: {}", self.name),
        }
    }
}

/// Patterns of all lists with one action, and the list each pattern came from.
#[derive(Debug)]
struct Automaton {
    matcher: AhoCorasick,
    list_of_pattern: Vec<usize>,
}

impl Automaton {
    fn build(patterns: &[(&str, usize)], kind: MatchKind) -> Result<Option<Self>, RulesError> {
        if patterns.is_empty() {
            return Ok(None);
        }
        let list_of_pattern = patterns.iter().map(|(_, l)| *l).collect();
        let matcher = AhoCorasickBuilder::new()
            .ascii_case_insensitive(true)
            .match_kind(kind)
            .build(patterns.iter().map(|(p, _)| p))
            .map_err(|e| RulesError::Invalid {
                key: "wordLists".into(),
                message: e.to_string(),
            })?;
        Ok(Some(Self {
            matcher,
            list_of_pattern,
        }))
    }
}

/// All word lists of a rule set.
#[derive(Debug)]
pub(super) struct WordFilter {
    lists: Vec<WordList>,
    refuse: Option<Automaton>,
    mask: Option<Automaton>,
}

impl WordFilter {
    /// Validates the lists and builds the automata.
    pub(super) fn new(specs: &[WordListSpec]) -> Result<Self, RulesError> {
        let mut lists = Vec::with_capacity(specs.len());
        let (mut refuse, mut mask) = (Vec::new(), Vec::new());
        for (i, spec) in specs.iter().enumerate() {
            let invalid = |field: &str, message: &str| RulesError::Invalid {
                key: format!("wordLists[{i}].{field}"),
                message: message.to_owned(),
            };
            if spec.name.trim().is_empty() {
                return Err(invalid("name", "must not be empty"));
            }
            if spec.err_code == Some(0) {
                return Err(invalid(
                    "errCode",
                    "must be non-zero: OpenIM loses a zero errCode",
                ));
            }
            let target = match spec.action {
                ActionSpec::Refuse => &mut refuse,
                ActionSpec::Mask => &mut mask,
            };
            for (j, word) in spec.words.iter().enumerate() {
                if word.trim().is_empty() {
                    return Err(invalid(&format!("words[{j}]"), "must not be empty"));
                }
                target.push((word.as_str(), i));
            }
            lists.push(WordList {
                name: spec.name.clone(),
                mask: spec.mask.unwrap_or('*'),
                err_code: spec.err_code.unwrap_or(DEFAULT_REFUSE_CODE),
                err_msg: spec
                    .err_msg
                    .clone()
                    .unwrap_or_else(|| DEFAULT_REFUSE_MSG.to_owned()),
            });
        }
        Ok(Self {
            lists,
            // Any hit refuses, so the cheapest match kind does.
            refuse: Automaton::build(&refuse, MatchKind::Standard)?,
            // Masking replaces whole words: prefer the longest at each position.
            mask: Automaton::build(&mask, MatchKind::LeftmostLongest)?,
        })
    }

    /// The first refusing list that matches `text`.
    pub(super) fn refusal(&self, text: &str) -> Option<&WordList> {
        let a = self.refuse.as_ref()?;
        let m = a.matcher.find(text)?;
        Some(&self.lists[a.list_of_pattern[m.pattern().as_usize()]])
    }

    /// `text` with every match of a masking list replaced, character by character, by that
    /// list's mask; `None` when nothing matched.
    pub(super) fn mask(&self, text: &str) -> Option<String> {
        let a = self.mask.as_ref()?;
        let mut matches = a.matcher.find_iter(text).peekable();
        matches.peek()?;
        let mut out = String::with_capacity(text.len());
        let mut last = 0;
        for m in matches {
            out.push_str(&text[last..m.start()]);
            let mask = self.lists[a.list_of_pattern[m.pattern().as_usize()]].mask;
            out.extend(std::iter::repeat_n(mask, text[m.range()].chars().count()));
            last = m.end();
        }
        out.push_str(&text[last..]);
        Some(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(name: &str, action: ActionSpec, words: &[&str]) -> WordListSpec {
        WordListSpec {
            name: name.into(),
            action,
            mask: None,
            err_code: None,
            err_msg: None,
            words: words.iter().map(|w| (*w).to_owned()).collect(),
        }
    }

    #[test]
    fn masking_replaces_each_character_and_ignores_ascii_case() {
        let f = WordFilter::new(&[spec("spam", ActionSpec::Mask, &["spam.example", "buy now"])])
            .unwrap();
        assert_eq!(
            f.mask("BUY NOW at spam.example!").as_deref(),
            Some("******* at ************!")
        );
        assert_eq!(f.mask("all fine"), None);
    }

    #[test]
    fn masking_counts_characters_not_bytes() {
        let mut s = spec("cn", ActionSpec::Mask, &["坏词"]);
        s.mask = Some('#');
        let f = WordFilter::new(&[s]).unwrap();
        assert_eq!(f.mask("这是坏词吗").as_deref(), Some("这是##吗"));
    }

    #[test]
    fn the_longest_word_is_masked_when_words_overlap() {
        let f = WordFilter::new(&[spec("m", ActionSpec::Mask, &["bad", "badword"])]).unwrap();
        assert_eq!(f.mask("a badword").as_deref(), Some("a *******"));
    }

    #[test]
    fn a_refusing_list_refuses_with_its_code_message_and_name() {
        let mut s = spec("abuse", ActionSpec::Refuse, &["idiot"]);
        s.err_code = Some(5100);
        s.err_msg = Some("be nice".into());
        let f = WordFilter::new(&[spec("m", ActionSpec::Mask, &["spam"]), s]).unwrap();
        let r = f.refusal("you Idiot").unwrap().refusal();
        assert_eq!(r.err_code, 5100);
        assert_eq!(r.err_msg, "be nice");
        assert_eq!(r.err_dlt, "matched rule: abuse");
        assert!(f.refusal("spam only").is_none());
    }

    #[test]
    fn empty_words_names_and_zero_codes_are_rejected_with_their_key() {
        let err = WordFilter::new(&[spec("x", ActionSpec::Mask, &["ok", " "])]).unwrap_err();
        assert!(err.to_string().contains("wordLists[0].words[1]"), "{err}");
        let mut s = spec("x", ActionSpec::Refuse, &["a"]);
        s.err_code = Some(0);
        let err = WordFilter::new(&[s]).unwrap_err();
        assert!(err.to_string().contains("wordLists[0].errCode"), "{err}");
        let err = WordFilter::new(&[spec("", ActionSpec::Mask, &["a"])]).unwrap_err();
        assert!(err.to_string().contains("wordLists[0].name"), "{err}");
    }
}
