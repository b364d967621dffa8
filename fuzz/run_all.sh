#!/usr/bin/env bash
# Builds every fuzz target and runs each for SECONDS (default 60), up to JOBS
# (default 1) at a time, at `nice -n 19`, then prints one table row per
# target: seconds, executions, exec/s, corpus size, findings.
#
#   fuzz/run_all.sh [SECONDS_PER_TARGET] [JOBS]
#
# Each target starts from its checked-in seeds (fuzz/seeds/<target>/, read
# only) plus whatever fuzz/corpus/<target>/ (gitignored) holds from earlier
# runs; new inputs go to fuzz/corpus/<target>/, findings to
# fuzz/artifacts/<target>/ (gitignored). Exit status 1 if any target left a
# crash, leak, timeout or OOM artifact in this run (or failed to run).
#
# Environment:
#   TARGETS="a b"   run only these targets
#   NO_BUILD=1      skip `cargo fuzz build` (use the binaries already built)
#   SEEDS=DIR       seed directories are DIR/<target> instead of fuzz/seeds
#   WORK=DIR        corpus/ and artifacts/ go under DIR instead of fuzz/
#   FUZZ_BIN=DIR    where the target binaries are (default: cargo fuzz's)
#   TIMEOUT=S       libFuzzer -timeout per input (default 10 s)
#   RSS_MB=N        libFuzzer -rss_limit_mb (default 2048)
#   EXTRA="-flag=…" more libFuzzer flags for every target
set -uo pipefail

secs=${1:-60}
jobs=${2:-1}
here=$(cd "$(dirname "$0")" && pwd) # .../fuzz
root=$(dirname "$here")
seeds=${SEEDS:-$here/seeds}
work=${WORK:-$here}
triple=$(rustc -vV 2>/dev/null | sed -n 's/^host: //p')
bin=${FUZZ_BIN:-${CARGO_TARGET_DIR:-$here/target}/${triple:-x86_64-unknown-linux-gnu}/release}
all="pcap_file packets ws_session ws_session_upgraded http_head tcp_reassembly tls_parse tls_layer h2_layer"
targets=${TARGETS:-$all}

if [ -z "${NO_BUILD:-}" ]; then
    # cargo-fuzz needs nightly's -Z flags; on stable, RUSTC_BOOTSTRAP=1 does.
    if cargo +nightly --version >/dev/null 2>&1; then
        tc=(+nightly)
    else
        tc=()
        export RUSTC_BOOTSTRAP=1
    fi
    # All targets (`cargo fuzz build` takes at most one name).
    (cd "$root" && nice -n 19 cargo "${tc[@]}" fuzz build) || {
        echo "run_all.sh: cargo fuzz build failed" >&2
        exit 2
    }
fi

logs=$(mktemp -d "${TMPDIR:-/tmp}/fuzz-run.XXXXXX")
stamp="$logs/start"
touch "$stamp"
sleep 1 # artifacts of this run are strictly newer than the stamp

run_one() {
    local t=$1
    mkdir -p "$work/corpus/$t" "$work/artifacts/$t"
    local dirs=("$work/corpus/$t")
    [ -d "$seeds/$t" ] && dirs+=("$seeds/$t")
    # shellcheck disable=SC2086
    nice -n 19 "$bin/$t" "${dirs[@]}" \
        -max_total_time="$secs" -timeout="${TIMEOUT:-10}" -rss_limit_mb="${RSS_MB:-2048}" \
        -artifact_prefix="$work/artifacts/$t/" -print_final_stats=1 ${EXTRA:-} \
        >"$logs/$t.log" 2>&1
    echo $? >"$logs/$t.rc"
}

running=0
for t in $targets; do
    if [ ! -x "$bin/$t" ]; then
        echo "run_all.sh: no binary $bin/$t" >&2
        echo 127 >"$logs/$t.rc"
        continue
    fi
    echo "fuzzing $t for ${secs}s (log: $logs/$t.log)" >&2
    run_one "$t" &
    running=$((running + 1))
    if [ "$running" -ge "$jobs" ]; then
        wait -n
        running=$((running - 1))
    fi
done
wait

fail=0
printf '%-20s %7s %12s %9s %8s  %s\n' target seconds executions exec/s corpus findings
for t in $targets; do
    log="$logs/$t.log"
    rc=$(cat "$logs/$t.rc" 2>/dev/null || echo 127)
    # Final stats when the run ended normally; else the last status line.
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" 2>/dev/null | tail -1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" 2>/dev/null | tail -1)
    last=$(grep -E '^#[0-9]+' "$log" 2>/dev/null | tail -1)
    [ -z "$execs" ] && execs=$(printf '%s' "$last" | sed -n 's/^#\([0-9]*\).*/\1/p')
    [ -z "$rate" ] && rate=$(printf '%s' "$last" | sed -n 's/.*exec\/s: \([0-9]*\).*/\1/p')
    took=$(sed -n 's/.*Done [0-9]* runs in \([0-9]*\) second.*/\1/p' "$log" 2>/dev/null | tail -1)
    corpus=$(printf '%s' "$last" | sed -n 's/.*corp: \([0-9]*\/[0-9A-Za-z]*\).*/\1/p')
    found=$(find "$work/artifacts/$t" -type f -newer "$stamp" 2>/dev/null | sort)
    if [ -n "$found" ]; then
        fail=1
        findings=$(printf '%s' "$found" | tr '\n' ' ')
    elif [ "$rc" != 0 ]; then
        fail=1
        findings="exit $rc without an artifact (see $log)"
    else
        findings=-
    fi
    printf '%-20s %7s %12s %9s %8s  %s\n' "$t" "${took:-$secs}" "${execs:-?}" "${rate:-?}" \
        "${corpus:-?}" "$findings"
done
echo "logs: $logs"
exit $fail
