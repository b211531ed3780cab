#!/usr/bin/env python3
"""Crash at any moment: `kill -9` of `airlock record` at KILLS (default 20) random moments of a
busy session, then check each flight.

The peer is this script on the master side of a pseudo-terminal: it writes real vehicles'
traffic (the repository's .tlog files, frames and the timestamps between them, so valid frames
and garbage) at about 92 KB/s, as a 921 600 baud link carries, and reads what Airlock sends.
After each kill: `airlock info` must open the flight (exit 0, marked recovered), `airlock export`
must export it, and the received bytes in the capture must be a prefix of what the peer wrote,
missing at most what it wrote in the last 200 ms before the kill.

    python3 bench/kill9.py [--airlock target/release/airlock] [--kills 20] [--seed 1]

Standard library only. Prints one row per kill and a summary; exits 1 if any kill lost more.
"""

import argparse
import glob
import json
import os
import random
import select
import signal
import subprocess
import sys
import tempfile
import termios
import time
import tty

RATE = 92_160  # bytes per second: 921 600 baud, 10 bits per byte
PIECE = 922  # bytes per 10 ms
GRACE = 0.200  # what arrived in the last 200 ms may be missing


def traffic():
    data = b"".join(open(p, "rb").read() for p in sorted(glob.glob("tests/data/tlogs/*.tlog")))
    if not data:
        sys.exit("no tests/data/tlogs/*.tlog: run from the repository")
    return data


def one_kill(airlock, data, run_s, work, n):
    master, slave = os.openpty()
    tty.setraw(master, termios.TCSANOW)
    device = os.ttyname(slave)
    flight = os.path.join(work, f"flight-{n:02}")
    recorder = subprocess.Popen(
        [airlock, "record", "--port", device, "--baud", "921600", "--out", flight],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    capture = os.path.join(flight, "capture.alc")
    deadline = time.monotonic() + 10
    while not (os.path.exists(capture) and os.path.getsize(capture) > 40):
        if time.monotonic() > deadline:
            sys.exit("the recorder did not start")
        time.sleep(0.01)
    written = []  # (time written, total bytes written by then)
    total = 0
    at = random.randrange(len(data))
    started = time.monotonic()
    next_at = started
    while time.monotonic() - started < run_s:
        piece = data[at : at + PIECE] or data[:PIECE]
        at = (at + len(piece)) % len(data)
        os.write(master, piece)
        total += len(piece)
        written.append((time.monotonic(), total, piece))
        # Read what Airlock sends (heartbeats, stream requests) so its writes never block.
        while select.select([master], [], [], 0)[0]:
            os.read(master, 65536)
        next_at += PIECE / RATE
        time.sleep(max(0.0, next_at - time.monotonic()))
    killed_at = time.monotonic()
    os.kill(recorder.pid, signal.SIGKILL)
    recorder.wait()
    os.close(master)
    os.close(slave)

    sent = b"".join(p for _, _, p in written)
    safe = max([t for w, t, _ in written if killed_at - w >= GRACE] or [0])
    info = subprocess.run([airlock, "info", "--json", flight], capture_output=True)
    opened = info.returncode == 0
    recovered = opened and json.loads(info.stdout).get("recovered") is True
    rx = os.path.join(work, f"rx-{n:02}.bin")
    exported = subprocess.run(
        [airlock, "export", flight, "--format", "raw", "-o", rx], capture_output=True
    ).returncode == 0
    tlog = subprocess.run(
        [airlock, "export", flight, "--format", "tlog", "-o", rx + ".tlog"], capture_output=True
    ).returncode == 0
    captured = open(rx, "rb").read() if exported else b""
    prefix = sent[: len(captured)] == captured
    lost = len(sent) - len(captured)
    ok = opened and recovered and exported and tlog and prefix and len(captured) >= safe
    return {
        "n": n,
        "run_s": run_s,
        "sent": len(sent),
        "captured": len(captured),
        "lost": lost,
        "allowed": len(sent) - safe,
        "opened": opened and recovered and exported and tlog,
        "prefix": prefix,
        "ok": ok,
    }


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--airlock", default=None)
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    os.chdir(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
    airlock = args.airlock or next(
        (p for p in ("target/release/airlock", "target/debug/airlock") if os.path.exists(p)), None
    )
    if not airlock:
        sys.exit("build Airlock first (cargo build --release) or pass --airlock")
    random.seed(args.seed)
    data = traffic()
    print(f"{args.kills} kills of {airlock} record at 921 600 baud ({RATE} B/s of real traffic)")
    print(f"{'kill':>4} {'after s':>8} {'peer sent':>10} {'captured':>10} {'lost':>6} {'allowed':>8} {'opens':>6} {'prefix':>7}")
    rows = []
    with tempfile.TemporaryDirectory() as work:
        for n in range(1, args.kills + 1):
            row = one_kill(os.path.abspath(airlock), data, random.uniform(0.5, 6.0), work, n)
            rows.append(row)
            print(
                f"{row['n']:>4} {row['run_s']:>8.2f} {row['sent']:>10} {row['captured']:>10} "
                f"{row['lost']:>6} {row['allowed']:>8} {'yes' if row['opened'] else 'NO':>6} "
                f"{'yes' if row['prefix'] else 'NO':>7}" + ("" if row["ok"] else "  <- FAILED")
            )
    opened = sum(r["opened"] for r in rows)
    lost = [r["lost"] for r in rows]
    print(
        f"{opened} of {len(rows)} flights open; bytes lost per kill: min {min(lost)}, "
        f"max {max(lost)}, mean {sum(lost) / len(lost):.0f} "
        f"(allowed: what the peer wrote in the last 200 ms, {int(RATE * GRACE)} B at this rate)"
    )
    sys.exit(0 if all(r["ok"] for r in rows) else 1)


if __name__ == "__main__":
    main()
