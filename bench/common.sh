# Shared by the benchmark scripts (sourced, not run): the 100 MB tlog and pymavlink's venv.

# Makes bench/data/real-traffic-${1}MB.tlog from the real vehicles' logs in tests/data,
# repeated until it is big enough, and prints its path.
big_tlog() {
  local size_mb=$1 big=bench/data/real-traffic-$1MB.tlog
  mkdir -p bench/data
  if [ ! -f "$big" ]; then
    : > "$big"
    while [ "$(stat -c %s "$big")" -lt $((size_mb * 1000 * 1000)) ]; do
      cat tests/data/tlogs/*.tlog >> "$big"
    done
  fi
  echo "$big"
}

# Makes bench/.venv with pymavlink (the independent implementation we compare with).
pymavlink_venv() {
  if [ ! -x bench/.venv/bin/python ]; then
    python3 -m venv bench/.venv
    bench/.venv/bin/pip install --quiet "pymavlink==2.4.*"
  fi
}

# Seconds a command takes (its output is left alone).
seconds() { local s; s=$(date +%s.%N); "$@" > /dev/null; echo "$(date +%s.%N) - $s" | bc -l; }

# For the scripts against ArduPilot SITL: checks the bundle ($sitl), makes
# bench/.venv-mavproxy (MAVProxy from PyPI, the anchor), builds Airlock unless AIRLOCK_BIN names
# a binary (the link, not the CPU, sets these times), and sets $airlock and a $work folder
# removed at exit together with the SITL and radio-link processes ($copter, $radio).
sitl_bench_setup() {
  sitl=${AIRLOCK_SITL_DIR:-../shared/sitl}
  [ -x "$sitl/run-copter" ] || { echo "no SITL bundle at $sitl (set AIRLOCK_SITL_DIR)"; exit 2; }
  if [ ! -x bench/.venv-mavproxy/bin/mavproxy.py ]; then
    python3 -m venv bench/.venv-mavproxy
    bench/.venv-mavproxy/bin/pip install --quiet MAVProxy
  fi
  if [ -z "${AIRLOCK_BIN:-}" ]; then
    cargo build --release --quiet
  fi
  airlock=${AIRLOCK_BIN:-target/release/airlock}
  work=$(mktemp -d)
  trap 'kill "${copter:-}" "${radio:-}" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT
}
