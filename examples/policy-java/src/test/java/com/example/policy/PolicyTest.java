package com.example.policy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Optional;
import openim.policy.v1.Common.ContentType;
import openim.policy.v1.Common.Message;
import openim.policy.v1.Common.OfflinePushInfo;
import org.junit.jupiter.api.Test;

/** The reference scenario's decisions. */
class PolicyTest {
  private final Policy policy = new Policy("scam", "spam.example", "New");

  private static Message text(String content) {
    return Message.newBuilder()
        .setContentType(ContentType.CONTENT_TYPE_TEXT)
        .setContent(content)
        .build();
  }

  @Test
  void maskKeepsOtherKeysAndMasksEveryCase() {
    Optional<String> content =
        policy.maskedContent(
            text("{\"content\":\"a <Spam.Example> and spam.example\",\"x\":12345678901234567890}"));
    assertEquals(
        Optional.of(
            "{\"content\":\"a <************> and ************\",\"x\":12345678901234567890}"),
        content);
  }

  @Test
  void maskKeepsKeyOrderNumbersAndNullsAsWritten() {
    Optional<String> content =
        policy.maskedContent(text("{\"z\":1.50,\"content\":\"spam.example 好\",\"a\":null}"));
    assertEquals(Optional.of("{\"z\":1.50,\"content\":\"************ 好\",\"a\":null}"), content);
  }

  @Test
  void aCleanMessageIsLeftUnchanged() {
    assertEquals(Optional.empty(), policy.maskedContent(text("{\"content\":\"hello\"}")));
  }

  @Test
  void onlyTextMessagesAreRefused() {
    assertTrue(policy.refusal(text("{\"content\":\"a SCAM\"}")).isPresent());
    Message picture =
        text("{\"content\":\"scam\"}").toBuilder()
            .setContentType(ContentType.CONTENT_TYPE_PICTURE)
            .build();
    assertFalse(policy.refusal(picture).isPresent());
  }

  @Test
  void contentThatIsNotATextObjectHasNoText() {
    for (String content :
        new String[] {
          "scam",
          "\"scam\"",
          "[\"scam\"]",
          "{\"content\":1}",
          "{content:'scam'}",
          "{\"content\":\"scam\"} x",
          ""
        }) {
      assertFalse(policy.refusal(text(content)).isPresent(), content);
      assertEquals(Optional.empty(), policy.maskedContent(text(content)), content);
    }
  }

  @Test
  void theRefusalCarriesTheScenarioCodeAndMessage() {
    var refusal = policy.refusal(text("{\"content\":\"scam\"}")).orElseThrow();
    assertEquals(5001, refusal.getErrCode());
    assertEquals("message rejected by content policy", refusal.getErrMsg());
  }

  @Test
  void thePushKeepsTheOtherTexts() {
    OfflinePushInfo request =
        OfflinePushInfo.newBuilder()
            .setTitle("old")
            .setDesc("d")
            .setEx("e")
            .setIosPushSound("+1")
            .setIosBadgeCount(true)
            .setSignalInfo("s")
            .build();
    assertEquals(request.toBuilder().setTitle("New").build(), policy.pushInfo(request));
  }
}
