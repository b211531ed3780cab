#!/usr/bin/env bash
# Soak: RECORD_S seconds (default 3600) of `airlock record` on the simulator paced at 921 600
# baud with fault injection (noise, bit flips, lost frames), MAVProxy recording an identical
# simulator (same seed, same faults) beside it, and WINDOW_S seconds (default 1800) of the
# window on a third live link with three plots open (under Xvfb, software rendering).
# Every EVERY seconds (default 10) it samples each process's resident memory, open file
# descriptors and CPU time from /proc; at the end it prints, per process, the memory slope after
# the warm-up (WARMUP_S, default 300), the memory and fd ranges, and CPU in % of one core.
#   bench/soak.sh            (AIRLOCK_BIN=path to use a built binary; RECORD_S=600 for a short run)
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/common.sh
record_s=${RECORD_S:-3600}
window_s=${WINDOW_S:-1800}
every=${EVERY:-10}
warmup_s=${WARMUP_S:-300}

if [ ! -x bench/.venv-mavproxy/bin/mavproxy.py ]; then
  python3 -m venv bench/.venv-mavproxy
  bench/.venv-mavproxy/bin/pip install --quiet MAVProxy
fi
command -v Xvfb >/dev/null || apt-get install -y -qq xvfb >/dev/null
if [ -z "${AIRLOCK_BIN:-}" ]; then
  cargo build --release --quiet
fi
airlock=${AIRLOCK_BIN:-target/release/airlock}
work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  [ -n "${KEEP:-}" ] && echo "kept $work" || rm -rf "$work"
}
trap cleanup EXIT

faults=(--baud 921600 --noise 0.005 --corrupt 0.005 --drop 0.005 --seed 7)
export AIRLOCK_DATA_DIR=$work/data
for link in rec mav win; do
  "$airlock" sim "${faults[@]}" --link "$work/$link" >"$work/sim-$link.log" 2>&1 &
  pids+=($!)
done
for link in rec mav win; do
  for _ in $(seq 50); do [ -e "$work/$link" ] && break; sleep 0.1; done
done

"$airlock" record --port "$work/rec" --baud 921600 --out "$work/flight" 2>"$work/record.log" &
rec=$!; pids+=($rec)
bench/.venv-mavproxy/bin/python bench/.venv-mavproxy/bin/mavproxy.py \
  --master "$work/mav" --baudrate 921600 --logfile "$work/mavproxy.tlog" --daemon \
  --non-interactive --state-basedir "$work" >"$work/mavproxy.log" 2>&1 &
mav=$!; pids+=($mav)
display=:$((90 + RANDOM % 9))
Xvfb "$display" -screen 0 1600x1000x24 -nolisten tcp >/dev/null 2>&1 &
pids+=($!)
sleep 1
DISPLAY=$display LIBGL_ALWAYS_SOFTWARE=1 "$airlock" --port "$work/win" --baud 921600 \
  --plot ATTITUDE.roll --plot VFR_HUD.alt --plot SYS_STATUS.voltage_battery 2>"$work/window.log" &
win=$!; pids+=($win)

samples=$work/samples.csv
echo "t,name,rss_kb,fds,cpu_ticks" >"$samples"
sample() { # name pid t
  local status=/proc/$2/status stat=/proc/$2/stat
  [ -r "$stat" ] || return 0
  local rss fds ticks
  rss=$(awk '/^VmRSS/ {print $2}' "$status" 2>/dev/null || echo 0)
  fds=$(ls "/proc/$2/fd" 2>/dev/null | wc -l)
  ticks=$(awk '{print $14 + $15}' "$stat" 2>/dev/null || echo 0)
  echo "$3,$1,$rss,$fds,$ticks" >>"$samples"
}
start=$(date +%s)
echo "soak: record ${record_s}s, window ${window_s}s, sampling every ${every}s in $work"
while :; do
  t=$(( $(date +%s) - start ))
  [ "$t" -gt "$record_s" ] && break
  sample airlock-record "$rec" "$t"
  sample mavproxy "$mav" "$t"
  if [ "$t" -le "$window_s" ]; then
    sample airlock-window "$win" "$t"
  elif kill -0 "$win" 2>/dev/null; then
    DISPLAY=$display import -window root "$work/window.png" 2>/dev/null || true
    kill -TERM "$win"
  fi
  sleep "$every"
done
kill -TERM "$rec" "$mav" 2>/dev/null || true
wait "$rec" 2>/dev/null || true
[ -f "$work/window.png" ] && cp "$work/window.png" "${SHOT:-/tmp/soak-window.png}"

python3 - "$samples" "$warmup_s" "$(getconf CLK_TCK)" <<'EOF'
import csv, sys
path, warmup, hz = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
rows = {}
for r in csv.DictReader(open(path)):
    rows.setdefault(r["name"], []).append((float(r["t"]), int(r["rss_kb"]), int(r["fds"]), int(r["cpu_ticks"])))
print(f"{'process':<15} {'minutes':>7} {'RSS after warm-up (MiB)':>24} {'slope (KiB/h)':>14} {'fds min..max':>13} {'CPU % of a core':>16}")
for name, s in rows.items():
    after = [x for x in s if x[0] >= warmup] or s
    n = len(after)
    mt = sum(x[0] for x in after) / n
    mr = sum(x[1] for x in after) / n
    var = sum((x[0] - mt) ** 2 for x in after)
    slope = sum((x[0] - mt) * (x[1] - mr) for x in after) / var * 3600 if var else 0.0
    cpu = (after[-1][3] - after[0][3]) / hz / max(after[-1][0] - after[0][0], 1e-9) * 100
    rss = [x[1] / 1024 for x in after]
    fds = [x[2] for x in s]
    print(f"{name:<15} {s[-1][0] / 60:>7.1f} {min(rss):>11.1f} .. {max(rss):<10.1f} {slope:>14.0f} {min(fds):>6} .. {max(fds):<4} {cpu:>16.2f}")
EOF
echo "recorded: airlock $(du -sb "$work/flight" | cut -f1) bytes (raw capture + tlog), mavproxy $(stat -c %s "$work/mavproxy.tlog" 2>/dev/null || echo 0) bytes (tlog)"
"$airlock" info "$work/flight" | sed -n '1,12p'
