#!/usr/bin/env bash
# Runs the test suite: type check, lint, then node's test runner over the unit specs beside the code and the
# end-to-end tests under test/. `scripts/test.sh unit` runs the unit specs only.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" = "unit" ]; then
  mapfile -t files < <(find src bench -name '*.test.ts' | sort)
else
  echo "[test] type check and lint" >&2
  npx tsc -p tsconfig.json --noEmit
  npx biome check --reporter=summary .
  mapfile -t files < <( (find src bench -name '*.test.ts'; find test -name '*.test.ts') | sort)
fi
exec node --import tsx --test --test-concurrency=1 --test-timeout=600000 "${files[@]}"
