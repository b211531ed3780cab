#!/usr/bin/env bash
# Onboard log download figures against ArduPilot SITL on the emulated 57 600-baud radio
# (../shared/sitl), beside MAVProxy's `log download` on the same link, loss and seed.
# SITL writes a log by logging while disarmed for a few seconds (LOG_DISARMED 1, then 0);
# `airlock logs get latest` pulls it three times, `--via messages` (LOG_DATA), `--via ftp` (the
# file by MAVLink FTP) and `--via auto` (both measured, then the faster), each into a fresh
# data folder (its own B/s figure, and byte-compared with SITL's file);
# then the bundle's mavproxy-check.py restarts SITL on the same folder and times MAVProxy's
# download of the same log (MAVProxy's default 4 Hz streams, as operators run it).
# The link carries 5 760 B/s; the share of it is printed.
# Usage: bench/logs.sh [LOSS...]   (default: 0 0.02); AIRLOCK_BIN: a binary already built;
# LOG_SECONDS: how long SITL logs (default 3: about 190 kB).
set -euo pipefail
cd "$(dirname "$0")/.."
losses=("$@"); [ ${#losses[@]} -gt 0 ] || losses=(0 0.02)
seed=7
log_seconds=${LOG_SECONDS:-3}
. bench/common.sh
sitl_bench_setup
export AIRLOCK_DATA_DIR="$work/data"
printf 'QGC WPL 110\n0\t1\t0\t16\t0\t0\t0\t0\t-35.363262\t149.165237\t584\t1\n' > "$work/empty.waypoints"
for loss in "${losses[@]}"; do
  rm -rf "$work/sitl" "$work/gcs" "$work/veh" "$work/out" "$work/data"
  "$sitl/radio-link" --a "$work/gcs" --b "$work/veh" --baud 57600 --loss "$loss" --seed "$seed" 2>/dev/null &
  radio=$!
  while [ ! -e "$work/gcs" ] || [ ! -e "$work/veh" ]; do sleep 0.1; done
  "$sitl/run-copter" "$work/veh" --workdir "$work/sitl" --wipe > "$work/sitl.log" 2>&1 &
  copter=$!
  sleep 5
  echo "== loss $loss, seed $seed"
  $airlock params set --baud 57600 --port "$work/gcs" LOG_DISARMED 1 > /dev/null
  sleep "$log_seconds"
  $airlock params set --baud 57600 --port "$work/gcs" LOG_DISARMED 0 > /dev/null
  sleep 4
  for via in messages ftp auto; do
    rm -rf "$work/out" "$work/data"
    out=$($airlock logs get latest --via "$via" --baud 57600 --port "$work/gcs" -o "$work/out" \
      2> "$work/said" | tail -1)
    rate=$(sed -n 's/.*(\([0-9]*\) B\/s).*/\1/p' <<< "$out")
    same=different; cmp -s "$work"/out/* "$work/sitl/logs/00000001.BIN" && same=byte-identical
    printf '  airlock logs get latest --via %s: %s\n  %s B/s = %.1f %% of the link'"'"'s 5760 B/s; %s to SITL'"'"'s file\n' \
      "$via" "$out" "$rate" "$(echo "${rate:-0} * 100 / 5760" | bc -l)" "$same"
    sed 's/^/  /' "$work/said"
  done
  kill "$copter" "$radio"; wait "$copter" "$radio" 2>/dev/null || true
  unset copter radio
  PATH="$PWD/bench/.venv-mavproxy/bin:$PATH" bench/.venv-mavproxy/bin/python "$sitl/mavproxy-check.py" \
    --sitl-workdir "$work/sitl" --mission "$work/empty.waypoints" --loss "$loss" --seed "$seed" \
    --skip ftp,params,mission --work "$work/mavproxy-$loss" | sed 's/^/  /'
done
