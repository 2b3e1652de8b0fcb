#!/bin/bash
# Runs inside rebuild's unpack container (network none, memory/pids/time
# limits, a size-limited tmpfs at /work). Unpacks /in/artifact and writes ONE
# tar stream of its members on stdout; the host reads that stream only
# through its safe extraction. Nothing here trusts the artifact:
#   - decompressed output is cut at MAX+1 bytes, so a bomb shows as "too big";
#   - a SquashFS image is unpacked into the tmpfs (ENOSPC bounds it), as root
#     so owners and modes are kept, without xattrs and device nodes (no MKNOD);
#   - a zip is converted to a pax tar by libarchive (names, modes, mtimes).
# Usage: unpack.sh KIND OFFSET MAX_BYTES
set -euo pipefail
kind=$1
offset=$2
max=$3
in=/in/artifact
cap() { head -c "$((max + 1))"; }
case "$kind" in
  tar) cap <"$in" ;;
  tar.gz) gzip -dc <"$in" | cap ;;
  tar.xz) xz -dc <"$in" | cap ;;
  tar.zst) zstd -dc <"$in" | cap ;;
  zip) bsdtar -cf - --format pax @"$in" | cap ;;
  appimage)
    unsquashfs -no-progress -no-xattrs -offset "$offset" -dest /work/root "$in" >&2
    tar -C /work/root --numeric-owner --sort=name --format=pax -cf - . | cap
    ;;
  *)
    echo "unpack.sh: unknown kind $kind" >&2
    exit 64
    ;;
esac
