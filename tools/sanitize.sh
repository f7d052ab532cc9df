#!/usr/bin/env bash
# tools/sanitize.sh [BUILD_DIR] [meson test arguments...]
#
# The whole test suite under AddressSanitizer (with LeakSanitizer) and
# UndefinedBehaviorSanitizer: configures BUILD_DIR (default build-asan) with
# -Db_sanitize=address,undefined, builds it and runs every test. Fails on a
# failing test and on any sanitizer report, including reports from processes
# whose failure a test expected (the CLI tests run `clcnn` on damaged files):
# every report is written to BUILD_DIR/sanitizer-logs/ and any file there
# fails the run. Leak suppressions: tests/sanitizer/lsan.supp (OpenCL
# implementation internals only, each with its reason).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
build=${1:-build-asan}
shift || true

# The packages of a normal build (tools/setup.sh installs them; it also
# builds ./build, so it only runs when something is missing).
if ! command -v meson >/dev/null || ! command -v ninja >/dev/null ||
    ! pkg-config --exists check libpng zlib OpenCL 2>/dev/null; then
    bash tools/setup.sh
fi
if [ ! -f "$build/build.ninja" ]; then
    meson setup "$build" --buildtype=debugoptimized -Db_sanitize=address,undefined \
        -Db_lundef=false >/dev/null
fi
ninja -C "$build" >/dev/null

logs=$PWD/$build/sanitizer-logs
rm -rf "$logs"
mkdir -p "$logs"
# allocator_may_return_null: an allocation the system refuses returns NULL as
# it would without ASan (the data tests cap the address space on purpose).
# fast_unwind_on_malloc=0: complete allocation stacks through PoCL, which the
# leak suppressions need (costly only while PoCL compiles kernels).
export ASAN_OPTIONS="detect_leaks=1:halt_on_error=1:detect_stack_use_after_return=1:strict_string_checks=1:check_initialization_order=1:allocator_may_return_null=1:fast_unwind_on_malloc=0:log_path=$logs/asan"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:log_path=$logs/ubsan"
export LSAN_OPTIONS="suppressions=$PWD/tests/sanitizer/lsan.supp:print_suppressions=0"
# The embedding example is compiled by its test with $CC against the
# installed library, which needs the ASan runtime first: build it
# instrumented too.
wrapper=$PWD/$build/cc-sanitize
printf '#!/bin/sh\nexec cc -fsanitize=address,undefined "$@"\n' >"$wrapper"
chmod +x "$wrapper"
export CC=$wrapper

status=0
meson test -C "$build" --print-errorlogs "$@" || status=1
if grep -q "runtime error:" "$build/meson-logs/testlog.txt"; then
    echo "sanitize: UndefinedBehaviorSanitizer reports in $build/meson-logs/testlog.txt:" >&2
    grep -A3 "runtime error:" "$build/meson-logs/testlog.txt" | head -40 >&2
    status=1
fi
reports=$(find "$logs" -type f | sort)
if [ -n "$reports" ]; then
    echo "sanitize: sanitizer reports in $logs:" >&2
    for f in $reports; do
        echo "== $f" >&2
        grep -E "ERROR|runtime error|SUMMARY|^ *#[0-9]+ " "$f" | head -30 >&2
    done
    status=1
fi
[ $status -eq 0 ] && echo "sanitize: no sanitizer reports"
exit $status
