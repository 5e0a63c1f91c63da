package com.example.policy;

import java.net.InetSocketAddress;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The command line: {@code --listen}, {@code --refuse-word}, {@code --mask-word}, {@code
 * --push-title}, each defaulting to its environment variable ({@code POLICY_LISTEN}, ...), then to
 * the reference scenario's value. A flag is written {@code --name value} or {@code --name=value}
 * (one dash works too, as in Go).
 */
record Flags(String listen, String refuseWord, String maskWord, String pushTitle) {
  /** Flag name, environment variable, default and help of each flag, in usage order. */
  private static final String[][] FLAGS = {
    {"listen", "POLICY_LISTEN", "127.0.0.1:50051", "address to serve gRPC on (host:port)"},
    {"refuse-word", "POLICY_REFUSE_WORD", "scam", "refuse messages containing this word"},
    {"mask-word", "POLICY_MASK_WORD", "spam.example", "mask this word in messages (msg-modify)"},
    {"push-title", "POLICY_PUSH_TITLE", "New message", "title of offline pushes"},
  };

  /** A command line that cannot be used (the message says why), or a request for help. */
  static final class UsageException extends Exception {
    private static final long serialVersionUID = 1L;

    /** {@code -h} or {@code --help}: not an error. */
    final boolean help;

    UsageException(String message) {
      this(message, false);
    }

    private UsageException(String message, boolean help) {
      super(message);
      this.help = help;
    }
  }

  /** Parses {@code args}, with defaults from {@code env}. */
  static Flags parse(String[] args, Map<String, String> env) throws UsageException {
    Map<String, String> values = new LinkedHashMap<>();
    for (String[] flag : FLAGS) {
      values.put(flag[0], env.getOrDefault(flag[1], flag[2]));
    }
    for (int i = 0; i < args.length; i++) {
      String arg = args[i];
      if (!arg.startsWith("-") || arg.equals("-") || arg.equals("--")) {
        throw new UsageException("unexpected argument: " + arg);
      }
      String name = arg.substring(arg.startsWith("--") ? 2 : 1);
      if (name.equals("h") || name.equals("help")) {
        throw new UsageException("help requested", true);
      }
      String value = null;
      int eq = name.indexOf('=');
      if (eq >= 0) {
        value = name.substring(eq + 1);
        name = name.substring(0, eq);
      }
      if (!values.containsKey(name)) {
        throw new UsageException("unknown flag: -" + name);
      }
      if (value == null) {
        if (i + 1 == args.length) {
          throw new UsageException("flag needs a value: -" + name);
        }
        value = args[++i];
      }
      values.put(name, value);
    }
    return new Flags(
        values.get("listen"),
        values.get("refuse-word"),
        values.get("mask-word"),
        values.get("push-title"));
  }

  /** The flags, their environment variables and defaults. */
  static String usage() {
    StringBuilder usage = new StringBuilder("usage: java -jar policy-java.jar [flags]\n");
    for (String[] flag : FLAGS) {
      usage.append(
          String.format("  --%-12s %s (env %s, default %s)%n", flag[0], flag[3], flag[1], flag[2]));
    }
    return usage.toString();
  }

  /**
   * The {@code --listen} address: {@code host:port}, {@code [ipv6]:port}, or {@code :port} for
   * every interface.
   */
  InetSocketAddress listenAddress() throws UsageException {
    int colon = listen.lastIndexOf(':');
    if (colon < 0) {
      throw new UsageException("--listen: not host:port: " + listen);
    }
    String host = listen.substring(0, colon);
    if (host.startsWith("[") && host.endsWith("]")) {
      host = host.substring(1, host.length() - 1);
    }
    int port;
    try {
      port = Integer.parseInt(listen.substring(colon + 1));
    } catch (NumberFormatException e) {
      throw new UsageException("--listen: not a port: " + listen);
    }
    if (port < 0 || port > 65535) {
      throw new UsageException("--listen: not a port: " + listen);
    }
    return host.isEmpty() ? new InetSocketAddress(port) : new InetSocketAddress(host, port);
  }
}
