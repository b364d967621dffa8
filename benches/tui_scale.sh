#!/usr/bin/env bash
# The timeline on a generated 1 GiB capture, measured on the real binary in
# a real terminal (tmux) and headless:
#   - time to the first screen, to the first content, to fully indexed;
#   - peak RSS (headless, /usr/bin/time);
#   - key latency (a `j`, until the screen changes) while loading, and
#     while a search runs;
#   - a regex search and a regex filter over every message's whole payload
#     (until the status line says so), and `n` once a search has run;
#   - the counts the search and filter found, beside `wsscope export --grep`'s.
# Optionally the same for a second binary (a build before a change), one
# after the other in the same run: compare ratios, not absolute figures.
#
#   bash benches/tui_scale.sh [--mb 1024] [--conns 64] [--before BIN] [--million]
#
# `--million` also opens a capture of 1 M WebSocket upgrades left open
# (`gencap --hostile handshakes`, 640 MB) headless and reports time and RSS.
# Needs tmux and GNU time. Latencies are polled every few ms (tmux
# capture-pane): read them to ±5 ms.
set -euo pipefail
cd "$(dirname "$0")/.."
mb=1024
conns=64
before=""
million=0
while [ $# -gt 0 ]; do
    case "$1" in
        --mb) mb=$2; shift 2 ;;
        --conns) conns=$2; shift 2 ;;
        --before) before=$2; shift 2 ;;
        --million) million=1; shift ;;
        *) echo "usage: $0 [--mb N] [--conns N] [--before BIN] [--million]" >&2; exit 2 ;;
    esac
done
for tool in tmux /usr/bin/time; do
    command -v "$tool" >/dev/null || { echo "tui_scale.sh: needs $tool" >&2; exit 2; }
done
cargo build --release --quiet --example gencap
cargo build --release --quiet
bin=$PWD/target/release/wsscope
dir=target/bench-data
mkdir -p "$dir"
cap=$PWD/$dir/tui-${mb}mb-${conns}c.pcap
[ -f "$cap" ] || ./target/release/examples/gencap "$cap" "$mb" "$conns"
cat "$cap" >/dev/null # warm the page cache
# Messages of at least 30 of the generator's 82-byte records: far past any
# preview the timeline keeps, so only whole payloads answer.
re=${WSSCOPE_BENCH_RE:-'(amet consectetur.*){30}'}

sock=wsscope-bench-$$
tm() { tmux -L "$sock" "$@"; }
trap 'tm kill-server 2>/dev/null || true' EXIT
now() { date +%s%N; }
ms() { echo $(( ($2 - $1) / 1000000 )); }
screen() { tm capture-pane -p -t b 2>/dev/null || true; }
# Waits until the screen matches the extended regex $1 (60 s at most).
until_screen() {
    local t0; t0=$(now)
    while ! screen | grep -Eq -- "$1"; do
        if [ $(( ($(now) - t0) / 1000000000 )) -ge 60 ]; then
            echo "tui_scale.sh: timed out waiting for /$1/; screen:" >&2; screen >&2; return 1
        fi
        sleep 0.002
    done
}
# Presses $1 and waits for the screen to change: prints the milliseconds.
latency() {
    local before_s t0; before_s=$(screen); t0=$(now)
    tm send-keys -t b "$1"
    while [ "$(screen)" = "$before_s" ]; do
        if [ $(( ($(now) - t0) / 1000000000 )) -ge 60 ]; then echo "timeout"; return; fi
        sleep 0.001
    done
    ms "$t0" "$(now)"
}

run() { # BIN LABEL
    local b=$1 label=$2 t0 t_first t_loaded lat_load t_search lat_search lat_n t_filter hits rows rss
    # Headless: time to first screen, content, loaded; peak RSS.
    local h; h=$( { /usr/bin/time -f "rss %M" "$b" --headless "$cap" >/dev/null; } 2>&1 )
    rss=$(echo "$h" | awk '/^rss/ {print $2}')
    local loaded_headless; loaded_headless=$(echo "$h" | sed -n 's/.*loaded \([0-9.]*\)\(m\?s\).*/\1 \2/p')
    tm kill-server 2>/dev/null || true
    t0=$(now)
    tm new-session -d -s b -x 120 -y 40 "'$b' '$cap'; sleep 600"
    until_screen '/feed'
    t_first=$(ms "$t0" "$(now)")
    lat_load=$(latency j)
    until_screen '^ wsscope' && while screen | head -1 | grep -q 'loading'; do sleep 0.002; done
    t_loaded=$(ms "$t0" "$(now)")
    tm send-keys -t b g
    # Search: `/RE` Enter, a key while it runs, then its end.
    tm send-keys -t b /
    until_screen 'search \(regex\)'
    tm send-keys -t b -l "$re"
    t0=$(now)
    tm send-keys -t b Enter
    lat_search=$(latency j)
    until_screen 'match 1 of|row [0-9]+ of|not found'
    t_search=$(ms "$t0" "$(now)")
    hits=$(screen | grep -Eo 'match 1 of [0-9]+' | awk '{print $4}' | head -1 || true)
    lat_n=$(latency n)
    # Filter by the same regex.
    tm send-keys -t b f
    until_screen 'filter \(|filter:'
    tm send-keys -t b C-u
    tm send-keys -t b -l "$re"
    t0=$(now)
    tm send-keys -t b Enter
    until_screen '[0-9]+ rows match'
    t_filter=$(ms "$t0" "$(now)")
    rows=$(screen | grep -Eo '[0-9]+ rows match' | awk '{print $1}' | head -1 || true)
    tm send-keys -t b q
    tm kill-server 2>/dev/null || true
    printf '%-8s %9s %10s %11s %9s %9s %10s %9s %9s %6s %8s %8s\n' "$label" "$t_first" "$t_loaded" \
        "${loaded_headless// /}" "$((rss / 1024))" "$lat_load" "$t_search" "$lat_search" "$t_filter" \
        "$lat_n" "${hits:--}" "${rows:--}"
}

size=$(stat -L -c %s "$cap")
want=$("$bin" export --format hexdump --grep "$re" "$cap" | grep -c '^# conn' || true)
echo "capture: $cap ($((size / 1048576)) MiB, $conns concurrent connections); regex /$re/"
echo "wsscope export --grep finds $want messages"
echo "times in ms (tmux: from the command to the screen showing it); rss in MiB (headless)"
printf '%-8s %9s %10s %11s %9s %9s %10s %9s %9s %6s %8s %8s\n' build first-scr loaded headless rss-MiB \
    key@load search key@srch filter n hits rows
row=$(run "$bin" after)
echo "$row"
# This build's search and filter must find what export finds.
read -r _ _ _ _ _ _ _ _ _ _ got_hits got_rows <<<"$row"
if [ "$want" -gt 0 ] && { [ "$got_hits" != "$want" ] || [ "$got_rows" != "$want" ]; }; then
    echo "tui_scale.sh: the timeline found $got_hits (search) and $got_rows (filter), export $want" >&2
    exit 1
fi
if [ -n "$before" ]; then run "$before" before; fi

if [ "$million" = 1 ]; then
    m=$PWD/$dir/handshakes-1m.pcap
    [ -f "$m" ] || ./target/release/examples/gencap --hostile handshakes "$m" 1000000
    for b in "$bin" ${before:+"$before"}; do
        r=$( { /usr/bin/time -f "rss %M" "$b" --headless "$m" >/dev/null; } 2>&1 )
        echo "1 M connections, $(basename "$(dirname "$(dirname "$b")")")/$(basename "$b"): $(echo "$r" | grep -o 'loaded [0-9.]*m\?s'), $(echo "$r" | grep -o '[0-9]* conns'), rss $(( $(echo "$r" | awk '/^rss/ {print $2}') / 1024 )) MiB"
    done
fi
