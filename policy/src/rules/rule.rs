//! What every rule has: a name, the refusal it gives, whether it runs in dry-run, and its
//! match counters (created when the rules are loaded, so counting costs no allocation).

use metrics::Counter;
use policy_proto::v1 as pb;

/// Where a rule is evaluated: the `stage` label of its match counter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stage {
    /// Before-send callbacks (single and group).
    BeforeSend,
    /// The msg-modify callback.
    MsgModify,
    /// The offline-push callback.
    OfflinePush,
    /// A user-written text outside messages ([`crate::engine::Engine::check_text`]).
    Text,
}

impl Stage {
    const ALL: [Self; 4] = [
        Self::BeforeSend,
        Self::MsgModify,
        Self::OfflinePush,
        Self::Text,
    ];

    pub(crate) const fn label(self) -> &'static str {
        match self {
            Self::BeforeSend => "beforeSend",
            Self::MsgModify => "beforeMsgModify",
            Self::OfflinePush => "beforeOfflinePush",
            Self::Text => "text",
        }
    }
}

/// Name of the counter of rule matches.
pub(crate) const RULE_MATCHES: &str = "openim_policy_rule_matches_total";

/// A rule's identity, refusal and counters.
pub(crate) struct Rule {
    /// Name in logs, metrics (`rule` label) and the refusal detail.
    pub(crate) name: String,
    /// Kind (`wordList`, `mute`, ...), the `kind` label.
    pub(crate) kind: &'static str,
    err_code: i32,
    err_msg: String,
    err_dlt: String,
    /// Dry-run: matches are logged and counted, and change nothing.
    pub(crate) dry_run: bool,
    /// Counters by stage, then enforced (0) / dry-run (1).
    counters: [[Counter; 2]; 4],
}

impl std::fmt::Debug for Rule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Rule")
            .field("name", &self.name)
            .field("kind", &self.kind)
            .field("dry_run", &self.dry_run)
            .finish_non_exhaustive()
    }
}

impl Rule {
    /// A rule named `name` refusing with `err_code`/`err_msg`.
    pub(crate) fn new(
        kind: &'static str,
        name: &str,
        err_code: i32,
        err_msg: &str,
        dry_run: bool,
    ) -> Self {
        let counters = Stage::ALL.map(|stage| {
            ["enforced", "dryRun"].map(|mode| {
                metrics::counter!(RULE_MATCHES,
                    "kind" => kind, "rule" => name.to_owned(),
                    "stage" => stage.label(), "mode" => mode)
            })
        });
        Self {
            name: name.to_owned(),
            kind,
            err_code,
            err_msg: err_msg.to_owned(),
            err_dlt: format!("matched rule: {name}"),
            dry_run,
            counters,
        }
    }

    /// The refusal this rule gives.
    pub(crate) fn refusal(&self) -> pb::Refusal {
        pb::Refusal {
            err_code: self.err_code,
            err_msg: self.err_msg.clone(),
            err_dlt: self.err_dlt.clone(),
        }
    }

    /// Whether a match is enforced (`false`: dry-run, by this rule or by the whole engine),
    /// without counting it.
    pub(crate) fn enforced(&self, engine_dry_run: bool) -> bool {
        !(self.dry_run || engine_dry_run)
    }

    /// Counts a match at `stage` and says whether it is enforced (`false`: dry-run, by this
    /// rule or by the whole engine). The caller logs it with the details it has.
    pub(crate) fn matched(&self, stage: Stage, engine_dry_run: bool) -> bool {
        let enforced = self.enforced(engine_dry_run);
        self.counters[stage as usize][usize::from(!enforced)].increment(1);
        enforced
    }
}
