//! Policy services in other languages, run as child processes: started on a free loopback port,
//! ready once they report SERVING over `grpc.health.v1`, their log kept for assertions, and
//! killed when dropped so that no test leaves a process behind.

use std::{
    io::{BufRead, BufReader, Read},
    net::SocketAddr,
    process::{Child, Command, Stdio},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use tonic_health::pb::{
    HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient,
};

/// A running child policy.
#[derive(Debug)]
pub struct ChildPolicy {
    name: String,
    child: Child,
    /// Where it listens.
    pub addr: SocketAddr,
    log: Arc<Mutex<Vec<String>>>,
}

impl ChildPolicy {
    /// Starts `command` with `{addr}` in its arguments replaced by a free loopback address, and
    /// waits (at most `ready_within`) until its health service says SERVING. Panics with the
    /// child's output if it exits or never gets ready.
    pub async fn start(name: &str, command: Command, ready_within: Duration) -> Self {
        let addr = crate::closed_port().await;
        let program = command.get_program().to_owned();
        let args: Vec<_> = command
            .get_args()
            .map(|a| a.to_string_lossy().replace("{addr}", &addr.to_string()))
            .collect();
        let mut replaced = Command::new(program);
        replaced.args(args);
        if let Some(dir) = command.get_current_dir() {
            replaced.current_dir(dir);
        }
        for (k, v) in command.get_envs() {
            match v {
                Some(v) => replaced.env(k, v),
                None => replaced.env_remove(k),
            };
        }
        let mut child = replaced
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start the {name} policy: {e}"));
        let log = Arc::default();
        collect_lines(child.stdout.take().expect("stdout"), &log);
        collect_lines(child.stderr.take().expect("stderr"), &log);
        let mut policy = Self {
            name: name.to_owned(),
            child,
            addr,
            log,
        };
        policy.wait_ready(ready_within).await;
        policy
    }

    /// `http://<addr>`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Its output so far (stdout and stderr, line by line).
    pub fn log(&self) -> Vec<String> {
        self.log.lock().expect("log").clone()
    }

    /// Waits (at most `within`) for an output line satisfying `pred`.
    pub async fn wait_for_line(
        &self,
        within: Duration,
        pred: impl Fn(&str) -> bool,
    ) -> Option<String> {
        let give_up = Instant::now() + within;
        loop {
            if let Some(line) = self.log().into_iter().find(|l| pred(l)) {
                return Some(line);
            }
            if Instant::now() >= give_up {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn wait_ready(&mut self, within: Duration) {
        let give_up = Instant::now() + within;
        let channel = tonic::transport::Endpoint::from_shared(self.url())
            .expect("url")
            .connect_timeout(Duration::from_secs(1))
            .connect_lazy();
        let mut health = HealthClient::new(channel);
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "the {} policy exited ({status}) before it was ready:\n{}",
                    self.name,
                    self.log().join("\n")
                );
            }
            let check = health.check(HealthCheckRequest {
                service: String::new(),
            });
            if let Ok(Ok(r)) = tokio::time::timeout(Duration::from_secs(1), check).await
                && r.get_ref().status == ServingStatus::Serving as i32
            {
                return;
            }
            assert!(
                Instant::now() < give_up,
                "the {} policy was not SERVING within {within:?}:\n{}",
                self.name,
                self.log().join("\n")
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Drop for ChildPolicy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Appends each line read from `from` to `log`, on a thread of its own (it ends at EOF, when
/// the child exits).
fn collect_lines(from: impl Read + Send + 'static, log: &Arc<Mutex<Vec<String>>>) {
    let log = Arc::clone(log);
    std::thread::spawn(move || {
        for line in BufReader::new(from).lines() {
            let Ok(line) = line else { break };
            log.lock().expect("log").push(line);
        }
    });
}
