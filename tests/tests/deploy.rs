//! The Helm chart (`deploy/helm/openim-policy`) run for real, without a cluster: `helm template`
//! renders a shape, and the test starts the real `openim-shim` and `openim-policy` binaries with
//! exactly the rendered containers' `args` and `env`, the way the kubelet would:
//!
//! - the binary is the image's (`openim-shim:<tag>` runs `openim-shim`; a container sets no
//!   `command`, so the Dockerfile's ENTRYPOINT applies), started in the image's WORKDIR;
//! - every volume is a temporary directory, each container's mount paths mapped to it, and the
//!   ConfigMaps are written as the kubelet writes them (files behind a `..data` symlink);
//! - every container port is a free loopback port: `0.0.0.0:<port>` becomes `127.0.0.1:<free>` in
//!   every argument, variable and config file, and the policy target names a rendered Service
//!   whose DNS name a test DNS server answers with 127.0.0.1 (the one setting the test adds:
//!   `OPENIM_SHIM_POLICY_DNSSERVER`).
//!
//! Then it asks the probes the kubelet would (the shim's HTTP probes, the policy's gRPC probe on
//! the probe's port, its TCP liveness probe), sends a callback through the shim to the policy,
//! updates the rules ConfigMap the way the kubelet does and sees the running policy apply it, and
//! stops each pod as the kubelet does (SIGTERM to the main containers; a native sidecar after
//! they exit): readiness flips first, requests are still served through the drain delay, and
//! every process exits within its pod's `terminationGracePeriodSeconds` (less any preStop sleep,
//! which the kubelet runs first).
//!
//! Needs `scripts/setup-deploy` (Helm and Python tools inside the repository; run once per test
//! process, it returns at once when they are installed).

use std::{
    collections::{BTreeMap, HashMap},
    net::{Ipv4Addr, SocketAddr},
    path::{Path, PathBuf},
    process::{ExitStatus, Stdio},
    sync::{Arc, Mutex, OnceLock},
    time::Duration,
};

use openim_tests::{
    closed_port, dns::DnsServer, events::Metrics, fixture, openim_http, repo_path,
    shim_process::binary,
};
use serde_json::Value;
use tokio::{
    io::{AsyncBufReadExt, BufReader},
    process::{Child, Command},
    time::Instant,
};
use tonic_health::pb::{
    HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient,
};

/// The release name and namespace the manifests are rendered for.
const RELEASE: &str = "openim";
const NAMESPACE: &str = "openim";
/// The kubelet would start a container within this; the binaries take milliseconds.
const START_TIMEOUT: Duration = Duration::from_secs(30);

// === rendering ===

/// Installs Helm (scripts/setup-deploy), once per test process.
fn setup() {
    static DONE: OnceLock<()> = OnceLock::new();
    DONE.get_or_init(|| {
        let status = std::process::Command::new(repo_path("scripts/setup-deploy"))
            .status()
            .expect("run scripts/setup-deploy");
        assert!(status.success(), "scripts/setup-deploy failed");
    });
}

/// The chart's objects for the values file `ci/<variant>-values.yaml` (or the defaults).
fn render(variant: Option<&str>) -> Vec<Value> {
    setup();
    let chart = repo_path("deploy/helm/openim-policy");
    let mut helm = std::process::Command::new(repo_path("scripts/tools/bin/helm"));
    helm.args(["template", RELEASE]).arg(&chart).args([
        "--namespace",
        NAMESPACE,
        "--kube-version",
        "1.29.0",
    ]);
    if let Some(v) = variant {
        helm.arg("-f")
            .arg(chart.join(format!("ci/{v}-values.yaml")));
    }
    let out = helm.output().expect("run helm");
    assert!(
        out.status.success(),
        "helm template: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).expect("UTF-8");
    serde_saphyr::from_multiple::<Value>(&text)
        .expect("helm's output is YAML")
        .into_iter()
        .filter(|o| o.is_object())
        .collect()
}

/// The object of `kind` named `name`.
fn object<'a>(objects: &'a [Value], kind: &str, name: &str) -> &'a Value {
    objects
        .iter()
        .find(|o| o["kind"] == kind && o["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("no {kind} {name} rendered"))
}

fn text<'a>(v: &'a Value, what: &str) -> &'a str {
    v.as_str()
        .unwrap_or_else(|| panic!("{what} is not a string: {v}"))
}

fn items(v: &Value) -> &[Value] {
    v.as_array().map_or(&[], Vec::as_slice)
}

// === the kubelet, for one pod ===

/// A pod of a rendered Deployment: its volumes as directories and its ports as free loopback
/// ports.
struct Pod {
    spec: Value,
    /// Volume name → directory.
    volumes: HashMap<String, tempfile::TempDir>,
    /// Container port → the free loopback port it is mapped to.
    ports: BTreeMap<u16, u16>,
    /// More replacements in its texts: another pod's Service address → where that pod listens.
    rewrites: Vec<(String, String)>,
}

impl Pod {
    async fn new(objects: &[Value], deployment: &Value, rewrites: Vec<(String, String)>) -> Self {
        let spec = deployment["spec"]["template"]["spec"].clone();
        let mut volumes = HashMap::new();
        for v in items(&spec["volumes"]) {
            let name = text(&v["name"], "volume name").to_owned();
            assert!(
                v.get("configMap").is_some() || v.get("emptyDir").is_some(),
                "volume {name}: only configMap and emptyDir volumes are expected"
            );
            volumes.insert(name, tempfile::tempdir().expect("volume dir"));
        }
        let mut ports = BTreeMap::new();
        for c in containers(&spec) {
            for p in items(&c["ports"]) {
                let port = p["containerPort"].as_u64().expect("containerPort") as u16;
                ports.insert(port, closed_port().await.port());
            }
        }
        let pod = Self {
            spec,
            volumes,
            ports,
            rewrites,
        };
        for v in items(&pod.spec["volumes"]) {
            if let Some(cm) = v.get("configMap") {
                let cm = object(objects, "ConfigMap", text(&cm["name"], "configMap name"));
                pod.write_config_map(text(&v["name"], "volume"), &cm["data"], 1);
            }
        }
        pod
    }

    /// Writes generation `generation` of a ConfigMap volume's data, as the kubelet does (see
    /// [`write_config_map`]), with the paths and addresses in it mapped for the container that
    /// mounts it.
    fn write_config_map(&self, volume: &str, data: &Value, generation: u32) {
        let reader = containers(&self.spec)
            .find(|c| {
                items(&c["volumeMounts"])
                    .iter()
                    .any(|m| m["name"] == volume)
            })
            .unwrap_or_else(|| panic!("no container mounts {volume}"));
        let mut mapped = serde_json::Map::new();
        for (key, content) in data.as_object().expect("data") {
            mapped.insert(key.clone(), self.map(reader, text(content, key)).into());
        }
        write_config_map(self.volumes[volume].path(), &mapped.into(), generation);
    }

    fn container(&self, name: &str) -> &Value {
        containers(&self.spec)
            .find(|c| c["name"] == name)
            .unwrap_or_else(|| panic!("no container {name}"))
    }

    /// The loopback port of a probe's or Service's `port`: a number, or a container port's name.
    fn port(&self, container: &Value, port: &Value) -> u16 {
        let number = match port {
            Value::Number(n) => n.as_u64().expect("port") as u16,
            Value::String(name) => items(&container["ports"])
                .iter()
                .find(|p| p["name"] == name.as_str())
                .and_then(|p| p["containerPort"].as_u64())
                .unwrap_or_else(|| panic!("no port named {name}"))
                as u16,
            other => panic!("port {other}"),
        };
        *self
            .ports
            .get(&number)
            .unwrap_or_else(|| panic!("port {number} is not a container port of the pod"))
    }

    /// `path` of a container's file system as a path of this machine, through its mounts.
    fn host_path(&self, container: &Value, path: &str) -> Option<PathBuf> {
        items(&container["volumeMounts"])
            .iter()
            .filter_map(|m| {
                let mount = text(&m["mountPath"], "mountPath");
                let rest = path.strip_prefix(mount)?;
                (rest.is_empty() || rest.starts_with('/')).then(|| {
                    let dir = self.volumes[text(&m["name"], "volume")].path();
                    (mount.len(), dir.join(rest.trim_start_matches('/')))
                })
            })
            .max_by_key(|(len, _)| *len)
            .map(|(_, p)| p)
    }

    /// Whether `path` is on a volume the container may write (the root file system is read-only).
    fn writable(&self, container: &Value, path: &str) -> bool {
        items(&container["volumeMounts"])
            .iter()
            .any(|m| path.starts_with(text(&m["mountPath"], "mountPath")) && m["readOnly"] != true)
    }

    /// A text as the container would see it, mapped to this machine: listen addresses to free
    /// loopback ports, mounted paths to their directories.
    fn map(&self, container: &Value, s: &str) -> String {
        let mut s = s.to_owned();
        for (from, to) in &self.rewrites {
            s = s.replace(from, to);
        }
        for (port, free) in &self.ports {
            s = s.replace(&format!("0.0.0.0:{port}"), &format!("127.0.0.1:{free}"));
        }
        let mut mounts: Vec<&str> = items(&container["volumeMounts"])
            .iter()
            .map(|m| text(&m["mountPath"], "mountPath"))
            .collect();
        mounts.sort_by_key(|m| std::cmp::Reverse(m.len()));
        for m in mounts {
            let host = self.host_path(container, m).expect("mounted");
            s = s.replace(m, host.to_str().expect("UTF-8 path"));
        }
        s
    }

    /// Starts a container's process as the kubelet would, plus `extra_env`.
    async fn start(&self, name: &str, extra_env: &[(&str, String)]) -> Process {
        let c = self.container(name);
        assert!(
            c.get("command").is_none(),
            "{name}: a command would replace the image's ENTRYPOINT"
        );
        let image = text(&c["image"], "image");
        let repository = image.rsplit('/').next().expect("image");
        let program = repository.split(':').next().expect("image name");
        let stage = dockerfile_stage(program);
        let bin = binary().with_file_name(format!("{program}{}", std::env::consts::EXE_SUFFIX));
        assert_eq!(
            stage.entrypoint,
            format!("/usr/local/bin/{program}"),
            "the image {image} runs another binary"
        );
        let mut cmd = Command::new(bin);
        for a in items(&c["args"]) {
            cmd.arg(self.map(c, text(a, "arg")));
        }
        cmd.env_clear().env("RUST_LOG", "info");
        // As the kubelet: the pod's own fields (the downward API) and `$(NAME)` of the variables
        // defined before.
        let mut defined: Vec<(String, String)> = Vec::new();
        for e in items(&c["env"]) {
            let value = match e["valueFrom"]["fieldRef"]["fieldPath"].as_str() {
                Some("metadata.name") => "pod-0".to_owned(),
                Some("metadata.namespace") => "default".to_owned(),
                _ => text(
                    &e["value"],
                    "env value (valueFrom other than fieldRef: not emulated)",
                )
                .to_owned(),
            };
            let value = defined.iter().fold(value, |v, (name, val)| {
                v.replace(&format!("$({name})"), val)
            });
            let name = text(&e["name"], "env name").to_owned();
            cmd.env(&name, self.map(c, &value));
            defined.push((name, value));
        }
        for (k, v) in extra_env {
            cmd.env(k, v);
        }
        let workdir = self
            .host_path(c, &stage.workdir)
            .unwrap_or_else(|| panic!("{image}: the WORKDIR {} is not on a volume", stage.workdir));
        assert!(
            self.writable(c, &stage.workdir),
            "{image}: the WORKDIR {} is not writable",
            stage.workdir
        );
        std::fs::create_dir_all(&workdir).expect("workdir");
        cmd.current_dir(workdir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let mut child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("start {program}: {e}"));
        let logs = Arc::new(Mutex::new(Vec::new()));
        let stderr = child.stderr.take().expect("stderr");
        let kept = logs.clone();
        tokio::spawn(async move {
            let mut lines = BufReader::new(stderr).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                kept.lock().expect("logs").push(line);
            }
        });
        Process {
            name: name.to_owned(),
            child,
            logs,
        }
    }

    /// The pod's `terminationGracePeriodSeconds`, less a container's preStop sleep (the kubelet
    /// runs it before the signal, within the same budget).
    fn signal_budget(&self, container: &Value) -> Duration {
        let grace = self.spec["terminationGracePeriodSeconds"]
            .as_u64()
            .expect("terminationGracePeriodSeconds is set");
        let sleep = container["lifecycle"]["preStop"]["sleep"]["seconds"]
            .as_u64()
            .unwrap_or(0);
        Duration::from_secs(grace - sleep)
    }
}

/// The pod's containers, native sidecars (init containers that keep running) first, as they start.
fn containers(spec: &Value) -> impl Iterator<Item = &Value> {
    items(&spec["initContainers"])
        .iter()
        .chain(items(&spec["containers"]))
}

/// Writes a ConfigMap's data as the kubelet does: the files in a timestamped directory, a `..data`
/// symlink to it, and one symlink per key through `..data`. A later generation is swapped in by
/// renaming a new `..data` link over the old one (atomic), which a subPath mount would not see.
fn write_config_map(dir: &Path, data: &Value, generation: u32) {
    let stamp = format!("..2026_01_01_00_00_{generation:02}.000000001");
    std::fs::create_dir(dir.join(&stamp)).expect("configMap generation");
    for (key, content) in data.as_object().expect("data") {
        std::fs::write(dir.join(&stamp).join(key), text(content, key)).expect("configMap file");
    }
    let link = dir.join("..data_tmp");
    std::os::unix::fs::symlink(&stamp, &link).expect("symlink");
    std::fs::rename(&link, dir.join("..data")).expect("swap ..data");
    for key in data.as_object().expect("data").keys() {
        if std::fs::symlink_metadata(dir.join(key)).is_err() {
            std::os::unix::fs::symlink(format!("..data/{key}"), dir.join(key)).expect("symlink");
        }
    }
}

/// The runtime stage of the Dockerfile for `target`: its WORKDIR and ENTRYPOINT.
struct Stage {
    workdir: String,
    entrypoint: String,
}

fn dockerfile_stage(program: &str) -> Stage {
    let target = program.trim_start_matches("openim-");
    let dockerfile = std::fs::read_to_string(repo_path("Dockerfile")).expect("Dockerfile");
    let lines = dockerfile
        .lines()
        .skip_while(|l| !(l.starts_with("FROM ") && l.ends_with(&format!(" AS {target}"))))
        .skip(1)
        .take_while(|l| !l.starts_with("FROM "));
    let (mut workdir, mut entrypoint) = (None, None);
    for l in lines {
        if let Some(w) = l.strip_prefix("WORKDIR ") {
            workdir = Some(w.trim().to_owned());
        }
        if let Some(e) = l.strip_prefix("ENTRYPOINT ") {
            let exec: Vec<String> = serde_json::from_str(e).expect("ENTRYPOINT in exec form");
            entrypoint = Some(exec.join(" "));
        }
    }
    Stage {
        workdir: workdir.unwrap_or_else(|| panic!("no WORKDIR in the Dockerfile's {target} stage")),
        entrypoint: entrypoint
            .unwrap_or_else(|| panic!("no ENTRYPOINT in the Dockerfile's {target} stage")),
    }
}

/// A running container process.
struct Process {
    name: String,
    child: Child,
    logs: Arc<Mutex<Vec<String>>>,
}

impl Process {
    fn logs(&self) -> String {
        self.logs.lock().expect("logs").join("\n")
    }

    fn sigterm(&self) {
        let pid = self.child.id().expect("running").to_string();
        let ok = std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill");
        assert!(ok.success());
    }

    /// Waits for the exit, at most `within`.
    async fn exit_within(&mut self, within: Duration) -> ExitStatus {
        match tokio::time::timeout(within, self.child.wait()).await {
            Ok(status) => status.expect("wait"),
            Err(_) => panic!(
                "{} still running {within:?} after SIGTERM (the kubelet's SIGKILL):\n{}",
                self.name,
                self.logs()
            ),
        }
    }

    fn assert_running(&mut self) {
        if let Ok(Some(status)) = self.child.try_wait() {
            panic!("{} exited ({status}):\n{}", self.name, self.logs());
        }
    }
}

// === probes ===

/// GET `path` on `port`: the status, or None when nothing answers.
async fn http_get(port: u16, path: &str) -> Option<u16> {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    tokio::net::TcpStream::connect(addr).await.ok()?;
    let r = openim_http::send(http::Method::GET, addr, path, b"", None).await;
    Some(r.status.as_u16())
}

/// The kubelet's HTTP probe of a container: the status of its `httpGet`.
async fn http_probe(pod: &Pod, container: &Value, probe: &Value) -> Option<u16> {
    let get = &probe["httpGet"];
    http_get(
        pod.port(container, &get["port"]),
        text(&get["path"], "path"),
    )
    .await
}

/// The kubelet's gRPC probe: grpc.health.v1 Check of the probe's `service` ("" by default).
async fn grpc_probe(port: u16, service: &str) -> Option<ServingStatus> {
    let channel = tonic::transport::Endpoint::from_shared(format!("http://127.0.0.1:{port}"))
        .expect("url")
        .connect_timeout(Duration::from_secs(1))
        .timeout(Duration::from_secs(1))
        .connect()
        .await
        .ok()?;
    let reply = HealthClient::new(channel)
        .check(HealthCheckRequest {
            service: service.to_owned(),
        })
        .await
        .ok()?;
    ServingStatus::try_from(reply.get_ref().status).ok()
}

async fn wait_until<F, Fut>(within: Duration, what: &str, mut ready: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + within;
    while !ready().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits until the policy container's readiness probe (gRPC) passes and checks its liveness
/// probe (TCP); returns its gRPC port.
async fn policy_ready(pod: &Pod, policy: &mut Process) -> u16 {
    let c = pod.container("policy");
    let probe = &c["readinessProbe"]["grpc"];
    let port = pod.port(c, &probe["port"]);
    let service = probe["service"].as_str().unwrap_or("");
    let deadline = Instant::now() + START_TIMEOUT;
    while grpc_probe(port, service).await != Some(ServingStatus::Serving) {
        policy.assert_running();
        assert!(
            Instant::now() < deadline,
            "the policy's readiness probe never passed:\n{}",
            policy.logs()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let live = pod.port(c, &c["livenessProbe"]["tcpSocket"]["port"]);
    assert!(
        tokio::net::TcpStream::connect(("127.0.0.1", live))
            .await
            .is_ok(),
        "the policy's liveness probe fails"
    );
    port
}

/// Waits until the shim's readiness probe passes, and checks its liveness probe.
async fn shim_ready(pod: &Pod, shim: &mut Process) {
    let c = pod.container("shim");
    let deadline = Instant::now() + START_TIMEOUT;
    while http_probe(pod, c, &c["readinessProbe"]).await != Some(200) {
        shim.assert_running();
        assert!(
            Instant::now() < deadline,
            "the shim's readiness probe never passed:\n{}",
            shim.logs()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        http_probe(pod, c, &c["livenessProbe"]).await,
        Some(200),
        "liveness"
    );
}

// === the shim and the policy ===

/// The shim's config file as rendered (the ConfigMap its `--config` names).
fn shim_config(objects: &[Value], deployment: &Value) -> Value {
    let spec = &deployment["spec"]["template"]["spec"];
    let c = containers(spec)
        .find(|c| c["name"] == "shim")
        .expect("the shim container");
    let arg = items(&c["args"])
        .iter()
        .find_map(|a| text(a, "arg").strip_prefix("--config="))
        .expect("--config");
    let (dir, file) = arg.rsplit_once('/').expect("a path");
    let mount = items(&c["volumeMounts"])
        .iter()
        .find(|m| m["mountPath"] == dir)
        .expect("the config's directory is a mount");
    let volume = items(&spec["volumes"])
        .iter()
        .find(|v| v["name"] == mount["name"])
        .expect("volume");
    let cm = object(
        objects,
        "ConfigMap",
        text(&volume["configMap"]["name"], "configMap"),
    );
    serde_saphyr::from_str(text(&cm["data"][file], file)).expect("shim.yaml is YAML")
}

/// The shim's policy target, checked against the rendered Service it names (`headless` or not):
/// a DNS server answering its name with 127.0.0.1, and the target's rewrite to the policy pod's
/// port.
async fn policy_service_dns(
    objects: &[Value],
    target: &str,
    policy_pod: &Pod,
    headless: bool,
) -> (DnsServer, (String, String)) {
    let hostport = target.strip_prefix("http://").expect("an http:// target");
    let (host, port) = hostport.rsplit_once(':').expect("host:port");
    let suffix = format!(".{NAMESPACE}.svc.cluster.local");
    let name = host
        .strip_suffix(&suffix)
        .unwrap_or_else(|| panic!("{host} is not a Service of namespace {NAMESPACE}"));
    let service = object(objects, "Service", name);
    assert_eq!(
        service["spec"]["clusterIP"] == "None",
        headless,
        "Service {name}: headless should be {headless}"
    );
    let sp = items(&service["spec"]["ports"])
        .iter()
        .find(|p| p["port"].as_u64() == port.parse().ok())
        .unwrap_or_else(|| panic!("Service {name} has no port {port}"));
    assert_eq!(sp["name"], "grpc", "Istio reads the protocol from the name");
    assert_eq!(sp["appProtocol"], "grpc");
    // The Service selects the policy's pods, and its targetPort is the policy's gRPC port.
    let labels = &policy_pod_labels(objects);
    for (k, v) in service["spec"]["selector"].as_object().expect("selector") {
        assert_eq!(
            &labels[k], v,
            "Service {name} does not select the policy's pods"
        );
    }
    let free = policy_pod.port(policy_pod.container("policy"), &sp["targetPort"]);
    let dns = DnsServer::start(host, &[Ipv4Addr::LOCALHOST]).await;
    (dns, (target.to_owned(), format!("http://{host}:{free}")))
}

fn policy_pod_labels(objects: &[Value]) -> Value {
    objects
        .iter()
        .find(|o| o["kind"] == "Deployment" && o["metadata"]["name"] == "openim-policy")
        .map(|d| d["spec"]["template"]["metadata"]["labels"].clone())
        .expect("the policy Deployment")
}

/// Posts a before-send callback with `text` as the message's text through the shim, and returns
/// OpenIM's reply.
async fn send_message(shim_port: u16, text: &str) -> Value {
    let body = String::from_utf8(fixture("callbackBeforeSendSingleMsgCommand.json"))
        .expect("UTF-8")
        .replace("hello", text);
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, shim_port));
    openim_http::post(
        addr,
        "/callbackExample/callbackBeforeSendSingleMsgCommand",
        body.as_bytes(),
        Some("deploy-test"),
    )
    .await
    .json()
}

/// Callbacks the policy decided, and callbacks answered by the failure mode, per the shim's
/// metrics.
async fn decided_and_failed(shim_port: u16) -> (f64, f64) {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, shim_port));
    let r = openim_http::send(http::Method::GET, addr, "/metrics", b"", None).await;
    let m = Metrics::parse(&r.text());
    let name = "openim_shim_callbacks_total";
    let decided = ["continue", "refuse", "modify"]
        .iter()
        .map(|o| m.sum(name, &[("outcome", o)]))
        .sum();
    let failed = ["fail_open", "fail_closed"]
        .iter()
        .map(|o| m.sum(name, &[("outcome", o)]))
        .sum();
    (decided, failed)
}

/// SIGTERM to the shim: its readiness flips at once, it keeps serving (liveness, callbacks the
/// policy still decides) through the drain delay, and exits within its budget.
async fn stop_shim(pod: &Pod, shim: &mut Process, shim_port: u16, drain_delay: Duration) {
    let c = pod.container("shim");
    let budget = pod.signal_budget(c);
    let signalled = Instant::now();
    shim.sigterm();
    wait_until(
        Duration::from_millis(500),
        "/readyz 503 after SIGTERM",
        || async { http_probe(pod, c, &c["readinessProbe"]).await == Some(503) },
    )
    .await;
    // Still serving: OpenIM keeps sending until the endpoint removal reaches it.
    assert_eq!(http_probe(pod, c, &c["livenessProbe"]).await, Some(200));
    let reply = send_message(shim_port, "during the drain").await;
    assert_eq!(reply["errCode"], 0, "{reply}");
    // Every callback so far was the policy's decision, none the failure mode's.
    let (decided, failed) = decided_and_failed(shim_port).await;
    assert!(
        decided >= 2.0 && failed == 0.0,
        "decided {decided}, failed {failed}"
    );
    let status = shim.exit_within(budget).await;
    let took = signalled.elapsed();
    assert!(status.success(), "the shim exited with {status}");
    assert!(
        took >= drain_delay,
        "the shim exited after {took:?}, before its drain delay {drain_delay:?}"
    );
    eprintln!("shim exited ({status}) {took:?} after SIGTERM (budget {budget:?})");
}

/// SIGTERM to the policy: NOT_SERVING at once, calls still answered through the drain delay,
/// exit within its budget.
async fn stop_policy(pod: &Pod, policy: &mut Process, grpc_port: Option<u16>) {
    let c = pod.container("policy");
    let budget = pod.signal_budget(c);
    let signalled = Instant::now();
    policy.sigterm();
    if let Some(port) = grpc_port {
        wait_until(
            Duration::from_millis(500),
            "NOT_SERVING after SIGTERM",
            || async move { grpc_probe(port, "").await == Some(ServingStatus::NotServing) },
        )
        .await;
    }
    let status = policy.exit_within(budget).await;
    assert!(status.success(), "the policy exited with {status}");
    eprintln!(
        "policy exited ({status}) {:?} after SIGTERM (budget {budget:?})",
        signalled.elapsed()
    );
}

fn seconds(v: &Value) -> Duration {
    let s = text(v, "duration");
    Duration::from_secs(s.trim_end_matches('s').parse().expect("whole seconds"))
}

/// A shape with a policy Deployment (fleet, mesh): the policy pod and the shim pod, wired
/// through the rendered Service, probed, updated, stopped.
async fn run_fleet_or_mesh(variant: Option<&str>, headless: bool) {
    let objects = render(variant);
    let policy_pod = Pod::new(
        &objects,
        object(&objects, "Deployment", "openim-policy"),
        Vec::new(),
    )
    .await;
    let shim_deployment = object(&objects, "Deployment", "openim-shim");
    let config = shim_config(&objects, shim_deployment);
    let target = text(&config["policy"]["targets"][0], "policy.targets");
    let (dns, rewrite) = policy_service_dns(&objects, target, &policy_pod, headless).await;
    let shim_pod = Pod::new(&objects, shim_deployment, vec![rewrite]).await;

    // The paths each process writes are on writable volumes (the root file system is read-only).
    let spool = text(&config["spool"]["dir"], "spool.dir");
    assert!(
        shim_pod.writable(shim_pod.container("shim"), spool),
        "{spool}"
    );
    let rules_cm = object(&objects, "ConfigMap", "openim-policy-rules");
    let rules: Value =
        serde_saphyr::from_str(text(&rules_cm["data"]["rules.yaml"], "rules")).expect("YAML");
    let audit = text(&rules["audit"]["path"], "audit.path");
    assert!(
        policy_pod.writable(policy_pod.container("policy"), audit),
        "{audit}"
    );

    let mut policy = policy_pod.start("policy", &[]).await;
    let grpc_port = policy_ready(&policy_pod, &mut policy).await;

    let mut shim = shim_pod
        .start(
            "shim",
            &[("OPENIM_SHIM_POLICY_DNSSERVER", dns.addr.to_string())],
        )
        .await;
    shim_ready(&shim_pod, &mut shim).await;
    let shim_port = shim_pod.port(shim_pod.container("shim"), &Value::from("http"));
    // The shim reaches the policy through the Service's name.
    wait_until(START_TIMEOUT, "/policyz 200", || async {
        http_get(shim_port, "/policyz").await == Some(200)
    })
    .await;
    let reply = send_message(shim_port, "hello").await;
    assert_eq!(reply["errCode"], 0, "{reply}");

    // A rules update, as `helm upgrade --set-file policy.rules=...` makes it: the kubelet swaps
    // the ConfigMap's files, the running policy reloads them.
    let mut updated = rules.clone();
    let mut lists = updated["wordLists"].as_array().cloned().unwrap_or_default();
    lists.push(serde_json::json!({
        "name": "deploy-test", "action": "refuse", "errCode": 5901,
        "words": ["forbidden-by-update"],
    }));
    updated["wordLists"] = lists.into();
    let mut data = rules_cm["data"].clone();
    // JSON is YAML.
    data["rules.yaml"] = serde_json::to_string_pretty(&updated).expect("JSON").into();
    policy_pod.write_config_map("rules", &data, 2);
    // The kubelet's swap is immediate here; the policy looks every reloadInterval (5 s at most).
    let reload = Duration::from_secs(15);
    wait_until(reload, "the updated rules to apply", || async {
        send_message(shim_port, "forbidden-by-update").await["errCode"] == 5901
    })
    .await;

    // The kubelet stops both pods (a rolling update, a drain): the shim's drain, then the
    // policy's, each within its pod's grace period.
    let drain = seconds(&config["shutdown"]["drainDelay"]);
    stop_shim(&shim_pod, &mut shim, shim_port, drain).await;
    stop_policy(&policy_pod, &mut policy, Some(grpc_port)).await;
    drop(dns);
}

/// The default values: the fleet shape (a headless Service, the shim balancing).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_default_install_runs_and_drains() {
    run_fleet_or_mesh(None, true).await;
}

/// The mesh shape targets the ClusterIP Service.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_mesh_shape_runs_and_drains() {
    run_fleet_or_mesh(Some("mesh-linkerd"), false).await;
}

/// Everything optional on (preStop sleeps, HPAs, NetworkPolicies, word files, wait-for-rules,
/// shorter timeouts).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_full_variant_runs_and_drains() {
    run_fleet_or_mesh(Some("full"), true).await;
}

/// The sidecar shape: the policy as a native sidecar in the shim's pod, over a Unix socket on a
/// shared emptyDir; the kubelet stops the shim first, then the sidecar.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sidecar_shape_runs_and_drains() {
    let objects = render(Some("sidecar"));
    assert!(
        !objects
            .iter()
            .any(|o| o["kind"] == "Deployment" && o["metadata"]["name"] == "openim-policy"),
        "no policy Deployment in the sidecar shape"
    );
    let deployment = object(&objects, "Deployment", "openim-shim");
    let pod = Pod::new(&objects, deployment, Vec::new()).await;
    let sidecar = items(&pod.spec["initContainers"])
        .iter()
        .find(|c| c["name"] == "policy")
        .expect("the policy is an init container");
    assert_eq!(sidecar["restartPolicy"], "Always", "a native sidecar");

    let mut policy = pod.start("policy", &[]).await;
    let mut shim = pod.start("shim", &[]).await;
    shim_ready(&pod, &mut shim).await;
    let shim_port = pod.port(pod.container("shim"), &Value::from("http"));
    wait_until(START_TIMEOUT, "/policyz 200 (the socket)", || async {
        http_get(shim_port, "/policyz").await == Some(200)
    })
    .await;
    policy.assert_running();
    let reply = send_message(shim_port, "hello").await;
    assert_eq!(reply["errCode"], 0, "{reply}");

    let config = shim_config(&objects, deployment);
    let drain = seconds(&config["shutdown"]["drainDelay"]);
    stop_shim(&pod, &mut shim, shim_port, drain).await;
    stop_policy(&pod, &mut policy, None).await;
}
