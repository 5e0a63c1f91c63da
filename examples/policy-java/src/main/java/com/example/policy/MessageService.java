package com.example.policy;

import io.grpc.stub.StreamObserver;
import java.util.Optional;
import java.util.logging.Logger;
import openim.policy.v1.Common.CallbackContext;
import openim.policy.v1.Common.Refusal;
import openim.policy.v1.Message.AfterSendGroupMsgRequest;
import openim.policy.v1.Message.AfterSendGroupMsgResponse;
import openim.policy.v1.Message.AfterSendSingleMsgRequest;
import openim.policy.v1.Message.AfterSendSingleMsgResponse;
import openim.policy.v1.Message.BeforeMsgModifyRequest;
import openim.policy.v1.Message.BeforeMsgModifyResponse;
import openim.policy.v1.Message.BeforeSendGroupMsgRequest;
import openim.policy.v1.Message.BeforeSendGroupMsgResponse;
import openim.policy.v1.Message.BeforeSendSingleMsgRequest;
import openim.policy.v1.Message.BeforeSendSingleMsgResponse;
import openim.policy.v1.MessageServiceGrpc;

/**
 * The message RPCs of the scenario. The generated base class answers UNIMPLEMENTED ("continue") for
 * every RPC not overridden here, including RPCs added to the contract later.
 */
final class MessageService extends MessageServiceGrpc.MessageServiceImplBase {
  private static final Logger LOG = Logger.getLogger("policy-java");

  private final Policy policy;

  MessageService(Policy policy) {
    this.policy = policy;
  }

  /** Refuses single-chat messages containing the refused word. */
  @Override
  public void beforeSendSingleMsg(
      BeforeSendSingleMsgRequest request, StreamObserver<BeforeSendSingleMsgResponse> reply) {
    BeforeSendSingleMsgResponse.Builder response = BeforeSendSingleMsgResponse.newBuilder();
    Optional<Refusal> refuse = policy.refusal(request.getMessage());
    if (refuse.isPresent()) {
      logRefused("BeforeSendSingleMsg", request.getContext());
      response.setRefuse(refuse.get());
    }
    Replies.send(reply, response.build());
  }

  /** Refuses group messages containing the refused word. */
  @Override
  public void beforeSendGroupMsg(
      BeforeSendGroupMsgRequest request, StreamObserver<BeforeSendGroupMsgResponse> reply) {
    BeforeSendGroupMsgResponse.Builder response = BeforeSendGroupMsgResponse.newBuilder();
    Optional<Refusal> refuse = policy.refusal(request.getMessage());
    if (refuse.isPresent()) {
      logRefused("BeforeSendGroupMsg", request.getContext());
      response.setRefuse(refuse.get());
    }
    Replies.send(reply, response.build());
  }

  /** Logs a refusal with OpenIM's operation ID, which joins OpenIM's logs and ours. */
  private static void logRefused(String rpc, CallbackContext context) {
    LOG.info("refused rpc=" + rpc + " operation_id=" + context.getOperationId());
  }

  /** Masks the masked word in text messages; an empty response leaves the message unchanged. */
  @Override
  public void beforeMsgModify(
      BeforeMsgModifyRequest request, StreamObserver<BeforeMsgModifyResponse> reply) {
    BeforeMsgModifyResponse.Builder response = BeforeMsgModifyResponse.newBuilder();
    policy
        .maskedContent(request.getMessage())
        .ifPresent(
            content -> {
              LOG.info(
                  "masked rpc=BeforeMsgModify operation_id="
                      + request.getContext().getOperationId());
              response.setContent(content);
            });
    Replies.send(reply, response.build());
  }

  /** Counts the event. */
  @Override
  public void afterSendSingleMsg(
      AfterSendSingleMsgRequest request, StreamObserver<AfterSendSingleMsgResponse> reply) {
    policy.count("AfterSendSingleMsg", request.getContext());
    Replies.send(reply, AfterSendSingleMsgResponse.getDefaultInstance());
  }

  /** Counts the event. */
  @Override
  public void afterSendGroupMsg(
      AfterSendGroupMsgRequest request, StreamObserver<AfterSendGroupMsgResponse> reply) {
    policy.count("AfterSendGroupMsg", request.getContext());
    Replies.send(reply, AfterSendGroupMsgResponse.getDefaultInstance());
  }
}
