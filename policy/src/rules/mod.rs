//! The default rule engine, driven by a rules file (YAML, see `examples/rules.yaml`).
//!
//! - `file`: the rules file format and its validation.
//! - `words`: sensitive-word lists (mask or refuse) over message text.
//! - `text`: where the user-written text is inside a message's content JSON.

mod file;
mod text;
mod words;

use std::path::Path;

use policy_proto::v1 as pb;

pub use file::{RulesError, RulesFile};
use words::WordFilter;

use crate::engine::{AfterSend, Engine};

/// A validated, ready-to-run rule set.
#[derive(Debug)]
pub struct RuleEngine {
    words: WordFilter,
    push_title: Option<String>,
}

impl RuleEngine {
    /// Reads and validates a rules file.
    pub fn from_path(path: &Path) -> Result<Self, RulesError> {
        Self::from_rules(RulesFile::from_path(path)?)
    }

    /// Builds the engine from parsed rules.
    pub fn from_rules(rules: RulesFile) -> Result<Self, RulesError> {
        Ok(Self {
            words: WordFilter::new(&rules.word_lists)?,
            push_title: rules.push.and_then(|p| p.title),
        })
    }
}

impl Engine for RuleEngine {
    fn check_message(&self, message: &pb::Message) -> Option<pb::Refusal> {
        let text = text::of(message)?;
        self.words.refusal(&text).map(words::WordList::refusal)
    }

    fn modify_message(&self, message: &pb::Message) -> pb::BeforeMsgModifyResponse {
        let mut response = pb::BeforeMsgModifyResponse::default();
        // Also refuse here: OpenIM may have the before-send callback disabled.
        if let Some(refusal) = self.check_message(message) {
            response.refuse = Some(refusal);
            return response;
        }
        response.content = text::rewrite(message, |t| self.words.mask(t));
        response
    }

    fn offline_push(&self, push: &pb::PushMessage) -> pb::BeforeOfflinePushResponse {
        let mut response = pb::BeforeOfflinePushResponse::default();
        if let Some(title) = &self.push_title {
            // The reply replaces all push texts: start from the message's own.
            let mut info = push.offline_push_info.clone().unwrap_or_default();
            info.title.clone_from(title);
            response.offline_push_info = Some(info);
        }
        response
    }

    fn message_sent(&self, kind: AfterSend, context: &pb::CallbackContext, message: &pb::Message) {
        tracing::debug!(
            ?kind,
            operation_id = %context.operation_id,
            server_msg_id = %message.server_msg_id,
            content_type = message.content_type,
            "message sent"
        );
    }
}
