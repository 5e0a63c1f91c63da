package com.example.policy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.net.InetSocketAddress;
import java.util.Map;
import org.junit.jupiter.api.Test;

class FlagsTest {
  @Test
  void flagsOverrideTheEnvironmentWhichOverridesTheDefaults() throws Exception {
    Flags flags =
        Flags.parse(
            new String[] {"--listen", "127.0.0.1:7", "-mask-word=bad"},
            Map.of("POLICY_LISTEN", "0.0.0.0:1", "POLICY_PUSH_TITLE", "Hi"));
    assertEquals(new Flags("127.0.0.1:7", "scam", "bad", "Hi"), flags);
  }

  @Test
  void listenTakesHostPortIpv6AndBarePort() throws Exception {
    assertEquals(
        new InetSocketAddress("127.0.0.1", 50051),
        new Flags("127.0.0.1:50051", "", "", "").listenAddress());
    assertEquals(new InetSocketAddress("::1", 1), new Flags("[::1]:1", "", "", "").listenAddress());
    assertEquals(new InetSocketAddress(2), new Flags(":2", "", "", "").listenAddress());
    assertThrows(
        Flags.UsageException.class, () -> new Flags("localhost", "", "", "").listenAddress());
  }

  @Test
  void unknownFlagsAndMissingValuesAreUsageErrors() {
    assertThrows(
        Flags.UsageException.class, () -> Flags.parse(new String[] {"--nope", "x"}, Map.of()));
    assertThrows(
        Flags.UsageException.class, () -> Flags.parse(new String[] {"--listen"}, Map.of()));
  }
}
