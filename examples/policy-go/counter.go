package main

import "sync"

// EventCounter counts events, ignoring a key seen among the last `window` keys: after-events
// are delivered at least once, and a redelivery carries the same idempotency key.
type EventCounter struct {
	mu    sync.Mutex
	count uint64
	seen  map[string]struct{}
	ring  []string // the remembered keys, oldest overwritten first
	next  int
}

// NewEventCounter remembers the last window keys.
func NewEventCounter(window int) *EventCounter {
	return &EventCounter{seen: make(map[string]struct{}, window), ring: make([]string, window)}
}

// Add counts the event with key (an empty key cannot be deduplicated and always counts) and
// returns the count and whether it was a duplicate.
func (c *EventCounter) Add(key string) (count uint64, duplicate bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if key != "" {
		if _, ok := c.seen[key]; ok {
			return c.count, true
		}
		delete(c.seen, c.ring[c.next])
		c.ring[c.next] = key
		c.next = (c.next + 1) % len(c.ring)
		c.seen[key] = struct{}{}
	}
	c.count++
	return c.count, false
}
