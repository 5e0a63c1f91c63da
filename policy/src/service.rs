//! The gRPC services of the contract, implemented over an [`Engine`]: this is the only place
//! that deals with `tonic` requests, responses and statuses.

use std::sync::Arc;

use policy_proto::v1::{
    self as pb, message_service_server::MessageService, push_service_server::PushService,
};
use tonic::{Request, Response, Status};

use crate::engine::{AfterSend, Engine};

/// Serves every service of the contract from one engine.
#[derive(Clone)]
pub struct PolicyService {
    engine: Arc<dyn Engine>,
}

impl std::fmt::Debug for PolicyService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PolicyService").finish_non_exhaustive()
    }
}

impl PolicyService {
    /// Services deciding with `engine`.
    pub fn new(engine: Arc<dyn Engine>) -> Self {
        Self { engine }
    }
}

/// A required message field; the shim always sets them, other callers may not.
fn required<'a, T>(field: &'a Option<T>, name: &str) -> Result<&'a T, Status> {
    field
        .as_ref()
        .ok_or_else(|| Status::invalid_argument(format!("`{name}` is required")))
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

#[tonic::async_trait]
impl MessageService for PolicyService {
    async fn before_send_single_msg(
        &self,
        request: Request<pb::BeforeSendSingleMsgRequest>,
    ) -> Result<Response<pb::BeforeSendSingleMsgResponse>, Status> {
        let request = request.into_inner();
        let refuse = self
            .engine
            .check_message(required(&request.message, "message")?);
        Ok(Response::new(pb::BeforeSendSingleMsgResponse { refuse }))
    }

    async fn before_send_group_msg(
        &self,
        request: Request<pb::BeforeSendGroupMsgRequest>,
    ) -> Result<Response<pb::BeforeSendGroupMsgResponse>, Status> {
        let request = request.into_inner();
        let refuse = self
            .engine
            .check_message(required(&request.message, "message")?);
        Ok(Response::new(pb::BeforeSendGroupMsgResponse { refuse }))
    }

    async fn before_msg_modify(
        &self,
        request: Request<pb::BeforeMsgModifyRequest>,
    ) -> Result<Response<pb::BeforeMsgModifyResponse>, Status> {
        let request = request.into_inner();
        let message = required(&request.message, "message")?;
        Ok(Response::new(self.engine.modify_message(message)))
    }

    async fn after_send_single_msg(
        &self,
        request: Request<pb::AfterSendSingleMsgRequest>,
    ) -> Result<Response<pb::AfterSendSingleMsgResponse>, Status> {
        let request = request.into_inner();
        let message = required(&request.message, "message")?;
        self.engine.message_sent(
            AfterSend::Single,
            context(request.context.as_ref()),
            message,
        );
        Ok(Response::new(pb::AfterSendSingleMsgResponse {}))
    }

    async fn after_send_group_msg(
        &self,
        request: Request<pb::AfterSendGroupMsgRequest>,
    ) -> Result<Response<pb::AfterSendGroupMsgResponse>, Status> {
        let request = request.into_inner();
        let message = required(&request.message, "message")?;
        self.engine
            .message_sent(AfterSend::Group, context(request.context.as_ref()), message);
        Ok(Response::new(pb::AfterSendGroupMsgResponse {}))
    }
}

#[tonic::async_trait]
impl PushService for PolicyService {
    async fn before_offline_push(
        &self,
        request: Request<pb::BeforeOfflinePushRequest>,
    ) -> Result<Response<pb::BeforeOfflinePushResponse>, Status> {
        let request = request.into_inner();
        let push = required(&request.push, "push")?;
        Ok(Response::new(self.engine.offline_push(push)))
    }
}
