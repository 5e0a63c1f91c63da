//! Runs `tests/go-decoder`, a Go program that decodes replies with `encoding/json` into mirrors
//! of OpenIM's reply structs and applies each server version's `Parse()`: the closest thing to
//! OpenIM itself reading our replies. Needs Go on the PATH (the README lists it).

use std::{
    io::Write,
    path::PathBuf,
    process::{Command, Stdio},
    sync::OnceLock,
};

use serde::Deserialize;

/// OpenIM's reading of one reply.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GoVerdict {
    /// `json.Unmarshal` accepted it (else every server fails the operation).
    pub decoded: bool,
    /// The decoding error.
    #[serde(default)]
    pub error: Option<String>,
    /// Refused by v3.7+ / main.
    pub refused_v37: bool,
    /// Refused by v3.5.
    pub refused_v35: bool,
    /// Refused by v3.0-v3.4.
    pub refused_v30: bool,
    /// errCode as decoded.
    pub err_code: i32,
    /// Fields that decode but break OpenIM (crash, failed send, lost error).
    pub hazards: Vec<String>,
    /// The decoded struct, re-encoded by Go (every field present).
    #[serde(default)]
    pub reply: serde_json::Value,
}

impl GoVerdict {
    /// Asserts that every server version from v3.0 on reads the same meaning, with no hazard,
    /// and returns whether it is a refusal.
    pub fn assert_portable(&self, body: &str) -> bool {
        assert!(
            self.decoded,
            "OpenIM cannot decode {body}: {:?}",
            self.error
        );
        assert!(
            self.hazards.is_empty(),
            "hazards {:?} in {body}",
            self.hazards
        );
        assert_eq!(
            self.refused_v37, self.refused_v35,
            "v3.5 and v3.7 disagree on {body}"
        );
        assert_eq!(
            self.refused_v37, self.refused_v30,
            "v3.0 and v3.7 disagree on {body}"
        );
        self.refused_v37
    }
}

fn binary() -> &'static PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| crate::go_build("go-decoder"))
}

/// A reply to check: OpenIM's reply struct name, the reply body, and the request it answers.
pub type ReplyToRequest<'a> = (&'a str, &'a [u8], Option<&'a [u8]>);

/// OpenIM's reading of each `(reply struct, body)` pair, e.g.
/// `("CallbackMsgModifyCommandResp", "{...}")`.
pub fn check(replies: &[(&str, &[u8])]) -> Vec<GoVerdict> {
    let with_requests: Vec<_> = replies.iter().map(|&(s, b)| (s, b, None)).collect();
    check_against(&with_requests)
}

/// Like [`check`], with the request each reply answers, for the hazards that depend on it
/// (fields OpenIM copies back or dereferences).
pub fn check_against(replies: &[ReplyToRequest<'_>]) -> Vec<GoVerdict> {
    let mut child = Command::new(binary())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("start go-decoder");
    let mut input = Vec::new();
    for (name, body, request) in replies {
        let mut line = serde_json::json!({"struct": name, "body": String::from_utf8_lossy(body)});
        if let Some(request) = request {
            line["request"] = String::from_utf8_lossy(request).into();
        }
        serde_json::to_writer(&mut input, &line).expect("encode input");
        input.push(b'\n');
    }
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(&input)
        .expect("write to go-decoder");
    let output = child.wait_with_output().expect("go-decoder output");
    assert!(output.status.success(), "go-decoder failed");
    let verdicts: Vec<GoVerdict> = output
        .stdout
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| serde_json::from_slice(l).expect("go-decoder verdict"))
        .collect();
    assert_eq!(verdicts.len(), replies.len());
    verdicts
}
