//! The real `openim-shim` binary as a child process: started with arguments and environment,
//! ready when it logs `openim-shim ready addr=...`, stopped with SIGTERM (graceful) or SIGKILL
//! (a crash), killed when dropped so that no process outlives its test.
//!
//! The binary is `target/<profile>/openim-shim`, next to this test's own executable. `cargo test
//! --workspace` (what `scripts/test` runs) builds it, because the shim package's own
//! integration tests need it; `cargo test -p openim-tests` alone may find it missing or stale.

use std::{
    net::SocketAddr,
    path::PathBuf,
    process::{ExitStatus, Stdio},
    sync::{Arc, Mutex},
    time::Duration,
};

use tokio::{
    io::{AsyncBufReadExt, BufReader},
    process::{Child, Command},
    sync::mpsc,
};

use crate::{events::Metrics, openim_http};

/// How long the binary may take to say it is ready.
const READY_TIMEOUT: Duration = Duration::from_secs(30);

/// A running shim process.
#[derive(Debug)]
pub struct ShimProcess {
    child: Child,
    /// Where it listens.
    pub addr: SocketAddr,
    logs: Arc<Mutex<Vec<String>>>,
}

/// Path of the `openim-shim` binary built with this test.
pub fn binary() -> PathBuf {
    let exe = std::env::current_exe().expect("current exe");
    // target/<profile>/deps/<test> → target/<profile>/openim-shim
    let bin = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target directory")
        .join(format!("openim-shim{}", std::env::consts::EXE_SUFFIX));
    assert!(
        bin.exists(),
        "{} is missing: build it with `cargo build -p openim-shim` (cargo test --workspace does)",
        bin.display()
    );
    bin
}

impl ShimProcess {
    /// Starts the binary on a loopback port with `args` and extra environment `env`, and waits
    /// until it is ready.
    pub async fn start(args: &[&str], env: &[(&str, &str)]) -> Self {
        Self::start_with(Command::new(binary()), args, env).await
    }

    /// As [`ShimProcess::start`], on one CPU (`taskset -c 0`, which execs the binary: the
    /// process is the shim's): it then runs on one thread, as in a pod with a CPU limit of 1
    /// (see `openim_common::runtime`).
    pub async fn start_on_one_cpu(args: &[&str], env: &[(&str, &str)]) -> Self {
        let mut cmd = Command::new("taskset");
        cmd.args(["-c", "0"]).arg(binary());
        Self::start_with(cmd, args, env).await
    }

    async fn start_with(mut cmd: Command, args: &[&str], env: &[(&str, &str)]) -> Self {
        cmd.args(["--listen", "127.0.0.1:0"])
            .args(args)
            .env("RUST_LOG", "info")
            // Tests stop it at once; the drain sequence has a test of its own.
            .env("OPENIM_SHIM_SHUTDOWN_DRAINDELAY", "1ms")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("start openim-shim");
        let stderr = child.stderr.take().expect("stderr");
        let logs = Arc::new(Mutex::new(Vec::new()));
        let (ready_tx, mut ready) = mpsc::unbounded_channel();
        let kept = logs.clone();
        // Keeps draining stderr so that the child never blocks on a full pipe.
        tokio::spawn(async move {
            let mut lines = BufReader::new(stderr).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                if line.contains("openim-shim ready") {
                    let _ = ready_tx.send(line.clone());
                }
                kept.lock().expect("logs").push(line);
            }
        });
        let Ok(Some(line)) = tokio::time::timeout(READY_TIMEOUT, ready.recv()).await else {
            panic!(
                "openim-shim did not become ready; its log:\n{}",
                logs.lock().expect("logs").join("\n")
            )
        };
        let addr = crate::listen_addr(&line);
        Self { child, addr, logs }
    }

    /// Sends SIGTERM and waits for the process to exit.
    pub async fn sigterm(mut self) -> ExitStatus {
        self.signal("-TERM").await;
        tokio::time::timeout(Duration::from_secs(30), self.child.wait())
            .await
            .expect("openim-shim did not exit within 30 s of SIGTERM")
            .expect("wait")
    }

    /// Kills the process with SIGKILL (a crash: nothing is flushed) and waits for it.
    pub async fn kill(mut self) {
        self.child.kill().await.expect("SIGKILL");
    }

    /// Sends `signal` (e.g. `-TERM`, `-HUP`) without waiting for anything.
    pub async fn send_signal(&self, signal: &str) {
        self.signal(signal).await;
    }

    /// Waits (at most `within`) for the process to exit.
    pub async fn wait(mut self, within: Duration) -> ExitStatus {
        tokio::time::timeout(within, self.child.wait())
            .await
            .unwrap_or_else(|_| panic!("openim-shim still running after {within:?}"))
            .expect("wait")
    }

    /// Its process ID.
    pub fn pid(&self) -> u32 {
        self.child.id().expect("running")
    }

    /// Whether the process is still running.
    pub fn running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    async fn signal(&self, signal: &str) {
        let pid = self.child.id().expect("running").to_string();
        let ok = Command::new("kill")
            .args([signal, &pid])
            .status()
            .await
            .expect("run kill");
        assert!(ok.success(), "kill {signal} {pid} failed");
    }

    /// Everything it logged so far.
    pub fn logs(&self) -> Vec<String> {
        self.logs.lock().expect("logs").clone()
    }

    /// Its `/metrics`, parsed.
    pub async fn metrics(&self) -> Metrics {
        let r = openim_http::send(http::Method::GET, self.addr, "/metrics", b"", None).await;
        assert_eq!(r.status, 200);
        Metrics::parse(&r.text())
    }

    /// Polls `/metrics` until `ready` holds (a readiness signal, bounded by `within`).
    pub async fn wait_for_metrics(
        &self,
        within: Duration,
        what: &str,
        ready: impl Fn(&Metrics) -> bool,
    ) -> Metrics {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let m = self.metrics().await;
            if ready(&m) {
                return m;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "timed out waiting for {what}; metrics: {m:?}\nlog:\n{}",
                self.logs().join("\n")
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}
