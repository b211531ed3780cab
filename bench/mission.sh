#!/usr/bin/env bash
# Mission transfer figures against ArduPilot SITL on the emulated 57 600-baud radio
# (../shared/sitl), beside MAVProxy's on the same link, loss and seed:
#  - Airlock: `airlock mission upload` of a 100-waypoint mission (upload, then read back and
#    compare) and `airlock mission download`, each timed as a whole process;
#  - MAVProxy: `wp load` (until MISSION_ACK) and `wp list` (until saved), timed by the bundle's
#    mavproxy-check.py from its own output.
# Prints the figures; makes bench/.venv-mavproxy (MAVProxy from PyPI) and a temporary work dir.
# Usage: bench/mission.sh [LOSS] [SEED]   (LOSS defaults to 0.02, SEED to 7)
set -euo pipefail
cd "$(dirname "$0")/.."
loss=${1:-0.02}
seed=${2:-7}
. bench/common.sh
sitl_bench_setup

# The mission: takeoff and 99 waypoints on a spiral round SITL's home (QGC WPL 110, home in
# row 0), the same file for both ground stations.
python3 - "$work/hundred.waypoints" <<'EOF'
import math, sys
lat0, lon0 = -35.363262, 149.165237
rows = ["QGC WPL 110", "0\t1\t0\t16\t0\t0\t0\t0\t%.7f\t%.7f\t584.000000\t1" % (lat0, lon0),
        "1\t0\t3\t22\t0\t0\t0\t0\t%.7f\t%.7f\t20.000000\t1" % (lat0, lon0)]
for i in range(99):
    a = i * 0.2
    n, e = 150 * math.cos(a), 150 * math.sin(a)
    lat = lat0 + math.degrees(n / 6371008.8)
    lon = lon0 + math.degrees(e / (6371008.8 * math.cos(math.radians(lat0))))
    rows.append("%d\t0\t3\t16\t0\t0\t0\t0\t%.7f\t%.7f\t%.6f\t1" % (i + 2, lat, lon, 20 + i % 10))
open(sys.argv[1], "w").write("\n".join(rows) + "\n")
EOF

"$sitl/radio-link" --a "$work/gcs" --b "$work/veh" --baud 57600 --loss "$loss" --seed "$seed" 2>/dev/null &
radio=$!
while [ ! -e "$work/gcs" ] || [ ! -e "$work/veh" ]; do sleep 0.1; done
"$sitl/run-copter" "$work/veh" --workdir "$work/sitl" --wipe > "$work/sitl.log" 2>&1 &
copter=$!
# ArduPilot answers NO_SPACE until its mission storage is up.
sleep 10
export AIRLOCK_DATA_DIR="$work/data"
t0=$(date +%s.%N)
up=$($airlock mission upload --baud 57600 --port "$work/gcs" --type mission "$work/hundred.waypoints")
t1=$(date +%s.%N)
down=$($airlock mission download --baud 57600 --port "$work/gcs" -o "$work/back.waypoints")
t2=$(date +%s.%N)
echo "$up"; echo "$down"
# The transfer's own time, as airlock reports it ("... in 12.3 s").
took() { sed -n 's/.* in \([0-9.]*\) s$/\1/p' <<< "$1" | tail -1; }
kill "$copter" "$radio"; wait "$copter" "$radio" 2>/dev/null || true
unset copter radio
same=$(python3 - "$work/hundred.waypoints" "$work/back.waypoints" <<'EOF'
import sys
def rows(path):
    lines = open(path).read().split("\n")[2:]
    return [[float(v) for v in line.split("\t")[1:12]] for line in lines if line.strip()]
a, b = rows(sys.argv[1]), rows(sys.argv[2])
same = len(a) == len(b) and all(abs(x - y) <= 1e-6 * max(1, abs(x)) for ra, rb in zip(a, b) for x, y in zip(ra, rb))
print("the same %d items" % len(a) if same else "DIFFERENT items (%d vs %d)" % (len(a), len(b)))
EOF
)
echo "== Airlock, 57600 baud, loss $loss, seed $seed (whole process: open the port, wait for the vehicle, transfer)"
printf '%-50s %7.2f s (transfer %s s)\n' "mission upload + read-back verify (101 items)" "$(echo "$t1 - $t0" | bc -l)" "$(took "$up")"
printf '%-50s %7.2f s (transfer %s s)\n' "mission download (101 items)" "$(echo "$t2 - $t1" | bc -l)" "$(took "$down")"
echo "download vs file: $same"
echo "== MAVProxy on the same link (mavproxy-check.py)"
PATH="$PWD/bench/.venv-mavproxy/bin:$PATH" bench/.venv-mavproxy/bin/python "$sitl/mavproxy-check.py" \
  --sitl-workdir "$work/sitl" --mission "$work/hundred.waypoints" --loss "$loss" --seed "$seed" \
  --skip ftp,params,log --work "$work/mavproxy"
