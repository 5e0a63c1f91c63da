//! A recording gRPC proxy between the shim and the policy under test. It forwards every call of
//! the contract unchanged (encoded messages, metadata, deadline, status) and records how the
//! policy answered each one, so that the kit can tell "the policy decided to continue" from
//! "the policy failed and the shim continued anyway", and can see after-events, whose answer
//! OpenIM never gets.

use std::{
    convert::Infallible,
    future::Future,
    pin::Pin,
    sync::{Arc, Mutex},
    task::{Context, Poll},
    time::Duration,
};

use bytes::{Buf, BufMut, Bytes};
use http::uri::PathAndQuery;
use tokio::sync::Notify;
use tonic::{
    Code, Status,
    body::Body,
    codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder},
    server::{Grpc, NamedService, UnaryService},
    transport::{Channel, Endpoint, Server},
};

/// One call as the policy answered it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TapCall {
    /// gRPC path, e.g. `/openim.policy.v1.MessageService/BeforeSendSingleMsg`.
    pub path: String,
    /// gRPC metadata `operationid` as the shim sent it.
    pub operation_id: String,
    /// The policy's status code (`Ok` for a response).
    pub code: Code,
    /// The status message, for reports.
    pub message: String,
}

/// The proxy; clones share the record.
#[derive(Debug, Clone)]
pub struct Tap {
    upstream: Channel,
    calls: Arc<Mutex<Vec<TapCall>>>,
    recorded: Arc<Notify>,
}

impl Tap {
    /// A proxy to the policy at `policy_url` (connected lazily, so a policy that is down shows
    /// up as UNAVAILABLE calls rather than as a failure to start).
    pub fn new(policy_url: &str) -> Result<Self, tonic::transport::Error> {
        let upstream = Endpoint::from_shared(policy_url.to_owned())?
            .connect_timeout(Duration::from_secs(5))
            .connect_lazy();
        Ok(Self {
            upstream,
            calls: Arc::default(),
            recorded: Arc::default(),
        })
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

    /// The first recorded call to `path` with `operation_id`, waiting for it for at most
    /// `wait` (after-events reach the policy after OpenIM got its reply).
    pub async fn call(&self, path: &str, operation_id: &str, wait: Duration) -> Option<TapCall> {
        let find = || {
            self.calls
                .lock()
                .expect("tap record")
                .iter()
                .find(|c| c.path == path && c.operation_id == operation_id)
                .cloned()
        };
        let waiting = async {
            loop {
                // Registered before looking, so a call recorded in between still wakes us.
                let recorded = self.recorded.notified();
                if let Some(call) = find() {
                    return call;
                }
                recorded.await;
            }
        };
        tokio::time::timeout(wait, waiting).await.ok()
    }

    /// Every call recorded so far.
    pub fn calls(&self) -> Vec<TapCall> {
        self.calls.lock().expect("tap record").clone()
    }

    fn record(&self, call: TapCall) {
        self.calls.lock().expect("tap record").push(call);
        self.recorded.notify_waiters();
    }
}

/// The tap under one service name (tonic routes by service name).
#[derive(Debug, Clone)]
struct Named<const N: usize>(Tap);

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
        let forward = Forward {
            tap: self.0.clone(),
            path: request.uri().path().to_owned(),
        };
        Box::pin(async move { Ok(Grpc::new(Raw).unary(forward, request).await) })
    }
}

/// Forwards one unary call.
struct Forward {
    tap: Tap,
    path: String,
}

impl UnaryService<Bytes> for Forward {
    type Response = Bytes;
    type Future = Pin<Box<dyn Future<Output = Result<tonic::Response<Bytes>, Status>> + Send>>;

    fn call(&mut self, request: tonic::Request<Bytes>) -> Self::Future {
        let tap = self.tap.clone();
        let path = self.path.clone();
        Box::pin(async move {
            let operation_id = request
                .metadata()
                .get("operationid")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned();
            let deadline = request
                .metadata()
                .get("grpc-timeout")
                .and_then(|v| v.to_str().ok())
                .and_then(parse_grpc_timeout);
            let (metadata, _, payload) = request.into_parts();
            let mut upstream =
                tonic::Request::from_parts(metadata, tonic::Extensions::default(), payload);
            if let Some(deadline) = deadline {
                upstream.set_timeout(deadline);
            }
            let mut grpc = tonic::client::Grpc::new(tap.upstream.clone());
            let result = match PathAndQuery::try_from(path.as_str()) {
                Ok(rpc) => match grpc.ready().await {
                    Ok(()) => grpc.unary(upstream, rpc, Raw).await,
                    Err(e) => Err(Status::unavailable(format!("policy not reachable: {e}"))),
                },
                Err(e) => Err(Status::internal(format!("bad path {path}: {e}"))),
            };
            let (code, message) = match &result {
                Ok(_) => (Code::Ok, String::new()),
                Err(status) => (status.code(), status.message().to_owned()),
            };
            tap.record(TapCall {
                path,
                operation_id,
                code,
                message,
            });
            result
        })
    }
}

/// Parses a `grpc-timeout` header value: up to 8 digits and a unit (H, M, S, m, u, n).
fn parse_grpc_timeout(value: &str) -> Option<Duration> {
    let (digits, unit) = value.split_at(value.len().checked_sub(1)?);
    let amount: u64 = digits.parse().ok()?;
    Some(match unit {
        "H" => Duration::from_secs(amount * 3600),
        "M" => Duration::from_secs(amount * 60),
        "S" => Duration::from_secs(amount),
        "m" => Duration::from_millis(amount),
        "u" => Duration::from_micros(amount),
        "n" => Duration::from_nanos(amount),
        _ => return None,
    })
}

/// Passes encoded messages through both ways.
#[derive(Debug, Clone, Copy, Default)]
struct Raw;

impl Codec for Raw {
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

impl Encoder for Raw {
    type Item = Bytes;
    type Error = Status;

    fn encode(&mut self, item: Bytes, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
        dst.put(item);
        Ok(())
    }
}

impl Decoder for Raw {
    type Item = Bytes;
    type Error = Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Bytes>, Status> {
        Ok(Some(src.copy_to_bytes(src.remaining())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grpc_timeouts_in_every_unit_are_read() {
        assert_eq!(parse_grpc_timeout("1S"), Some(Duration::from_secs(1)));
        assert_eq!(parse_grpc_timeout("2M"), Some(Duration::from_secs(120)));
        assert_eq!(parse_grpc_timeout("1H"), Some(Duration::from_secs(3600)));
        assert_eq!(parse_grpc_timeout("999m"), Some(Duration::from_millis(999)));
        assert_eq!(parse_grpc_timeout("5u"), Some(Duration::from_micros(5)));
        assert_eq!(parse_grpc_timeout("7n"), Some(Duration::from_nanos(7)));
    }

    #[test]
    fn malformed_grpc_timeouts_are_ignored() {
        assert_eq!(parse_grpc_timeout(""), None);
        assert_eq!(parse_grpc_timeout("S"), None);
        assert_eq!(parse_grpc_timeout("10x"), None);
        assert_eq!(parse_grpc_timeout("-1S"), None);
    }
}
