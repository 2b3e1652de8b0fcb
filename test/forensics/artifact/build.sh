#!/bin/sh
# Builds the AppImage test binaries with the builder image's gcc: $1 = sources, $2 = output.
set -eu
src=$1
out=$2
gcc -O2 -o "$out/runtime-dynamic" "$src/runtime.c"
gcc -O2 -static -o "$out/runtime-static" "$src/runtime.c"
for f in runtime-dynamic runtime-static; do printf 'AI\002' | dd of="$out/$f" bs=1 seek=8 conv=notrunc 2>/dev/null; done
gcc -O2 -o "$out/AppRun" "$src/app.c"
gcc -O2 -DAPP_MESSAGE='"hello from a changed AppDir"' -o "$out/AppRun-changed" "$src/app.c"
