#!/usr/bin/env bash
# Makes the "published" fixtures of the shipped examples: builds each example
# for each arch with rebuild itself, then keeps the post-processed outputs and
# a CHECKSUM file in examples/<name>/published/<arch>/, in the formats pkgforge
# used (2025 bash CI: `name:<b3sum>`; Rust sbuild: `BLAKE3:`/`SHA256:` lines).
# These recipes are not on pkgforge, so this stands in for its CI: a later
# rebuild must reproduce these bytes exactly.
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for example in hello-docker-run tally-container wc-host; do
  for arch in x86_64 aarch64; do
    out="$tmp/$example-$arch"
    node bin/rebuild.js build "examples/$example/SBUILD" --arch "$arch" --out "$out" --quiet >/dev/null
    pub="examples/$example/published/$arch"
    rm -rf "$pub" && mkdir -p "$pub"
    : >"$pub/CHECKSUM"
    for f in "$out"/*; do
      name=$(basename "$f")
      case "$name" in build.log | result.json) continue ;; esac
      [ -f "$f" ] || continue
      cp "$f" "$pub/$name"
      if [ "$example" = tally-container ]; then
        printf 'BLAKE3: %s ./%s\nSHA256: %s ./%s\n' "$(b3sum --no-names "$f")" "$name" \
          "$(sha256sum "$f" | cut -d' ' -f1)" "$name" >>"$pub/CHECKSUM"
      else
        printf '%s:%s\n' "$name" "$(b3sum --no-names "$f")" >>"$pub/CHECKSUM"
      fi
    done
    echo "published $pub: $(ls "$pub" | tr '\n' ' ')"
  done
done
