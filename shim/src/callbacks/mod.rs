//! Per-callback conversion between OpenIM's JSON and the policy contract, one module per OpenIM
//! domain. Pure code: no I/O, clock or async; tested on byte-exact OpenIM bodies.
//!
//! A before-callback implements [`Before`] (body → request, response → reply); an after-callback
//! implements [`After`] (body → request). The command table (`crate::commands`) binds each to
//! its command names; the I/O around them lives in `crate::dispatch`.

pub mod message;
pub mod push;

use bytes::Bytes;
use policy_proto::v1 as pb;
use serde::Serialize;

use crate::openim;

/// A body that could not be decoded as the callback's request.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    /// Not JSON, or not of the callback's shape.
    #[error("malformed body: {0}")]
    Json(#[from] serde_json::Error),
    /// JSON, but not an object (every OpenIM body is one).
    #[error("malformed body: not a JSON object")]
    NotAnObject,
}

/// Decodes an OpenIM body (a JSON object) into `T`. serde would also build a struct from a JSON
/// array; no OpenIM body is one, so that is refused here.
pub(crate) fn decode_body<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, DecodeError> {
    if body.trim_ascii_start().first() != Some(&b'{') {
        return Err(DecodeError::NotAnObject);
    }
    Ok(serde_json::from_slice(body)?)
}

/// A policy request: every request message starts with a [`pb::CallbackContext`].
pub trait PolicyRequest: prost::Message + Send + Sync + 'static {
    /// The request's context, created empty if absent.
    fn context_mut(&mut self) -> &mut pb::CallbackContext;
}

/// Implements [`PolicyRequest`] for generated request types (all have `context` as field 1).
macro_rules! policy_requests {
    ($($ty:ident),* $(,)?) => {$(
        impl $crate::callbacks::PolicyRequest for pb::$ty {
            fn context_mut(&mut self) -> &mut pb::CallbackContext {
                self.context.get_or_insert_with(Default::default)
            }
        }
    )*};
}
pub(crate) use policy_requests;

/// A before-callback: synchronous for OpenIM, answered from the policy's response.
pub trait Before: 'static {
    /// gRPC path of the RPC, `/openim.policy.v1.<Service>/<Method>`.
    const RPC: &'static str;
    /// The RPC's request message.
    type Request: PolicyRequest;
    /// The RPC's response message.
    type Response: prost::Message + Default + Send + Sync + 'static;
    /// What the reply needs from the request besides the response (e.g. values OpenIM copies
    /// back unconditionally and that must be echoed); `()` for most callbacks.
    type Keep: Send + 'static;

    /// Decodes OpenIM's body. The request's context carries the body's `operationID`, if any.
    fn decode(body: &[u8]) -> Result<(Self::Request, Self::Keep), DecodeError>;

    /// Turns the policy's response into OpenIM's reply, dropping (through `enc`) any change
    /// that would break OpenIM.
    fn encode(response: Self::Response, keep: Self::Keep, enc: &mut Encoder) -> Verdict;
}

/// An after-callback: a notification acknowledged at once and delivered in the background.
pub trait After: 'static {
    /// gRPC path of the RPC, `/openim.policy.v1.<Service>/<Method>`.
    const RPC: &'static str;
    /// The RPC's request message.
    type Request: PolicyRequest;

    /// Decodes OpenIM's body. The request's context carries the body's `operationID`, if any.
    fn decode(body: &[u8]) -> Result<Self::Request, DecodeError>;

    /// The event's natural ID, from which (with the command and the operation ID) its
    /// idempotency key is built, e.g. the server message ID. `None` (the default): the key is
    /// built from a hash of the whole request instead, which is as stable but opaque.
    fn natural_key(request: &Self::Request) -> Option<String> {
        let _ = request;
        None
    }
}

/// What a before-callback's reply does, for logs and metrics.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Continue unchanged.
    Continue,
    /// Refuse the operation.
    Refuse,
    /// Continue with changes.
    Modify,
}

impl Outcome {
    /// Lower-case label used in logs and metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Continue => "continue",
            Self::Refuse => "refuse",
            Self::Modify => "modify",
        }
    }
}

/// A reply to OpenIM and what it does.
#[derive(Clone, Debug)]
pub struct Verdict {
    /// What the reply does.
    pub outcome: Outcome,
    /// The JSON body.
    pub body: Bytes,
}

impl Verdict {
    /// The continue reply.
    pub fn proceed() -> Self {
        Self {
            outcome: Outcome::Continue,
            body: Bytes::from_static(openim::CONTINUE),
        }
    }

    /// A continue reply with changes; `changes` is `None` when nothing changed.
    pub fn modify<C: Serialize>(changes: Option<&C>) -> Self {
        match changes {
            Some(c) => Self {
                outcome: Outcome::Modify,
                body: openim::modify(c),
            },
            None => Self::proceed(),
        }
    }
}

/// Encoding state for one reply: the refusal defaults, and the changes the mutation guard
/// rejected (logged and counted by the caller; the rest of the reply still applies).
#[derive(Debug)]
pub struct Encoder {
    default_err_code: i32,
    rejected: Vec<&'static str>,
}

impl Encoder {
    /// An encoder that gives refusals without a code `default_err_code` (must be non-zero).
    pub fn new(default_err_code: i32) -> Self {
        Self {
            default_err_code,
            rejected: Vec::new(),
        }
    }

    /// The refusal reply. A zero `err_code` is replaced by the default (OpenIM loses a zero
    /// code and the client would see a generic error).
    pub fn refusal(&mut self, refusal: &pb::Refusal) -> Verdict {
        let code = if refusal.err_code == 0 {
            self.rejected.push("refuse.err_code");
            self.default_err_code
        } else {
            refusal.err_code
        };
        Verdict {
            outcome: Outcome::Refuse,
            body: openim::refuse(code, &refusal.err_msg, &refusal.err_dlt),
        }
    }

    /// Continue, or refuse if `refuse` is set: the reply of callbacks that cannot modify.
    pub fn refuse_or_continue(&mut self, refuse: Option<&pb::Refusal>) -> Verdict {
        refuse.map_or_else(Verdict::proceed, |r| self.refusal(r))
    }

    /// Records a change the guard rejected, by its proto field name.
    pub fn reject(&mut self, field: &'static str) {
        self.rejected.push(field);
    }

    /// The rejected changes, by proto field name.
    pub fn rejected(&self) -> &[&'static str] {
        &self.rejected
    }
}

/// Skip-if predicate for change fields: absent = unchanged, so absent fields are not written.
pub(crate) fn is_none<T>(v: &Option<T>) -> bool {
    v.is_none()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refusal_without_a_code_gets_the_default_code_and_is_reported() {
        let mut enc = Encoder::new(5000);
        let v = enc.refusal(&pb::Refusal {
            err_code: 0,
            err_msg: "no".into(),
            err_dlt: String::new(),
        });
        assert_eq!(v.outcome, Outcome::Refuse);
        let json: serde_json::Value = serde_json::from_slice(&v.body).unwrap();
        assert_eq!(json["errCode"], 5000);
        assert_eq!(json["nextCode"], 1);
        assert_eq!(enc.rejected(), ["refuse.err_code"]);
    }

    #[test]
    fn no_refusal_continues() {
        let v = Encoder::new(5000).refuse_or_continue(None);
        assert_eq!(v.outcome, Outcome::Continue);
        assert_eq!(&v.body[..], openim::CONTINUE);
    }
}
