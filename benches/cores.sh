#!/usr/bin/env bash
# Every command beside `cat`, on one core and on all of them, on a plain and
# a permessage-deflate capture (issue "every core"): seconds, ratio to
# `cat FILE > /dev/null`, speed-up of the default threads over --threads 1,
# peak RSS; the same with two threads more than cores (connection workers
# beside the reader and the writer, sharing the cores); and tshark's time
# for the closest question when installed.
#
#   bash benches/cores.sh [MEGABYTES=1024] [CONNECTIONS=500] [--bin BIN] [--no-tshark]
#
# Captures are generated once into target/bench-data/ (gencap, and
# `gencap --deflate`: every connection negotiates permessage-deflate with
# context takeover, messages compress about 3:1). Each figure is the best of
# three runs, measured in this one run (the machines are noisy: compare the
# ratios, not the seconds). Output goes to /dev/null.
set -euo pipefail
cd "$(dirname "$0")/.."
mb=1024 conns=500 bin=./target/release/wsscope tshark=1
pos=()
while [ $# -gt 0 ]; do
  case "$1" in
    --bin) bin=$2; shift 2 ;;
    --no-tshark) tshark=0; shift ;;
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
    *) pos+=("$1"); shift ;;
  esac
done
[ ${#pos[@]} -ge 1 ] && mb=${pos[0]}
[ ${#pos[@]} -ge 2 ] && conns=${pos[1]}
cargo build --release --quiet --example gencap
[ "$bin" = ./target/release/wsscope ] && cargo build --release --quiet
mkdir -p target/bench-data
plain=target/bench-data/cores-plain-${mb}mb.pcap
deflate=target/bench-data/cores-deflate-${mb}mb.pcap
[ -f "$plain" ] || ./target/release/examples/gencap "$plain" "$mb" "$conns"
[ -f "$deflate" ] || ./target/release/examples/gencap --deflate "$deflate" "$mb" "$conns"

# best of 3: "seconds peak_kb" (wall time from a nanosecond clock: /usr/bin/time
# rounds to 10 ms, as long as `cat` takes on a page-cached file)
best() {
  local b=999999 rss=0
  for _ in 1 2 3; do
    local tf s e m t
    tf=$(mktemp)
    s=$(date +%s%N)
    /usr/bin/time -o "$tf" -f '%M' "$@" >/dev/null 2>/dev/null || true
    e=$(date +%s%N)
    m=$(tail -1 "$tf")
    rm -f "$tf"
    t=$(awk -v s="$s" -v e="$e" 'BEGIN{printf "%.4f", (e-s)/1e9}')
    if awk -v t="$t" -v b="$b" 'BEGIN{exit !(t<b)}'; then b=$t; fi
    [ "$m" -gt "$rss" ] && rss=$m
  done
  echo "$b $rss"
}

threads=$(nproc)
for file in "$plain" "$deflate"; do
  size=$(stat -c %s "$file")
  cat "$file" >/dev/null
  read -r t_cat _ < <(best cat "$file")
  echo
  echo "== $(basename "$file") ($((size / 1000000)) MB), $threads cores; cat: ${t_cat} s"
  printf '%-40s %9s %9s %8s %10s %8s %11s %8s\n' command "1 thread" "$threads thr" "x cat" speed-up "RSS MB" \
    "$((threads + 2)) thr" "RSS MB"
  for cmd in "conns" "dump" "dump --format jsonl" "dump --format jsonl --payload none"; do
    # shellcheck disable=SC2086
    read -r t1 _ < <(best "$bin" $cmd --threads 1 "$file")
    # shellcheck disable=SC2086
    read -r tn rss < <(best "$bin" $cmd "$file")
    # Two threads more than cores: workers analyse the connections beside
    # the reader and the writer (`analyzer::shard`), sharing the cores.
    # shellcheck disable=SC2086
    read -r tw rssw < <(best "$bin" $cmd --threads $((threads + 2)) "$file")
    awk -v c="$cmd" -v a="$t1" -v b="$tn" -v k="$t_cat" -v r="$rss" -v w="$tw" -v rw="$rssw" \
      'BEGIN{printf "%-40s %9.3f %9.3f %8.1f %9.2fx %8.0f %11.3f %8.0f\n", c, a, b, b/k, a/b, r/1024, w, rw/1024}'
  done
  if [ "$tshark" = 1 ] && command -v tshark >/dev/null; then
    # The closest question: every WebSocket frame's opcode and length.
    s=$(date +%s.%N)
    tshark -r "$file" -d tcp.port==8080,http -T fields -e frame.number -e websocket.opcode \
      -e websocket.payload_length >/dev/null 2>&1 || true
    e=$(date +%s.%N)
    awk -v s="$s" -v e="$e" -v k="$t_cat" 'BEGIN{printf "%-40s %19.3f %8.1f   (one run)\n", "tshark -T fields opcode,length", e-s, (e-s)/k}'
  fi
done
