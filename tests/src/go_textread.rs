//! Runs `tests/go-textread`, a Go program that decodes message contents with `encoding/json`
//! into mirrors of openim-sdk-core's element structs: what OpenIM's clients (Go on every
//! platform) read from a content. Needs Go on the PATH (the README lists it).

use std::{
    io::Write,
    path::PathBuf,
    process::{Command, Stdio},
    sync::OnceLock,
};

use base64::{Engine as _, engine::general_purpose::STANDARD};
use serde::Deserialize;

/// What Go's `json.Unmarshal` makes of one content.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct GoRead {
    /// The text fields' values (`""` where nothing was stored).
    pub values: Vec<String>,
    /// `""`, `syntax`, `notAnObject` or `fieldType:<field>`.
    pub error: String,
    /// The SDK's whole element struct got the same texts.
    pub full: bool,
}

fn binary() -> &'static PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| crate::go_build("go-textread"))
}

/// Go's reading of each `(kind, content)`: kind is a content type number or `probe` (see
/// `tests/go-textread/main.go`).
pub fn read(cases: &[(&str, &[u8])]) -> Vec<GoRead> {
    let mut child = Command::new(binary())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("start go-textread");
    let mut input = Vec::new();
    for (kind, content) in cases {
        input.extend_from_slice(kind.as_bytes());
        input.push(b' ');
        input.extend_from_slice(STANDARD.encode(content).as_bytes());
        input.push(b'\n');
    }
    let mut stdin = child.stdin.take().expect("stdin");
    // Written from another thread: the output pipe would fill up before the input is written.
    let writer = std::thread::spawn(move || stdin.write_all(&input));
    let output = child.wait_with_output().expect("go-textread output");
    writer
        .join()
        .expect("writer thread")
        .expect("write to go-textread");
    assert!(output.status.success(), "go-textread failed");
    let reads: Vec<GoRead> = output
        .stdout
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| serde_json::from_slice(l).expect("go-textread output line"))
        .collect();
    assert_eq!(reads.len(), cases.len());
    reads
}
