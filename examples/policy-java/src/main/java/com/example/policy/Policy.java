package com.example.policy;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import com.google.gson.Strictness;
import com.google.gson.stream.JsonReader;
import com.google.gson.stream.JsonToken;
import java.io.IOException;
import java.io.StringReader;
import java.util.Optional;
import java.util.logging.Logger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import openim.policy.v1.Common.CallbackContext;
import openim.policy.v1.Common.ContentType;
import openim.policy.v1.Common.Message;
import openim.policy.v1.Common.OfflinePushInfo;
import openim.policy.v1.Common.Refusal;

/**
 * The reference scenario's decisions, free of gRPC plumbing: refuse a word, mask another, rewrite
 * the offline push title, count after-events once each.
 */
final class Policy {
  /** Refusal returned to the sender of a message containing the refused word. */
  static final int REFUSE_CODE = 5001;

  static final String REFUSE_MSG = "message rejected by content policy";

  private static final Logger LOG = Logger.getLogger("policy-java");

  /**
   * Writes content JSON: {@code <>&} stay as the user typed them, and keys whose value is {@code
   * null} are kept.
   */
  private static final Gson GSON =
      new GsonBuilder().disableHtmlEscaping().serializeNulls().create();

  private final Pattern refuse;
  private final Pattern mask;
  private final String pushTitle;
  private final EventCounter events = new EventCounter(10_000);

  Policy(String refuseWord, String maskWord, String pushTitle) {
    if (refuseWord.isEmpty() || maskWord.isEmpty()) {
      throw new IllegalArgumentException("the refused and the masked word must not be empty");
    }
    this.refuse = wordPattern(refuseWord);
    this.mask = wordPattern(maskWord);
    this.pushTitle = pushTitle;
  }

  /** Matches {@code word} literally, in any letter case. */
  static Pattern wordPattern(String word) {
    return Pattern.compile(Pattern.quote(word), Pattern.CASE_INSENSITIVE | Pattern.UNICODE_CASE);
  }

  /**
   * The content JSON object of a text message ({@code {"content":"..."}}), if {@code message} is
   * one. Other content types have no text here.
   */
  private static Optional<JsonObject> textContent(Message message) {
    if (message.getContentType() != ContentType.CONTENT_TYPE_TEXT) {
      return Optional.empty();
    }
    JsonElement json;
    try {
      JsonReader reader = new JsonReader(new StringReader(message.getContent()));
      reader.setStrictness(Strictness.STRICT);
      json = JsonParser.parseReader(reader);
      if (reader.peek() != JsonToken.END_DOCUMENT) {
        return Optional.empty();
      }
    } catch (RuntimeException | IOException e) {
      return Optional.empty(); // not JSON: no text
    }
    if (!json.isJsonObject()) {
      return Optional.empty();
    }
    JsonElement text = json.getAsJsonObject().get("content");
    if (text == null || !text.isJsonPrimitive() || !text.getAsJsonPrimitive().isString()) {
      return Optional.empty();
    }
    return Optional.of(json.getAsJsonObject());
  }

  /** The user-written text of a text message, if {@code message} is one. */
  static Optional<String> textOf(Message message) {
    return textContent(message).map(content -> content.get("content").getAsString());
  }

  /** A refusal if the message's text contains the refused word, else empty (continue). */
  Optional<Refusal> refusal(Message message) {
    return textOf(message)
        .filter(text -> refuse.matcher(text).find())
        .map(
            text ->
                Refusal.newBuilder()
                    .setErrCode(REFUSE_CODE)
                    .setErrMsg(REFUSE_MSG)
                    .setErrDlt("matched the refused word")
                    .build());
  }

  /**
   * The new content with the masked word masked (one {@code *} per character), or empty to leave it
   * unchanged. The content stays a JSON object of the same shape: only its "content" key is
   * rewritten; the other keys keep their order and their values as written (numbers too).
   */
  Optional<String> maskedContent(Message message) {
    Optional<JsonObject> content = textContent(message);
    if (content.isEmpty()) {
      return Optional.empty();
    }
    JsonObject json = content.get();
    String text = json.get("content").getAsString();
    Matcher matcher = mask.matcher(text);
    if (!matcher.find()) {
      return Optional.empty();
    }
    String masked =
        matcher.replaceAll(m -> "*".repeat(m.group().codePointCount(0, m.group().length())));
    json.addProperty("content", masked); // replaces the value in place: the key keeps its position
    return Optional.of(GSON.toJson(json));
  }

  /**
   * The push texts of an offline push: the request's, with the title rewritten. The reply replaces
   * ALL push texts, so it starts from the request's.
   */
  OfflinePushInfo pushInfo(OfflinePushInfo request) {
    return request.toBuilder().setTitle(pushTitle).build();
  }

  /**
   * Counts an after-event once: delivery is at least once, so a repeated idempotency key is a
   * duplicate.
   */
  void count(String rpc, CallbackContext context) {
    EventCounter.Added added = events.add(context.getIdempotencyKey());
    LOG.info(
        String.format(
            "after-event rpc=%s operation_id=%s idempotency_key=%s attempt=%d duplicate=%b"
                + " count=%d",
            rpc,
            context.getOperationId(),
            context.getIdempotencyKey(),
            context.getDeliveryAttempt(),
            added.duplicate(),
            added.count()));
  }
}
