//! A policy for tests that serves any RPC of the contract without knowing its types: it records
//! each call (path, metadata, encoded request) and answers with the encoded response the test
//! gave for that path, or UNIMPLEMENTED.

use std::{
    collections::HashMap,
    convert::Infallible,
    future::Future,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
};

use bytes::{Buf, BufMut, Bytes};
use tokio::sync::mpsc;
use tonic::{
    Status,
    body::Body,
    codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder},
    server::{Grpc, NamedService, UnaryService},
    transport::Server,
};

/// One call as the policy saw it.
#[derive(Debug, Clone)]
pub struct RawCall {
    /// gRPC path, e.g. `/openim.policy.v1.UserService/BeforeUserRegister`.
    pub path: String,
    /// gRPC metadata `operationid`.
    pub operation_id: Option<String>,
    /// gRPC metadata `openim-command`.
    pub command: Option<String>,
    /// The encoded request.
    pub payload: Bytes,
}

/// The raw policy: encoded responses by gRPC path.
#[derive(Debug, Clone)]
pub struct RawPolicy {
    responses: Arc<HashMap<String, Bytes>>,
    seen: mpsc::UnboundedSender<RawCall>,
}

impl RawPolicy {
    /// A policy answering `responses` (path → encoded response); calls arrive on the receiver.
    pub fn new(responses: HashMap<String, Bytes>) -> (Self, mpsc::UnboundedReceiver<RawCall>) {
        let (seen, rx) = mpsc::unbounded_channel();
        let policy = Self {
            responses: Arc::new(responses),
            seen,
        };
        (policy, rx)
    }

    /// A router serving every service of the contract.
    pub fn router(self) -> tonic::transport::server::Router {
        Server::builder()
            .add_service(Named::<0>(self.clone()))
            .add_service(Named::<1>(self.clone()))
            .add_service(Named::<2>(self.clone()))
            .add_service(Named::<3>(self.clone()))
            .add_service(Named::<4>(self.clone()))
            .add_service(Named::<5>(self))
    }
}

/// The raw policy under one service name (tonic routes by name).
#[derive(Debug, Clone)]
struct Named<const N: usize>(RawPolicy);

macro_rules! names {
    ($($n:literal => $name:literal),*) => {$(
        impl NamedService for Named<$n> {
            const NAME: &'static str = $name;
        }
    )*};
}

names!(
    0 => "openim.policy.v1.MessageService",
    1 => "openim.policy.v1.PushService",
    2 => "openim.policy.v1.UserService",
    3 => "openim.policy.v1.FriendService",
    4 => "openim.policy.v1.GroupService",
    5 => "openim.policy.v1.ConversationService"
);

impl<const N: usize> tower::Service<http::Request<Body>> for Named<N> {
    type Response = http::Response<Body>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<Body>) -> Self::Future {
        let unary = Unary {
            policy: self.0.clone(),
            path: request.uri().path().to_owned(),
        };
        Box::pin(async move { Ok(Grpc::new(RawCodec).unary(unary, request).await) })
    }
}

struct Unary {
    policy: RawPolicy,
    path: String,
}

impl UnaryService<Bytes> for Unary {
    type Response = Bytes;
    type Future = std::future::Ready<Result<tonic::Response<Bytes>, Status>>;

    fn call(&mut self, request: tonic::Request<Bytes>) -> Self::Future {
        let md = |k: &str| {
            request
                .metadata()
                .get(k)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let _ = self.policy.seen.send(RawCall {
            path: self.path.clone(),
            operation_id: md("operationid"),
            command: md("openim-command"),
            payload: request.get_ref().clone(),
        });
        std::future::ready(match self.policy.responses.get(&self.path) {
            Some(bytes) => Ok(tonic::Response::new(bytes.clone())),
            None => Err(Status::unimplemented(format!("{} not scripted", self.path))),
        })
    }
}

/// Passes encoded messages through both ways.
#[derive(Debug, Clone, Copy, Default)]
struct RawCodec;

impl Codec for RawCodec {
    type Encode = Bytes;
    type Decode = Bytes;
    type Encoder = Self;
    type Decoder = Self;

    fn encoder(&mut self) -> Self {
        Self
    }

    fn decoder(&mut self) -> Self {
        Self
    }
}

impl Encoder for RawCodec {
    type Item = Bytes;
    type Error = Status;

    fn encode(&mut self, item: Bytes, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
        dst.put(item);
        Ok(())
    }
}

impl Decoder for RawCodec {
    type Item = Bytes;
    type Error = Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Bytes>, Status> {
        Ok(Some(src.copy_to_bytes(src.remaining())))
    }
}
