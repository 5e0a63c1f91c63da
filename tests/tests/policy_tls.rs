//! TLS and mutual TLS between the shim and the policy, with certificates made in the test:
//! the right client certificate gets decisions; a wrong or missing one, or a policy certificate
//! the shim does not trust, gets the failure mode (cause `unavailable`); rotated files are
//! picked up without a restart; and a configuration that says https but cannot do TLS stops
//! the binaries with status 2.

use std::{path::Path, process::Stdio, time::Duration};

use openim_common::tls::ServerFiles;
use openim_policy::{Policy, RuleEngine, rules::RulesFile};
use openim_tests::{
    Running,
    certs::{Ca, write},
    fixture,
    openim_http::post,
    reply::{Meaning, meaning},
    shim_process::binary,
    shim_settings_yaml, spawn_policy, spawn_shim,
};

/// The single-message fixture's sender is muted: a decision is errCode 6001.
const RULES: &str = "mutes:\n  users: ['4826475913']\n  errCode: 6001\n";
/// What the shim answers without a decision.
const FAILURE_CODE: i32 = 5999;
const SINGLE: &str = "callbackBeforeSendSingleMsgCommand";

/// The real policy with [`RULES`], serving TLS with a certificate for `policy.test` and
/// 127.0.0.1 signed by `ca`; with `clients`, it requires client certificates that CA signed.
async fn tls_policy(dir: &Path, ca: &Ca, clients: Option<&Ca>) -> Running {
    let leaf = ca.server(&["policy.test", "127.0.0.1"]);
    let files = ServerFiles {
        cert: write(dir, "policy.crt", &leaf.cert),
        key: write(dir, "policy.key", &leaf.key),
        client_ca: clients.map(|c| write(dir, "clients-ca.crt", &c.pem())),
    };
    let config = files
        .watch(openim_policy::tls::ALPN, Duration::from_millis(100))
        .await
        .expect("policy TLS files");
    let engine = RuleEngine::from_rules(RulesFile::parse(RULES).unwrap()).unwrap();
    spawn_policy(Policy::new(engine).with_tls(config)).await
}

/// A shim to `https://<policy>` trusting `ca`, with the client certificate files `identity`,
/// failing closed with [`FAILURE_CODE`].
async fn tls_shim(
    policy: &Running,
    dir: &Path,
    ca: &Ca,
    identity: Option<(&Path, &Path)>,
) -> Running {
    let ca = write(dir, "shim-ca.crt", &ca.pem());
    let mut yaml = format!(
        "tls: {{reloadInterval: 100ms}}\n\
         default: {{onError: refuse, errCode: {FAILURE_CODE}}}\n\
         policy:\n  tlsCa: {}\n  tlsServerName: policy.test\n",
        ca.display()
    );
    if let Some((cert, key)) = identity {
        yaml += &format!(
            "  tlsCert: {}\n  tlsKey: {}\n",
            cert.display(),
            key.display()
        );
    }
    let url = format!("https://{}", policy.addr);
    spawn_shim(shim_settings_yaml(&url, &yaml)).await
}

/// What the shim answers the single-message fixture.
async fn ask(shim: &Running) -> Meaning {
    let body = fixture(&format!("{SINGLE}.json"));
    let reply = post(
        shim.addr,
        &format!("/openim/{SINGLE}"),
        &body,
        Some("op-tls"),
    )
    .await;
    assert_eq!(reply.status, 200);
    meaning(&reply.json())
}

fn decided(m: &Meaning) -> bool {
    matches!(m, Meaning::Refuse { err_code: 6001, .. })
}

fn unavailable(m: &Meaning) -> bool {
    matches!(m, Meaning::Refuse { err_code: FAILURE_CODE, err_dlt, .. } if err_dlt == "unavailable")
}

/// Asks until `want` holds (connections are made in the background, with backoff), at most
/// `within`; returns the last answer.
async fn ask_until(shim: &Running, want: fn(&Meaning) -> bool, within: Duration) -> Meaning {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let m = ask(shim).await;
        if want(&m) || tokio::time::Instant::now() > deadline {
            return m;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn mutual_tls_with_the_right_client_certificate_gets_decisions() {
    let dir = tempfile::tempdir().unwrap();
    let (ca, clients) = (Ca::new("policy CA"), Ca::new("shim CA"));
    let policy = tls_policy(dir.path(), &ca, Some(&clients)).await;
    let me = clients.client("shim");
    let cert = write(dir.path(), "shim.crt", &me.cert);
    let key = write(dir.path(), "shim.key", &me.key);
    let shim = tls_shim(&policy, dir.path(), &ca, Some((&cert, &key))).await;
    let m = ask_until(&shim, decided, Duration::from_secs(10)).await;
    assert!(decided(&m), "{m:?}");
    shim.stop().await;
    policy.stop().await;
}

#[tokio::test]
async fn a_missing_or_wrong_client_certificate_or_an_untrusted_policy_gets_the_failure_mode() {
    let dir = tempfile::tempdir().unwrap();
    let (ca, clients, stranger) = (Ca::new("policy CA"), Ca::new("shim CA"), Ca::new("other"));
    let policy = tls_policy(dir.path(), &ca, Some(&clients)).await;

    // No client certificate.
    let shim = tls_shim(&policy, dir.path(), &ca, None).await;
    let m = ask(&shim).await;
    assert!(unavailable(&m), "no client certificate: {m:?}");
    shim.stop().await;

    // A client certificate of a CA the policy does not trust.
    let wrong = stranger.client("shim");
    let cert = write(dir.path(), "wrong.crt", &wrong.cert);
    let key = write(dir.path(), "wrong.key", &wrong.key);
    let shim = tls_shim(&policy, dir.path(), &ca, Some((&cert, &key))).await;
    let m = ask(&shim).await;
    assert!(unavailable(&m), "wrong client certificate: {m:?}");
    shim.stop().await;

    // The shim does not trust the policy's certificate.
    let me = clients.client("shim");
    let cert = write(dir.path(), "shim.crt", &me.cert);
    let key = write(dir.path(), "shim.key", &me.key);
    let shim = tls_shim(&policy, dir.path(), &stranger, Some((&cert, &key))).await;
    let m = ask(&shim).await;
    assert!(unavailable(&m), "untrusted policy: {m:?}");
    shim.stop().await;
    policy.stop().await;
}

#[tokio::test]
async fn rotated_certificates_are_picked_up_without_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let (ca, clients, stranger) = (Ca::new("policy CA"), Ca::new("shim CA"), Ca::new("other"));
    let policy = tls_policy(dir.path(), &ca, Some(&clients)).await;
    // The shim starts with a certificate the policy refuses ...
    let wrong = stranger.client("shim");
    let cert = write(dir.path(), "shim.crt", &wrong.cert);
    let key = write(dir.path(), "shim.key", &wrong.key);
    let shim = tls_shim(&policy, dir.path(), &ca, Some((&cert, &key))).await;
    let m = ask(&shim).await;
    assert!(unavailable(&m), "{m:?}");
    // ... then its files are replaced by good ones (a renewed Secret).
    let right = clients.client("shim");
    write(dir.path(), "shim.key", &right.key);
    write(dir.path(), "shim.crt", &right.cert);
    let m = ask_until(&shim, decided, Duration::from_secs(15)).await;
    assert!(
        decided(&m),
        "the shim's new certificate was not used: {m:?}"
    );

    // The policy's side: its client CA is replaced by the stranger's; new connections from the
    // shim (trusting only its own CA pairs) are then refused. A new shim shows it.
    write(dir.path(), "clients-ca.crt", &stranger.pem());
    tokio::time::sleep(Duration::from_millis(500)).await;
    let fresh = tls_shim(&policy, dir.path(), &ca, Some((&cert, &key))).await;
    let m = ask(&fresh).await;
    assert!(
        unavailable(&m),
        "the policy's new client CA was not used: {m:?}"
    );
    fresh.stop().await;
    shim.stop().await;
    policy.stop().await;
}

/// Runs `bin` with `args`, expecting it to exit at once; returns its status code and stderr.
async fn run_to_exit(bin: &Path, args: &[&str], env: &[(&str, &str)]) -> (Option<i32>, String) {
    let mut cmd = tokio::process::Command::new(bin);
    cmd.args(args)
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let out = tokio::time::timeout(Duration::from_secs(20), cmd.output())
        .await
        .expect("exits at once")
        .expect("runs");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test]
async fn https_without_usable_tls_settings_exits_with_status_2_and_says_why() {
    let shim = binary();
    let listen = ["--listen", "127.0.0.1:0", "--spool-dir"];
    let dir = tempfile::tempdir().unwrap();
    let spool = dir.path().join("spool");
    let spool = spool.to_str().unwrap();
    let args = [&listen[..], &[spool, "--policy", "https://127.0.0.1:9"]].concat();
    let (code, err) = run_to_exit(&shim, &args, &[]).await;
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("policy.tlsCa") && err.contains("plaintext"),
        "{err}"
    );

    // A CA file that cannot be read.
    let env = [("OPENIM_SHIM_POLICY_TLSCA", "/nonexistent/ca.crt")];
    let (code, err) = run_to_exit(&shim, &args, &env).await;
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("/nonexistent/ca.crt"), "{err}");

    // A client certificate without its key.
    let ca = write(dir.path(), "ca.crt", &Ca::new("ca").pem());
    let env = [
        ("OPENIM_SHIM_POLICY_TLSCA", ca.to_str().unwrap()),
        ("OPENIM_SHIM_POLICY_TLSCERT", ca.to_str().unwrap()),
    ];
    let (code, err) = run_to_exit(&shim, &args, &env).await;
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("policy.tlsKey"), "{err}");

    // The policy with a certificate file that is not one.
    let policy = shim.with_file_name("openim-policy");
    let junk = write(dir.path(), "junk.pem", "not PEM\n");
    let junk = junk.to_str().unwrap();
    let args = [
        "--listen",
        "127.0.0.1:0",
        "--tls-cert",
        junk,
        "--tls-key",
        junk,
    ];
    let (code, err) = run_to_exit(&policy, &args, &[]).await;
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("junk.pem"), "{err}");
}
