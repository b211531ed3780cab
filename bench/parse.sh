#!/usr/bin/env bash
# Parse throughput on a >= 100 MB tlog of real traffic: Airlock vs pymavlink vs `cat`.
# Usage: bench/parse.sh [SIZE_MB]   (prints figures; makes bench/data/ and bench/.venv/)
set -euo pipefail
cd "$(dirname "$0")/.."
size_mb=${1:-100}
source bench/common.sh
big=$(big_tlog "$size_mb")
pymavlink_venv
cargo build --release --quiet
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
bytes=$(stat -c %s "$big")
echo "file: $big ($bytes bytes)"
t_cat=$(for i in 1 2 3; do seconds cat "$big"; done | median)
t_airlock=$(for i in 1 2 3; do seconds target/release/airlock info --json "$big"; done | median)
t_pymavlink=$(seconds bench/.venv/bin/python tests/peers/pymavlink_peer.py count "$big")
messages=$(target/release/airlock info --json "$big" | python3 -c 'import json,sys; print(sum(json.load(sys.stdin)["messages"].values()))')
printf '%-34s %8s %10s %12s\n' "reader" "seconds" "MB/s" "messages/s"
for row in "cat>/dev/null:$t_cat" "airlock info:$t_airlock" "pymavlink (mavutil loop):$t_pymavlink"; do
  name=${row%%:*}; t=${row##*:}
  printf '%-34s %8.3f %10.1f %12.0f\n' "$name" "$t" "$(echo "$bytes / $t / 1000000" | bc -l)" "$(echo "$messages / $t" | bc -l)"
done
echo "airlock / cat time ratio:       $(echo "$t_airlock / $t_cat" | bc -l | cut -c1-6)"
echo "pymavlink / airlock time ratio: $(echo "$t_pymavlink / $t_airlock" | bc -l | cut -c1-6)"
echo "in-process figures:"
cargo bench --quiet --bench throughput -- "$big"
