#!/usr/bin/env bash
# tests/fuzz/run.sh [SECONDS] [HARNESS...]
#
# Builds every fuzz harness as a libFuzzer target with clang, AddressSanitizer
# and UndefinedBehaviorSanitizer (build folder: $CLCNN_FUZZ_BUILD, default
# build-fuzz), runs each for SECONDS (default 60) starting from its committed
# corpus in tests/fuzz/corpus/, and fails on any crash, hang, leak, memory
# blow-up or sanitizer report. New inputs found go to the build folder's
# fuzz-corpus/, never into the committed corpus; a failing input is saved in
# fuzz-artifacts/ and can be replayed with the plain driver
# (build/tests/fuzz/fuzz_NAME FILE) or the libFuzzer binary.
# Installs clang and libFuzzer (Debian: clang, libclang-rt-dev) when missing.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
seconds=${1:-60}
shift || true
all=(idx idx_gz model spec png pnm tuning onnx npy)
harnesses=("$@")
[ ${#harnesses[@]} -gt 0 ] || harnesses=("${all[@]}")
build=${CLCNN_FUZZ_BUILD:-build-fuzz}
supp=$PWD/tests/sanitizer/lsan.supp

# --- tools ---------------------------------------------------------------
can_fuzz() {
    local dir
    dir=$(mktemp -d)
    printf '%s\n' '#include <stdint.h>' '#include <stddef.h>' \
        'int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { (void)d; (void)n; return 0; }' \
        > "$dir/t.c"
    clang -fsanitize=fuzzer,address,undefined "$dir/t.c" -o "$dir/t" >/dev/null 2>&1
    local ok=$?
    rm -rf "$dir"
    return $ok
}
packages=(clang libclang-rt-dev gcc pkg-config meson ninja-build python3 ocl-icd-opencl-dev
          opencl-headers pocl-opencl-icd check zlib1g-dev libpng-dev)
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ] || ! can_fuzz; then
    echo "fuzz: installing ${missing[*]:-clang libclang-rt-dev}" >&2
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
        "${missing[@]:-clang}" clang libclang-rt-dev >/dev/null
fi

# --- build ---------------------------------------------------------------
if [ ! -f "$build/build.ninja" ]; then
    # Coverage instrumentation for everything (library, tool code, harness);
    # -fno-sanitize-recover turns every UBSan report into a crash libFuzzer sees.
    CC=clang meson setup "$build" --buildtype=debugoptimized -Dfuzzing=true \
        -Db_sanitize=address,undefined -Db_lundef=false \
        -Dc_args="-fsanitize=fuzzer-no-link -fno-sanitize-recover=all -fno-omit-frame-pointer" \
        >/dev/null
fi
targets=()
for h in "${harnesses[@]}"; do targets+=("tests/fuzz/fuzz_$h"); done
ninja -C "$build" "${targets[@]}" >/dev/null

# --- run -----------------------------------------------------------------
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:detect_stack_use_after_return=1:strict_string_checks=1}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$supp:print_suppressions=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export CLCNN_CACHE_DIR=${CLCNN_CACHE_DIR-$PWD/$build/kernel-cache}
export CLCNN_TUNING_FILE=""
status=0
summary=()
for h in "${harnesses[@]}"; do
    work=$build/fuzz-corpus/$h
    artifacts=$build/fuzz-artifacts/$h
    log=$build/fuzz-$h.log
    mkdir -p "$work" "$artifacts"
    dict=()
    [ -f "tests/fuzz/$h.dict" ] && dict=(-dict="tests/fuzz/$h.dict")
    echo "fuzz: $h for ${seconds}s" >&2
    rc=0
    "$build/tests/fuzz/fuzz_$h" "$work" "tests/fuzz/corpus/$h" "${dict[@]}" \
        -max_total_time="$seconds" -timeout=30 -rss_limit_mb=2560 -max_len=4096 \
        -print_final_stats=1 -artifact_prefix="$artifacts/" >"$log" 2>&1 || rc=$?
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    final=$(grep -E '^#[0-9]+.*(DONE|INITED|pulse|NEW|REDUCE).*cov:' "$log" | tail -1)
    cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$final")
    ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$final")
    units=$(find "$work" -type f | wc -l)
    found=$(find "$artifacts" -type f | wc -l)
    if [ "$rc" -ne 0 ] || [ "$found" -ne 0 ] ||
        grep -qE 'ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error:' "$log"; then
        status=1
        result="FAILED (exit $rc, $found artifacts; see $log)"
        grep -E 'ERROR:|runtime error:|SUMMARY:|Test unit written' "$log" | head -5 >&2 || true
    else
        result="ok"
    fi
    summary+=("$(printf '%-8s %12s execs  cov %6s  ft %6s  corpus %5s  %s' "$h" "${execs:-?}" \
        "${cov:-?}" "${ft:-?}" "$units" "$result")")
done
printf '%s\n' "${summary[@]}"
exit $status
