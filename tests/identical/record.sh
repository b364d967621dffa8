#!/usr/bin/env bash
# Records tests/identical/manifest.tsv: for every capture (fixtures/*.pcap,
# fixtures/*.pcapng and every capture in ../shared/corpus/) and every output
# variant, the exit code and the sha256 of what a baseline wsscope printed.
# tests/identical.rs re-runs each row with the freshly built binary and checks
# that nothing changed, byte for byte.
#
#   tests/identical/record.sh              build the pinned commit ($PIN) in a git
#                                          worktree and record with that binary
#   tests/identical/record.sh BIN          record with BIN instead
#   tests/identical/record.sh -o FILE [BIN]  write the manifest to FILE (e.g. to
#                                          check that two recordings agree)
#   tests/identical/record.sh --variants   print the variant table
#
# This script is the single source of the variant list: each manifest row
# carries its argument list, which the test reads back. How a row runs (the
# contract tests/identical.rs mirrors):
#   * cwd = the repository root; the capture path is as written in the row;
#   * environment cleared, then LC_ALL=C NO_COLOR=1 TZ=UTC;
#   * stdin = the capture file (so `-` as FILE reads it; otherwise unused);
#   * stdout and stderr go to files (not a terminal);
#   * args are split on single spaces; the token {cap} becomes the capture
#     path, the token {out} a path in a fresh temporary directory that does not
#     exist yet;
#   * in stdout and stderr every occurrence of that {out} path is replaced by
#     the literal text {out} before hashing (wsscope names it in messages);
#   * out_sha256: `-` when the row has no {out} or nothing was created there;
#     sha256 of the file if {out} is a file; if it is a directory, sha256 of the
#     listing "NAME SHA256\n" for each entry, sorted bytewise by name (NAME -
#     for an entry that is not a regular file).
#
# Manifest columns (tab-separated; `#` lines are comments):
#   capture variant exit stdout_sha256 stderr_sha256 stdout_len out_sha256 args
set -euo pipefail

PIN=10707c7
BASE_WORKTREE=/tmp/wsscope-baseline
BASE_TARGET=/tmp/wsscope-baseline-target
BASE_BIN=$BASE_TARGET/release/wsscope

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
CORPUS=../shared/corpus

# Variants run on every capture: NAME<TAB>ARGS.
GREP_RE='(?i)hello|ping|bye|[0-9]{4}'
ALL_VARIANTS="\
timeline	{cap}
dump	dump {cap}
dump-jsonl	dump --format jsonl {cap}
dump-jsonl-c50	dump --format jsonl -c 50 {cap}
dump-jsonl-stdin	dump --format jsonl -
conns	conns {cap}
conns-jsonl	conns --format jsonl {cap}
export	export {cap}
export-no-squeeze	export --no-squeeze {cap}
export-xxd	export --format xxd {cap}
export-raw-dir	export --format raw --out-dir {out} {cap}
export-jsonl	export --format jsonl {cap}
export-pcap	export --format pcap -o {out} {cap}
export-pcap-c50	export --format pcap -c 50 -o {out} {cap}
export-frames	export --frames {cap}
export-frames-annotate	export --frames --annotate {cap}
export-frames-wire	export --frames --wire {cap}
export-wire	export --wire {cap}
export-frames-xxd	export --frames --format xxd {cap}
export-c2s-text	export --dir c2s --opcode text {cap}
export-conn0-jsonl	export --conn 0 --format jsonl {cap}
export-grep	export --grep $GREP_RE {cap}"

# Rows for some captures only: CAPTURE<TAB>NAME<TAB>ARGS.
# --ws-port for the mid-stream captures (server ports from `wsscope conns`),
# and the error paths (usage errors, nothing matched) on one capture.
EXTRA_ROWS="\
fixtures/midstream.pcap	dump-jsonl-ws-port	dump --format jsonl --ws-port 19020 {cap}
fixtures/midstream_deflate.pcap	dump-jsonl-ws-port	dump --format jsonl --ws-port 19021 {cap}
$CORPUS/ntop-nDPI__websocket.pcap	dump-jsonl-ws-port	dump --format jsonl --ws-port 12345 {cap}
$CORPUS/eririmba-socket.io-sample__websocket.pcap	dump-jsonl-ws-port	dump --format jsonl --ws-port 8008 {cap}
fixtures/py_basic.pcap	err-nothing-matched	export --grep ^no-such-payload$ {cap}
fixtures/py_basic.pcap	err-annotate-messages	export --annotate {cap}
fixtures/py_basic.pcap	err-wire-jsonl	export --wire --format jsonl {cap}
fixtures/py_basic.pcap	err-outdir-pcap	export --format pcap --out-dir {out} {cap}
fixtures/py_basic.pcap	err-pcap-stdin	export --format pcap -o {out} -
fixtures/py_basic.pcap	err-bad-format	dump --format yaml {cap}
fixtures/py_basic.pcap	err-not-a-capture	dump fixtures/README.md
fixtures/py_basic.pcap	err-missing-file	dump fixtures/no-such-file.pcap"

sha() { sha256sum | cut -d' ' -f1; }

# The captures, in manifest order (paths relative to the repository root).
captures() {
    local f
    (cd "$ROOT" && LC_ALL=C ls -1 fixtures/*.pcap fixtures/*.pcapng)
    [[ -d $ROOT/$CORPUS ]] || { echo "record.sh: $CORPUS not found beside the checkout" >&2; return 1; }
    (cd "$ROOT" && LC_ALL=C ls -1 "$CORPUS") | while IFS= read -r f; do
        case $f in README* | PROVENANCE* | *.md | *.tsv | *.txt) continue ;; esac
        [[ -f $ROOT/$CORPUS/$f ]] && echo "$CORPUS/$f"
    done
}

# All rows to run: CAPTURE<TAB>NAME<TAB>ARGS.
rows() {
    local cap name args
    while IFS= read -r cap; do
        while IFS=$'\t' read -r name args; do
            printf '%s\t%s\t%s\n' "$cap" "$name" "$args"
        done <<<"$ALL_VARIANTS"
        while IFS=$'\t' read -r c name args; do
            [[ $c == "$cap" ]] && printf '%s\t%s\t%s\n' "$cap" "$name" "$args"
        done <<<"$EXTRA_ROWS"
    done < <(captures)
}

# hash_out PATH: the out_sha256 column for what the row left at PATH.
hash_out() {
    local p=$1 name
    if [[ -f $p ]]; then
        sha <"$p"
    elif [[ -d $p ]]; then
        (cd "$p" && LC_ALL=C ls -1A | LC_ALL=C sort | while IFS= read -r name; do
            if [[ -f $name && ! -L $name ]]; then
                printf '%s %s\n' "$name" "$(sha <"$name")"
            else
                printf '%s -\n' "$name"
            fi
        done) | sha
    else
        echo -
    fi
}

# run_row BIN CAPTURE ARGS WORKDIR: runs one row from the repository root,
# leaving WORKDIR/stdout, WORKDIR/stderr (with the {out} path normalised),
# WORKDIR/out (if the row made one), and WORKDIR/exit.
run_row() {
    local bin=$1 cap=$2 args=$3 work=$4 a out=
    local -a argv=() words
    IFS=' ' read -r -a words <<<"$args"
    for a in "${words[@]}"; do
        case $a in
            '{cap}') argv+=("$cap") ;;
            '{out}') out=$work/out; argv+=("$out") ;;
            *) argv+=("$a") ;;
        esac
    done
    local rc=0
    (cd "$ROOT" && env -i LC_ALL=C NO_COLOR=1 TZ=UTC "$bin" "${argv[@]}" <"$cap" >"$work/stdout" 2>"$work/stderr") || rc=$?
    if [[ -n $out ]]; then
        local f
        for f in "$work/stdout" "$work/stderr"; do
            if LC_ALL=C grep -aqF -- "$out" "$f"; then
                LC_ALL=C sed -i -e "s|${out//./\\.}|{out}|g" "$f"
            fi
        done
    fi
    echo "$rc" >"$work/exit"
}

# record BIN MANIFEST
record() {
    local bin=$1 manifest=$2 cap name args work n=0
    RECORD_TMP=$(mktemp -d "${TMPDIR:-/tmp}/wsscope-identical.XXXXXX")
    trap 'rm -rf "$RECORD_TMP"' EXIT
    {
        echo "# wsscope output identity manifest, recorded by tests/identical/record.sh"
        if [[ $bin == "$(realpath -m "$BASE_BIN")" ]]; then
            echo "# baseline: $("$bin" --version) built from $PIN; LC_ALL=C NO_COLOR=1 TZ=UTC; see record.sh for how rows run"
        else
            echo "# baseline: $("$bin" --version) at $bin (given to record.sh, not necessarily $PIN); LC_ALL=C NO_COLOR=1 TZ=UTC"
        fi
        printf '# capture\tvariant\texit\tstdout_sha256\tstderr_sha256\tstdout_len\tout_sha256\targs\n'
        while IFS=$'\t' read -r cap name args; do
            n=$((n + 1))
            work=$RECORD_TMP/$n
            mkdir "$work"
            run_row "$bin" "$cap" "$args" "$work"
            printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$cap" "$name" "$(cat "$work/exit")" \
                "$(sha <"$work/stdout")" "$(sha <"$work/stderr")" "$(stat -c %s "$work/stdout")" \
                "$(hash_out "$work/out")" "$args"
            rm -rf "$work"
        done < <(rows)
    } >"$manifest.tmp"
    mv "$manifest.tmp" "$manifest"
    echo "record.sh: $n rows -> $manifest" >&2
}

build_baseline() {
    cd "$ROOT"
    if [[ ! -e $BASE_WORKTREE/.git ]]; then
        git worktree add --detach "$BASE_WORKTREE" "$PIN" >&2
    fi
    local head
    head=$(git -C "$BASE_WORKTREE" rev-parse HEAD)
    if [[ $head != "$(git rev-parse "$PIN^{commit}")" ]]; then
        echo "record.sh: $BASE_WORKTREE is at $head, not $PIN; remove it (git worktree remove $BASE_WORKTREE)" >&2
        exit 2
    fi
    (cd "$BASE_WORKTREE" && CARGO_TARGET_DIR=$BASE_TARGET cargo build --release --bin wsscope >&2)
}

main() {
    local manifest=$ROOT/tests/identical/manifest.tsv
    case ${1:-} in
        --variants)
            echo "# every capture:"
            echo "$ALL_VARIANTS"
            echo "# some captures:"
            echo "$EXTRA_ROWS"
            return
            ;;
        -o)
            manifest=$(realpath -m "$2")
            shift 2
            ;;
        -h | --help)
            sed -n '2,13p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
            return
            ;;
    esac
    local bin=${1:-}
    if [[ -z $bin ]]; then
        build_baseline
        bin=$BASE_BIN
    fi
    bin=$(realpath "$bin")
    [[ -x $bin ]] || { echo "record.sh: $bin is not executable" >&2; exit 2; }
    record "$bin" "$manifest"
}

if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
    main "$@"
fi
