//! A policy for tests that serves any RPC of the contract without knowing its types: it records
//! each call (path, metadata, encoded request) and answers with the encoded response the test
//! gave for that path, or UNIMPLEMENTED.

use std::{collections::HashMap, sync::Arc};

use bytes::Bytes;
use policy_proto::raw;
use tokio::sync::mpsc;
use tonic::{Request, Response, Status};

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
        raw::router(move |path: String, request: Request<Bytes>| {
            std::future::ready(self.answer(path, &request))
        })
    }

    fn answer(&self, path: String, request: &Request<Bytes>) -> Result<Response<Bytes>, Status> {
        let response = self.responses.get(&path).cloned();
        let md = |k: &str| {
            request
                .metadata()
                .get(k)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let unscripted = response.is_none().then(|| format!("{path} not scripted"));
        let _ = self.seen.send(RawCall {
            operation_id: md("operationid"),
            command: md("openim-command"),
            payload: request.get_ref().clone(),
            path,
        });
        match (response, unscripted) {
            (Some(bytes), _) => Ok(Response::new(bytes)),
            (None, message) => Err(Status::unimplemented(message.unwrap_or_default())),
        }
    }
}
