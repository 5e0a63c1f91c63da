//! Test helpers for the conversion modules: OpenIM fixtures and reply inspection.

use serde_json::Value;

use super::{After, Before, Encoder, Outcome};

/// The bytes of `tests/fixtures/<name>`.
pub(crate) fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/../tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("cannot read {path}: {e}"))
}

/// Decodes fixture `<command>.json` as before-callback `C`.
pub(crate) fn decode_before<C: Before>(fixture_name: &str) -> (C::Request, C::Keep) {
    C::decode(&fixture(fixture_name)).unwrap_or_else(|e| panic!("{fixture_name}: {e}"))
}

/// Decodes fixture `<command>.json` as after-callback `C`.
pub(crate) fn decode_after<C: After>(fixture_name: &str) -> C::Request {
    C::decode(&fixture(fixture_name)).unwrap_or_else(|e| panic!("{fixture_name}: {e}"))
}

/// What an encoded reply says.
#[derive(Debug)]
pub(crate) struct Encoded {
    pub(crate) outcome: Outcome,
    pub(crate) json: Value,
    pub(crate) rejected: Vec<&'static str>,
}

impl Encoded {
    /// The reply's keys beyond OpenIM's common five.
    pub(crate) fn changes(&self) -> serde_json::Map<String, Value> {
        let mut m = self.json.as_object().expect("reply is an object").clone();
        for k in ["actionCode", "errCode", "errMsg", "errDlt", "nextCode"] {
            assert!(m.remove(k).is_some(), "{k} missing from {}", self.json);
        }
        m
    }
}

/// Encodes a response of before-callback `C`.
pub(crate) fn encode<C: Before>(response: C::Response, keep: C::Keep) -> Encoded {
    let mut enc = Encoder::new(5000);
    let v = C::encode(response, keep, &mut enc);
    Encoded {
        outcome: v.outcome,
        json: serde_json::from_slice(&v.body).expect("reply is JSON"),
        rejected: enc.rejected().to_vec(),
    }
}

/// The continue reply of `C` when the policy does not decide.
pub(crate) fn proceed<C: Before>(keep: &C::Keep) -> Encoded {
    let v = C::proceed(keep);
    Encoded {
        outcome: v.outcome,
        json: serde_json::from_slice(&v.body).expect("reply is JSON"),
        rejected: Vec::new(),
    }
}
