//! The `openim-policy` binary as users run it: its command line, rules-file errors, and serving
//! until a clean exit on SIGTERM.

use std::{
    io::{BufRead, BufReader},
    process::{Child, Command, Stdio},
};

/// Kills the child if the test fails before it exits, so no server outlives its test.
struct Guard(Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

const BIN: &str = env!("CARGO_BIN_EXE_openim-policy");

#[test]
fn help_lists_every_flag_with_its_environment_variable() {
    let out = Command::new(BIN).arg("--help").output().unwrap();
    assert!(out.status.success());
    let help = String::from_utf8(out.stdout).unwrap();
    for needle in [
        "--listen",
        "--rules",
        "OPENIM_POLICY_LISTEN",
        "OPENIM_POLICY_RULES",
        "--metrics-listen",
        "OPENIM_POLICY_METRICS_LISTEN",
        "--wait-for-rules",
        "--reload-interval",
        "0.0.0.0:50051",
    ] {
        assert!(help.contains(needle), "{needle} missing from --help");
    }
}

fn run_with_rules(yaml: &str) -> (bool, String) {
    let (status, err) = run_with_rules_status(yaml);
    (status.success(), err)
}

/// Runs the binary on a rules file `yaml`, with `RUST_BACKTRACE=1` (a user error must still
/// print no stack trace); returns its exit status and stderr.
fn run_with_rules_status(yaml: &str) -> (std::process::ExitStatus, String) {
    // One directory per call: tests run in parallel.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.yaml");
    std::fs::write(&path, yaml).unwrap();
    let out = Command::new(BIN)
        .args(["--listen", "127.0.0.1:0", "--rules"])
        .arg(&path)
        .env("RUST_BACKTRACE", "1")
        .output()
        .unwrap();
    (out.status, String::from_utf8(out.stderr).unwrap())
}

/// A rules file with a typo is the user's to fix: exit status 2 (as for a bad flag), the error
/// once, its snippet headed by the file's name, and no stack trace.
#[test]
fn a_bad_rules_file_exits_2_with_the_error_once_and_no_backtrace() {
    let (status, err) =
        run_with_rules_status("wordLists:\n  - name: x\n    action: explode\n    words: [a]\n");
    assert_eq!(status.code(), Some(2), "{err}");
    assert!(
        err.starts_with("openim-policy: invalid rules file "),
        "{err}"
    );
    assert_eq!(
        err.matches("unknown variant `explode`").count(),
        2,
        "message and caret: {err}"
    );
    assert!(
        err.contains("bad.yaml:3:13") && !err.contains("<input>"),
        "{err}"
    );
    assert!(
        !err.contains("backtrace") && !err.contains("Caused by"),
        "{err}"
    );
}

#[test]
fn an_invalid_rules_file_is_reported_with_its_key_and_the_process_does_not_start() {
    let (ok, err) = run_with_rules(
        "wordLists:\n  - name: x\n    action: refuse\n    errCode: 0\n    words: [a]\n",
    );
    assert!(!ok);
    assert!(
        err.contains("bad.yaml") && err.contains("line 4") && err.contains("errCode"),
        "{err}"
    );
    let (ok, err) = run_with_rules(
        "wordLists:\n  - name: x\n    action: mask\n    mask: '#'\n    replacement: x\n    words: [a]\n",
    );
    assert!(!ok);
    assert!(
        err.contains("bad.yaml")
            && err.contains("line 5")
            && err.contains("wordLists[0].replacement"),
        "{err}"
    );

    let (ok, err) =
        run_with_rules("wordLists:\n  - name: x\n    action: explode\n    words: [a]\n");
    assert!(!ok);
    assert!(err.contains("bad.yaml") && err.contains("line 3"), "{err}");
}

#[test]
fn it_serves_until_sigterm_and_exits_cleanly() {
    let mut child = Guard(
        Command::new(BIN)
            .args(["--listen", "127.0.0.1:0"])
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let child = &mut child.0;
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let ready = lines
        .by_ref()
        .map(Result::unwrap)
        .find(|l| l.contains("openim-policy ready"))
        .expect("policy exited before it was ready");
    assert!(ready.contains("addr=127.0.0.1:"), "{ready}");
    std::thread::spawn(move || lines.for_each(drop));
    let kill = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    assert!(child.wait().unwrap().success());
}

/// Reads `lines` until one contains `marker`; panics if the process ends first.
fn wait_for(lines: &mut impl Iterator<Item = std::io::Result<String>>, marker: &str) -> String {
    lines
        .map(Result::unwrap)
        .find(|l| l.contains(marker))
        .unwrap_or_else(|| panic!("the policy exited before logging {marker:?}"))
}

fn signal(child: &Child, name: &str) {
    let ok = Command::new("kill")
        .args([name, &child.id().to_string()])
        .status()
        .unwrap();
    assert!(ok.success());
}

fn get_metrics(addr: &str) -> String {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    write!(
        s,
        "GET /metrics HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    assert!(out.starts_with("HTTP/1.1 200"), "{out}");
    out
}

#[test]
fn sighup_reloads_the_rules_and_a_bad_file_keeps_them_and_is_counted() {
    let dir = std::env::temp_dir().join(format!("openim-policy-sighup-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("rules.yaml");
    std::fs::write(
        &path,
        "wordLists:\n  - {name: a, action: refuse, words: [foo]}\n",
    )
    .unwrap();
    let mut child = Guard(
        Command::new(BIN)
            .args(["--listen", "127.0.0.1:0", "--metrics-listen", "127.0.0.1:0"])
            // Only SIGHUP reloads in this test (hours: the duration grammar shared with the shim).
            .args(["--reload-interval", "10h", "--rules"])
            .arg(&path)
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let child = &mut child.0;
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let metrics = wait_for(&mut lines, "metrics at /metrics");
    let metrics = metrics
        .split("addr=")
        .nth(1)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned();
    wait_for(&mut lines, "openim-policy ready");

    std::fs::write(
        &path,
        "wordLists:\n  - {name: b, action: refuse, errCode: 0, words: [x]}\n",
    )
    .unwrap();
    signal(child, "-HUP");
    let failed = wait_for(&mut lines, "rules not reloaded");
    assert!(failed.contains("rules.yaml"), "{failed}");

    std::fs::write(
        &path,
        "wordLists:\n  - {name: c, action: refuse, words: [bar]}\n",
    )
    .unwrap();
    signal(child, "-HUP");
    let loaded = wait_for(&mut lines, "rules loaded");
    assert!(loaded.contains("1 word lists (1 words)"), "{loaded}");

    let text = get_metrics(&metrics);
    assert!(
        text.contains(r#"openim_policy_rules_reloads_total{result="error"} 1"#),
        "{text}"
    );
    assert!(
        text.contains(r#"openim_policy_rules_reloads_total{result="ok"} 2"#),
        "{text}"
    );
    assert!(text.contains("openim_policy_rules_loaded 1"), "{text}");

    std::thread::spawn(move || lines.for_each(drop));
    signal(child, "-TERM");
    assert!(child.wait().unwrap().success());
    std::fs::remove_dir_all(&dir).unwrap();
}
