package com.example.policy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import java.util.ArrayList;
import java.util.List;
import openim.policy.v1.Common.ContentType;
import openim.policy.v1.Common.Message;
import openim.policy.v1.Message.AfterMsgSaveDBRequest;
import openim.policy.v1.Message.BeforeSendSingleMsgRequest;
import openim.policy.v1.Message.BeforeSendSingleMsgResponse;
import openim.policy.v1.Push.BeforeOnlinePushRequest;
import org.junit.jupiter.api.Test;

/** The gRPC services: what the shim gets back for each RPC. */
class ServicesTest {
  private final Policy policy = new Policy("scam", "spam.example", "New");

  /** Records what a handler answers. */
  private static final class Recorder<T> implements StreamObserver<T> {
    final List<T> replies = new ArrayList<>();
    Throwable error;
    boolean completed;

    @Override
    public void onNext(T value) {
      replies.add(value);
    }

    @Override
    public void onError(Throwable t) {
      error = t;
    }

    @Override
    public void onCompleted() {
      completed = true;
    }
  }

  @Test
  void aRefusedMessageIsAnsweredWithTheRefusal() {
    Recorder<BeforeSendSingleMsgResponse> reply = new Recorder<>();
    new MessageService(policy)
        .beforeSendSingleMsg(
            BeforeSendSingleMsgRequest.newBuilder()
                .setMessage(
                    Message.newBuilder()
                        .setContentType(ContentType.CONTENT_TYPE_TEXT)
                        .setContent("{\"content\":\"is this a scam?\"}"))
                .build(),
            reply);
    assertTrue(reply.completed);
    assertEquals(5001, reply.replies.get(0).getRefuse().getErrCode());
  }

  @Test
  void rpcsTheScenarioLeavesOutAnswerUnimplemented() {
    Recorder<Object> message = new Recorder<>();
    new MessageService(policy)
        .afterMsgSaveDB(AfterMsgSaveDBRequest.getDefaultInstance(), cast(message));
    assertEquals(Status.Code.UNIMPLEMENTED, Status.fromThrowable(message.error).getCode());

    Recorder<Object> push = new Recorder<>();
    new PushService(policy)
        .beforeOnlinePush(BeforeOnlinePushRequest.getDefaultInstance(), cast(push));
    assertEquals(Status.Code.UNIMPLEMENTED, Status.fromThrowable(push.error).getCode());
  }

  @SuppressWarnings("unchecked")
  private static <T> StreamObserver<T> cast(Recorder<Object> recorder) {
    return (StreamObserver<T>) (StreamObserver<?>) recorder;
  }
}
