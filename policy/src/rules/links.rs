//! Link policy: finds links in folded message text (so full-width `ｅｖｉｌ．ｃｏｍ` is a link
//! too) and reports those whose domain is not on the allow-list, to be refused or masked.
//!
//! A link is `scheme://host...`, or a bare `host.tld...` (with `bareDomains`, the default, or
//! when it starts with `www.`). A host is dot-separated labels of ASCII letters, digits and `-`
//! (the ideographic full stop `。` counts as a dot, as in IDNA); a bare host needs a top-level
//! label of two letters or more (or `xn--`), so `v1.2` and `e.g.` are not links. IDNs written
//! in Unicode are not recognised (their `xn--` form is); e-mail addresses are not links.

use std::ops::{ControlFlow, Range};

use super::{
    file::{LinkActionSpec, LinksSpec, RulesError, Spanned},
    mask::Masker,
    rule::Rule,
};

/// Default errCode of the link rule.
const DEFAULT_CODE: i32 = 5006;
/// Default errMsg of the link rule.
const DEFAULT_MSG: &str = "links to this site are not allowed";

/// What the link rule does.
#[derive(Debug)]
pub(crate) enum LinkAction {
    /// Refuse the message.
    Refuse,
    /// Mask the link.
    Mask(Masker),
}

/// The link rule.
#[derive(Debug)]
pub(crate) struct Links {
    /// Name, refusal, dry-run, counters.
    pub(crate) rule: Rule,
    /// What it does.
    pub(crate) action: LinkAction,
    allow: Vec<String>,
    bare_domains: bool,
}

impl Links {
    /// Validates the section.
    pub(crate) fn new(spec: &Spanned<LinksSpec>) -> Result<Self, RulesError> {
        let s = &spec.value;
        let action = match s.action {
            LinkActionSpec::Refuse => {
                if s.mask.is_some() || s.replacement.is_some() {
                    return Err(RulesError::invalid(
                        "links.mask",
                        spec,
                        "mask and replacement are for `action: mask`",
                    ));
                }
                LinkAction::Refuse
            }
            LinkActionSpec::Mask => LinkAction::Mask(match (s.mask, &s.replacement) {
                (Some(_), Some(_)) => {
                    return Err(RulesError::invalid(
                        "links.replacement",
                        spec,
                        "set either mask (per character) or replacement (whole link)",
                    ));
                }
                (_, Some(r)) => Masker::Whole(r.clone()),
                (m, None) => Masker::PerChar(m.unwrap_or('*')),
            }),
        };
        Ok(Self {
            rule: Rule::new(
                "links",
                "links",
                s.err_code.map_or(DEFAULT_CODE, |c| c.0),
                s.err_msg.as_deref().unwrap_or(DEFAULT_MSG),
                s.dry_run,
            ),
            action,
            allow: s.allow_domains.iter().map(|d| d.0.clone()).collect(),
            bare_domains: s.bare_domains,
        })
    }

    /// Calls `visit` with the range (in `folded`) of each link to a domain outside the
    /// allow-list; stops when `visit` breaks.
    pub(crate) fn scan(
        &self,
        folded: &str,
        mut visit: impl FnMut(Range<usize>) -> ControlFlow<()>,
    ) -> ControlFlow<()> {
        for (range, host) in LinkIter::new(folded, self.bare_domains) {
            if !self.allow.iter().any(|d| host_in_domain(host, d)) {
                visit(range)?;
            }
        }
        ControlFlow::Continue(())
    }
}

/// Whether `host` (labels separated by `.` or `。`) is `domain` or one of its subdomains.
fn host_in_domain(host: &str, domain: &str) -> bool {
    let mut host_labels = host.rsplit(['.', '。']);
    domain
        .rsplit('.')
        .all(|label| host_labels.next() == Some(label))
}

/// Characters a link is made of (in folded text: lower-case ASCII, plus `。`).
fn is_link_char(c: char) -> bool {
    (c.is_ascii_graphic() && !matches!(c, '<' | '>' | '"' | '`' | '{' | '}' | '|' | '\\' | '^'))
        || c == '。'
}

fn is_label_byte(b: u8) -> bool {
    b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'
}

/// Trailing characters that end a sentence rather than a link.
fn trim_trailing(s: &str) -> &str {
    s.trim_end_matches(|c| {
        matches!(
            c,
            '.' | ',' | ';' | ':' | '!' | '?' | ')' | ']' | '\'' | '。' | '*'
        )
    })
}

/// Links in a folded text: `(range, host)`.
struct LinkIter<'a> {
    text: &'a str,
    pos: usize,
    bare: bool,
}

impl<'a> LinkIter<'a> {
    fn new(text: &'a str, bare: bool) -> Self {
        Self { text, pos: 0, bare }
    }

    /// The link in the token at `start..end`, if it is one.
    fn link_in(&self, start: usize, end: usize) -> Option<(Range<usize>, &'a str)> {
        let token = &self.text[start..end];
        // Leading punctuation: `(http://...`, `"www...`.
        let lead = token.find(|c: char| c.is_ascii_alphanumeric())?;
        let token = &token[lead..];
        let start = start + lead;
        let (link_start, host_start, has_scheme) = match token.find("://") {
            Some(k) => {
                // The scheme is the run of scheme characters just before `://`.
                // After the last character that cannot be in a scheme (which may be `。`: a
                // multi-byte character, so not `i + 1`).
                let scheme_from = token[..k]
                    .char_indices()
                    .rev()
                    .find(|(_, c)| !(c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.')))
                    .map_or(0, |(i, c)| i + c.len_utf8());
                let scheme = &token[scheme_from..k];
                if !scheme.starts_with(|c: char| c.is_ascii_alphabetic()) {
                    return None;
                }
                (start + scheme_from, start + k + 3, true)
            }
            None => (start, start, false),
        };
        let rest = &self.text[host_start..end];
        let authority_len = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let authority = &rest[..authority_len];
        let host_from = match authority.rfind('@') {
            Some(_) if !has_scheme => return None, // an e-mail address
            Some(i) => i + 1,
            None => 0,
        };
        let host_port = &authority[host_from..];
        let host = match host_port.rfind(':') {
            Some(i) => &host_port[..i],
            None => host_port,
        };
        let host = trim_trailing(host);
        let labels_ok = !host.is_empty()
            && host
                .split(['.', '。'])
                .all(|l| !l.is_empty() && l.bytes().all(is_label_byte));
        if !labels_ok {
            return None;
        }
        if !has_scheme {
            let mut labels = host.rsplit(['.', '。']);
            let tld = labels.next().unwrap_or("");
            let tld_ok = (tld.len() >= 2 && tld.bytes().all(|b| b.is_ascii_lowercase()))
                || tld.starts_with("xn--");
            let www = host.starts_with("www.") || host.starts_with("www。");
            if labels.next().is_none() || !tld_ok || !(self.bare || www) {
                return None;
            }
        }
        let host_at = host_start + host_from;
        let link_end = if authority_len < rest.len() {
            // A path, query or fragment: up to the end of the token, less sentence punctuation.
            host_start + trim_trailing(rest).len()
        } else {
            host_at + host.len()
        };
        Some((
            link_start..link_end,
            &self.text[host_at..host_at + host.len()],
        ))
    }
}

impl<'a> Iterator for LinkIter<'a> {
    type Item = (Range<usize>, &'a str);

    fn next(&mut self) -> Option<Self::Item> {
        while self.pos < self.text.len() {
            let rest = &self.text[self.pos..];
            let Some(skip) = rest.find(is_link_char) else {
                self.pos = self.text.len();
                return None;
            };
            let start = self.pos + skip;
            let len = self.text[start..]
                .find(|c: char| !is_link_char(c))
                .unwrap_or(self.text.len() - start);
            let end = start + len;
            self.pos = end;
            if let Some(link) = self.link_in(start, end) {
                return Some(link);
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::{file::RulesFile, fold::Folded};

    fn links(text: &str, bare: bool) -> Vec<(String, String)> {
        let mut f = Folded::default();
        f.fold(text, false);
        LinkIter::new(&f.text, bare)
            .map(|(r, host)| (text[f.original_range(text, r)].to_owned(), host.to_owned()))
            .collect()
    }

    fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
        v.iter()
            .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
            .collect()
    }

    /// Found by fuzzing (policy_texts): an ideographic full stop before `://` made the scheme
    /// search slice inside it, and the panic failed the decision (the shim then applies its
    /// failure mode, `continue` by default).
    #[test]
    fn a_multi_byte_character_before_the_scheme_does_not_panic() {
        assert_eq!(
            links("a。b://evil.cn/x", true),
            pairs(&[("b://evil.cn/x", "evil.cn")])
        );
        assert_eq!(links("。://x", true), pairs(&[]));
        assert_eq!(
            links("go 。https://evil.cn", true),
            pairs(&[("https://evil.cn", "evil.cn")])
        );
    }

    #[test]
    fn links_with_and_without_scheme_are_found_with_their_host() {
        assert_eq!(
            links("go to https://Evil.cn/x?y=1, now", true),
            pairs(&[("https://Evil.cn/x?y=1", "evil.cn")])
        );
        assert_eq!(
            links("buy now at spam.example", true),
            pairs(&[("spam.example", "spam.example")])
        );
        assert_eq!(
            links("访问spam.com吧", true),
            pairs(&[("spam.com", "spam.com")])
        );
        assert_eq!(
            links("点击 www.evil.com。谢谢", true),
            pairs(&[("www.evil.com", "www.evil.com")])
        );
        assert_eq!(
            links("(http://u:p@host.io:8080/a).", true),
            pairs(&[("http://u:p@host.io:8080/a", "host.io")])
        );
        assert_eq!(
            links("http://10.0.0.1/x", true),
            pairs(&[("http://10.0.0.1/x", "10.0.0.1")])
        );
    }

    #[test]
    fn dodges_with_full_width_letters_and_ideographic_dots_are_links() {
        assert_eq!(
            links("ｅｖｉｌ．ｃｏｍ", true),
            pairs(&[("ｅｖｉｌ．ｃｏｍ", "evil.com")])
        );
        assert_eq!(
            links("evil。com", true),
            pairs(&[("evil。com", "evil。com")])
        );
    }

    #[test]
    fn versions_abbreviations_and_e_mail_addresses_are_not_links() {
        for text in [
            "v1.2 is out",
            "e.g. this",
            "mail a@b.com",
            "3.14",
            "...",
            "a..b",
        ] {
            assert_eq!(links(text, true), vec![], "{text}");
        }
        assert_eq!(links("see spam.com", false), vec![], "bare domains off");
        assert_eq!(links("see www.spam.com", false).len(), 1);
        assert_eq!(links("see http://spam.com", false).len(), 1);
    }

    fn rule(yaml: &str) -> Links {
        Links::new(&RulesFile::parse(yaml).unwrap().links.unwrap()).unwrap()
    }

    #[test]
    fn the_allow_list_covers_subdomains_only_on_label_boundaries() {
        let l = rule("links:\n  action: refuse\n  allowDomains: [openim.io, example.com]\n");
        let found = |text: &str| {
            let mut f = Folded::default();
            f.fold(text, false);
            let mut out = Vec::new();
            let _ = l.scan(&f.text, |r| {
                out.push(f.text[r].to_owned());
                ControlFlow::Continue(())
            });
            out
        };
        assert!(found("docs at https://docs.openim.io/x and example.com").is_empty());
        assert_eq!(
            found("notopenim.io and openim.io.evil.cn"),
            ["notopenim.io", "openim.io.evil.cn"]
        );
    }

    #[test]
    fn mask_options_are_only_for_masking() {
        let spec = RulesFile::parse("links:\n  action: refuse\n  mask: '#'\n")
            .unwrap()
            .links
            .unwrap();
        let e = Links::new(&spec).unwrap_err().to_string();
        assert!(e.contains("links.mask") && e.contains("line 2"), "{e}");
    }
}
