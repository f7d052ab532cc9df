#!/usr/bin/env bash
# `clcnn bench` and `clcnn tune` as a user runs them, at sizes that take
# seconds: the JSON fields of every kind of output, a tuning file written by
# tune and then used by the library (forced to a non-default choice, which
# bench must report), damaged tuning files ignored without a crash, and the
# exit statuses of wrong command lines. Timings are never asserted.
# Usage: test_bench.sh CLCNN_BINARY   (meson passes it)
# Exit: 0 pass, 1 fail, 77 skip (no OpenCL device and CLCNN_REQUIRE_DEVICE!=1).
set -uo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

clcnn=$1
tmp=$(mktemp -d "${TMPDIR:-/tmp}/clcnn-bench-XXXXXX")
trap 'rm -rf "$tmp"' EXIT
failures=0
checks=0
export CLCNN_TUNING_FILE=$tmp/none.txt # no tuning file unless a check names one

fail() {
    echo "FAIL: $*" >&2
    failures=$((failures + 1))
}

run() { # run DESCRIPTION COMMAND...: must succeed; stdout in $tmp/out
    checks=$((checks + 1))
    local what=$1
    shift
    "$@" >"$tmp/out" 2>"$tmp/err"
    local status=$?
    if [ "$status" -ne 0 ]; then
        fail "$what: exit $status; stderr:"
        cat "$tmp/err" >&2
        return 1
    fi
}

expect_usage() { # expect_usage WORD COMMAND...: exit 2 and WORD in the message
    checks=$((checks + 1))
    local word=$1
    shift
    "$@" >"$tmp/out" 2>"$tmp/err"
    local got=$?
    if [ "$got" -ne 2 ] || ! grep -qi -- "$word" "$tmp/err"; then
        fail "$*: exit $got (want 2), stderr lacks \"$word\""
        cat "$tmp/err" >&2
    fi
}

json_check() { # json_check DESCRIPTION PYTHON-CODE: runs with `lines` = JSON objects of $tmp/out
    checks=$((checks + 1))
    if ! python3 - "$tmp/out" "$2" 2>"$tmp/py" <<'PY'; then
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
exec(sys.argv[2])
PY
        fail "$1: $(tail -1 "$tmp/py")"
    fi
}

require_device

# the layer suite: a header, then one object per layer and pass, all checked
run "bench lenet" "$clcnn" bench --suite lenet --batch 2 --repeat 1 --json &&
    json_check "bench --json fields" '
h = lines[0]
assert h["type"] == "header", h
for k in ("device", "driver", "clcnn", "platform", "peak_gflops"):
    assert k in h and h[k], ("header lacks", k)
assert h["peak_gflops"] > 0
rows = lines[1:]
assert len(rows) == 6, len(rows)
assert {(r["layer"], r["pass"]) for r in rows} == {
    (l, p) for l in ("lenet-conv1", "lenet-conv2") for p in ("fwd", "bwd-data", "bwd-filter")}
for r in rows:
    for k in ("suite", "layer", "pass", "n", "c", "h", "w", "k", "r", "s", "stride", "pad",
              "algo", "variant", "ms", "min_ms", "cpu_ms", "gflops", "peak_pct", "check"):
        assert k in r, ("row lacks", k, r)
    assert r["suite"] == "lenet" and r["n"] == 2 and r["check"] == "ok", r
    assert r["ms"] > 0 and r["gflops"] > 0 and r["min_ms"] <= r["ms"], r
    assert r["tuned"] is False, r
c1 = [r for r in rows if r["layer"] == "lenet-conv1"][0]
assert (c1["c"], c1["h"], c1["w"], c1["k"], c1["r"], c1["s"], c1["pad"]) == (1, 28, 28, 6, 5, 5, 2)
'

run "bench text" "$clcnn" bench --layer lenet-conv2 --pass fwd,bwd-data --batch 2 --repeat 1 \
    --no-peak &&
    { [ "$(grep -c '^lenet-conv2 ' "$tmp/out")" -eq 2 ] || fail "bench text: not two rows"; }

run "bench --list" "$clcnn" bench --list --json &&
    json_check "bench --list" '
assert len(lines) == 19, len(lines)
suites = {l["suite"] for l in lines}
assert suites == {"lenet", "convnet", "soumith", "vgg", "resnet"}, suites
l2 = [l for l in lines if l["layer"] == "soumith-L2"][0]
assert (l2["c"], l2["h"], l2["k"], l2["r"], l2["p"]) == (64, 64, 128, 9, 56), l2
assert all(1 <= l["n"] <= 1024 and l["gflop"] > 0 for l in lines)
'

run "bench --peak" "$clcnn" bench --peak --repeat 1 --json &&
    json_check "bench --peak" 'assert lines[0]["type"] == "peak" and lines[0]["peak_gflops"] > 0'

run "bench --model" "$clcnn" bench --model lenet5 --batch 8 --repeat 1 --warmup 1 --json &&
    json_check "bench --model" '
m = lines[0]
for k in ("train_images_per_s", "infer_images_per_s", "setup_ms", "first_step_ms", "device"):
    assert k in m and m[k], ("model lacks", k)
assert m["batch"] == 8 and m["params"] == 61706, m
'

# tune one layer into a fresh tuning file
tuning=$tmp/tuning.txt
run "tune" "$clcnn" tune --layer lenet-conv1 --batch 2 --repeat 1 --out "$tuning" --json &&
    json_check "tune --json" '
rows = lines[1:]
assert lines[0]["type"] == "header" and len(rows) == 3, lines
for r in rows:
    assert r["best"] and r["default"], r
    assert all(c["check"] in ("ok", "unsupported") for c in r["candidates"]), r
    ok = [c for c in r["candidates"] if c["check"] == "ok"]
    assert min(c["ms"] for c in ok) == r["best"]["ms"], r
'
cp "$tmp/out" "$tmp/tune.json"
checks=$((checks + 1))
if [ ! -f "$tuning" ] || [ "$(head -1 "$tuning")" != "clcnn-tuning 2" ] ||
    [ "$(grep -c '^conv2d\.' "$tuning")" -ne 3 ] || ls "$tmp"/tuning.txt.*.tmp >/dev/null 2>&1; then
    fail "tune did not write three entries to $tuning atomically"
    cat "$tuning" >&2
fi

# Force each pass to a candidate other than the default in the file: bench
# must run exactly that one and say it came from the tuning file.
checks=$((checks + 1))
if ! python3 - "$tmp/tune.json" "$tuning" >"$tmp/forced" <<'PY'; then
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])][1:]
entries = [l.split() for l in open(sys.argv[2]) if l.startswith("conv2d.")]
ops = {"fwd": "conv2d.fwd", "bwd-data": "conv2d.bwd_data", "bwd-filter": "conv2d.bwd_filter"}
out = ["clcnn-tuning 2"]
for r in rows:
    others = [c for c in r["candidates"] if c["check"] == "ok" and
              (c["algo"], c["variant"]) != (r["default"]["algo"], r["default"]["variant"])]
    pick = others[-1] if others else r["default"]
    key = [e[1] for e in entries if e[0] == ops[r["pass"]]][0]
    out.append(f'{ops[r["pass"]]} {key} {pick["algo"]} {pick["variant"]} 1.0 forced')
    print(r["pass"], pick["name"])
open(sys.argv[2], "w").write("\n".join(out) + "\n")
PY
    fail "could not rewrite the tuning file"
fi
run "bench with the tuning file" env CLCNN_TUNING_FILE="$tuning" "$clcnn" bench \
    --layer lenet-conv1 --batch 2 --repeat 1 --no-peak --json &&
    json_check "bench uses the tuned choice" '
forced = dict(l.split(" ", 1) for l in open("'"$tmp/forced"'").read().splitlines())
assert lines[0]["tuning_entries"] == 3, lines[0]
for r in lines[1:]:
    assert r["tuned"] is True and r["variant"] == forced[r["pass"]], (r, forced)
    assert r["check"] == "ok", r
'

# damaged tuning files: ignored (entry by entry), never a crash
printf 'clcnn-tuning 2\nconv2d.fwd garbage\nconv2d.fwd %s 999 999\n\x00\xff\n' \
    "$(awk '/^conv2d.fwd/ {print $2}' "$tuning")" >"$tmp/bad1.txt"
head -c 3000 /dev/urandom >"$tmp/bad2.txt"
{ echo "clcnn-tuning 2"; head -c 3000 /dev/urandom; } >"$tmp/bad3.txt"
for bad in bad1 bad2 bad3; do
    run "bench with $bad" env CLCNN_TUNING_FILE="$tmp/$bad.txt" "$clcnn" bench \
        --layer lenet-conv1 --pass fwd --batch 2 --repeat 1 --no-peak --json &&
        json_check "$bad ignored" 'assert lines[1]["check"] == "ok" and lines[1]["tuned"] is False'
done
run "bench, tuning off" env CLCNN_TUNING_FILE= "$clcnn" bench --layer lenet-conv1 --pass fwd \
    --batch 2 --repeat 1 --no-peak --json &&
    json_check "tuning off" 'assert lines[0]["tuning_file"] is None'

# wrong command lines
expect_usage "no suite or layer named 'nosuch'" "$clcnn" bench --suite nosuch
expect_usage "no suite or layer named 'vgg-1'" "$clcnn" tune --layer vgg-1
expect_usage "invalid --pass" "$clcnn" bench --pass forward
expect_usage "invalid --repeat" "$clcnn" bench --repeat 0
expect_usage "invalid --batch" "$clcnn" tune --batch 0
expect_usage "exclude" "$clcnn" bench --peak --model lenet5
expect_usage "select no case" "$clcnn" bench --suite vgg --layer lenet-conv1
checks=$((checks + 1))
"$clcnn" bench --model "conv(4,3) nonsense" --batch 2 --repeat 1 >/dev/null 2>"$tmp/err"
[ $? -eq 1 ] && grep -q "nonsense" "$tmp/err" || fail "a bad --model spec is not exit 1 naming it"

echo "$checks checks, $failures failed"
[ "$failures" -eq 0 ]
