#!/usr/bin/env bash
# Flight review figures, in one run (prints them; makes bench/data/ and bench/.venv/):
#  - a >= 1 GB generated flight: index build, open -> first whole-flight plot, seeks, peak RSS
#    (cargo bench --bench review);
#  - a >= 100 MB tlog of real traffic: the CSV of one message type by Airlock and by
#    pymavlink's mavlogdump.py (they must be identical), with `cat FILE > /dev/null` as the limit.
# Usage: bench/review.sh [TYPE]   (TYPE defaults to ATTITUDE)
set -euo pipefail
cd "$(dirname "$0")/.."
type=${1:-ATTITUDE}
source bench/common.sh
big=$(big_tlog 100)
pymavlink_venv
cargo build --release --quiet
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
echo "== CSV of $type from $big ($(stat -c %s "$big") bytes)"
t_cat=$(seconds sh -c "cat '$big' > /dev/null")
t_airlock=$(seconds target/release/airlock export "$big" --format csv --type "$type" -o "$out/airlock.csv")
t_mavlogdump=$(seconds sh -c "bench/.venv/bin/python -m pymavlink.tools.mavlogdump --format csv --types '$type' '$big' > '$out/mavlogdump.csv'")
if cmp -s "$out/airlock.csv" "$out/mavlogdump.csv"; then same=identical; else same=DIFFERENT; fi
printf '%-28s %8.3f s\n' "cat > /dev/null" "$t_cat" "airlock export --format csv" "$t_airlock" "mavlogdump.py --format csv" "$t_mavlogdump"
echo "rows: $(($(wc -l < "$out/airlock.csv") - 1)); the two CSV files are $same"
echo "airlock / cat:        $(echo "$t_airlock / $t_cat" | bc -l | cut -c1-6)"
echo "mavlogdump / airlock: $(echo "$t_mavlogdump / $t_airlock" | bc -l | cut -c1-6)"
echo "== 1 GB flight"
cargo bench --quiet --bench review -- bench/data/flight-1GB.tlog 1000
