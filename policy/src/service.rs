//! The gRPC services of the contract, implemented over an [`Engine`]: this is the only place
//! that deals with `tonic` requests, responses and statuses. Each decision is counted by RPC and
//! outcome (`openim_policy_decisions_total`); while the policy has no rules (see
//! [`crate::live`]) every call answers UNAVAILABLE, so the shim applies its failure mode.

mod text;

use std::sync::Arc;

use policy_proto::v1::{
    self as pb, message_service_server::MessageService, push_service_server::PushService,
};
use tokio::sync::watch;
use tonic::{Request, Response, Status};

use crate::{
    engine::{AfterSend, Engine},
    stats::{self, Outcome, Rpc},
};

/// Serves every service of the contract from one engine.
#[derive(Clone)]
pub struct PolicyService {
    engine: Arc<dyn Engine>,
    ready: Option<watch::Receiver<bool>>,
}

impl std::fmt::Debug for PolicyService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PolicyService").finish_non_exhaustive()
    }
}

impl PolicyService {
    /// Services deciding with `engine`.
    pub fn new(engine: Arc<dyn Engine>) -> Self {
        Self {
            engine,
            ready: None,
        }
    }

    /// Answers UNAVAILABLE while `ready` says false.
    pub fn with_readiness(mut self, ready: watch::Receiver<bool>) -> Self {
        self.ready = Some(ready);
        self
    }

    /// UNAVAILABLE (counted) when there are no rules to decide with.
    fn ensure_ready(&self, rpc: Rpc) -> Result<(), Status> {
        match &self.ready {
            Some(ready) if !*ready.borrow() => {
                stats::decision(rpc, Outcome::Unavailable);
                Err(Status::unavailable("no valid rules loaded"))
            }
            _ => Ok(()),
        }
    }
}

/// A required message field; the shim always sets them, other callers may not.
fn required<'a, T>(field: &'a Option<T>, name: &str, rpc: Rpc) -> Result<&'a T, Status> {
    field.as_ref().ok_or_else(|| {
        stats::decision(rpc, Outcome::Malformed);
        Status::invalid_argument(format!("`{name}` is required"))
    })
}

/// The request's context, or an empty one.
fn context(ctx: Option<&pb::CallbackContext>) -> &pb::CallbackContext {
    static EMPTY: pb::CallbackContext = pb::CallbackContext {
        operation_id: String::new(),
        command: String::new(),
        idempotency_key: String::new(),
        delivery_attempt: 0,
    };
    ctx.unwrap_or(&EMPTY)
}

/// Counts a before-send decision.
fn refusal_outcome(rpc: Rpc, refuse: Option<&pb::Refusal>) {
    let outcome = if refuse.is_some() {
        Outcome::Refuse
    } else {
        Outcome::Continue
    };
    stats::decision(rpc, outcome);
}

#[tonic::async_trait]
impl MessageService for PolicyService {
    async fn before_send_single_msg(
        &self,
        request: Request<pb::BeforeSendSingleMsgRequest>,
    ) -> Result<Response<pb::BeforeSendSingleMsgResponse>, Status> {
        let rpc = Rpc::BeforeSendSingleMsg;
        self.ensure_ready(rpc)?;
        let request = request.into_inner();
        let refuse = self.engine.check_message(
            context(request.context.as_ref()),
            required(&request.message, "message", rpc)?,
        );
        refusal_outcome(rpc, refuse.as_ref());
        Ok(Response::new(pb::BeforeSendSingleMsgResponse { refuse }))
    }

    async fn before_send_group_msg(
        &self,
        request: Request<pb::BeforeSendGroupMsgRequest>,
    ) -> Result<Response<pb::BeforeSendGroupMsgResponse>, Status> {
        let rpc = Rpc::BeforeSendGroupMsg;
        self.ensure_ready(rpc)?;
        let request = request.into_inner();
        let refuse = self.engine.check_message(
            context(request.context.as_ref()),
            required(&request.message, "message", rpc)?,
        );
        refusal_outcome(rpc, refuse.as_ref());
        Ok(Response::new(pb::BeforeSendGroupMsgResponse { refuse }))
    }

    async fn before_msg_modify(
        &self,
        request: Request<pb::BeforeMsgModifyRequest>,
    ) -> Result<Response<pb::BeforeMsgModifyResponse>, Status> {
        let rpc = Rpc::BeforeMsgModify;
        self.ensure_ready(rpc)?;
        let request = request.into_inner();
        let message = required(&request.message, "message", rpc)?;
        let response = self
            .engine
            .modify_message(context(request.context.as_ref()), message);
        let outcome = if response.refuse.is_some() {
            Outcome::Refuse
        } else if response != pb::BeforeMsgModifyResponse::default() {
            Outcome::Modify
        } else {
            Outcome::Continue
        };
        stats::decision(rpc, outcome);
        Ok(Response::new(response))
    }

    async fn after_send_single_msg(
        &self,
        request: Request<pb::AfterSendSingleMsgRequest>,
    ) -> Result<Response<pb::AfterSendSingleMsgResponse>, Status> {
        let rpc = Rpc::AfterSendSingleMsg;
        self.ensure_ready(rpc)?;
        let request = request.into_inner();
        let message = required(&request.message, "message", rpc)?;
        self.engine.message_sent(
            AfterSend::Single,
            context(request.context.as_ref()),
            message,
        );
        stats::decision(rpc, Outcome::Continue);
        Ok(Response::new(pb::AfterSendSingleMsgResponse {}))
    }

    async fn after_send_group_msg(
        &self,
        request: Request<pb::AfterSendGroupMsgRequest>,
    ) -> Result<Response<pb::AfterSendGroupMsgResponse>, Status> {
        let rpc = Rpc::AfterSendGroupMsg;
        self.ensure_ready(rpc)?;
        let request = request.into_inner();
        let message = required(&request.message, "message", rpc)?;
        self.engine
            .message_sent(AfterSend::Group, context(request.context.as_ref()), message);
        stats::decision(rpc, Outcome::Continue);
        Ok(Response::new(pb::AfterSendGroupMsgResponse {}))
    }
}

#[tonic::async_trait]
impl PushService for PolicyService {
    async fn before_offline_push(
        &self,
        request: Request<pb::BeforeOfflinePushRequest>,
    ) -> Result<Response<pb::BeforeOfflinePushResponse>, Status> {
        let rpc = Rpc::BeforeOfflinePush;
        self.ensure_ready(rpc)?;
        let request = request.into_inner();
        let push = required(&request.push, "push", rpc)?;
        let response = self
            .engine
            .offline_push(context(request.context.as_ref()), push);
        let outcome = if response.refuse.is_some() {
            Outcome::Refuse
        } else if response != pb::BeforeOfflinePushResponse::default() {
            Outcome::Modify
        } else {
            Outcome::Continue
        };
        stats::decision(rpc, outcome);
        Ok(Response::new(response))
    }
}
