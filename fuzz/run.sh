#!/usr/bin/env bash
# The long fuzzing run: AFL++ (coverage-guided, through cargo-afl) on every parser of outside
# data, SECONDS each (default 600), starting from the real seed inputs. Prints, per target, the
# executions, their rate, the coverage and the crashes and hangs found; copies every crash to
# fuzz/regressions/TARGET/ (tests/fuzz_short.rs then runs it in CI, so a fix stays fixed).
#   fuzz/run.sh [SECONDS] [TARGET...]
set -euo pipefail
cd "$(dirname "$0")"
secs=${1:-600}
shift || true
command -v cargo-afl >/dev/null || cargo install cargo-afl --locked
# AFL++ itself is built on first use (cargo-afl builds it into its own folder).
cargo afl config --build >/dev/null 2>&1 || true
cargo afl build --release --quiet
bin=target/release/fuzz
rm -rf seeds && "$bin" seeds seeds
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  targets=(framer tlog capture stored index mission params pck replies times json)
fi
export AFL_NO_UI=1 AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_QUIET=1
printf '%-8s %12s %10s %9s %8s %7s %6s\n' target executions "execs/s" coverage paths crashes hangs
found=0
for t in "${targets[@]}"; do
  out=out/$t
  rm -rf "$out"
  # -t 2000: an input that runs over 2 s is a hang; -m none: the allocator bounds memory.
  mkdir -p out
  cargo afl fuzz -V "$secs" -t 2000 -m none -i "seeds/$t" -o "$out" "$bin" "$t" >"out/$t.log" 2>&1 || true
  stats=$out/default/fuzzer_stats
  if [ ! -f "$stats" ]; then
    echo "$t: AFL did not start; see fuzz/out/$t.log"; tail -5 "out/$t.log" || true; found=1; continue
  fi
  get() { awk -F' *: *' -v k="$1" '$1==k {print $2}' "$stats"; }
  printf '%-8s %12s %10s %9s %8s %7s %6s\n' "$t" "$(get execs_done)" "$(get execs_per_sec)" \
    "$(get bitmap_cvg)" "$(get corpus_count)" "$(get saved_crashes)" "$(get saved_hangs)"
  for crash in "$out"/default/crashes/id:*; do
    [ -e "$crash" ] || continue
    found=1
    mkdir -p "regressions/$t"
    name=$(sha256sum "$crash" | cut -c1-16)
    cp "$crash" "regressions/$t/$name"
    echo "  crash kept as fuzz/regressions/$t/$name"
  done
done
exit $found
