#!/usr/bin/env bash
# clcnn train stopped by SIGINT and SIGTERM in the middle of an epoch: it
# exits 130 or 143 after saving a checkpoint at the batch it reached, and
# --resume from that checkpoint ends with the bytes of an uninterrupted run.
# A second SIGINT, sent the moment the first one's save begins, ends the run
# at once and leaves the last good checkpoint as it was.
# Usage: test_interrupt.sh CLCNN_BINARY SOURCE_DIR KILL_ON_CREATE   (meson passes them)
# Exit: 0 pass, 1 fail, 77 skip (no OpenCL device and CLCNN_REQUIRE_DEVICE!=1).
set -uo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

clcnn=$1
src=$2
kill_on_create=$3
tmp=$(mktemp -d "${TMPDIR:-/tmp}/clcnn-interrupt-XXXXXX")
pid=
trap '[ -n "$pid" ] && kill -9 "$pid" 2>/dev/null; rm -rf "$tmp"' EXIT
failures=0
checks=0

fail() {
    echo "FAIL: $*" >&2
    failures=$((failures + 1))
}

require_device

# small batches make epochs of about a second, long enough to land inside one
train=("$clcnn" train --model lenet5 --data "$src/data/mnist" --train-limit 3000 --batch 4
       --epochs 3 --seed 2)
"${train[@]}" --out "$tmp/straight.clcnn" >"$tmp/straight.out" 2>&1 ||
    { fail "the uninterrupted run failed: $(cat "$tmp/straight.out")"; exit 1; }

# waits until FILE holds a line matching PATTERN (at most 60 s)
wait_for() {
    for _ in $(seq 6000); do
        grep -q -- "$2" "$1" 2>/dev/null && return 0
        kill -0 "$pid" 2>/dev/null || return 1
        sleep 0.01
    done
    return 1
}

# interrupt SIGNAL STATUS: stops a run in its second epoch, then resumes it
interrupt() {
    local sig=$1 want=$2 ck=$tmp/$1.clcnn
    checks=$((checks + 1))
    "${train[@]}" --out "$ck" >"$tmp/$sig.out" 2>"$tmp/$sig.err" &
    pid=$!
    # the first progress line of epoch 2: a quarter of it is done
    wait_for "$tmp/$sig.err" "^epoch 2/3: " || fail "$sig: no progress line in epoch 2"
    kill "-$sig" "$pid"
    wait "$pid"
    local got=$?
    pid=
    if [ "$got" -ne "$want" ]; then
        fail "$sig: exit $got, want $want: $(cat "$tmp/$sig.err")"
        return
    fi
    grep -q "stopped by SIG$sig in epoch 2 after [0-9]* batches; checkpoint saved" "$tmp/$sig.err" ||
        fail "$sig: the stop message is missing: $(cat "$tmp/$sig.err")"
    grep -q "resume with: clcnn train --resume $ck" "$tmp/$sig.err" ||
        fail "$sig: no resume hint: $(cat "$tmp/$sig.err")"
    "$clcnn" info --model "$ck" | grep -q "1 epoch(s) done and part of the next" ||
        fail "$sig: the checkpoint is not inside epoch 2: $("$clcnn" info --model "$ck" 2>&1)"
    echo "$sig: exit $got; $(grep -o "stopped by.*batches" "$tmp/$sig.err")"
    checks=$((checks + 1))
    if ! "$clcnn" train --resume "$ck" --data "$src/data/mnist" --train-limit 3000 \
        >"$tmp/$sig.resumed" 2>&1; then
        fail "$sig: the resumed run failed: $(cat "$tmp/$sig.resumed")"
    elif ! cmp -s "$tmp/straight.clcnn" "$ck"; then
        fail "$sig: the resumed run's checkpoint differs from the uninterrupted run's"
    else
        echo "$sig: resumed, bytes equal to the uninterrupted run"
    fi
}
interrupt INT 130
interrupt TERM 143

# Two SIGINTs: the second, sent as the first one's save creates its
# temporary file, ends the run at once; the epoch-1 checkpoint is untouched
# (unless that save had already renamed its file into place: then it is the
# complete new one).
checks=$((checks + 1))
mkdir "$tmp/twice"
ck=$tmp/twice/ck.clcnn
"${train[@]}" --stop-after 1 --out "$ck" >/dev/null 2>&1 || fail "training one epoch failed"
cp "$ck" "$tmp/epoch1.clcnn"
"$clcnn" train --resume "$ck" --data "$src/data/mnist" --train-limit 3000 \
    >"$tmp/twice.out" 2>"$tmp/twice.err" &
pid=$!
wait_for "$tmp/twice.err" "^epoch 2/3: " || fail "twice: no progress line in epoch 2"
"$kill_on_create" "$tmp/twice" ck.clcnn.tmp- "$pid" 0 30 2 &
watcher=$!
sleep 0.2 # the watcher's inotify is set up
kill -INT "$pid"
wait "$pid"
got=$?
pid=
wait "$watcher"
watched=$?
[ "$got" -eq 130 ] || fail "two SIGINTs: exit $got, want 130: $(cat "$tmp/twice.err")"
[ "$watched" -eq 0 ] || fail "two SIGINTs: the save's temporary file was never seen ($watched)"
if cmp -s "$tmp/epoch1.clcnn" "$ck"; then
    echo "two SIGINTs: exit $got during the save, the epoch-1 checkpoint untouched"
elif "$clcnn" info --model "$ck" >/dev/null 2>&1 &&
    grep -q "checkpoint saved" "$tmp/twice.err"; then
    echo "two SIGINTs: exit $got, after the first one's save had completed"
else
    fail "two SIGINTs changed the epoch-1 checkpoint"
fi

echo "interrupt: $((checks - failures)) of $checks checks passed"
[ "$failures" -eq 0 ]
