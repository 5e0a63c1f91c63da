package com.example.policy;

import io.grpc.stub.StreamObserver;

/** Unary replies. */
final class Replies {
  private Replies() {}

  /** Answers a unary call with {@code response}: one message, then completion. */
  static <T> void send(StreamObserver<T> reply, T response) {
    reply.onNext(response);
    reply.onCompleted();
  }
}
