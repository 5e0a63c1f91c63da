package com.example.policy;

import io.grpc.InsecureServerCredentials;
import io.grpc.Server;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.protobuf.services.HealthStatusManager;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.util.concurrent.TimeUnit;
import openim.policy.v1.MessageServiceGrpc;
import openim.policy.v1.PushServiceGrpc;

/** The gRPC server: the policy's services and {@code grpc.health.v1}. */
final class PolicyServer {
  /** How long a graceful stop waits for the calls in flight. */
  private static final long GRACE_SECONDS = 5;

  private final Server server;
  private final HealthStatusManager health;

  private PolicyServer(Server server, HealthStatusManager health) {
    this.server = server;
    this.health = health;
  }

  /** Starts serving {@code policy} on {@code address}. */
  static PolicyServer start(InetSocketAddress address, Policy policy) throws IOException {
    // "" (the whole server) is SERVING from the start; the policy's services too.
    HealthStatusManager health = new HealthStatusManager();
    for (String service :
        new String[] {MessageServiceGrpc.SERVICE_NAME, PushServiceGrpc.SERVICE_NAME}) {
      health.setStatus(service, ServingStatus.SERVING);
    }
    Server server =
        NettyServerBuilder.forAddress(address, InsecureServerCredentials.create())
            .addService(new MessageService(policy))
            .addService(new PushService(policy))
            // The services not added here (users, friends, groups, conversations) answer
            // UNIMPLEMENTED: the shim continues.
            .addService(health.getHealthService())
            .build()
            .start();
    return new PolicyServer(server, health);
  }

  /** Where it listens, as host:port (the real port when started on port 0). */
  String address() {
    SocketAddress address = server.getListenSockets().get(0);
    if (address instanceof InetSocketAddress inet) {
      String host = inet.getHostString();
      return (host.contains(":") ? "[" + host + "]" : host) + ":" + inet.getPort();
    }
    return address.toString();
  }

  /**
   * Stops gracefully: reports NOT_SERVING, refuses new calls and finishes the calls in flight
   * ({@value #GRACE_SECONDS} s at most, then cancels them).
   */
  void stop() {
    health.enterTerminalState();
    server.shutdown();
    try {
      if (!server.awaitTermination(GRACE_SECONDS, TimeUnit.SECONDS)) {
        server.shutdownNow();
      }
    } catch (InterruptedException e) {
      server.shutdownNow();
      Thread.currentThread().interrupt();
    }
  }

  /** Waits until the server has stopped. */
  void awaitTermination() throws InterruptedException {
    server.awaitTermination();
  }
}
