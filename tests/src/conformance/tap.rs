//! A recording gRPC proxy between the shim and the policy under test. It forwards every call of
//! the contract unchanged (encoded messages, metadata, deadline, status) and records how the
//! policy answered each one, so that the kit can tell "the policy decided to continue" from
//! "the policy failed and the shim continued anyway", and can see after-events, whose answer
//! OpenIM never gets.

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use bytes::Bytes;
use http::uri::PathAndQuery;
use policy_proto::raw::{self, RawCodec};
use tokio::sync::Notify;
use tonic::{
    Code, Request, Response, Status,
    transport::{Channel, Endpoint},
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
        raw::router(move |path, request| self.clone().forward(path, request))
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

impl Tap {
    /// Forwards one unary call to the policy and records its answer.
    async fn forward(
        self,
        path: String,
        request: Request<Bytes>,
    ) -> Result<Response<Bytes>, Status> {
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
        let mut upstream = Request::from_parts(metadata, tonic::Extensions::default(), payload);
        if let Some(deadline) = deadline {
            upstream.set_timeout(deadline);
        }
        let mut grpc = tonic::client::Grpc::new(self.upstream.clone());
        let result = match PathAndQuery::try_from(path.as_str()) {
            Ok(rpc) => match grpc.ready().await {
                Ok(()) => {
                    grpc.unary(upstream, rpc, RawCodec::<Bytes>::default())
                        .await
                }
                Err(e) => Err(Status::unavailable(format!("policy not reachable: {e}"))),
            },
            Err(e) => Err(Status::internal(format!("bad path {path}: {e}"))),
        };
        let (code, message) = match &result {
            Ok(_) => (Code::Ok, String::new()),
            Err(status) => (status.code(), status.message().to_owned()),
        };
        self.record(TapCall {
            path,
            operation_id,
            code,
            message,
        });
        result
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
