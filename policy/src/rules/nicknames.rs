//! Senders' nicknames, learned from message callbacks, for the `{senderNickname}` of push
//! templates: OpenIM's push callback does not carry the sender's nickname, the message
//! callbacks before it do. A bounded concurrent cache (`quick_cache`, S3-FIFO eviction): a
//! sender not seen since the last N distinct senders falls back to the user ID. Lost on
//! restart; a nickname changed without a message since is stale until the next message.

use std::sync::Arc;

use quick_cache::sync::Cache;

/// User ID → nickname.
pub(crate) struct Nicknames {
    cache: Cache<String, Arc<str>>,
    capacity: usize,
}

impl std::fmt::Debug for Nicknames {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Nicknames")
            .field("len", &self.cache.len())
            .field("capacity", &self.capacity)
            .finish()
    }
}

/// Default number of senders remembered.
pub(crate) const DEFAULT_CAPACITY: usize = 100_000;

impl Nicknames {
    /// A cache of at most `capacity` senders.
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            cache: Cache::new(capacity.max(1)),
            capacity,
        }
    }

    /// How many senders it remembers at most.
    pub(crate) fn capacity(&self) -> usize {
        self.capacity
    }

    /// Remembers `nickname` for `user_id`; allocates only when it changed.
    pub(crate) fn learn(&self, user_id: &str, nickname: &str) {
        if user_id.is_empty() || nickname.is_empty() {
            return;
        }
        if self
            .cache
            .get(user_id)
            .is_some_and(|known| *known == *nickname)
        {
            return;
        }
        self.cache.insert(user_id.to_owned(), Arc::from(nickname));
    }

    /// The last nickname seen for `user_id`.
    pub(crate) fn get(&self, user_id: &str) -> Option<Arc<str>> {
        self.cache.get(user_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_latest_nickname_is_remembered_within_the_bound() {
        let n = Nicknames::new(100);
        n.learn("u1", "Alice");
        n.learn("u1", "Alicia");
        n.learn("u2", "");
        assert_eq!(n.get("u1").as_deref(), Some("Alicia"));
        assert_eq!(n.get("u2"), None);
        for i in 0..10_000 {
            n.learn(&format!("user-{i}"), "x");
        }
        assert!(n.cache.len() <= 100, "bounded: {}", n.cache.len());
    }
}
