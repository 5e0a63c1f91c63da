//! The contract on raw bytes, for programs that move encoded messages without decoding them: a
//! codec that passes them through ([`RawCodec`]), and a server that serves every RPC of every
//! service of the contract through one handler, by gRPC path ([`router`]). Test policies that
//! answer scripted bytes, and recording proxies, are built on it.

use std::{convert::Infallible, future::Future, pin::Pin, task::Poll};

use bytes::{Buf, BufMut, Bytes};
use tonic::{
    Request, Response, Status,
    body::Body,
    codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder},
    codegen::http,
    server::{Grpc, NamedService, UnaryService},
    transport::Server,
};

/// The services of `openim.policy.v1`, by their full names.
pub const SERVICES: [&str; 6] = [
    "openim.policy.v1.MessageService",
    "openim.policy.v1.PushService",
    "openim.policy.v1.UserService",
    "openim.policy.v1.FriendService",
    "openim.policy.v1.GroupService",
    "openim.policy.v1.ConversationService",
];

/// Passes encoded messages through both ways. Generic over what it sends, so that a message
/// can go out in pieces (e.g. an encoded request and a fragment that amends it) without being
/// copied into one buffer first.
#[derive(Debug, Clone, Copy)]
pub struct RawCodec<B = Bytes>(std::marker::PhantomData<fn(B)>);

impl<B> Default for RawCodec<B> {
    fn default() -> Self {
        Self(std::marker::PhantomData)
    }
}

impl<B: Buf + Send + 'static> Codec for RawCodec<B> {
    type Encode = B;
    type Decode = Bytes;
    type Encoder = Self;
    type Decoder = Self;

    fn encoder(&mut self) -> Self {
        Self::default()
    }

    fn decoder(&mut self) -> Self {
        Self::default()
    }
}

impl<B: Buf> Encoder for RawCodec<B> {
    type Item = B;
    type Error = Status;

    fn encode(&mut self, item: B, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
        dst.put(item);
        Ok(())
    }
}

impl<B> Decoder for RawCodec<B> {
    type Item = Bytes;
    type Error = Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Bytes>, Status> {
        Ok(Some(src.copy_to_bytes(src.remaining())))
    }
}

/// The future of a raw unary call.
pub type RawFuture = Pin<Box<dyn Future<Output = Result<Response<Bytes>, Status>> + Send>>;

/// Answers any unary RPC of the contract: `(path, encoded request) → encoded response`, where the
/// path is e.g. `/openim.policy.v1.MessageService/BeforeSendSingleMsg`. Closures of that shape
/// are handlers.
pub trait RawHandler: Clone + Send + Sync + 'static {
    /// Answers one call.
    fn call(&self, path: String, request: Request<Bytes>) -> RawFuture;
}

impl<F, Fut> RawHandler for F
where
    F: Fn(String, Request<Bytes>) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Result<Response<Bytes>, Status>> + Send + 'static,
{
    fn call(&self, path: String, request: Request<Bytes>) -> RawFuture {
        Box::pin(self(path, request))
    }
}

/// A router serving every service of the contract through `handler`.
pub fn router<H: RawHandler>(handler: H) -> tonic::transport::server::Router {
    Server::builder()
        .add_service(Named::<0, H>(handler.clone()))
        .add_service(Named::<1, H>(handler.clone()))
        .add_service(Named::<2, H>(handler.clone()))
        .add_service(Named::<3, H>(handler.clone()))
        .add_service(Named::<4, H>(handler.clone()))
        .add_service(Named::<5, H>(handler))
}

/// The handler under service name `SERVICES[N]` (tonic routes by service name).
#[derive(Debug, Clone)]
struct Named<const N: usize, H>(H);

impl<const N: usize, H> NamedService for Named<N, H> {
    const NAME: &'static str = SERVICES[N];
}

impl<const N: usize, H: RawHandler> tonic::codegen::Service<http::Request<Body>> for Named<N, H> {
    type Response = http::Response<Body>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut std::task::Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<Body>) -> Self::Future {
        let unary = Unary {
            handler: self.0.clone(),
            path: request.uri().path().to_owned(),
        };
        Box::pin(async move {
            Ok(Grpc::new(RawCodec::<Bytes>::default())
                .unary(unary, request)
                .await)
        })
    }
}

/// One unary call, for tonic's server machinery.
struct Unary<H> {
    handler: H,
    path: String,
}

impl<H: RawHandler> UnaryService<Bytes> for Unary<H> {
    type Response = Bytes;
    type Future = RawFuture;

    fn call(&mut self, request: Request<Bytes>) -> RawFuture {
        self.handler.call(std::mem::take(&mut self.path), request)
    }
}
