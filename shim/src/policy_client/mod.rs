//! The client to the policy service: one generic unary call used by every callback, with the
//! deadline, the request metadata, and the mapping of failures to the three cases the shim
//! distinguishes (decision, "could not decide", no answer), balanced over the policy's
//! endpoints.
//!
//! - `discovery`: targets (URLs, Unix sockets) and their endpoints, host names re-resolved.
//! - `endpoint`: one endpoint's connection, health watch, load and outlier state.
//! - `pool`: balancing over a pool's endpoints, transparent retry.
//! - `grpc`: the gRPC wire format of a unary call and of a health watch.
//! - `h2conn`: HTTP/2 on the `h2` crate: handshake, keepalive, a call's stream, a reply's body.
//! - `coalesce`: the socket under h2, so that the frames of ready calls leave in one write.

mod coalesce;
mod discovery;
mod endpoint;
mod grpc;
mod h2conn;
mod pool;

use std::{
    collections::{BTreeMap, HashMap},
    sync::Arc,
    time::Duration,
};

use bytes::{BufMut, Bytes};
use policy_proto::v1 as pb;
use tokio::sync::{Notify, watch};
use tonic::{Code, Status};

use discovery::Target;
pub use discovery::{DiscoverySettings, TargetError};
pub use endpoint::EndpointSettings;
use endpoint::{ClientTls, ConnState, Health};
use pool::{Call, Pool};

pub use crate::traces::TraceParent;

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
    /// How long an endpoint's UNIMPLEMENTED answer is remembered.
    pub unimplemented_ttl: Duration,
    /// After-events: the idempotency key.
    pub idempotency_key: Option<&'a str>,
    /// After-events: the delivery attempt, 1 for the first.
    pub delivery_attempt: Option<u32>,
    /// The trace the call belongs to: each attempt is a span of it, and carries its headers.
    pub trace: &'a TraceParent,
}

/// The services of the contract, by the names `ClientSettings::services` uses.
pub const SERVICES: [&str; 6] = [
    "MessageService",
    "PushService",
    "UserService",
    "FriendService",
    "GroupService",
    "ConversationService",
];

/// Where the policy is and how to reach it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientSettings {
    /// The policy: URLs (`http://host:port`, a host name being looked up in DNS) or Unix
    /// sockets (`unix:/path`); every address found is an endpoint.
    pub targets: Vec<String>,
    /// Services served by other targets, by service name (`GroupService`, ...): teams split
    /// policy by domain.
    pub services: BTreeMap<String, Vec<String>>,
    /// Connections and ejection.
    pub endpoint: EndpointSettings,
    /// DNS lookups.
    pub discovery: DiscoverySettings,
    /// Largest reply message read from the policy.
    pub max_reply_bytes: usize,
    /// TLS for `https://` targets (required by them).
    pub tls: Option<PolicyTls>,
}

/// TLS to the policy: whom to trust, who the shim is, and the name to check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PolicyTls {
    /// The CA file, and the client certificate and key files for mutual TLS.
    pub files: openim_common::tls::ClientFiles,
    /// The name the policy's certificate must have (and SNI); `None`: the target's host.
    pub server_name: Option<String>,
    /// How often the files are looked at for changes.
    pub reload: std::time::Duration,
}

impl ClientSettings {
    /// The default settings for the policy at `target`.
    pub fn to(target: &str) -> Self {
        Self {
            targets: vec![target.to_owned()],
            ..Self::default()
        }
    }
}

impl Default for ClientSettings {
    fn default() -> Self {
        Self {
            targets: vec![crate::config::DEFAULT_POLICY.to_owned()],
            services: BTreeMap::new(),
            endpoint: EndpointSettings::default(),
            discovery: DiscoverySettings::default(),
            max_reply_bytes: 4 << 20,
            tls: None,
        }
    }
}

/// One endpoint's state, for `/readyz` and logs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointReport {
    /// `default`, or the service the endpoint's target serves.
    pub group: String,
    /// `before` (before-callbacks) or `after` (after-event deliveries).
    pub pool: &'static str,
    /// Its address.
    pub address: String,
    /// `connected`, `connecting` or `failed`.
    pub state: &'static str,
    /// `serving`, `not_serving` or `unknown` (per its `grpc.health.v1` watch).
    pub health: &'static str,
    /// Ejected after consecutive failures.
    pub ejected: bool,
    /// Calls in flight.
    pub in_flight: usize,
}

/// The pools of one set of targets.
#[derive(Debug)]
struct Group {
    name: String,
    before: Arc<Pool>,
    after: Arc<Pool>,
}

impl Group {
    fn start(
        name: String,
        targets: &[String],
        settings: &ClientSettings,
        tls: Option<&Arc<ClientTls>>,
        stop: &watch::Receiver<bool>,
    ) -> Result<Self, TargetError> {
        if targets.is_empty() {
            return Err(TargetError::Invalid {
                target: String::new(),
                reason: format!("no policy target for {name}"),
            });
        }
        // One group, one kind of link: its endpoints are interchangeable replicas.
        let https = targets.iter().filter(|t| Target::is_tls(t)).count();
        if https != 0 && https != targets.len() {
            return Err(TargetError::Invalid {
                target: targets.join(","),
                reason: "mixes https:// and plaintext targets for the same services".into(),
            });
        }
        let tls = match (https != 0, tls) {
            (true, Some(tls)) => Some(tls.clone()),
            (true, None) => {
                return Err(TargetError::Tls(format!(
                    "{} says TLS, and no TLS is configured (policy.tlsCa)",
                    targets[0]
                )));
            }
            (false, _) => None,
        };
        let targets = targets
            .iter()
            .map(|t| Target::parse(t))
            .collect::<Result<Vec<_>, _>>()?;
        let lost = Arc::new(Notify::new());
        let pool = |kind| {
            Arc::new(Pool::new(
                kind,
                settings.endpoint.clone(),
                tls.clone(),
                settings.max_reply_bytes,
                lost.clone(),
                stop.clone(),
            ))
        };
        let (before, after) = (pool("before"), pool("after"));
        let mut endpoints =
            discovery::follow(targets, &settings.discovery, lost.clone(), stop.clone())?;
        let addresses = endpoints.borrow_and_update().clone();
        before.set_addresses(&addresses);
        after.set_addresses(&addresses);
        let (b, a) = (before.clone(), after.clone());
        tokio::spawn(async move {
            while endpoints.changed().await.is_ok() {
                let addresses = endpoints.borrow_and_update().clone();
                b.set_addresses(&addresses);
                a.set_addresses(&addresses);
            }
        });
        Ok(Self {
            name,
            before,
            after,
        })
    }
}

/// The TLS client of `tls`: its files read, its server name checked.
async fn client_tls(tls: &PolicyTls) -> Result<ClientTls, TargetError> {
    const ALPN: &[&[u8]] = &[b"h2"];
    let server_name = match &tls.server_name {
        Some(name) => Some(
            rustls::pki_types::ServerName::try_from(name.clone())
                .map_err(|e| TargetError::Tls(format!("policy.tlsServerName {name:?}: {e}")))?,
        ),
        None => None,
    };
    let config = tls
        .files
        .clone()
        .watch(ALPN, tls.reload)
        .await
        .map_err(|e| TargetError::Tls(e.to_string()))?;
    Ok(ClientTls {
        config,
        server_name,
    })
}

/// The pools, and the signal that stops their tasks when the last client handle goes.
#[derive(Debug)]
struct Inner {
    default: Group,
    services: HashMap<String, Group>,
    stop: watch::Sender<bool>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.stop.send_replace(true);
    }
}

/// The client to the policy: cheap to clone, clones share the pools. Before-callbacks and
/// after-event deliveries use separate pools (connections) of the same endpoints.
#[derive(Clone, Debug)]
pub struct PolicyClient {
    inner: Arc<Inner>,
}

impl PolicyClient {
    /// A client for `settings`: fails on a target that is not a usable URL; connects in the
    /// background, so the shim starts (and answers OpenIM per its failure mode) while the
    /// policy is down. Reads the TLS files, if any (an unusable one is an error). Must be
    /// called inside the Tokio runtime.
    pub async fn new(settings: &ClientSettings) -> Result<Self, TargetError> {
        let tls = match &settings.tls {
            Some(tls) => Some(Arc::new(client_tls(tls).await?)),
            None => None,
        };
        let tls = tls.as_ref();
        let (stop, stopped) = watch::channel(false);
        let default = Group::start(
            "default".to_owned(),
            &settings.targets,
            settings,
            tls,
            &stopped,
        )?;
        let mut services = HashMap::new();
        for (service, targets) in &settings.services {
            let group = Group::start(service.clone(), targets, settings, tls, &stopped)?;
            services.insert(service.clone(), group);
        }
        Ok(Self {
            inner: Arc::new(Inner {
                default,
                services,
                stop,
            }),
        })
    }

    /// The group serving the RPC at `path` (`/openim.policy.v1.<Service>/<Method>`).
    fn group(&self, path: &str) -> &Group {
        if self.inner.services.is_empty() {
            return &self.inner.default;
        }
        let service = path
            .strip_prefix("/openim.policy.v1.")
            .and_then(|p| p.split('/').next())
            .unwrap_or_default();
        self.inner
            .services
            .get(service)
            .unwrap_or(&self.inner.default)
    }

    /// Every endpoint's state.
    pub fn endpoints(&self) -> Vec<EndpointReport> {
        let groups = std::iter::once(&self.inner.default).chain(self.inner.services.values());
        let mut reports = Vec::new();
        for group in groups {
            for pool in [&group.before, &group.after] {
                for e in pool.endpoints().iter() {
                    reports.push(EndpointReport {
                        group: group.name.clone(),
                        pool: pool.name,
                        address: e.address.to_string(),
                        state: match e.state() {
                            ConnState::Connected => "connected",
                            ConnState::Connecting => "connecting",
                            ConnState::Failed => "failed",
                        },
                        health: match e.health() {
                            Health::Serving => "serving",
                            Health::NotServing => "not_serving",
                            Health::Unknown => "unknown",
                        },
                        ejected: e.ejected(),
                        in_flight: e.in_flight(),
                    });
                }
            }
        }
        reports
    }

    /// Calls the unary RPC at `path` with a typed request and response (before-callbacks).
    pub async fn unary<Req, Resp>(
        &self,
        path: &'static str,
        request: Req,
        meta: CallMeta<'_>,
    ) -> Result<Resp, CallError>
    where
        Req: prost::Message,
        Resp: prost::Message + Default,
    {
        let body = grpc::frame(&request);
        let metadata = [
            (OPERATION_ID_KEY, meta.operation_id),
            (COMMAND_KEY, meta.command),
        ];
        let call = Call {
            path,
            body,
            metadata: &metadata,
            timeout: meta.timeout,
            unimplemented_ttl: meta.unimplemented_ttl,
            keep_reply: true,
            trace: meta.trace,
        };
        let reply = self
            .group(path)
            .before
            .call(&call)
            .await?
            .unwrap_or_default();
        Resp::decode(reply).map_err(|e| {
            CallError::Status(Status::internal(format!(
                "cannot decode the policy's reply: {e}"
            )))
        })
    }

    /// Calls the unary RPC at `path` with an already encoded request and ignores the reply's
    /// message (after-event deliveries): after-events are encoded once when they arrive and
    /// may be sent several times. `meta.delivery_attempt` (1 if unset) is sent as metadata and
    /// also merged into the request's context (see [`context_fragment`]), so the payload is
    /// never re-encoded. A reply that is too large or cannot be decoded, with status OK, is a
    /// delivery: the policy has the event.
    pub async fn unary_encoded(
        &self,
        path: &'static str,
        payload: Bytes,
        meta: CallMeta<'_>,
    ) -> Result<(), CallError> {
        let attempt = meta.delivery_attempt.unwrap_or(1);
        let mut fragment = Vec::with_capacity(8);
        attempt_fragment(attempt, &mut fragment);
        let body = grpc::frame_encoded(&[&payload, &fragment]);
        let attempt = attempt.to_string();
        let metadata = [
            (OPERATION_ID_KEY, meta.operation_id),
            (COMMAND_KEY, meta.command),
            (IDEMPOTENCY_KEY, meta.idempotency_key.unwrap_or_default()),
            (DELIVERY_ATTEMPT_KEY, attempt.as_str()),
        ];
        let call = Call {
            path,
            body,
            metadata: &metadata,
            timeout: meta.timeout,
            unimplemented_ttl: meta.unimplemented_ttl,
            keep_reply: false,
            trace: meta.trace,
        };
        self.group(path).after.call(&call).await.map(drop)
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
