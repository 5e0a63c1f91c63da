//! A scriptable policy for tests: records every call it receives (metadata and request) on a
//! channel, and answers what the test configured, which a [`Control`] can change while it runs.

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use policy_proto::v1::{
    self as pb, message_service_server::MessageService,
    message_service_server::MessageServiceServer, push_service_server::PushService,
    push_service_server::PushServiceServer,
};
use tokio::sync::{Semaphore, mpsc};
use tonic::{Request, Response, Status, transport::Server};

/// One call as the policy saw it.
#[derive(Debug, Clone)]
pub struct Seen {
    /// Method name, e.g. `BeforeSendSingleMsg`.
    pub method: &'static str,
    /// gRPC metadata `operationid`.
    pub md_operation_id: Option<String>,
    /// gRPC metadata `openim-command`.
    pub md_command: Option<String>,
    /// gRPC metadata `idempotency-key` (after-events).
    pub md_idempotency_key: Option<String>,
    /// gRPC metadata `delivery-attempt` (after-events).
    pub md_delivery_attempt: Option<String>,
    /// The request's context.
    pub context: pb::CallbackContext,
    /// The request's message, for message callbacks.
    pub message: Option<pb::Message>,
}

/// What the scripted policy answers.
#[derive(Debug, Clone, Default)]
pub struct Script {
    /// Answer of both before-send RPCs.
    pub before_send: pb::BeforeSendSingleMsgResponse,
    /// Answer of BeforeMsgModify.
    pub modify: pb::BeforeMsgModifyResponse,
    /// If set, every RPC fails with this status instead.
    pub fail: Option<(tonic::Code, &'static str)>,
    /// If set, every RPC waits this long before answering (a slow policy); the call is recorded
    /// first.
    pub delay: Option<Duration>,
}

/// Changes a running scripted policy's answers.
#[derive(Debug, Clone, Default)]
pub struct Control(Arc<Mutex<Script>>);

impl Control {
    /// Replaces the whole script.
    pub fn set(&self, script: Script) {
        *self.0.lock().expect("script lock") = script;
    }

    /// Makes every RPC fail with `status` (or answer again, with `None`).
    pub fn fail(&self, status: Option<(tonic::Code, &'static str)>) {
        self.0.lock().expect("script lock").fail = status;
    }

    /// Makes every RPC wait `delay` before answering (or answer at once, with `None`).
    pub fn delay(&self, delay: Option<Duration>) {
        self.0.lock().expect("script lock").delay = delay;
    }

    fn get(&self) -> Script {
        self.0.lock().expect("script lock").clone()
    }
}

/// A running scripted policy.
#[derive(Debug)]
pub struct Spawned {
    /// The server.
    pub server: crate::Running,
    /// Calls it received.
    pub seen: mpsc::UnboundedReceiver<Seen>,
    /// Permits for held after-events.
    pub gate: Arc<Semaphore>,
}

/// The scripted policy.
#[derive(Debug, Clone)]
pub struct ScriptedPolicy {
    script: Control,
    seen: mpsc::UnboundedSender<Seen>,
    /// After-events wait for a permit: tests hold them back to show the shim does not wait.
    after_gate: Arc<Semaphore>,
}

impl ScriptedPolicy {
    /// A policy answering per `script`; calls arrive on the returned receiver. After-events are
    /// answered at once unless `hold_after_events` (then each waits for a permit added with
    /// the returned semaphore).
    pub fn new(
        script: Script,
        hold_after_events: bool,
    ) -> (Self, mpsc::UnboundedReceiver<Seen>, Arc<Semaphore>) {
        let (seen, rx) = mpsc::unbounded_channel();
        let permits = if hold_after_events {
            0
        } else {
            Semaphore::MAX_PERMITS
        };
        let after_gate = Arc::new(Semaphore::new(permits));
        (
            Self {
                script: Control(Arc::new(Mutex::new(script))),
                seen,
                after_gate: after_gate.clone(),
            },
            rx,
            after_gate,
        )
    }

    /// The handle that changes this policy's answers while it runs (shared by its clones).
    pub fn control(&self) -> Control {
        self.script.clone()
    }

    /// Starts a scripted policy on loopback; see [`ScriptedPolicy::new`].
    pub async fn spawn(script: Script, hold_after_events: bool) -> Spawned {
        let (policy, seen, gate) = Self::new(script, hold_after_events);
        Spawned {
            server: crate::spawn_grpc(policy.router()).await,
            seen,
            gate,
        }
    }

    /// A gRPC router serving it.
    pub fn router(self) -> tonic::transport::server::Router {
        Server::builder()
            .add_service(MessageServiceServer::new(self.clone()))
            .add_service(PushServiceServer::new(self))
    }

    fn record<T>(
        &self,
        method: &'static str,
        request: &Request<T>,
        context: Option<&pb::CallbackContext>,
        message: Option<&pb::Message>,
    ) -> Result<(), Status> {
        let md = |k: &str| {
            request
                .metadata()
                .get(k)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let _ = self.seen.send(Seen {
            method,
            md_operation_id: md("operationid"),
            md_command: md("openim-command"),
            md_idempotency_key: md("idempotency-key"),
            md_delivery_attempt: md("delivery-attempt"),
            context: context.cloned().unwrap_or_default(),
            message: message.cloned(),
        });
        match self.script.get().fail {
            Some((code, msg)) => Err(Status::new(code, msg)),
            None => Ok(()),
        }
    }

    /// Waits as long as the script says (after the call is recorded, so a test knows the call
    /// is in flight).
    async fn delay(&self) {
        if let Some(d) = self.script.get().delay {
            tokio::time::sleep(d).await;
        }
    }

    async fn after_gate(&self) {
        let permit = self.after_gate.acquire().await.expect("gate open");
        permit.forget();
    }
}

#[tonic::async_trait]
impl MessageService for ScriptedPolicy {
    async fn before_send_single_msg(
        &self,
        request: Request<pb::BeforeSendSingleMsgRequest>,
    ) -> Result<Response<pb::BeforeSendSingleMsgResponse>, Status> {
        let r = request.get_ref();
        self.record(
            "BeforeSendSingleMsg",
            &request,
            r.context.as_ref(),
            r.message.as_ref(),
        )?;
        self.delay().await;
        Ok(Response::new(self.script.get().before_send))
    }

    async fn before_send_group_msg(
        &self,
        request: Request<pb::BeforeSendGroupMsgRequest>,
    ) -> Result<Response<pb::BeforeSendGroupMsgResponse>, Status> {
        let r = request.get_ref();
        self.record(
            "BeforeSendGroupMsg",
            &request,
            r.context.as_ref(),
            r.message.as_ref(),
        )?;
        self.delay().await;
        Ok(Response::new(pb::BeforeSendGroupMsgResponse {
            refuse: self.script.get().before_send.refuse,
        }))
    }

    async fn before_msg_modify(
        &self,
        request: Request<pb::BeforeMsgModifyRequest>,
    ) -> Result<Response<pb::BeforeMsgModifyResponse>, Status> {
        let r = request.get_ref();
        self.record(
            "BeforeMsgModify",
            &request,
            r.context.as_ref(),
            r.message.as_ref(),
        )?;
        self.delay().await;
        Ok(Response::new(self.script.get().modify))
    }

    async fn after_send_single_msg(
        &self,
        request: Request<pb::AfterSendSingleMsgRequest>,
    ) -> Result<Response<pb::AfterSendSingleMsgResponse>, Status> {
        let r = request.get_ref();
        self.record(
            "AfterSendSingleMsg",
            &request,
            r.context.as_ref(),
            r.message.as_ref(),
        )?;
        self.delay().await;
        self.after_gate().await;
        Ok(Response::new(pb::AfterSendSingleMsgResponse {}))
    }

    async fn after_send_group_msg(
        &self,
        request: Request<pb::AfterSendGroupMsgRequest>,
    ) -> Result<Response<pb::AfterSendGroupMsgResponse>, Status> {
        let r = request.get_ref();
        self.record(
            "AfterSendGroupMsg",
            &request,
            r.context.as_ref(),
            r.message.as_ref(),
        )?;
        self.delay().await;
        self.after_gate().await;
        Ok(Response::new(pb::AfterSendGroupMsgResponse {}))
    }
}

#[tonic::async_trait]
impl PushService for ScriptedPolicy {
    async fn before_offline_push(
        &self,
        request: Request<pb::BeforeOfflinePushRequest>,
    ) -> Result<Response<pb::BeforeOfflinePushResponse>, Status> {
        let r = request.get_ref();
        self.record("BeforeOfflinePush", &request, r.context.as_ref(), None)?;
        self.delay().await;
        Ok(Response::new(pb::BeforeOfflinePushResponse::default()))
    }
}
