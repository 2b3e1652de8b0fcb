#!/usr/bin/env bash
# The README's test command, and what CI runs: on a fresh Debian machine (as
# root) it installs and starts the engine and tools, installs the project,
# checks types and lint, builds the builder images for both arches (cached by
# content hash: seconds when nothing changed), and runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."
step() { printf '\n== %s\n' "$*"; }

step "engine, QEMU, binutils, chromium, registry"
bash scripts/setup-engine.sh --with-test-tools
step "npm ci"
npm ci --no-audit --no-fund
step "typecheck and lint"
npx tsc --noEmit
npx biome check .
step "builder images (x86_64, aarch64)"
node bin/rebuild.js runner bootstrap --arch x86_64
node bin/rebuild.js runner bootstrap --arch aarch64
step "tests"
npx vitest run
