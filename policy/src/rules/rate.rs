//! Per-sender rate limit: a token bucket per user (`governor`'s keyed GCRA limiter).
//!
//! Memory: a sender's state is a hash of the user ID (no copy of the ID: no allocation per
//! message) and one timestamp, kept in a sharded map. `sweep`, run about once a minute, drops
//! every sender whose bucket has been full again for a token's period (its state is then the
//! same as a new sender's) and shrinks the map, so memory follows the senders active in the
//! last refill period plus a minute, not every sender ever seen.

use std::hash::{BuildHasher, RandomState};

use governor::{
    Quota, RateLimiter,
    clock::{Clock, DefaultClock},
    middleware::NoOpMiddleware,
    state::keyed::DashMapStateStore,
};

use super::{
    file::{RateLimitSpec, RulesError},
    rule::Rule,
};

/// Default errCode of the rate limit.
const DEFAULT_CODE: i32 = 5003;
/// Default errMsg of the rate limit.
const DEFAULT_MSG: &str = "you are sending messages too fast";

/// Token buckets by sender.
pub(crate) struct SenderLimiter<C: Clock = DefaultClock> {
    limiter: RateLimiter<u64, DashMapStateStore<u64>, C, NoOpMiddleware<C::Instant>>,
    /// Seeded per process, so user IDs cannot be chosen to collide.
    hasher: RandomState,
}

impl<C: Clock> std::fmt::Debug for SenderLimiter<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SenderLimiter")
            .field("tracked", &self.limiter.len())
            .finish_non_exhaustive()
    }
}

/// The bucket of a spec: `messages` per `per`, bursts of `burst`.
fn quota(spec: &RateLimitSpec) -> Option<Quota> {
    let per_message = spec.per.0 / spec.messages.get();
    Some(Quota::with_period(per_message)?.allow_burst(spec.burst.unwrap_or(spec.messages)))
}

impl<C: Clock> SenderLimiter<C> {
    /// Buckets of `quota`, timed by `clock`.
    pub(crate) fn with_clock(quota: Quota, clock: C) -> Self {
        Self {
            limiter: RateLimiter::dashmap_with_clock(quota, clock),
            hasher: RandomState::new(),
        }
    }

    /// Takes a token from `sender`'s bucket: `false` when it is empty.
    pub(crate) fn allow(&self, sender: &str) -> bool {
        self.limiter
            .check_key(&self.hasher.hash_one(sender))
            .is_ok()
    }

    /// Forgets senders whose bucket is full again, and gives the memory back.
    pub(crate) fn sweep(&self) {
        self.limiter.retain_recent();
        self.limiter.shrink_to_fit();
    }

    /// Senders currently tracked.
    pub(crate) fn tracked(&self) -> usize {
        self.limiter.len()
    }
}

/// The rate-limit rule.
#[derive(Debug)]
pub(crate) struct RateLimit {
    /// Name, refusal, dry-run, counters.
    pub(crate) rule: Rule,
    /// The buckets; kept across reloads while the quota does not change.
    pub(crate) limiter: std::sync::Arc<SenderLimiter>,
    /// The spec the buckets were made for.
    pub(crate) spec: RateLimitSpec,
}

impl RateLimit {
    /// The rule; reuses `previous`'s buckets when the quota is the same.
    pub(crate) fn new(spec: &RateLimitSpec, previous: Option<&Self>) -> Result<Self, RulesError> {
        let same_quota = |p: &&Self| {
            (p.spec.messages, p.spec.per, p.spec.burst) == (spec.messages, spec.per, spec.burst)
        };
        let limiter = match previous.filter(same_quota) {
            Some(p) => p.limiter.clone(),
            None => {
                let quota = quota(spec).ok_or_else(|| RulesError::Invalid {
                    path: None,
                    line: None,
                    key: "rateLimit.per".into(),
                    message: "is too short for that many messages".into(),
                })?;
                std::sync::Arc::new(SenderLimiter::with_clock(quota, DefaultClock::default()))
            }
        };
        Ok(Self {
            rule: Rule::new(
                "rateLimit",
                "rateLimit",
                spec.err_code.map_or(DEFAULT_CODE, |c| c.0),
                spec.err_msg.as_deref().unwrap_or(DEFAULT_MSG),
                spec.dry_run,
            ),
            limiter,
            spec: spec.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use std::{num::NonZeroU32, time::Duration};

    use governor::clock::FakeRelativeClock;

    use super::*;
    use crate::rules::file::RulesFile;

    fn nz(n: u32) -> NonZeroU32 {
        NonZeroU32::new(n).unwrap()
    }

    #[test]
    fn each_sender_has_its_own_bucket_that_refills_over_time() {
        let clock = FakeRelativeClock::default();
        let quota = Quota::with_period(Duration::from_secs(10))
            .unwrap()
            .allow_burst(nz(2));
        let l = SenderLimiter::with_clock(quota, clock.clone());
        assert!(l.allow("alice") && l.allow("alice"));
        assert!(!l.allow("alice"), "burst of 2 used up");
        assert!(l.allow("bob"), "bob has his own bucket");
        clock.advance(Duration::from_secs(10));
        assert!(l.allow("alice"), "one token back after one period");
        assert!(!l.allow("alice"));
    }

    #[test]
    fn the_sweep_forgets_senders_whose_bucket_is_full_again() {
        let clock = FakeRelativeClock::default();
        let quota = Quota::with_period(Duration::from_secs(1))
            .unwrap()
            .allow_burst(nz(5));
        let l = SenderLimiter::with_clock(quota, clock.clone());
        for i in 0..1000 {
            assert!(l.allow(&format!("user-{i}")));
        }
        assert_eq!(l.tracked(), 1000);
        l.sweep();
        assert_eq!(l.tracked(), 1000, "buckets not full yet are kept");
        clock.advance(Duration::from_secs(1));
        l.sweep();
        assert_eq!(l.tracked(), 1000, "just full again: kept one more period");
        clock.advance(Duration::from_secs(1));
        l.sweep();
        assert_eq!(l.tracked(), 0);
    }

    fn spec(yaml: &str) -> RateLimitSpec {
        RulesFile::parse(yaml).unwrap().rate_limit.unwrap()
    }

    #[test]
    fn buckets_survive_a_reload_with_the_same_quota_only() {
        let a = RateLimit::new(&spec("rateLimit: {messages: 1, per: 1m}\n"), None).unwrap();
        assert!(a.limiter.allow("u"));
        let b = RateLimit::new(
            &spec("rateLimit: {messages: 1, per: 1m, errCode: 7}\n"),
            Some(&a),
        )
        .unwrap();
        assert!(!b.limiter.allow("u"), "same quota: same buckets");
        let c = RateLimit::new(&spec("rateLimit: {messages: 2, per: 1m}\n"), Some(&b)).unwrap();
        assert!(c.limiter.allow("u"), "new quota: new buckets");
    }
}
