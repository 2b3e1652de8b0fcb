#!/usr/bin/env bash
# The README's first command: on a fresh Debian machine (as root) it sets up
# the engine and the project, then rebuilds a shipped example for aarch64
# under QEMU and verifies it against its published checksums.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-engine.sh
[ -d node_modules ] || npm ci --no-audit --no-fund
[ -f dist/cli/main.cjs ] || npm run build
node bin/rebuild.js build examples/hello-docker-run/SBUILD --arch aarch64 \
  --expect examples/hello-docker-run/published/aarch64 --out rebuild-out/hello-rb/aarch64 "$@"
