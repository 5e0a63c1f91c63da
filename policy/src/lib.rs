//! `openim-policy`: the default policy service for OpenIM callbacks, serving the
//! `openim.policy.v1` gRPC contract with a rule engine driven by a rules file.
//!
//! # Layout
//!
//! - [`engine`]: the [`Engine`] seam, what a policy decides, free of gRPC.
//! - [`rules`]: the default rule engine and its rules file.
//! - [`service`]: the gRPC services over an engine.
//! - [`serve`]: the server with `grpc.health.v1` and server reflection (v1 and v1alpha).

pub mod engine;
pub mod rules;
pub mod service;

use std::{future::Future, path::Path, sync::Arc};

use policy_proto::v1::{
    message_service_server::MessageServiceServer, push_service_server::PushServiceServer,
};
use tokio::net::TcpListener;
use tokio_stream::wrappers::TcpListenerStream;
use tonic::transport::Server;

pub use engine::{Engine, Passthrough};
pub use rules::{RuleEngine, RulesError};
use service::PolicyService;

/// Largest request accepted (the shim accepts OpenIM bodies up to 4 MiB by default, and their
/// protobuf form is no larger).
const MAX_MESSAGE_BYTES: usize = 16 << 20;

/// A loaded policy, ready to serve.
#[derive(Clone)]
pub struct Policy {
    engine: Arc<dyn Engine>,
}

impl std::fmt::Debug for Policy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Policy").finish_non_exhaustive()
    }
}

impl Policy {
    /// The default rule engine with the rules at `path`, or, without a path, a policy that
    /// continues everything.
    pub fn load(rules: Option<&Path>) -> Result<Self, RulesError> {
        Ok(match rules {
            Some(path) => Self::new(RuleEngine::from_path(path)?),
            None => Self::new(Passthrough),
        })
    }

    /// A policy deciding with `engine`.
    pub fn new(engine: impl Engine) -> Self {
        Self {
            engine: Arc::new(engine),
        }
    }
}

/// Server reflection over the contract and the health service.
fn reflection() -> tonic_reflection::server::Builder<'static> {
    tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(policy_proto::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
}

/// Serves the policy on `listener` until `shutdown` completes, then finishes the calls in
/// flight.
pub async fn serve(
    listener: TcpListener,
    policy: Policy,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let service = PolicyService::new(policy.engine);

    let (health, health_service) = tonic_health::server::health_reporter();
    health
        .set_serving::<MessageServiceServer<PolicyService>>()
        .await;
    health
        .set_serving::<PushServiceServer<PolicyService>>()
        .await;

    // v1 for grpcurl and current clients, v1alpha for the clients (Python's among them) that
    // still ask for it.
    let reflection_v1 = reflection().build_v1().map_err(std::io::Error::other)?;
    let reflection_v1alpha = reflection()
        .build_v1alpha()
        .map_err(std::io::Error::other)?;

    Server::builder()
        .trace_fn(|req| {
            tracing::info_span!(
                "rpc",
                path = %req.uri().path(),
                operation_id = req
                    .headers()
                    .get("operationid")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or(""),
            )
        })
        .add_service(health_service)
        .add_service(reflection_v1)
        .add_service(reflection_v1alpha)
        .add_service(
            MessageServiceServer::new(service.clone()).max_decoding_message_size(MAX_MESSAGE_BYTES),
        )
        .add_service(PushServiceServer::new(service).max_decoding_message_size(MAX_MESSAGE_BYTES))
        .serve_with_incoming_shutdown(TcpListenerStream::new(listener), shutdown)
        .await
        .map_err(std::io::Error::other)
}
