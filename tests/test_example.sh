#!/usr/bin/env bash
# Installs the current build into a temporary folder, builds
# examples/conv_example.c against that install with nothing but
# `pkg-config clcnn`, runs it and compares its output with
# examples/conv_example.expected. Proves the installed header, library and
# .pc file are enough to embed clcnn.
# Usage: test_example.sh BUILD_DIR SOURCE_DIR   (meson passes both)
# Exit: 0 pass, 1 fail, 77 skip (no OpenCL device and CLCNN_REQUIRE_DEVICE!=1).
set -euo pipefail

fail() {
    echo "test_example: FAIL: $*" >&2
    exit 1
}
[ $# -eq 2 ] || fail "usage: test_example.sh BUILD_DIR SOURCE_DIR"
build=$1
source=$2
cc=${CC:-cc}
command -v meson >/dev/null || fail "meson is not on PATH"
command -v pkg-config >/dev/null || fail "pkg-config is not installed (apt-get install pkg-config)"
command -v "$cc" >/dev/null || fail "no C compiler '$cc' (set CC)"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/clcnn-example-XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# 1. install the build as a package would, under a staging root (no root needed)
if ! meson install -C "$build" --no-rebuild --destdir "$tmp/root" >"$tmp/install.log" 2>&1; then
    cat "$tmp/install.log" >&2
    fail "meson install --destdir failed"
fi
pc=$(find "$tmp/root" -name clcnn.pc -path '*/pkgconfig/*' -print -quit)
[ -n "$pc" ] || fail "the install has no pkgconfig/clcnn.pc"
libdir=$(cd "$(dirname "$pc")/.." && pwd)
ls "$libdir"/libclcnn.so* >/dev/null 2>&1 || fail "no libclcnn.so beside $pc"

# 2. compile the example with the staged .pc file; the sysroot makes its
#    -I and -L point into the staging root
export PKG_CONFIG_PATH="$(dirname "$pc")${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
export PKG_CONFIG_SYSROOT_DIR="$tmp/root"
cflags=$(pkg-config --cflags clcnn) || fail "pkg-config --cflags clcnn failed"
libs=$(pkg-config --libs clcnn) || fail "pkg-config --libs clcnn failed"
case "$cflags $libs" in
*"$tmp/root"*) ;;
*) fail "pkg-config flags do not point into the staged install: $cflags $libs" ;;
esac
# shellcheck disable=SC2086 # the flags are words
"$cc" -std=c11 -Wall -Wextra -Wpedantic -Werror -o "$tmp/conv_example" \
    "$source/examples/conv_example.c" $cflags $libs ||
    fail "compiling examples/conv_example.c against the install failed"

# 3. run it on the installed library (and make sure that is the one it loads)
export LD_LIBRARY_PATH="$libdir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
if command -v ldd >/dev/null; then
    loaded=$(ldd "$tmp/conv_example" | grep libclcnn || true)
    case "$loaded" in
    *"=> $libdir/"*) ;;
    *) fail "the example does not load the staged libclcnn: ${loaded:-not linked}" ;;
    esac
fi
set +e
"$tmp/conv_example" >"$tmp/out.txt" 2>"$tmp/err.txt"
rc=$?
set -e
if [ $rc -ne 0 ]; then
    cat "$tmp/err.txt" >&2
    if grep -q CLCNN_ERR_NO_DEVICE "$tmp/err.txt" && [ "${CLCNN_REQUIRE_DEVICE:-}" != 1 ]; then
        echo "test_example: SKIP: no OpenCL device" >&2
        exit 77
    fi
    fail "conv_example exited with status $rc"
fi
cat "$tmp/out.txt"

# 4. compare: numbers within 1e-3 of the float64 reference, other words exactly
awk -v tol=1e-3 '
    function numeric(s) { return s ~ /^-?[0-9]+(\.[0-9]+)?$/ }
    FNR == NR { if ($0 !~ /^#/) for (i = 1; i <= NF; i++) want[++n] = $i; next }
    { for (i = 1; i <= NF; i++) got[++m] = $i }
    END {
        if (n != m) { printf "expected %d words, got %d\n", n, m; exit 1 }
        for (i = 1; i <= n; i++) {
            if (numeric(want[i])) {
                d = want[i] - got[i]
                if (!numeric(got[i]) || d > tol || -d > tol) {
                    printf "value %d is %s, the float64 reference is %s\n", i, got[i], want[i]
                    exit 1
                }
            } else if (want[i] != got[i]) {
                printf "word %d is \"%s\", expected \"%s\"\n", i, got[i], want[i]
                exit 1
            }
        }
    }' "$source/examples/conv_example.expected" "$tmp/out.txt" >"$tmp/diff.txt" ||
    fail "output differs from examples/conv_example.expected: $(cat "$tmp/diff.txt")"
echo "test_example: PASS (built with: $cc $cflags $libs)"
