//! Runs `tests/go-textread`, a Go program that decodes message contents with `encoding/json`
//! into mirrors of openim-sdk-core's element structs: what OpenIM's clients (Go on every
//! platform) read from a content. Needs Go on the PATH (the README lists it).

use std::{
    io::Write,
    path::PathBuf,
    process::{Command, Stdio},
    sync::OnceLock,
};

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
    BIN.get_or_init(|| {
        let src = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("go-textread");
        let out = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../target/go-textread")
            .join("go-textread");
        let status = Command::new("go")
            .args(["build", "-o"])
            .arg(&out)
            .arg(".")
            .current_dir(&src)
            .status()
            .unwrap_or_else(|e| panic!("cannot run `go` (install Go to run these tests): {e}"));
        assert!(status.success(), "go build of tests/go-textread failed");
        out
    })
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

fn base64(bytes: &[u8], out: &mut Vec<u8>) {
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(B64[(n >> (18 - 6 * i) & 63) as usize]);
            } else {
                out.push(b'=');
            }
        }
    }
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
        base64(content, &mut input);
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

#[cfg(test)]
mod tests {
    #[test]
    fn base64_matches_the_standard_encoding() {
        for (raw, want) in [
            (&b""[..], ""),
            (b"f", "Zg=="),
            (b"fo", "Zm8="),
            (b"foo", "Zm9v"),
            (b"foob", "Zm9vYg=="),
            (b"\xFF\x00\xFE", "/wD+"),
        ] {
            let mut out = Vec::new();
            super::base64(raw, &mut out);
            assert_eq!(String::from_utf8(out).unwrap(), want);
        }
    }
}
