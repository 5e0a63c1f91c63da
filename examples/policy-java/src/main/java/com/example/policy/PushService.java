package com.example.policy;

import io.grpc.stub.StreamObserver;
import openim.policy.v1.Push.BeforeOfflinePushRequest;
import openim.policy.v1.Push.BeforeOfflinePushResponse;
import openim.policy.v1.PushServiceGrpc;

/**
 * Rewrites the offline push title. The generated base class answers UNIMPLEMENTED ("continue") for
 * the other push RPCs.
 */
final class PushService extends PushServiceGrpc.PushServiceImplBase {
  private final Policy policy;

  PushService(Policy policy) {
    this.policy = policy;
  }

  /** Sets the push title and keeps the request's other push texts. */
  @Override
  public void beforeOfflinePush(
      BeforeOfflinePushRequest request, StreamObserver<BeforeOfflinePushResponse> reply) {
    Replies.send(
        reply,
        BeforeOfflinePushResponse.newBuilder()
            .setOfflinePushInfo(policy.pushInfo(request.getPush().getOfflinePushInfo()))
            .build());
  }
}
