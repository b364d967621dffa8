#!/usr/bin/env bash
# How fast `dump` writes, in one run on one generated capture: `cat`, the text
# timeline, JSON Lines in full and with --payload none, as input MB/s and
# output GB/s, and the ratio jsonl-none / text (issue 13 asks ≤ 1.5).
#   bash benches/jsonl_speed.sh [MEGABYTES] [--bin PATH]
# --bin times another build (e.g. one from before a change) on the same file;
# a build without --payload gets "n/a" on that row.
#
# Timing: each command writes to /dev/null (best wall time of 3 runs); the
# output size is counted in a separate, untimed run through `wc -c`, so the
# pipe never slows a timed run. Output GB/s = output bytes / best seconds.
# The capture (target/bench-data/synth-MBmb.pcap) is kept for the next run;
# delete it when done (`rm target/bench-data/synth-*mb.pcap`).
set -euo pipefail
cd "$(dirname "$0")/.."
mb=256
bin=./target/release/wsscope
while [ $# -gt 0 ]; do
  case "$1" in
    --bin) bin=$2; shift 2 ;;
    *) mb=$1; shift ;;
  esac
done
file=target/bench-data/synth-${mb}mb.pcap
cargo build --release --quiet --example gencap
[ "$bin" = ./target/release/wsscope ] && cargo build --release --quiet
mkdir -p target/bench-data
[ -f "$file" ] || ./target/release/examples/gencap "$file" "$mb" 500
size=$(stat -c %s "$file")
best() { # best wall time of 3 runs, in seconds
  local b=999999
  for _ in 1 2 3; do
    local s e
    s=$(date +%s.%N); "$@" >/dev/null 2>&1; e=$(date +%s.%N)
    b=$(echo "$e $s $b" | awk '{t=$1-$2; print (t<$3)?t:$3}')
  done
  echo "$b"
}
outbytes() { "$@" 2>/dev/null | wc -c; }
cat "$file" >/dev/null # warm the page cache
echo "$bin on $file ($((size / 1000000)) MB)"
printf '%-40s %8s %10s %10s %10s\n' "command" "seconds" "in MB/s" "out MB" "out GB/s"
row() { # name seconds output-bytes
  awk -v n="$1" -v t="$2" -v o="$3" -v s="$size" \
    'BEGIN{printf "%-40s %8.3f %10.0f %10.0f %10.2f\n", n, t, s/1e6/t, o/1e6, o/1e9/t}'
}
t_cat=$(best cat "$file")
row "cat FILE" "$t_cat" "$size"
t_text=$(best "$bin" dump "$file")
row "dump (text)" "$t_text" "$(outbytes "$bin" dump "$file")"
t_jsonl=$(best "$bin" dump --format jsonl "$file")
row "dump --format jsonl" "$t_jsonl" "$(outbytes "$bin" dump --format jsonl "$file")"
if "$bin" dump --format jsonl --payload none -c 1 "$file" >/dev/null 2>&1; then
  t_none=$(best "$bin" dump --format jsonl --payload none "$file")
  row "dump --format jsonl --payload none" "$t_none" "$(outbytes "$bin" dump --format jsonl --payload none "$file")"
  awk -v a="$t_none" -v b="$t_text" 'BEGIN{printf "jsonl --payload none / text: %.2f (target <= 1.5)\n", a/b}'
else
  printf '%-40s %8s\n' "dump --format jsonl --payload none" "n/a"
fi
awk -v a="$t_jsonl" -v b="$t_text" 'BEGIN{printf "jsonl / text: %.2f\n", a/b}'
