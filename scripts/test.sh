#!/usr/bin/env bash
# Runs the test suite with node's test runner: unit specs beside the code, end-to-end tests under test/.
# `scripts/test.sh unit` runs the unit specs only.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" = "unit" ]; then
  mapfile -t files < <(find src -name '*.test.ts' | sort)
else
  mapfile -t files < <( (find src -name '*.test.ts'; find test -name '*.test.ts') | sort)
fi
exec node --import tsx --test --test-concurrency=1 --test-timeout=600000 "${files[@]}"
