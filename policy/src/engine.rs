//! The engine seam: what a policy decides, by OpenIM domain, free of gRPC plumbing. The gRPC
//! services (`crate::service`) call an [`Engine`]; the default rule engine (`crate::rules`) is
//! one implementation, and [`Passthrough`] (continue everything) another.
//!
//! Methods take the request's payload by reference and return the response message; every
//! method has a "continue" default, so an engine implements only what it decides on. They are
//! synchronous: a decision is CPU work on data in memory, and must be fast (it sits on the path
//! of every message).

use policy_proto::v1 as pb;

/// Which after-send callback an event came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AfterSend {
    /// `AfterSendSingleMsg`.
    Single,
    /// `AfterSendGroupMsg`.
    Group,
}

/// A policy's decisions. See the module docs.
pub trait Engine: Send + Sync + 'static {
    /// Before a single or group message is sent: refuse it, or `None` to continue.
    fn check_message(&self, _message: &pb::Message) -> Option<pb::Refusal> {
        None
    }

    /// Msg-modify: refuse, rewrite, or continue (the default response).
    fn modify_message(&self, _message: &pb::Message) -> pb::BeforeMsgModifyResponse {
        pb::BeforeMsgModifyResponse::default()
    }

    /// Before an offline push: skip it, change targets or texts, or continue.
    fn offline_push(&self, _push: &pb::PushMessage) -> pb::BeforeOfflinePushResponse {
        pb::BeforeOfflinePushResponse::default()
    }

    /// After a message was sent. Must return quickly: hand slow work (I/O) to a background task.
    fn message_sent(
        &self,
        _kind: AfterSend,
        _context: &pb::CallbackContext,
        _message: &pb::Message,
    ) {
    }
}

/// Continues everything: the engine of a policy started without rules.
#[derive(Debug, Default, Clone, Copy)]
pub struct Passthrough;

impl Engine for Passthrough {}
