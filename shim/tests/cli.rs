//! The `openim-shim` binary as users run it: its command line, the README's all-in-one command
//! answering the README's `curl`, and a clean exit on SIGTERM.

use std::{
    io::{BufRead, BufReader, Read, Write},
    net::TcpStream,
    process::{Child, Command, Stdio},
};

const BIN: &str = env!("CARGO_BIN_EXE_openim-shim");

/// Kills the child if the test fails before it exits, so no server outlives its test. Holds
/// the child's spool directory, removed after the child.
struct Guard {
    child: Child,
    _spool: tempfile::TempDir,
}

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn help_lists_every_flag_with_its_key_and_environment_variable() {
    let out = Command::new(BIN).arg("--help").output().unwrap();
    assert!(out.status.success());
    let help = String::from_utf8(out.stdout).unwrap();
    for needle in [
        "--listen",
        "--policy",
        "--timeout",
        "--on-error",
        "--with-policy",
        "--rules",
        "--config",
        "--spool-dir",
        "OPENIM_SHIM_LISTEN",
        "OPENIM_SHIM_POLICY",
        "Sets `before.timeout` [env: OPENIM_SHIM_BEFORE_TIMEOUT] [default: 1s]",
        "OPENIM_SHIM_CONFIG",
        "OPENIM_SHIM_SPOOL_DIR",
        "OPENIM_SHIM_DEFAULT_UNIMPLEMENTEDTTL",
        "defaults < config file (--config) < environment variables < flags",
    ] {
        assert!(
            help.contains(needle),
            "{needle} missing from --help:\n{help}"
        );
    }
    assert!(help.contains("0.0.0.0:10006") && help.contains("http://127.0.0.1:50051"));
    assert!(
        help.contains("./data/spool"),
        "the default spool directory is documented"
    );
}

/// A bad setting stops the process with status 2 and a message naming the setting and where it
/// was set; so does a variable of an earlier version, rather than being silently ignored.
#[test]
fn an_invalid_setting_is_named_and_the_process_does_not_start() {
    for (env, flag, needle) in [
        (
            ("OPENIM_SHIM_BEFORE_TIMEOUT", "30s"),
            None,
            "before.timeout: 30s is above OpenIM's 15 s cap",
        ),
        (
            ("OPENIM_SHIM_X", ""),
            Some(["--timeout", "30s"]),
            "(flag --timeout)",
        ),
        (
            ("OPENIM_SHIM_TIMEOUT", "2s"),
            None,
            "renamed: set OPENIM_SHIM_BEFORE_TIMEOUT instead",
        ),
    ] {
        let out = Command::new(BIN)
            .args(flag.iter().flatten())
            .env(env.0, env.1)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2));
        let err = String::from_utf8(out.stderr).unwrap();
        assert!(err.contains(needle), "{err}");
    }
}

/// A config file or override that cannot be used stops the process before it listens, with
/// the key (and where it was set) in the message.
#[test]
fn an_invalid_config_key_is_named_and_the_process_does_not_start() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("shim.yaml");
    std::fs::write(&config, "beforeSendSingleMsg:\n  timeout: 20s\n").unwrap();
    let spool = dir.path().join("spool");
    let run = |env: &[(&str, &str)]| {
        let mut cmd = Command::new(BIN);
        cmd.args(["--listen", "127.0.0.1:0", "--spool-dir"])
            .arg(&spool)
            .arg("--config")
            .arg(&config);
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd.output().unwrap()
    };
    let out = run(&[]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains(
            "invalid configuration: beforeSendSingleMsg.timeout: 20s is above OpenIM's 15 s cap"
        ),
        "{err}"
    );
    assert!(err.contains("shim.yaml"), "{err}");
    assert!(!err.contains("openim-shim ready"), "{err}");

    // A valid file, an invalid override: named by its variable.
    std::fs::write(&config, "beforeSendSingleMsg: {timeout: 2s}\n").unwrap();
    let out = run(&[("OPENIM_SHIM_BEFORESENDSINGLEMSG_ONERROR", "sometimes")]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains("beforeSendSingleMsg.onError")
            && err.contains("OPENIM_SHIM_BEFORESENDSINGLEMSG_ONERROR"),
        "{err}"
    );
    // Nothing was created: the process stopped before opening the spool.
    assert!(!spool.exists());
}

/// Starts the binary with `args` (and a fresh spool directory) and returns it with the address
/// it logged as ready.
fn start(args: &[&str]) -> (Guard, String) {
    let spool = tempfile::tempdir().unwrap();
    let mut child = Command::new(BIN)
        .args(args)
        .arg("--spool-dir")
        .arg(spool.path())
        .env("RUST_LOG", "info")
        .env("OPENIM_SHIM_SHUTDOWN_DRAINDELAY", "1ms")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let child = Guard {
        child,
        _spool: spool,
    };
    let mut lines = BufReader::new(stderr).lines();
    let addr = loop {
        let line = lines
            .next()
            .expect("shim exited before it was ready")
            .unwrap();
        if line.contains("openim-shim ready") {
            let addr = line.split("addr=").nth(1).unwrap();
            break addr.split_whitespace().next().unwrap().to_owned();
        }
    };
    // Keep draining stderr so the child never blocks on a full pipe.
    std::thread::spawn(move || lines.for_each(drop));
    (child, addr)
}

/// POSTs like the README's curl and returns the body.
fn post(addr: &str, command: &str, body: &[u8]) -> String {
    let mut s = TcpStream::connect(addr).unwrap();
    write!(
        s,
        "POST /callbackExample/{command} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json; charset=utf-8\r\nOperationid: readme-1\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .unwrap();
    s.write_all(body).unwrap();
    let mut resp = String::new();
    s.read_to_string(&mut resp).unwrap();
    assert!(resp.starts_with("HTTP/1.1 200"), "{resp}");
    resp.split("\r\n\r\n").nth(1).unwrap().to_owned()
}

fn sigterm(child: &mut Child) -> std::process::ExitStatus {
    let ok = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(ok.success());
    child.wait().unwrap()
}

/// The README's try-out command and the reply its `curl` example shows.
#[test]
#[cfg_attr(
    not(feature = "all-in-one"),
    ignore = "needs the in-process policy: --features all-in-one (the workspace's test run has it)"
)]
fn the_readme_all_in_one_command_masks_the_fixture_and_stops_on_sigterm() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    let rules = format!("{root}/examples/rules.yaml");
    let (mut child, addr) = start(&[
        "--listen",
        "127.0.0.1:0",
        "--with-policy",
        "--rules",
        &rules,
    ]);
    let body = std::fs::read(format!(
        "{root}/tests/fixtures/callbackBeforeMsgModifyCommand.json"
    ))
    .unwrap();
    let reply = post(&addr, "callbackBeforeMsgModifyCommand", &body);
    assert_eq!(
        reply,
        r#"{"actionCode":0,"errCode":0,"errMsg":"","errDlt":"","nextCode":0,"content":"{\"content\":\"buy now at ************\"}"}"#
    );
    // The refusal example: the single-chat fixture with `hello` replaced by `a scam offer`.
    let body = std::fs::read_to_string(format!(
        "{root}/tests/fixtures/callbackBeforeSendSingleMsgCommand.json"
    ))
    .unwrap()
    .replace("hello", "a scam offer");
    let reply = post(&addr, "callbackBeforeSendSingleMsgCommand", body.as_bytes());
    assert_eq!(
        reply,
        r#"{"actionCode":0,"errCode":5001,"errMsg":"message rejected by content policy","errDlt":"matched rule: abuse","nextCode":1}"#
    );
    let status = sigterm(&mut child.child);
    assert!(status.success(), "exit status {status}");
}
