#!/usr/bin/env bash
# The cost of a dataset (issue 17 "big data"): JSON Lines against Parquet on
# one large capture, and many captures in one run against one at a time.
#
#   bash benches/bigdata.sh [MEGABYTES=1024] [N=8] [N_MEGABYTES=128] [--bin BIN] [--keep]
#
# 1. One MEGABYTES capture (gencap, 500 connections): `dump --format jsonl`
#    to /dev/null and to a file (with and without payloads), `dump --format
#    parquet -o DIR` with whole payloads and with `--payload none`: wall
#    time (best of 3), CPU time (least of 3: the figure other load on a
#    shared machine disturbs least), peak RSS, output size, seconds per
#    input GB and output GB per input GB.
# 2. N captures of N_MEGABYTES (one gencap capture under N names) as Parquet:
#    one several-capture run (captures in parallel over the cores), against
#    each capture on its own, one after another, with `--threads 1` and
#    with the default threads.
#
# Captures and outputs go to target/bench-data/ and are deleted at the end
# (the captures are kept with --keep). Not part of CI: it takes minutes and
# several GB of disk. Needs a binary built with `--features parquet`.
set -euo pipefail
cd "$(dirname "$0")/.."
mb=1024 n=8 nmb=128 bin=./target/release/wsscope keep=0
pos=()
while [ $# -gt 0 ]; do
  case "$1" in
    --bin) bin=$2; shift 2 ;;
    --keep) keep=1; shift ;;
    -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
    *) pos+=("$1"); shift ;;
  esac
done
[ ${#pos[@]} -ge 1 ] && mb=${pos[0]}
[ ${#pos[@]} -ge 2 ] && n=${pos[1]}
[ ${#pos[@]} -ge 3 ] && nmb=${pos[2]}
cargo build --release --quiet --example gencap
[ "$bin" = ./target/release/wsscope ] && cargo build --release --quiet --features parquet
data=target/bench-data
mkdir -p "$data"
big=$data/bigdata-${mb}mb.pcap
[ -f "$big" ] || ./target/release/examples/gencap "$big" "$mb" 500
many=$data/bigdata-many
mkdir -p "$many"
one=$many/c0.pcap
[ -f "$one" ] || ./target/release/examples/gencap "$one" "$nmb" 500
for i in $(seq 1 $((n - 1))); do
  [ -e "$many/c$i.pcap" ] || ln "$one" "$many/c$i.pcap"
done
out=$data/bigdata-out
cleanup() {
  rm -rf "$out"
  if [ "$keep" = 0 ]; then rm -rf "$big" "$many"; fi
}
trap cleanup EXIT

# best of 3: "seconds peak_kb cpu_seconds" of a command (its stdout to
# /dev/null, or to $to when set), with `$out` emptied before each run (the
# last run's is left to measure): the best wall time (a nanosecond clock),
# the largest peak RSS (of a script: its largest process), and the least CPU
# time (user + system, children included), which other load on the machine
# disturbs less than the wall time.
best() {
  local b=999999 rss=0 cpu=999999
  for _ in 1 2 3; do
    rm -rf "$out"
    local tf s e m c t
    tf=$(mktemp)
    s=$(date +%s%N)
    /usr/bin/time -o "$tf" -f '%M %U %S' "$@" >"${to:-/dev/null}" 2>/dev/null || true
    e=$(date +%s%N)
    read -r m u sy < <(tail -1 "$tf")
    rm -f "$tf"
    t=$(awk -v s="$s" -v e="$e" 'BEGIN{printf "%.4f", (e-s)/1e9}')
    c=$(awk -v u="$u" -v sy="$sy" 'BEGIN{printf "%.2f", u+sy}')
    if awk -v t="$t" -v b="$b" 'BEGIN{exit !(t<b)}'; then b=$t; fi
    if awk -v t="$c" -v b="$cpu" 'BEGIN{exit !(t<b)}'; then cpu=$c; fi
    [ "$m" -gt "$rss" ] && rss=$m
  done
  echo "$b $rss $cpu"
}

size=$(stat -c %s "$big")
gb=$(awk -v s="$size" 'BEGIN{printf "%.4f", s/1e9}')
cat "$big" >/dev/null
echo "== $(basename "$big"): $((size / 1000000)) MB, $(nproc) cores, wsscope $("$bin" --version | awk '{print $2}')"
header() {
  printf '%-44s %8s %8s %8s %10s %8s %12s\n' command seconds "CPU s" "RSS MB" "output MB" "s / GB" "out GB / GB"
}
header
row() { # name seconds rss_kb cpu_seconds output_bytes
  awk -v c="$1" -v t="$2" -v r="$3" -v u="$4" -v o="$5" -v g="$gb" \
    'BEGIN{printf "%-44s %8.2f %8.2f %8.0f %10s %8.2f %12s\n", c, t, u, r/1024, (o==""?"-":sprintf("%.0f", o/1e6)), t/g, (o==""?"-":sprintf("%.3f", o/1e9/g))}'
}
read -r t rss cpu < <(best "$bin" dump --format jsonl "$big")
row "dump --format jsonl > /dev/null" "$t" "$rss" "$cpu" ""
read -r t rss cpu < <(to=$data/bigdata.jsonl best "$bin" dump --format jsonl "$big")
row "dump --format jsonl > FILE" "$t" "$rss" "$cpu" "$(stat -c %s "$data/bigdata.jsonl")"
rm -f "$data/bigdata.jsonl"
read -r t rss cpu < <(to=$data/bigdata.jsonl best "$bin" dump --format jsonl --payload none "$big")
row "dump --format jsonl --payload none > FILE" "$t" "$rss" "$cpu" "$(stat -c %s "$data/bigdata.jsonl")"
rm -f "$data/bigdata.jsonl"
for p in "" "--payload none"; do
  # shellcheck disable=SC2086
  read -r t rss cpu < <(best "$bin" dump --format parquet -o "$out" $p "$big")
  # The last of the three runs left its dataset.
  row "dump --format parquet -o DIR ${p}" "$t" "$rss" "$cpu" "$(du -sb "$out" | cut -f1)"
done
rm -rf "$out"

# N captures: one run over all of them, against one at a time.
nsize=$(($(stat -c %s "$one") * n))
gb=$(awk -v s="$nsize" 'BEGIN{printf "%.4f", s/1e9}')
echo
echo "== $n captures of $(($(stat -c %s "$one") / 1000000)) MB ($((nsize / 1000000)) MB), dump --format parquet, $(nproc) cores"
header
read -r t rss cpu < <(best "$bin" dump --format parquet -o "$out" "$many"/c*.pcap)
row "one run: dump -o DIR c0..c$((n - 1))" "$t" "$rss" "$cpu" "$(du -sb "$out" | cut -f1)"
# (bash functions cannot run under /usr/bin/time: a script of its own)
runner=$(mktemp)
cat >"$runner" <<EOF
#!/usr/bin/env bash
set -e
for f in "$many"/c*.pcap; do "$bin" dump --format parquet -o "$out" "\$@" "\$f"; done
EOF
chmod +x "$runner"
read -r t rss cpu < <(best "$runner" --threads 1)
row "one at a time, --threads 1 each" "$t" "$rss" "$cpu" "$(du -sb "$out" | cut -f1)"
read -r t rss cpu < <(best "$runner")
row "one at a time, default threads each" "$t" "$rss" "$cpu" "$(du -sb "$out" | cut -f1)"
rm -f "$runner"
