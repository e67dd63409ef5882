#!/usr/bin/env bash
# Regenerates src/proto/gen/ from the .proto files under src/proto/ (buf + protoc-gen-es, both from npm).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/node_modules/.bin:$PATH"
buf generate
npx biome format --write src/proto/gen >/dev/null 2>&1 || true
