package com.example.policy;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

class EventCounterTest {
  @Test
  void redeliveriesAreCountedOnce() {
    EventCounter counter = new EventCounter(2);
    for (String key : new String[] {"a", "b", "a", "", ""}) {
      counter.add(key);
    }
    assertEquals(new EventCounter.Added(5, false), counter.add("c"));
    // "a" fell out of the window of 2 keys: it counts again.
    assertEquals(new EventCounter.Added(6, false), counter.add("a"));
    assertEquals(new EventCounter.Added(6, true), counter.add("c"));
  }
}
