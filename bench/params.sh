#!/usr/bin/env bash
# Parameter fetch figures against ArduPilot SITL on the emulated 57 600-baud radio
# (../shared/sitl), beside MAVProxy's on the same link, loss and seed:
#  - Airlock: `airlock params fetch` by MAVLink FTP and with --no-ftp (PARAM_REQUEST_LIST),
#    the transfer time as airlock reports it and the whole process;
#  - MAVProxy: `param fetch` with param_ftp 1 and 0, timed by the bundle's mavproxy-check.py.
# Prints the figures; makes bench/.venv-mavproxy (MAVProxy from PyPI) and a temporary work dir.
# Usage: bench/params.sh [LOSS...]   (default: 0 0.02); AIRLOCK_BIN: a binary already built.
set -euo pipefail
cd "$(dirname "$0")/.."
losses=("$@"); [ ${#losses[@]} -gt 0 ] || losses=(0 0.02)
seed=7
. bench/common.sh
sitl_bench_setup
export AIRLOCK_DATA_DIR="$work/data"
took() { sed -n 's/.* in \([0-9.]*\) s$/\1/p' <<< "$1" | tail -1; }
printf 'QGC WPL 110\n0\t1\t0\t16\t0\t0\t0\t0\t-35.363262\t149.165237\t584\t1\n' > "$work/empty.waypoints"
for loss in "${losses[@]}"; do
  rm -rf "$work/sitl" "$work/gcs" "$work/veh"
  "$sitl/radio-link" --a "$work/gcs" --b "$work/veh" --baud 57600 --loss "$loss" --seed "$seed" 2>/dev/null &
  radio=$!
  while [ ! -e "$work/gcs" ] || [ ! -e "$work/veh" ]; do sleep 0.1; done
  "$sitl/run-copter" "$work/veh" --workdir "$work/sitl" --wipe > "$work/sitl.log" 2>&1 &
  copter=$!
  sleep 5
  echo "== loss $loss, seed $seed"
  for mode in ftp list; do
    flag=(); [ "$mode" = list ] && flag=(--no-ftp)
    rm -f "$work/fetch.params"
    t0=$(date +%s.%N)
    out=$($airlock params fetch --baud 57600 --port "$work/gcs" -o "$work/fetch.params" "${flag[@]}" | tail -1)
    t1=$(date +%s.%N)
    printf '  airlock params fetch (%-4s)  transfer %6s s, process %6.2f s  [%s]\n' "$mode" "$(took "$out")" "$(echo "$t1 - $t0" | bc -l)" "$out"
  done
  kill "$copter" "$radio"; wait "$copter" "$radio" 2>/dev/null || true
  unset copter radio
  PATH="$PWD/bench/.venv-mavproxy/bin:$PATH" bench/.venv-mavproxy/bin/python "$sitl/mavproxy-check.py" \
    --sitl-workdir "$work/sitl" --mission "$work/empty.waypoints" --loss "$loss" --seed "$seed" \
    --skip mission,log --work "$work/mavproxy-$loss" | sed 's/^/  /'
done
