//! Per-callback conversion between OpenIM's JSON and the policy contract, one module per OpenIM
//! domain. Pure code: no I/O, clock or async; tested on byte-exact OpenIM bodies.
//!
//! A before-callback implements [`Before`] (body → request, response → reply); an after-callback
//! implements [`After`] (body → request). The command table (`crate::commands`) binds each to
//! its command names; the I/O around them lives in `crate::dispatch`.

pub mod conversation;
pub mod friend;
pub mod group;
pub mod message;
pub mod push;
pub mod receipt;
#[cfg(test)]
mod testing;
pub mod user;

use bytes::Bytes;
use policy_proto::v1 as pb;
use serde::Serialize;

use crate::openim;
pub use crate::outcome::Outcome;

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

/// An OpenIM body that converts into the policy request `R`.
pub trait IntoRequest<R>: serde::de::DeserializeOwned {
    /// The request; its context carries the body's `operationID`, if the body has one.
    fn into_request(self) -> R;
}

/// An OpenIM body whose content becomes one field of several requests (e.g. a message body
/// serves every message callback).
pub trait Payload: serde::de::DeserializeOwned {
    /// The proto message the body becomes.
    type Out;
    /// The body's context (with its `operationID`, if any) and content.
    fn into_parts(self) -> (Option<pb::CallbackContext>, Self::Out);
}

/// A context carrying a body's `operationID`.
pub(crate) fn context(operation_id: String) -> Option<pb::CallbackContext> {
    Some(pb::CallbackContext {
        operation_id,
        ..Default::default()
    })
}

/// Implements [`IntoRequest`] for requests `{context, $field: payload}` built from a
/// [`Payload`] body.
macro_rules! nested_requests {
    ($body:ty => $field:ident: $($req:ident),+ $(,)?) => {$(
        impl $crate::callbacks::IntoRequest<pb::$req> for $body {
            fn into_request(self) -> pb::$req {
                let (context, payload) = $crate::callbacks::Payload::into_parts(self);
                pb::$req {
                    context,
                    $field: Some(payload),
                }
            }
        }
    )+};
}
pub(crate) use nested_requests;

/// Implements [`IntoRequest`] for flat requests whose fields are moved from the body's fields
/// (`body_field => request_field`). With `+ operation_id`, the body's `operation_id` becomes the
/// context's.
macro_rules! flat_requests {
    ($body:ident $fields:tt => $($req:ident),+ $(,)?) => {
        $($crate::callbacks::flat_requests!(@one $body $fields $req);)+
    };
    ($body:ident $fields:tt + operation_id => $($req:ident),+ $(,)?) => {
        $($crate::callbacks::flat_requests!(@one_op $body $fields $req);)+
    };
    (@one $body:ident { $($from:ident => $to:ident),* $(,)? } $req:ident) => {
        impl $crate::callbacks::IntoRequest<pb::$req> for $body {
            fn into_request(self) -> pb::$req {
                let Self { $($from,)* .. } = self;
                pb::$req {
                    context: None,
                    $($to: $from,)*
                }
            }
        }
    };
    (@one_op $body:ident { $($from:ident => $to:ident),* $(,)? } $req:ident) => {
        impl $crate::callbacks::IntoRequest<pb::$req> for $body {
            fn into_request(self) -> pb::$req {
                let Self { operation_id, $($from,)* .. } = self;
                pb::$req {
                    context: $crate::callbacks::context(operation_id),
                    $($to: $from,)*
                }
            }
        }
    };
}
pub(crate) use flat_requests;

/// Declares a before-callback that can only refuse: body `$body` becomes request `$req`.
macro_rules! refuse_only {
    ($name:ident, $path:literal, $body:ty => $req:ident, $resp:ident) => {
        #[doc = concat!("`", $path, "`: refuse or continue.")]
        pub struct $name;

        impl $crate::callbacks::Before for $name {
            const RPC: &'static str = concat!("/openim.policy.v1.", $path);
            type Request = pb::$req;
            type Response = pb::$resp;
            type Keep = ();

            fn decode(body: &[u8]) -> Result<(pb::$req, ()), $crate::callbacks::DecodeError> {
                let body: $body = $crate::callbacks::decode_body(body)?;
                Ok(($crate::callbacks::IntoRequest::into_request(body), ()))
            }

            fn encode(
                response: pb::$resp,
                (): (),
                enc: &mut $crate::callbacks::Encoder,
            ) -> $crate::callbacks::Verdict {
                enc.refuse_or_continue(response.refuse.as_ref())
            }
        }
    };
}
pub(crate) use refuse_only;

/// Declares an after-callback: body `$body` becomes request `$req`; `natural_key` names the
/// event's own ID (else a hash of the request stands in for it, see [`After::natural_key`]).
macro_rules! notification {
    ($name:ident, $path:literal, $body:ty => $req:ident $(, natural_key = $key:expr)? $(,)?) => {
        #[doc = concat!("`", $path, "`: a notification.")]
        pub struct $name;

        impl $crate::callbacks::After for $name {
            const RPC: &'static str = concat!("/openim.policy.v1.", $path);
            type Request = pb::$req;

            fn decode(body: &[u8]) -> Result<pb::$req, $crate::callbacks::DecodeError> {
                let body: $body = $crate::callbacks::decode_body(body)?;
                Ok($crate::callbacks::IntoRequest::into_request(body))
            }

            $(
                fn natural_key(request: &pb::$req) -> Option<String> {
                    ($key)(request)
                }
            )?
        }
    };
}
pub(crate) use notification;

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

    /// The reply that lets the operation continue unchanged, for when the policy does not
    /// decide (UNIMPLEMENTED, or a failure with `onError: continue`). Usually the plain continue
    /// reply; callbacks whose reply OpenIM copies back unconditionally echo the request instead.
    fn proceed(_keep: &Self::Keep) -> Verdict {
        Verdict::proceed()
    }
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

/// A reply to OpenIM, and what it does.
#[derive(Clone, Debug)]
pub struct Verdict {
    /// What the reply does, and why (e.g. a continue reply may be a policy's decision or the
    /// failure mode's).
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

    /// The same reply, labelled `outcome` (e.g. a continue made without the policy).
    #[must_use]
    pub fn because(self, outcome: Outcome) -> Self {
        Self { outcome, ..self }
    }

    /// A continue reply carrying `changes`, a struct whose unchanged fields are skipped when
    /// serialised. When every field is skipped, this is the plain continue.
    pub fn changes<C: Serialize>(changes: &C) -> Self {
        let body = openim::modify(changes);
        if body == openim::CONTINUE {
            return Self::proceed();
        }
        Self {
            outcome: Outcome::Modify,
            body,
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

    /// The refusal reply. An `err_code` outside OpenIM's positive int32 range (zero or
    /// negative) is replaced by the default and reported as a rejected change: OpenIM's RPC
    /// layer loses a code <= 0 and the client would see a generic error instead of the refusal's.
    pub fn refusal(&mut self, refusal: &pb::Refusal) -> Verdict {
        let code = if refusal.err_code <= 0 {
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
    fn a_negative_refusal_code_gets_the_default_code_and_is_reported() {
        for bad in [-1, -5001, i32::MIN] {
            let mut enc = Encoder::new(5000);
            let v = enc.refusal(&pb::Refusal {
                err_code: bad,
                err_msg: "no".into(),
                err_dlt: String::new(),
            });
            let json: serde_json::Value = serde_json::from_slice(&v.body).unwrap();
            assert_eq!(
                (json["errCode"].as_i64(), json["nextCode"].as_i64()),
                (Some(5000), Some(1))
            );
            assert_eq!(enc.rejected(), ["refuse.err_code"], "{bad}");
        }
        let mut enc = Encoder::new(5000);
        let v = enc.refusal(&pb::Refusal {
            err_code: i32::MAX,
            ..Default::default()
        });
        let json: serde_json::Value = serde_json::from_slice(&v.body).unwrap();
        assert_eq!(json["errCode"].as_i64(), Some(i64::from(i32::MAX)));
        assert!(enc.rejected().is_empty());
    }

    #[test]
    fn no_refusal_continues() {
        let v = Encoder::new(5000).refuse_or_continue(None);
        assert_eq!(v.outcome, Outcome::Continue);
        assert_eq!(&v.body[..], openim::CONTINUE);
    }
}
