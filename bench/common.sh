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
