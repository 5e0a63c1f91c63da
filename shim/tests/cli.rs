//! The `openim-shim` binary as users run it: its command line, the README's all-in-one command
//! answering the README's `curl`, and a clean exit on SIGTERM.

use std::{
    io::{BufRead, BufReader, Read, Write},
    net::TcpStream,
    process::{Child, Command, Stdio},
};

const BIN: &str = env!("CARGO_BIN_EXE_openim-shim");

/// Kills the child if the test fails before it exits, so no server outlives its test.
struct Guard(Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn help_lists_every_flag_with_its_environment_variable() {
    let out = Command::new(BIN).arg("--help").output().unwrap();
    assert!(out.status.success());
    let help = String::from_utf8(out.stdout).unwrap();
    for flag in [
        "--listen",
        "--policy",
        "--timeout",
        "--on-error",
        "--with-policy",
        "--rules",
    ] {
        assert!(help.contains(flag), "{flag} missing from --help");
    }
    for env in [
        "OPENIM_SHIM_LISTEN",
        "OPENIM_SHIM_POLICY",
        "OPENIM_SHIM_TIMEOUT",
    ] {
        assert!(help.contains(env), "{env} missing from --help");
    }
    assert!(help.contains("0.0.0.0:10006") && help.contains("http://127.0.0.1:50051"));
}

#[test]
fn an_invalid_setting_is_named_and_the_process_does_not_start() {
    let out = Command::new(BIN)
        .env("OPENIM_SHIM_TIMEOUT", "30s")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("--timeout") && err.contains("15 s"), "{err}");
}

/// Starts the binary with `args` and returns it with the address it logged as ready.
fn start(args: &[&str]) -> (Guard, String) {
    let mut child = Command::new(BIN)
        .args(args)
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let child = Guard(child);
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
    let status = sigterm(&mut child.0);
    assert!(status.success(), "exit status {status}");
}
