#!/usr/bin/env python3
"""Instructions per request of openim-shim and openim-policy, per callback, with callgrind.

Instruction counts do not depend on how busy the machine is, so they compare builds reliably
where timings cannot (a shared 2-core machine). For each command of the benchmark mix, the shim
and the policy run under `valgrind --tool=callgrind`; after a warm-up the counters are zeroed,
exactly N requests are sent one at a time, and the counters are dumped: total instructions / N.
One request at a time means every after-event gets a spool commit of its own (no group commit),
so the after-send figure is the worst case for the spool.

Usage: python3 bench/profile.py [--requests 200] [--rules bench/.work/rules.yaml] [--top 15]
Needs valgrind and a release build (`cargo build --release --bins`); prepare the request bodies
first with `python3 bench/run.py --smoke` (it writes bench/.work/).
"""

import argparse
import glob
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WORK = os.path.join(ROOT, "bench", ".work")
BIN = os.path.join(ROOT, "target", "release")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, timeout=120):
    deadline = time.time() + timeout
    while time.time() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise RuntimeError(f"port {port} never opened")


def send(port, command, body, n):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    for _ in range(n):
        conn.request("POST", f"/callbackExample/{command}", body,
                     {"Content-Type": "application/json; charset=utf-8", "Operationid": "profile"})
        r = conn.getresponse()
        data = r.read()
        if r.status != 200 or not data.startswith(b"{"):
            raise RuntimeError(f"bad reply {r.status} {data[:200]!r}")


def callgrind(name, out_dir, cmd, env=None):
    out = os.path.join(out_dir, f"{name}.out")
    full = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}"] + cmd
    proc = subprocess.Popen(full, env=dict(os.environ, RUST_LOG="warn", **(env or {})),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    return proc, out


def control(proc, action):
    subprocess.run(["callgrind_control", action, str(proc.pid)], check=True, capture_output=True)


def total_ir(prefix):
    """Instructions in the dumps written after the last zeroing (files `<out>.N`)."""
    dumps = sorted(glob.glob(prefix + ".*"), key=lambda p: int(p.rsplit(".", 1)[1]))
    with open(dumps[-1]) as f:
        for line in f:
            if line.startswith("totals:") or line.startswith("summary:"):
                return int(line.split()[1]), dumps[-1]
    raise RuntimeError(f"no totals in {dumps[-1]}")


def top(dump, n):
    out = subprocess.run(["callgrind_annotate", "--inclusive=no", "--threshold=100", dump],
                         capture_output=True, text=True, check=True).stdout
    rows = []
    for line in out.splitlines():
        m = re.match(r"\s*([\d,]+) \(\s*([\d.]+)%\)\s+(.*)", line)
        # Thread entry points show as near 100% even in the exclusive view: skip them.
        if m and "PROGRAM TOTALS" not in line and float(m.group(2)) < 50:
            rows.append((m.group(2), m.group(3)[:140]))
    return rows[:n]


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--requests", type=int, default=200)
    p.add_argument("--rules", default=os.path.join(WORK, "rules.yaml"))
    p.add_argument("--top", type=int, default=0, help="also print the N costliest functions")
    args = p.parse_args()
    if not shutil.which("valgrind"):
        sys.exit("valgrind is needed")
    mix = json.load(open(os.path.join(WORK, "mix.json")))
    out_dir = tempfile.mkdtemp(prefix="openim-profile-")
    pport, sport = free_port(), free_port()
    policy, policy_out = callgrind("policy", out_dir, [os.path.join(BIN, "openim-policy"),
                                                      "--listen", f"127.0.0.1:{pport}", "--rules", args.rules])
    shim, shim_out = callgrind("shim", out_dir, [os.path.join(BIN, "openim-shim"), "--listen",
                                                f"127.0.0.1:{sport}", "--policy", f"http://127.0.0.1:{pport}"],
                               env={"OPENIM_SHIM_SPOOL_DIR": os.path.join(out_dir, "spool")})
    rows = []
    try:
        wait_port(pport)
        wait_port(sport)
        for entry in mix:
            command = entry["command"]
            body = open(os.path.join(WORK, entry["body"]), "rb").read()
            send(sport, command, body, 50)
            time.sleep(1)  # let background deliveries of the warm-up finish
            for proc in (shim, policy):
                control(proc, "--zero")
            send(sport, command, body, args.requests)
            time.sleep(1)
            for proc in (shim, policy):
                control(proc, "--dump")
            time.sleep(0.5)
            shim_ir, shim_dump = total_ir(shim_out)
            policy_ir, policy_dump = total_ir(policy_out)
            rows.append((command, shim_ir // args.requests, policy_ir // args.requests, shim_dump, policy_dump))
    finally:
        for proc in (shim, policy):
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait()
    print(f"Instructions per request (callgrind, {args.requests} requests one at a time):\n")
    print("| command | shim | policy |\n| --- | ---: | ---: |")
    for command, s, pol, _, _ in rows:
        print(f"| {command} | {s:,} | {pol:,} |")
    if args.top:
        for command, _, _, shim_dump, _ in rows:
            print(f"\nshim, {command}: costliest functions (self %)")
            for pct, name in top(shim_dump, args.top):
                print(f"  {pct:>6}%  {name}")
    shutil.rmtree(out_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
