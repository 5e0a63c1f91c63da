//! Rules from a file, reloaded while serving. A reload reads and validates the whole new rule
//! set (rules file and word files) off the RPC path, then swaps it in atomically (`arc-swap`):
//! a call in flight finishes with the rules it started with, the next one gets the new ones. An
//! invalid file is logged with its file, line and key, counted, and the rules in force stay.
//!
//! A reload happens on SIGHUP, and when a poll (every few seconds) sees that the rules file or
//! one of its word files changed (size or modification time; a Kubernetes ConfigMap update,
//! which swaps a symlink, is seen too).
//!
//! Until a valid rule set is loaded (only possible when started with `--wait-for-rules`) the
//! policy is not ready: health says NOT_SERVING and decisions answer UNAVAILABLE, so the shim
//! applies its failure mode rather than deciding without rules.

use std::{
    path::{Path, PathBuf},
    sync::{Arc, Mutex},
    time::{Duration, SystemTime},
};

use arc_swap::ArcSwapOption;
use policy_proto::v1 as pb;
use tokio::sync::watch;

use crate::{
    engine::{AfterSend, Engine, TextField, TextVerdict},
    rules::{RuleEngine, RulesError},
};

/// What a poll compares: each source file's size and modification time (`None`: missing).
type Fingerprint = Vec<(PathBuf, Option<(u64, SystemTime)>)>;

fn fingerprint(paths: &[PathBuf]) -> Fingerprint {
    paths
        .iter()
        .map(|p| {
            let meta = std::fs::metadata(p).ok();
            let stamp = meta.and_then(|m| Some((m.len(), m.modified().ok()?)));
            (p.clone(), stamp)
        })
        .collect()
}

/// The rule set in force, and how to replace it.
pub struct LiveRules {
    path: PathBuf,
    current: ArcSwapOption<RuleEngine>,
    ready: watch::Sender<bool>,
    seen: Mutex<Fingerprint>,
}

impl std::fmt::Debug for LiveRules {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LiveRules")
            .field("path", &self.path)
            .field("ready", &*self.ready.borrow())
            .finish_non_exhaustive()
    }
}

impl LiveRules {
    fn empty(path: &Path) -> Self {
        // 0 until a rule set loads: "no rules" is then a series an alert can see, not an
        // absence.
        metrics::gauge!("openim_policy_rules_loaded").set(0.0);
        Self {
            path: path.to_owned(),
            current: ArcSwapOption::empty(),
            ready: watch::Sender::new(false),
            seen: Mutex::new(Vec::new()),
        }
    }

    /// Loads the rules at `path`; an error if they are missing or invalid.
    pub fn load(path: &Path) -> Result<Arc<Self>, RulesError> {
        let live = Self::empty(path);
        live.reload()?;
        Ok(Arc::new(live))
    }

    /// Loads the rules at `path` if it can, else starts not ready and waits for a valid file.
    pub fn load_or_wait(path: &Path) -> Arc<Self> {
        let live = Self::empty(path);
        if let Err(e) = live.reload() {
            tracing::error!(error = %e, "no valid rules yet: not serving decisions until the rules file is fixed");
            *live.seen.lock().unwrap_or_else(|e| e.into_inner()) = fingerprint(&live.watched());
        }
        Arc::new(live)
    }

    /// Whether a valid rule set is in force.
    pub fn is_ready(&self) -> bool {
        *self.ready.borrow()
    }

    /// Follows [`Self::is_ready`].
    pub fn readiness(&self) -> watch::Receiver<bool> {
        self.ready.subscribe()
    }

    /// The files whose change triggers a reload.
    fn watched(&self) -> Vec<PathBuf> {
        match self.current.load().as_ref() {
            Some(engine) => engine.sources().to_vec(),
            None => vec![self.path.clone()],
        }
    }

    /// Reads, validates and swaps in the rules file now (blocking I/O: not on an RPC thread).
    /// On error the rules in force stay.
    pub fn reload(&self) -> Result<(), RulesError> {
        let previous = self.current.load_full();
        let result = RuleEngine::load(&self.path, previous.as_deref());
        metrics::counter!("openim_policy_rules_reloads_total",
            "result" => if result.is_ok() { "ok" } else { "error" })
        .increment(1);
        let engine = result?;
        tracing::info!(rules = %self.path.display(), summary = %engine.summary(), "rules loaded");
        let sources = engine.sources().to_vec();
        let version = engine.version().map(str::to_owned);
        self.current.store(Some(Arc::new(engine)));
        *self.seen.lock().unwrap_or_else(|e| e.into_inner()) = fingerprint(&sources);
        self.ready.send_replace(true);
        metrics::gauge!("openim_policy_rules_loaded").set(1.0);
        rules_info(version.as_deref(), &sources);
        Ok(())
    }

    /// Reloads if a watched file changed since the last look, or if `forced`.
    fn check(&self, forced: bool) {
        let now = fingerprint(&self.watched());
        let changed = {
            let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
            let changed = *seen != now;
            *seen = now;
            changed
        };
        if !(forced || changed) {
            return;
        }
        if let Err(e) = self.reload() {
            tracing::error!(error = %e, ready = self.is_ready(),
                "rules not reloaded: the rules in force stay");
        }
    }

    /// The rules file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Reloads on SIGHUP and when a poll every `every` sees a change; runs until dropped. The
    /// SIGHUP handler is installed by this call (within a Tokio runtime), before the future
    /// first runs: from then on SIGHUP no longer ends the process.
    pub fn watch(self: Arc<Self>, every: Duration) -> impl Future<Output = ()> + Send + 'static {
        let hangup = openim_common::Hangups::listen();
        self.watch_with(hangup, every)
    }

    async fn watch_with(self: Arc<Self>, mut hangup: openim_common::Hangups, every: Duration) {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tick.tick().await;
        loop {
            let forced = tokio::select! {
                _ = tick.tick() => false,
                () = hangup.next() => {
                    tracing::info!("SIGHUP: reloading the rules");
                    true
                }
            };
            let this = self.clone();
            if tokio::task::spawn_blocking(move || this.check(forced))
                .await
                .is_err()
            {
                tracing::error!("the rules reload panicked; the rules in force stay");
            }
        }
    }

    fn with<R>(&self, f: impl FnOnce(&RuleEngine) -> R, otherwise: impl FnOnce() -> R) -> R {
        match self.current.load().as_deref() {
            Some(engine) => f(engine),
            None => otherwise(),
        }
    }
}

/// Decides with the rules in force; without any (not ready), continues: the service answers
/// UNAVAILABLE before asking.
impl Engine for LiveRules {
    fn check_message(
        &self,
        context: &pb::CallbackContext,
        message: &pb::Message,
    ) -> Option<pb::Refusal> {
        self.with(|e| e.check_message(context, message), || None)
    }

    fn modify_message(
        &self,
        context: &pb::CallbackContext,
        message: &pb::Message,
    ) -> pb::BeforeMsgModifyResponse {
        self.with(|e| e.modify_message(context, message), Default::default)
    }

    fn offline_push(
        &self,
        context: &pb::CallbackContext,
        push: &pb::PushMessage,
    ) -> pb::BeforeOfflinePushResponse {
        self.with(|e| e.offline_push(context, push), Default::default)
    }

    fn message_sent(&self, kind: AfterSend, context: &pb::CallbackContext, message: &pb::Message) {
        self.with(|e| e.message_sent(kind, context, message), || ());
    }

    fn check_text(
        &self,
        context: &pb::CallbackContext,
        field: TextField,
        text: &str,
    ) -> TextVerdict {
        self.with(|e| e.check_text(context, field, text), || TextVerdict::Pass)
    }

    fn maintain(&self) {
        self.with(RuleEngine::maintain, || ());
    }

    fn shutdown(&self) {
        self.with(RuleEngine::shutdown, || ());
    }
}

/// Sets `openim_policy_rules_info{version, sha256}` to 1 for the rules now in force (0 for the
/// previous set, whose series stays) and the time of this load. `sha256`: the first 16 hex
/// digits of SHA-256 over the rules file and the word files it names, in order: two replicas
/// with the same value decide alike whatever their `version` says.
fn rules_info(version: Option<&str>, sources: &[PathBuf]) {
    static PREVIOUS: Mutex<Option<(String, String)>> = Mutex::new(None);
    let mut hash = hmac_sha256::Hash::new();
    for source in sources {
        // Unreadable now (moved since the load): hashed as empty, the version still tells.
        hash.update(std::fs::read(source).unwrap_or_default());
    }
    let digest = hash.finalize();
    let sha: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
    let version = version.unwrap_or("").to_owned();
    let mut previous = PREVIOUS.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((v, s)) = previous.take()
        && (v != version || s != sha)
    {
        metrics::gauge!("openim_policy_rules_info", "version" => v, "sha256" => s).set(0.0);
    }
    metrics::gauge!("openim_policy_rules_info",
        "version" => version.clone(), "sha256" => sha.clone())
    .set(1.0);
    *previous = Some((version, sha));
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64());
    metrics::gauge!("openim_policy_rules_last_reload_timestamp_seconds").set(now);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_dir(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("openim-policy-live-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn text(s: &str) -> pb::Message {
        pb::Message {
            content_type: pb::ContentType::Text as i32,
            content: serde_json::json!({ "content": s }).to_string(),
            ..Default::default()
        }
    }

    const REFUSE_FOO: &str = "wordLists:\n  - {name: a, action: refuse, words: [foo]}\n";
    const REFUSE_BAR: &str = "wordLists:\n  - {name: b, action: refuse, words: [bar]}\n";

    #[test]
    fn a_valid_file_replaces_the_rules_and_an_invalid_one_is_rejected() {
        let dir = temp_dir("swap");
        let path = dir.join("rules.yaml");
        std::fs::write(&path, REFUSE_FOO).unwrap();
        let live = LiveRules::load(&path).unwrap();
        assert!(live.is_ready());
        assert!(
            live.check_message(&Default::default(), &text("foo"))
                .is_some()
        );

        std::fs::write(&path, REFUSE_BAR).unwrap();
        live.reload().unwrap();
        assert!(
            live.check_message(&Default::default(), &text("foo"))
                .is_none()
        );
        assert!(
            live.check_message(&Default::default(), &text("bar"))
                .is_some()
        );

        std::fs::write(
            &path,
            "wordLists:\n  - {name: c, action: refuse, errCode: 0, words: [baz]}\n",
        )
        .unwrap();
        let e = live.reload().unwrap_err().to_string();
        assert!(
            e.contains("rules.yaml") && e.contains("line 2") && e.contains("errCode"),
            "{e}"
        );
        assert!(
            live.check_message(&Default::default(), &text("bar"))
                .is_some(),
            "the old rules stay"
        );
        assert!(live.is_ready());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_poll_reloads_when_the_rules_or_a_word_file_change() {
        let dir = temp_dir("poll");
        let path = dir.join("rules.yaml");
        std::fs::write(
            &path,
            "wordLists:\n  - {name: w, action: refuse, wordsFile: words.txt}\n",
        )
        .unwrap();
        std::fs::write(dir.join("words.txt"), "foo\n").unwrap();
        let live = LiveRules::load(&path).unwrap();
        assert!(
            live.check_message(&Default::default(), &text("foo"))
                .is_some()
        );
        live.check(false);
        // A longer file: the size differs whatever the clock's resolution.
        std::fs::write(dir.join("words.txt"), "foo\nbarbar\n").unwrap();
        live.check(false);
        assert!(
            live.check_message(&Default::default(), &text("barbar"))
                .is_some()
        );
        std::fs::write(&path, REFUSE_FOO.replace("foo", "quux")).unwrap();
        live.check(false);
        assert!(
            live.check_message(&Default::default(), &text("quux"))
                .is_some()
        );
        assert!(
            live.check_message(&Default::default(), &text("barbar"))
                .is_none()
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn without_a_valid_file_it_waits_not_ready_until_one_appears() {
        let dir = temp_dir("wait");
        let path = dir.join("rules.yaml");
        let live = LiveRules::load_or_wait(&path);
        assert!(!live.is_ready());
        let mut ready = live.readiness();
        assert!(!*ready.borrow_and_update());
        assert!(
            LiveRules::load(&path).is_err(),
            "strict loading refuses a missing file"
        );
        std::fs::write(&path, REFUSE_FOO).unwrap();
        live.check(false);
        assert!(live.is_ready());
        assert!(ready.has_changed().unwrap() && *ready.borrow());
        assert!(
            live.check_message(&Default::default(), &text("foo"))
                .is_some()
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
