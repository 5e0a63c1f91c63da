//! Keyed hashing of identifiers (user and group IDs), so that records kept for later analysis
//! (callback captures) can still be joined by user or group without naming anyone: the same ID
//! gives the same pseudonym under the same key, and without the key a pseudonym cannot be
//! reversed by hashing candidate IDs (a plain hash could: IDs are short and guessable).
//!
//! HMAC-SHA-256, truncated to 128 bits and written as `h:` + 32 hex digits, so a pseudonym is
//! still a JSON string that OpenIM-shaped code accepts as an ID, and is recognisable as one.

/// Shortest key accepted, in bytes: a shorter one could be found by brute force.
pub const MIN_KEY_BYTES: usize = 16;

/// Prefix of every pseudonym.
pub const PREFIX: &str = "h:";

/// Replaces identifiers by their keyed hash.
#[derive(Clone)]
pub struct Pseudonymizer {
    key: Vec<u8>,
}

impl std::fmt::Debug for Pseudonymizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the key: it is a secret and Debug output ends up in logs.
        f.debug_struct("Pseudonymizer").finish_non_exhaustive()
    }
}

/// A key too short to be safe.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the key has {0} bytes: at least {MIN_KEY_BYTES} are needed")]
pub struct ShortKey(pub usize);

impl Pseudonymizer {
    /// A pseudonymizer with `key` (at least [`MIN_KEY_BYTES`] bytes).
    pub fn new(key: &[u8]) -> Result<Self, ShortKey> {
        if key.len() < MIN_KEY_BYTES {
            return Err(ShortKey(key.len()));
        }
        Ok(Self { key: key.to_vec() })
    }

    /// The pseudonym of `id`. The empty ID stays empty: OpenIM uses it for "none" (no group in
    /// a one-to-one chat), and that meaning must survive.
    pub fn hash(&self, id: &str) -> String {
        if id.is_empty() {
            return String::new();
        }
        let mac = hmac_sha256::HMAC::mac(id.as_bytes(), &self.key);
        let mut out = String::with_capacity(PREFIX.len() + 32);
        out.push_str(PREFIX);
        for b in &mac[..16] {
            out.push_str(&format!("{b:02x}"));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &[u8] = b"0123456789abcdef";

    #[test]
    fn the_same_id_and_key_give_the_same_pseudonym_and_other_keys_or_ids_do_not() {
        let p = Pseudonymizer::new(KEY).unwrap();
        let a = p.hash("4826475913");
        assert_eq!(a, p.hash("4826475913"));
        assert!(a.starts_with(PREFIX) && a.len() == PREFIX.len() + 32, "{a}");
        assert!(!a.contains("4826475913"));
        assert_ne!(a, p.hash("4826475914"));
        let other = Pseudonymizer::new(b"fedcba9876543210").unwrap();
        assert_ne!(a, other.hash("4826475913"));
    }

    /// The HMAC is the standard one, so a team can compute the pseudonym of a known ID with any
    /// HMAC-SHA-256 tool (`openssl dgst -sha256 -hmac`).
    #[test]
    fn the_pseudonym_is_the_standard_hmac_sha256() {
        let p = Pseudonymizer::new(&[0x0b; 20]).unwrap();
        // RFC 4231, test case 1: HMAC-SHA-256(0x0b × 20, "Hi There"), first 16 bytes.
        assert_eq!(p.hash("Hi There"), "h:b0344c61d8db38535ca8afceaf0bf12b");
    }

    #[test]
    fn short_keys_are_refused_and_empty_ids_stay_empty() {
        assert_eq!(Pseudonymizer::new(b"short").unwrap_err(), ShortKey(5));
        assert_eq!(Pseudonymizer::new(KEY).unwrap().hash(""), "");
        assert!(!format!("{:?}", Pseudonymizer::new(KEY).unwrap()).contains("0123"));
    }
}
