#!/usr/bin/env bash
# The whole test suite: installs what is missing, builds, runs every test.
# Extra arguments go to `meson test` (e.g. a test name).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash tools/setup.sh
meson test -C build --print-errorlogs "$@"
