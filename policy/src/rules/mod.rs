//! The default rule engine, driven by a rules file (YAML, see `examples/rules.yaml`).
//!
//! A message goes through the rules in this order, and the first enforced refusal wins:
//! mutes → rate limit (before-send only: it counts each message once) → content types →
//! content size → content the clients cannot decode → text length → word lists and links (per
//! text of the content). The texts are read as OpenIM's clients read them (`crate::content`).
//! In msg-modify, masking word lists and the link rule (with `action: mask`) then rewrite the
//! content, in a canonical form where the masked texts are the only ones a client can read; a
//! masked text is checked again like the original, so that masking cannot make a new match.
//! Notifications (content types 1000-5000) and, for the "who may speak" rules, exempt users
//! always continue. A rule in dry-run (or the whole engine) logs and counts its matches and
//! changes nothing.
//!
//! - `file`: the rules file format; `template`: push templates.
//! - `fold`: Unicode folding for matching; `words`: word lists; `links`: link policy;
//!   `mask`: masking ranges; `text`: where the text is in a message's content, and content
//!   that cannot be decoded.
//! - `mutes`, `rate`, `limits`: who may speak and what; `push`, `nicknames`: push rules.
//! - `rule`: what every rule has (name, refusal, dry-run, counters); `kinds`: code names.

pub mod file;
mod fold;
pub(crate) mod kinds;
mod limits;
mod links;
mod mask;
mod mutes;
mod nicknames;
mod push;
mod rate;
pub(crate) mod rule;
mod template;
mod text;
mod words;

use std::{
    borrow::Cow,
    cell::RefCell,
    collections::HashSet,
    ops::ControlFlow,
    path::{Path, PathBuf},
    sync::Arc,
    time::SystemTime,
};

pub use file::{AuditContent, AuditSpec, ByteSize, RulesError, RulesFile};
use policy_proto::v1 as pb;
pub use template::{Template, Var};

use self::{
    file::UndecodableAction,
    limits::{ContentTypes, Limits},
    links::{LinkAction, Links},
    mask::{MaskRef, MaskSpan, Masker},
    mutes::Mutes,
    nicknames::Nicknames,
    push::PushRules,
    rate::RateLimit,
    rule::{Rule, Stage},
    text::{Texts, Undecodable},
    words::{Action, FoldBufs, Scope, WordFilter},
};
use crate::{
    audit::{AuditLog, MessageFields, Record},
    content::GoError,
    engine::{AfterSend, Engine, TextField, TextVerdict},
    stats::{self, Outcome, Rpc},
};

/// A validated, ready-to-run rule set.
#[derive(Debug)]
pub struct RuleEngine {
    dry_run: bool,
    exempt: HashSet<String>,
    words: WordFilter,
    links: Option<Links>,
    mutes: Option<Mutes>,
    rate: Option<RateLimit>,
    types: Option<ContentTypes>,
    limits: Option<Limits>,
    undecodable: Undecodable,
    push: Option<PushRules>,
    nicknames: Arc<Nicknames>,
    audit: Option<Arc<AuditLog>>,
    /// The rules file and the files it names (word lists), for reloads.
    sources: Vec<PathBuf>,
    /// The file's `version`, if it has one.
    version: Option<String>,
}

/// Per-thread buffers of a decision, so that scanning allocates nothing once warm.
#[derive(Default)]
struct Scratch {
    bufs: FoldBufs,
    spans: Vec<MaskSpan>,
}

/// Buffers larger than this are released after use (a huge message should not pin memory).
const SCRATCH_KEEP: usize = 64 << 10;

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::default();
}

fn with_scratch<R>(f: impl FnOnce(&mut Scratch) -> R) -> R {
    SCRATCH.with(|cell| match cell.try_borrow_mut() {
        Ok(mut s) => {
            let r = f(&mut s);
            s.bufs.kept.trim(SCRATCH_KEEP);
            s.bufs.stripped.trim(SCRATCH_KEEP);
            if s.spans.capacity() > SCRATCH_KEEP {
                s.spans = Vec::new();
            }
            r
        }
        // Re-entered (not done today): use fresh buffers rather than panic.
        Err(_) => f(&mut Scratch::default()),
    })
}

/// What the rules decided about one message or text.
#[derive(Debug, Default)]
struct Decision<'e> {
    /// The enforced refusal, if any (the first).
    refusal: Option<&'e Rule>,
    /// The first dry-run match that would have refused or changed something.
    would: Option<&'e Rule>,
}

impl<'e> Decision<'e> {
    /// Notes a refusing rule's match: breaks when it is enforced.
    fn refuse(&mut self, rule: &'e Rule, enforced: bool) -> ControlFlow<()> {
        if enforced {
            self.refusal = Some(rule);
            ControlFlow::Break(())
        } else {
            self.would.get_or_insert(rule);
            ControlFlow::Continue(())
        }
    }
}

/// Who a log line is about.
#[derive(Clone, Copy)]
struct Subject<'a> {
    sender: &'a str,
    msg_id: &'a str,
}

/// How one text is scanned.
#[derive(Clone, Copy)]
struct ScanOpts<'a> {
    /// Messages or a text field.
    scope: Scope,
    stage: Stage,
    /// Collect enforced masks (msg-modify and text fields); else masking rules are skipped.
    masks: bool,
    who: Subject<'a>,
    /// A check of a text the engine masked: its matches are not counted as new ones.
    recheck: bool,
}

/// Most rounds of masking one text: a masked text is masked again only when masking made a new
/// match (a `replacement` holding a word, separators masked away between letters), and each
/// round masks more of it.
const MASK_ROUNDS: usize = 8;

impl RuleEngine {
    /// Reads and validates a rules file.
    pub fn from_path(path: &Path) -> Result<Self, RulesError> {
        Self::load(path, None)
    }

    /// Reads a rules file and builds an engine that keeps `previous`'s state (rate-limit
    /// buckets, learned nicknames, the audit writer) where the new rules allow it.
    pub(crate) fn load(path: &Path, previous: Option<&Self>) -> Result<Self, RulesError> {
        let rules = RulesFile::from_path(path)?;
        let dir = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let mut engine = Self::build(rules, dir, previous).map_err(|e| e.in_file(path))?;
        engine.sources.insert(0, path.to_owned());
        Ok(engine)
    }

    /// Builds the engine from parsed rules (files they name are relative to the working
    /// directory).
    pub fn from_rules(rules: RulesFile) -> Result<Self, RulesError> {
        Self::build(rules, Path::new("."), None)
    }

    fn build(
        rules: RulesFile,
        base_dir: &Path,
        previous: Option<&Self>,
    ) -> Result<Self, RulesError> {
        let mut sources = Vec::new();
        let words = WordFilter::new(&rules.word_lists, base_dir, &mut sources)?;
        let links = rules.links.as_ref().map(Links::new).transpose()?;
        let types = rules
            .content_types
            .as_ref()
            .map(ContentTypes::new)
            .transpose()?;
        let rate = rules
            .rate_limit
            .as_ref()
            .map(|spec| RateLimit::new(spec, previous.and_then(|p| p.rate.as_ref())))
            .transpose()?;
        let capacity = rules
            .push
            .as_ref()
            .and_then(|p| p.nickname_cache_size)
            .map_or(nicknames::DEFAULT_CAPACITY, |n| n.get() as usize);
        let nicknames = match previous {
            Some(p) if p.nicknames.capacity() == capacity => p.nicknames.clone(),
            _ => Arc::new(Nicknames::new(capacity)),
        };
        let audit = rules
            .audit
            .as_ref()
            .map(|spec| AuditLog::open(spec, base_dir, previous.and_then(|p| p.audit.as_ref())))
            .transpose()?;
        Ok(Self {
            version: rules.version.filter(|v| !v.trim().is_empty()),
            dry_run: rules.dry_run,
            exempt: rules.exempt_user_ids.into_iter().collect(),
            words,
            links,
            mutes: rules.mutes.as_ref().map(Mutes::new),
            rate,
            types,
            limits: rules.limits.as_ref().map(Limits::new),
            undecodable: Undecodable::new(rules.undecodable_content.as_ref()),
            push: rules.push.as_ref().map(PushRules::new),
            nicknames,
            audit,
            sources,
        })
    }

    /// The files the rules came from: the rules file, then the word files it names.
    pub fn sources(&self) -> &[PathBuf] {
        &self.sources
    }

    /// The rules file's `version`, if it has one.
    pub fn version(&self) -> Option<&str> {
        self.version.as_deref()
    }

    /// A one-line summary for logs.
    pub fn summary(&self) -> String {
        format!(
            "{} word lists ({} words), links: {}, mutes: {}, rate limit: {}, content types: {}, limits: {}, push: {}, audit: {}, dry-run: {}",
            self.words.list_count(),
            self.words.word_count(),
            self.links.is_some(),
            self.mutes.is_some(),
            self.rate.is_some(),
            self.types.is_some(),
            self.limits.is_some(),
            self.push.is_some(),
            self.audit.is_some(),
            self.dry_run,
        )
    }

    fn masker(&self, by: MaskRef) -> &Masker {
        const STAR: Masker = Masker::PerChar('*');
        match by {
            MaskRef::Word(n) => match &self.words.list(n).action {
                Action::Mask(m) => m,
                _ => &STAR,
            },
            MaskRef::Link => match self.links.as_ref().map(|l| &l.action) {
                Some(LinkAction::Mask(m)) => m,
                _ => &STAR,
            },
        }
    }

    /// The rule whose mask `by` is.
    fn mask_rule(&self, by: MaskRef) -> Option<&Rule> {
        match by {
            MaskRef::Word(n) => Some(&self.words.list(n).rule),
            MaskRef::Link => self.links.as_ref().map(|l| &l.rule),
        }
    }

    /// Notes a refusing rule's match at `stage`, logged with `why`.
    fn refuse_by<'e>(
        &self,
        rule: &'e Rule,
        stage: Stage,
        who: Subject<'_>,
        why: &str,
        d: &mut Decision<'e>,
    ) -> ControlFlow<()> {
        let enforced = rule.matched(stage, self.dry_run);
        tracing::info!(rule = %rule.name, kind = rule.kind, stage = stage.label(), enforced,
            sender = who.sender, msg = who.msg_id, why, "rule matched");
        d.refuse(rule, enforced)
    }

    /// Mutes, rate limit, content types and content size.
    fn who_may_speak<'e>(
        &'e self,
        m: &pb::Message,
        stage: Stage,
        who: Subject<'_>,
        d: &mut Decision<'e>,
    ) -> ControlFlow<()> {
        if let Some(mutes) = &self.mutes {
            let now = SystemTime::now();
            if mutes.user(&m.sender_user_id, now) {
                self.refuse_by(&mutes.rule, stage, who, "sender muted", d)?;
            } else if mutes.group(&m.group_id, now) {
                self.refuse_by(&mutes.rule, stage, who, "group muted", d)?;
            }
        }
        if stage == Stage::BeforeSend
            && let Some(rate) = &self.rate
            && !rate.limiter.allow(&m.sender_user_id)
        {
            self.refuse_by(&rate.rule, stage, who, "rate limit exceeded", d)?;
        }
        if let Some(types) = &self.types
            && !types.permits(m.session_type, m.content_type)
        {
            self.refuse_by(&types.rule, stage, who, "content type not allowed here", d)?;
        }
        if let Some(limits) = &self.limits
            && limits.content_too_large(&m.content)
        {
            self.refuse_by(&limits.rule, stage, who, "content too large", d)?;
        }
        ControlFlow::Continue(())
    }

    /// Word lists (and, for messages, the link rule) over one text. Refusals go to `d`;
    /// enforced masks to `scratch.spans` when `opts.masks` (msg-modify and text fields).
    fn scan_text<'e>(
        &'e self,
        text: &str,
        opts: ScanOpts<'_>,
        scratch: &mut Scratch,
        d: &mut Decision<'e>,
    ) -> ControlFlow<()> {
        let ScanOpts {
            scope,
            stage,
            masks,
            who,
            recheck,
        } = opts;
        let Scratch { bufs, spans } = scratch;
        let links = self.links.as_ref().filter(|_| scope == Scope::MESSAGES);
        let (kept, stripped) = self.words.needs();
        if kept || links.is_some() {
            bufs.kept.fold(text, false);
        }
        if stripped {
            bufs.stripped.fold(text, true);
        }
        let dry_run = self.dry_run;
        let wanted = |a: &Action| masks || !matches!(a, Action::Mask(_));
        let matched = |rule: &Rule| {
            if recheck {
                rule.enforced(dry_run)
            } else {
                rule.matched(stage, dry_run)
            }
        };
        self.words.scan(text, bufs, scope, wanted, |n, list, range| {
            let enforced = matched(&list.rule);
            tracing::info!(rule = %list.rule.name, kind = list.rule.kind, stage = stage.label(),
                enforced, recheck, sender = who.sender, msg = who.msg_id, "word matched");
            tracing::debug!(rule = %list.rule.name, word = &text[range.clone()], "matched text");
            match &list.action {
                Action::Refuse => d.refuse(&list.rule, enforced),
                Action::Mask(_) if enforced => {
                    spans.push(MaskSpan {
                        range,
                        by: MaskRef::Word(n),
                    });
                    ControlFlow::Continue(())
                }
                Action::Mask(_) => {
                    d.would.get_or_insert(&list.rule);
                    ControlFlow::Continue(())
                }
                Action::Flag => ControlFlow::Continue(()),
            }
        })?;
        if let Some(l) = links {
            let refusing = matches!(l.action, LinkAction::Refuse);
            if refusing || masks {
                let kept = &bufs.kept;
                l.scan(&kept.text, |folded| {
                    let range = kept.original_range(text, folded);
                    let enforced = matched(&l.rule);
                    tracing::info!(rule = %l.rule.name, stage = stage.label(), enforced,
                        sender = who.sender, msg = who.msg_id, link = &text[range.clone()],
                        "link outside the allow-list");
                    if refusing {
                        d.refuse(&l.rule, enforced)
                    } else {
                        if enforced {
                            spans.push(MaskSpan {
                                range,
                                by: MaskRef::Link,
                            });
                        } else {
                            d.would.get_or_insert(&l.rule);
                        }
                        ControlFlow::Continue(())
                    }
                })?;
            }
        }
        ControlFlow::Continue(())
    }

    /// `text` with the masks in `s.spans` (from scanning it with `opts`) applied, then checked
    /// again until no rule matches: the masked text is what every client shows, so it must
    /// pass the checks the original failed. `Break` when the masked text is refused (by a
    /// refusing rule, or by the masking rule when masking does not settle): the refusal is in
    /// `d`.
    fn masked<'e>(
        &'e self,
        text: &str,
        opts: ScanOpts<'_>,
        s: &mut Scratch,
        d: &mut Decision<'e>,
    ) -> ControlFlow<(), String> {
        let recheck = ScanOpts {
            recheck: true,
            ..opts
        };
        let mut current = mask::apply(text, &mut s.spans, |r| self.masker(r));
        for _ in 0..MASK_ROUNDS {
            s.spans.clear();
            let mut again = Decision::default();
            let _ = self.scan_text(&current, recheck, s, &mut again);
            if let Some(rule) = again.refusal {
                self.refuse_by(rule, opts.stage, opts.who, "the masked text", d)?;
            }
            if s.spans.is_empty() {
                return ControlFlow::Continue(current);
            }
            current = mask::apply(&current, &mut s.spans, |r| self.masker(r));
        }
        if let Some(rule) = s.spans.first().and_then(|span| self.mask_rule(span.by)) {
            self.refuse_by(rule, opts.stage, opts.who, "masking does not settle", d)?;
        }
        ControlFlow::Continue(current)
    }

    /// A message of a type with text whose content the clients cannot decode: refused, or its
    /// raw content checked as one text (`undecodableContent`).
    fn undecodable<'e>(
        &'e self,
        m: &pb::Message,
        error: GoError,
        stage: Stage,
        who: Subject<'_>,
        d: &mut Decision<'e>,
    ) -> ControlFlow<()> {
        let why = match error {
            GoError::Syntax { .. } => "content is not JSON",
            GoError::NotAnObject => "content is not a JSON object",
            GoError::FieldType { .. } => "a text of the content is not a string",
        };
        let u = &self.undecodable;
        if u.action == UndecodableAction::Refuse {
            return self.refuse_by(&u.rule, stage, who, why, d);
        }
        tracing::debug!(
            sender = who.sender,
            msg = who.msg_id,
            why,
            "checking raw content"
        );
        with_scratch(|s| {
            s.spans.clear();
            let opts = ScanOpts {
                scope: Scope::MESSAGES,
                stage,
                masks: stage == Stage::MsgModify,
                who,
                recheck: false,
            };
            self.scan_text(&m.content, opts, s, d)?;
            // Content that cannot be decoded cannot be masked: the masking rule refuses.
            match s.spans.first().and_then(|span| self.mask_rule(span.by)) {
                Some(rule) => {
                    tracing::info!(rule = %rule.name, stage = stage.label(), sender = who.sender,
                        msg = who.msg_id, "masking rule refuses content that cannot be decoded");
                    d.refuse(rule, true)
                }
                None => ControlFlow::Continue(()),
            }
        })
    }

    /// The rules over a message at `stage`: the refusal, or for msg-modify the new content.
    fn evaluate<'e>(&'e self, m: &pb::Message, stage: Stage) -> (Decision<'e>, Option<String>) {
        let mut d = Decision::default();
        if kinds::is_notification(m.content_type) {
            return (d, None);
        }
        self.nicknames.learn(&m.sender_user_id, &m.sender_nickname);
        let who = Subject {
            sender: &m.sender_user_id,
            msg_id: &m.client_msg_id,
        };
        let exempt = self.exempt.contains(m.sender_user_id.as_str());
        if !exempt && self.who_may_speak(m, stage, who, &mut d).is_break() {
            return (d, None);
        }
        let texts = Texts::of(m);
        if let Some(error) = texts.error()
            && self.undecodable(m, error, stage, who, &mut d).is_break()
        {
            return (d, None);
        }
        if !exempt
            && let Some(limits) = &self.limits
            && let Some(max) = limits.max_text_chars
            && texts.char_count() > max
            && self
                .refuse_by(&limits.rule, stage, who, "text too long", &mut d)
                .is_break()
        {
            return (d, None);
        }
        let opts = ScanOpts {
            scope: Scope::MESSAGES,
            stage,
            masks: stage == Stage::MsgModify,
            who,
            recheck: false,
        };
        let mut masked: [Option<(&str, String)>; 3] = Default::default();
        let refused = with_scratch(|s| {
            for (slot, (key, text)) in masked.iter_mut().zip(texts.iter()) {
                s.spans.clear();
                if self.scan_text(text, opts, s, &mut d).is_break() {
                    return true;
                }
                if s.spans.is_empty() {
                    continue;
                }
                match self.masked(text, opts, s, &mut d) {
                    ControlFlow::Continue(new) => *slot = Some((key, new)),
                    ControlFlow::Break(()) => return true,
                }
            }
            false
        });
        if refused || masked.iter().all(Option::is_none) {
            return (d, None);
        }
        let content = text::rewrite(m, |key, _| {
            masked
                .iter_mut()
                .flatten()
                .find(|(k, _)| *k == key)
                .map(|(_, t)| std::mem::take(t))
        });
        (d, content)
    }

    /// Counts a message decision and writes its audit line.
    fn record(
        &self,
        rpc: Rpc,
        m: &pb::Message,
        d: &Decision<'_>,
        outcome: Outcome,
        operation_id: Option<&str>,
    ) {
        stats::message(rpc, m.session_type, m.content_type, outcome);
        let Some(audit) = &self.audit else { return };
        let after_send = matches!(rpc, Rpc::AfterSendSingleMsg | Rpc::AfterSendGroupMsg);
        let (event, outcome_label, rule) = match (outcome, d.would) {
            _ if after_send => ("sent", "continue", None),
            (Outcome::Refuse, _) => ("decision", "refuse", d.refusal),
            (Outcome::Modify, _) => ("decision", "modify", None),
            (_, Some(r)) => ("decision", "dryRun", Some(r)),
            _ => return,
        };
        let content = match audit.content() {
            AuditContent::None => None,
            AuditContent::Full => Some(Cow::Borrowed(m.content.as_str())),
            AuditContent::Masked => Some(
                text::rewrite(m, |_, t| self.mask_everything(t))
                    .or_else(|| {
                        // Content the clients cannot decode: masked as raw text.
                        Texts::of(m)
                            .error()
                            .and_then(|_| self.mask_everything(&m.content))
                    })
                    .map_or(Cow::Borrowed(m.content.as_str()), Cow::Owned),
            ),
        };
        audit.write(&Record {
            time: SystemTime::now(),
            event,
            command: rpc.label(),
            outcome: outcome_label,
            rule: rule.map(|r| r.name.as_str()),
            operation_id,
            message: Some(MessageFields {
                send_id: audit.id(&m.sender_user_id),
                recv_id: audit.id(&m.receiver_user_id),
                group_id: audit.id(&m.group_id),
                session_type: m.session_type,
                content_type: m.content_type,
                client_msg_id: &m.client_msg_id,
                server_msg_id: &m.server_msg_id,
                content_bytes: m.content.len(),
                content,
            }),
            field: None,
        });
    }

    /// `text` with every word-list match (any action) masked with `*`: the audit log's
    /// `content: masked`.
    fn mask_everything(&self, text: &str) -> Option<String> {
        with_scratch(|s| {
            let (kept, stripped) = self.words.needs();
            if kept {
                s.bufs.kept.fold(text, false);
            }
            if stripped {
                s.bufs.stripped.fold(text, true);
            }
            s.spans.clear();
            let Scratch { bufs, spans } = s;
            let _ = self.words.scan(
                text,
                bufs,
                Scope::MESSAGES,
                |_| true,
                |n, _, range| {
                    spans.push(MaskSpan {
                        range,
                        by: MaskRef::Word(n),
                    });
                    ControlFlow::Continue(())
                },
            );
            (!spans.is_empty()).then(|| mask::apply(text, spans, |_| &Masker::PerChar('*')))
        })
    }

    /// Counts and audits an offline-push decision.
    fn record_push(
        &self,
        push: &pb::PushMessage,
        response: &pb::BeforeOfflinePushResponse,
        operation_id: Option<&str>,
    ) {
        let outcome = if response.refuse.is_some() {
            Outcome::Refuse
        } else if response.target_user_ids.is_some() || response.offline_push_info.is_some() {
            Outcome::Modify
        } else {
            Outcome::Continue
        };
        stats::message(
            Rpc::BeforeOfflinePush,
            push.session_type,
            push.content_type,
            outcome,
        );
        if let (Some(audit), Some(refusal)) = (&self.audit, &response.refuse) {
            audit.write(&Record {
                time: SystemTime::now(),
                event: "decision",
                command: Rpc::BeforeOfflinePush.label(),
                outcome: "refuse",
                rule: Some(refusal.err_dlt.trim_start_matches("matched rule: ")),
                operation_id,
                message: Some(MessageFields {
                    send_id: audit.id(&push.sender_user_id),
                    recv_id: Cow::Borrowed(""),
                    group_id: audit.id(&push.group_id),
                    session_type: push.session_type,
                    content_type: push.content_type,
                    client_msg_id: &push.client_msg_id,
                    server_msg_id: "",
                    content_bytes: push.content.len(),
                    content: None,
                }),
                field: None,
            });
        }
    }
}

/// OpenIM's operation ID for the audit log, if the request has one.
fn operation_id(context: &pb::CallbackContext) -> Option<&str> {
    Some(context.operation_id.as_str()).filter(|o| !o.is_empty())
}

/// The before-send RPC a message went through.
fn before_send_rpc(m: &pb::Message) -> Rpc {
    match pb::SessionType::try_from(m.session_type) {
        Ok(pb::SessionType::Group | pb::SessionType::WriteGroup) => Rpc::BeforeSendGroupMsg,
        _ => Rpc::BeforeSendSingleMsg,
    }
}

impl Engine for RuleEngine {
    fn check_message(
        &self,
        context: &pb::CallbackContext,
        message: &pb::Message,
    ) -> Option<pb::Refusal> {
        let (d, _) = self.evaluate(message, Stage::BeforeSend);
        let outcome = if d.refusal.is_some() {
            Outcome::Refuse
        } else {
            Outcome::Continue
        };
        self.record(
            before_send_rpc(message),
            message,
            &d,
            outcome,
            operation_id(context),
        );
        d.refusal.map(Rule::refusal)
    }

    fn modify_message(
        &self,
        context: &pb::CallbackContext,
        message: &pb::Message,
    ) -> pb::BeforeMsgModifyResponse {
        // Refuse here too: OpenIM may have the before-send callbacks disabled.
        let (d, content) = self.evaluate(message, Stage::MsgModify);
        let response = pb::BeforeMsgModifyResponse {
            refuse: d.refusal.map(Rule::refusal),
            content,
            ..Default::default()
        };
        let outcome = if response.refuse.is_some() {
            Outcome::Refuse
        } else if response.content.is_some() {
            Outcome::Modify
        } else {
            Outcome::Continue
        };
        self.record(
            Rpc::BeforeMsgModify,
            message,
            &d,
            outcome,
            operation_id(context),
        );
        response
    }

    fn offline_push(
        &self,
        context: &pb::CallbackContext,
        push: &pb::PushMessage,
    ) -> pb::BeforeOfflinePushResponse {
        let response = match &self.push {
            Some(rules) => rules.decide(
                push,
                self.mutes.as_ref(),
                &self.nicknames,
                self.dry_run,
                SystemTime::now(),
            ),
            None => pb::BeforeOfflinePushResponse::default(),
        };
        self.record_push(push, &response, operation_id(context));
        response
    }

    fn message_sent(&self, kind: AfterSend, context: &pb::CallbackContext, message: &pb::Message) {
        self.nicknames
            .learn(&message.sender_user_id, &message.sender_nickname);
        let rpc = match kind {
            AfterSend::Single => Rpc::AfterSendSingleMsg,
            AfterSend::Group => Rpc::AfterSendGroupMsg,
        };
        self.record(
            rpc,
            message,
            &Decision::default(),
            Outcome::Continue,
            operation_id(context),
        );
    }

    fn check_text(
        &self,
        context: &pb::CallbackContext,
        field: TextField,
        text: &str,
    ) -> TextVerdict {
        let who = Subject {
            sender: "",
            msg_id: field.name(),
        };
        let mut d = Decision::default();
        let opts = ScanOpts {
            scope: Scope::field(field),
            stage: Stage::Text,
            masks: true,
            who,
            recheck: false,
        };
        let verdict = with_scratch(|s| {
            s.spans.clear();
            let _ = self.scan_text(text, opts, s, &mut d);
            if let Some(rule) = d.refusal {
                return TextVerdict::Refuse(rule.refusal());
            }
            let Some(first) = s.spans.first() else {
                return TextVerdict::Pass;
            };
            if !field.rewritable() {
                // OpenIM would not apply a masked text: refuse with the masking list's error.
                let rule = match first.by {
                    MaskRef::Word(n) => &self.words.list(n).rule,
                    MaskRef::Link => return TextVerdict::Pass,
                };
                return TextVerdict::Refuse(rule.refusal());
            }
            match self.masked(text, opts, s, &mut d) {
                ControlFlow::Continue(new) => TextVerdict::Replace(new),
                ControlFlow::Break(()) => {
                    TextVerdict::Refuse(d.refusal.map(Rule::refusal).unwrap_or_default())
                }
            }
        });
        let outcome = match verdict {
            TextVerdict::Pass => Outcome::Continue,
            TextVerdict::Replace(_) => Outcome::Modify,
            TextVerdict::Refuse(_) => Outcome::Refuse,
        };
        stats::text(field, outcome);
        if let Some(audit) = &self.audit
            && (outcome != Outcome::Continue || d.would.is_some())
        {
            audit.write(&Record {
                time: SystemTime::now(),
                event: "text",
                command: "checkText",
                outcome: match outcome {
                    Outcome::Refuse => "refuse",
                    Outcome::Modify => "modify",
                    _ => "dryRun",
                },
                rule: d.refusal.or(d.would).map(|r| r.name.as_str()),
                operation_id: operation_id(context),
                message: None,
                field: Some(field.name()),
            });
        }
        verdict
    }

    fn shutdown(&self) {
        if let Some(audit) = &self.audit {
            audit.flush();
        }
    }

    fn maintain(&self) {
        if let Some(rate) = &self.rate {
            rate.limiter.sweep();
            metrics::gauge!("openim_policy_rate_limit_senders").set(rate.limiter.tracked() as f64);
        }
    }
}

#[cfg(test)]
mod tests;
