//! The gRPC client to the policy service: one generic unary call used by every callback, with
//! the deadline, the request metadata, and the mapping of failures to the three cases the shim
//! distinguishes (decision, "could not decide", no answer).

use std::time::Duration;

use bytes::{Buf, BufMut, Bytes};
use http::uri::PathAndQuery;
use policy_proto::{raw::RawCodec, v1 as pb};
use tonic::{
    Code, Status,
    codec::Codec,
    metadata::MetadataValue,
    transport::{Channel, Endpoint},
};
use tonic_prost::ProstCodec;

/// gRPC metadata key of OpenIM's operation ID.
pub const OPERATION_ID_KEY: &str = "operationid";
/// gRPC metadata key of the callback command as OpenIM sent it.
pub const COMMAND_KEY: &str = "openim-command";
/// gRPC metadata key of an after-event's idempotency key (also in `CallbackContext`).
pub const IDEMPOTENCY_KEY: &str = "idempotency-key";
/// gRPC metadata key of an after-event's delivery attempt, 1 for the first (also in
/// `CallbackContext`).
pub const DELIVERY_ATTEMPT_KEY: &str = "delivery-attempt";

/// Why a policy call gave no decision.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    /// The policy does not implement this RPC: it does not care, continue.
    #[error("policy does not implement this callback")]
    Unimplemented,
    /// No answer within the deadline.
    #[error("policy gave no answer within {0:?}")]
    Timeout(Duration),
    /// The policy answered with an error status ("could not decide"), or could not be reached
    /// (status UNAVAILABLE and friends, from the transport).
    #[error("policy call failed: {}: {}", .0.code(), .0.message())]
    Status(Status),
}

impl CallError {
    /// Short label for logs and metrics.
    pub fn label(&self) -> &'static str {
        match self {
            Self::Unimplemented => "unimplemented",
            Self::Timeout(_) => "timeout",
            Self::Status(s) if s.code() == Code::Unavailable => "unavailable",
            Self::Status(s) if s.code() == Code::DeadlineExceeded => "timeout",
            Self::Status(_) => "error",
        }
    }
}

impl From<Status> for CallError {
    fn from(s: Status) -> Self {
        if s.code() == Code::Unimplemented {
            Self::Unimplemented
        } else {
            Self::Status(s)
        }
    }
}

/// What a call carries besides its message.
#[derive(Debug, Clone, Copy)]
pub struct CallMeta<'a> {
    /// OpenIM's operation ID (may be empty).
    pub operation_id: &'a str,
    /// The command as OpenIM sent it.
    pub command: &'a str,
    /// Deadline of the call, also sent to the policy as the gRPC deadline.
    pub timeout: Duration,
    /// After-events: the idempotency key.
    pub idempotency_key: Option<&'a str>,
    /// After-events: the delivery attempt, 1 for the first.
    pub delivery_attempt: Option<u32>,
}

/// A cheaply cloneable client: clones share one HTTP/2 connection.
#[derive(Clone, Debug)]
pub struct PolicyClient {
    channel: Channel,
}

impl PolicyClient {
    /// A client for the policy at `url`: `http://host:port`, or `unix:/path/to.sock` for a
    /// policy next to the shim on a Unix domain socket (no TCP stack on either side). Connects
    /// lazily, so the shim starts (and answers OpenIM per its failure mode) while the policy is
    /// down.
    pub fn new(url: &str, connect_timeout: Duration) -> Result<Self, tonic::transport::Error> {
        let socket = url.strip_prefix("unix:").map(std::path::PathBuf::from);
        // With a Unix socket the URI only names the HTTP/2 authority; the connector ignores it.
        let uri = if socket.is_some() {
            "http://policy.local"
        } else {
            url
        };
        let endpoint = Endpoint::from_shared(uri.to_owned())?
            .connect_timeout(connect_timeout)
            .tcp_nodelay(true)
            // Detect a dead policy connection while idle instead of on the next user message.
            .http2_keep_alive_interval(Duration::from_secs(20))
            .keep_alive_timeout(Duration::from_secs(5))
            .keep_alive_while_idle(true);
        let channel = match socket {
            None => endpoint.connect_lazy(),
            Some(path) => endpoint.connect_with_connector_lazy(tower::service_fn(move |_| {
                let path = path.clone();
                async move {
                    let stream = tokio::net::UnixStream::connect(path).await?;
                    Ok::<_, std::io::Error>(hyper_util::rt::TokioIo::new(stream))
                }
            })),
        };
        Ok(Self { channel })
    }

    /// The underlying channel (for the health client).
    pub fn channel(&self) -> Channel {
        self.channel.clone()
    }

    /// Calls the unary RPC at `path` with a typed request and response.
    pub async fn unary<Req, Resp>(
        &self,
        path: &'static str,
        request: Req,
        meta: CallMeta<'_>,
    ) -> Result<Resp, CallError>
    where
        Req: prost::Message + Send + Sync + 'static,
        Resp: prost::Message + Default + Send + Sync + 'static,
    {
        self.call(path, request, meta, ProstCodec::<Req, Resp>::default())
            .await
    }

    /// Calls the unary RPC at `path` with an already encoded request and ignores the response
    /// body: after-events are encoded once when they arrive and may be sent several times.
    /// `meta.delivery_attempt` (1 if unset) is sent as metadata and also merged into the
    /// request's context (see [`context_fragment`]), so the payload is never re-encoded.
    pub async fn unary_encoded(
        &self,
        path: &'static str,
        payload: Bytes,
        meta: CallMeta<'_>,
    ) -> Result<(), CallError> {
        let mut attempt = Vec::with_capacity(8);
        attempt_fragment(meta.delivery_attempt.unwrap_or(1), &mut attempt);
        let message = payload.chain(Bytes::from(attempt));
        self.call(path, message, meta, RawCodec::default())
            .await
            .map(drop)
    }

    async fn call<C>(
        &self,
        path: &'static str,
        message: C::Encode,
        meta: CallMeta<'_>,
        codec: C,
    ) -> Result<C::Decode, CallError>
    where
        C: Codec + Send + 'static,
        C::Encode: Send + Sync + 'static,
        C::Decode: Send + Sync + 'static,
    {
        let mut request = tonic::Request::new(message);
        // Sends `grpc-timeout` so the policy knows its budget; the local timeout below enforces
        // it whatever the policy does.
        request.set_timeout(meta.timeout);
        let md = request.metadata_mut();
        // A value that is not valid in a header (non-ASCII) is not forwarded; it is still in the
        // request's context.
        if let Ok(v) = MetadataValue::try_from(meta.operation_id) {
            md.insert(OPERATION_ID_KEY, v);
        }
        if let Ok(v) = MetadataValue::try_from(meta.command) {
            md.insert(COMMAND_KEY, v);
        }
        if let Some(Ok(v)) = meta.idempotency_key.map(MetadataValue::try_from) {
            md.insert(IDEMPOTENCY_KEY, v);
        }
        if let Some(attempt) = meta.delivery_attempt {
            md.insert(DELIVERY_ATTEMPT_KEY, MetadataValue::from(attempt));
        }
        let mut grpc = tonic::client::Grpc::new(self.channel.clone());
        let path = PathAndQuery::from_static(path);
        let call = async move {
            grpc.ready()
                .await
                .map_err(|e| Status::unavailable(format!("policy not reachable: {e}")))?;
            grpc.unary(request, path, codec).await
        };
        match tokio::time::timeout(meta.timeout, call).await {
            Ok(Ok(response)) => Ok(response.into_inner()),
            // The deadline expired on the policy's side first: tonic servers answer CANCELLED
            // ("Timeout expired") when the `grpc-timeout` they were sent runs out, others
            // DEADLINE_EXCEEDED. Either way there was no answer in time.
            Ok(Err(status))
                if matches!(status.code(), Code::Cancelled | Code::DeadlineExceeded) =>
            {
                Err(CallError::Timeout(meta.timeout))
            }
            Ok(Err(status)) => Err(status.into()),
            Err(_) => Err(CallError::Timeout(meta.timeout)),
        }
    }
}

/// Appends to `buf` a request fragment that sets `CallbackContext` (field 1 of every request) to
/// `context`. Protobuf merges repeated occurrences of a message field, and a proto3 field at its
/// default value is not written, so appending this to an encoded request changes only the fields
/// `context` sets and keeps the rest of the request's context.
pub fn context_fragment(context: &pb::CallbackContext, buf: &mut impl BufMut) {
    prost::encoding::message::encode(1, context, buf);
}

/// The fragment that sets `CallbackContext.delivery_attempt` (see [`context_fragment`]).
fn attempt_fragment(attempt: u32, buf: &mut impl BufMut) {
    context_fragment(
        &pb::CallbackContext {
            delivery_attempt: attempt,
            ..Default::default()
        },
        buf,
    );
}

#[cfg(test)]
mod tests {
    use prost::Message as _;

    use super::*;

    /// The merge trick after-events rely on: the fragments change only what they set.
    #[test]
    fn appended_context_fragments_merge_into_the_encoded_request() {
        let request = pb::AfterSendSingleMsgRequest {
            context: Some(pb::CallbackContext {
                operation_id: "op-1".into(),
                command: "callbackAfterSendSingleMsgCommand".into(),
                ..Default::default()
            }),
            message: Some(pb::Message {
                server_msg_id: "srv-1".into(),
                ..Default::default()
            }),
        };
        let mut buf = request.encode_to_vec();
        context_fragment(
            &pb::CallbackContext {
                idempotency_key: "k".into(),
                ..Default::default()
            },
            &mut buf,
        );
        attempt_fragment(3, &mut buf);
        attempt_fragment(300, &mut buf);
        let merged = pb::AfterSendSingleMsgRequest::decode(&buf[..]).unwrap();
        assert_eq!(
            merged.context.unwrap(),
            pb::CallbackContext {
                operation_id: "op-1".into(),
                command: "callbackAfterSendSingleMsgCommand".into(),
                idempotency_key: "k".into(),
                delivery_attempt: 300,
            }
        );
        assert_eq!(merged.message, request.message);
    }
}
