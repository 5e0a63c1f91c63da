package com.example.policy;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.logging.Logger;

/**
 * Reference openim-policy service in Java: refuses messages containing a word, masks another word
 * through msg-modify, rewrites the offline push title and counts after-send events. Every other RPC
 * of the contract answers UNIMPLEMENTED, which the shim reads as "continue".
 *
 * <pre>
 * java -jar target/policy-java.jar --listen 127.0.0.1:50051
 * </pre>
 *
 * <p>Flags can also be set by environment variables: POLICY_LISTEN, POLICY_REFUSE_WORD,
 * POLICY_MASK_WORD, POLICY_PUSH_TITLE.
 */
public final class Main {
  private Main() {}

  /** Parses the flags, serves until SIGINT/SIGTERM, then stops gracefully. */
  public static void main(String[] args) throws InterruptedException {
    // One line per record on stderr (java.util.logging's default handler), as
    // "2026-01-02 15:04:05 INFO message"; set before the first logger is made.
    if (System.getProperty("java.util.logging.SimpleFormatter.format") == null) {
      System.setProperty("java.util.logging.SimpleFormatter.format", "%1$tF %1$tT %4$s %5$s%6$s%n");
    }
    Logger log = Logger.getLogger("policy-java");

    Flags flags;
    try {
      flags = Flags.parse(args, System.getenv());
    } catch (Flags.UsageException e) {
      if (e.help) {
        System.out.print(Flags.usage());
        return;
      }
      exitUsage(e.getMessage());
      return;
    }
    InetSocketAddress address;
    Policy policy;
    try {
      address = flags.listenAddress();
      policy = new Policy(flags.refuseWord(), flags.maskWord(), flags.pushTitle());
    } catch (Flags.UsageException | IllegalArgumentException e) {
      exitUsage(e.getMessage());
      return;
    }
    PolicyServer server;
    try {
      server = PolicyServer.start(address, policy);
    } catch (IOException e) {
      log.severe("cannot listen addr=" + flags.listen() + " error=" + e);
      System.exit(1);
      return;
    }

    // Stop gracefully on SIGINT/SIGTERM: the JVM runs shutdown hooks on both.
    Runtime.getRuntime().addShutdownHook(new Thread(server::stop, "graceful-stop"));
    log.info("policy-java ready addr=" + server.address());
    server.awaitTermination();
  }

  /** Exits with status 2 (a usage error), as Go's flag package does. */
  private static void exitUsage(String message) {
    System.err.print("policy-java: " + message + "\n" + Flags.usage());
    System.exit(2);
  }
}
