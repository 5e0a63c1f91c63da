package com.example.policy;

import java.util.Iterator;
import java.util.LinkedHashSet;

/**
 * Counts events, ignoring a key seen among the last {@code window} keys: after-events are delivered
 * at least once, and a redelivery carries the same idempotency key.
 */
final class EventCounter {
  /** The count after an event, and whether the event was a duplicate (not counted). */
  record Added(long count, boolean duplicate) {}

  private final int window;

  /** The remembered keys, in insertion order: the first is the oldest. */
  private final LinkedHashSet<String> seen = new LinkedHashSet<>();

  private long count;

  EventCounter(int window) {
    if (window < 1) {
      throw new IllegalArgumentException("window must be positive");
    }
    this.window = window;
  }

  /** Counts the event with {@code key} (an empty key cannot be deduplicated and always counts). */
  synchronized Added add(String key) {
    if (!key.isEmpty()) {
      if (seen.contains(key)) {
        return new Added(count, true);
      }
      seen.add(key);
      if (seen.size() > window) {
        Iterator<String> oldest = seen.iterator();
        oldest.next();
        oldest.remove();
      }
    }
    count++;
    return new Added(count, false);
  }
}
