#!/bin/sh
# Builds the forensic corpus's binaries with the toolchain of the image it
# runs in (gcc + binutils of the target arch: natively, or under QEMU).
#   build-corpus.sh SRC_DIR OUT_DIR
# SRC_DIR holds prog.c, stamp.c and where.c; OUT_DIR receives the binaries,
# `toolchain.txt` and `manifest.txt` (one `name: how` line per binary).
# Byte-level patches (flipped bytes, entry point, appended bytes, truncation)
# are made afterwards by the test, in TypeScript. Keep this small: under
# QEMU every gcc invocation costs seconds.
set -eu
SRC=$1
OUT=$2
mkdir -p "$OUT"
W=$(mktemp -d /tmp/corpus.XXXXXX)
trap 'rm -rf "$W"' EXIT
note() { printf '%s: %s\n' "$1" "$2" >>"$OUT/manifest.txt"; }
: >"$OUT/manifest.txt"
{ uname -m; gcc --version | head -1; objcopy --version | head -1; } >"$OUT/toolchain.txt"

# Two build directories whose paths have the same length, so that paths that
# leak into the binary change bytes but not the layout.
A=$W/build-aaaa
B=$W/build-bbbb
mkdir -p "$A" "$B"
cp "$SRC/prog.c" "$SRC/stamp.c" "$SRC/where.c" "$A/"
cp "$SRC/prog.c" "$SRC/stamp.c" "$SRC/where.c" "$B/"

CFLAGS="-O2 -g"
# 1. The reference build, unstripped (symbols, debug info, .comment, notes, build-id).
(cd "$A" && gcc $CFLAGS -ffile-prefix-map="$A"=. -o "$OUT/base" prog.c)
note base "gcc $CFLAGS -ffile-prefix-map=<dir>=. prog.c (dir A)"
# 2. Same source, another directory, paths mapped away: byte-identical.
(cd "$B" && gcc $CFLAGS -ffile-prefix-map="$B"=. -o "$OUT/same" prog.c)
note same "as base, built in dir B"
# 3. Two directories without -ffile-prefix-map: the paths land in the debug
#    info only, and the linker's build-id hashes them.
(cd "$A" && gcc $CFLAGS -o "$OUT/dir-a" prog.c)
(cd "$B" && gcc $CFLAGS -o "$OUT/dir-b" prog.c)
note dir-a "gcc $CFLAGS prog.c in dir A, no prefix map"
note dir-b "gcc $CFLAGS prog.c in dir B, no prefix map"
# 4. Another optimisation level.
(cd "$A" && gcc -O0 -g -ffile-prefix-map="$A"=. -o "$OUT/o0" prog.c)
note o0 "gcc -O0 -g prog.c"
# 5. An explicit build-id (same length as the default sha1 one: 20 bytes).
(cd "$A" && gcc $CFLAGS -ffile-prefix-map="$A"=. -Wl,--build-id=0x0123456789abcdef0123456789abcdef01234567 -o "$OUT/buildid" prog.c)
note buildid "as base, -Wl,--build-id=0x0123…"
# 6. A build timestamp, at two moments.
(cd "$A" && SOURCE_DATE_EPOCH=1700000000 gcc -O2 -o "$OUT/stamp-1" stamp.c)
(cd "$A" && SOURCE_DATE_EPOCH=1700097531 gcc -O2 -o "$OUT/stamp-2" stamp.c)
note stamp-1 "SOURCE_DATE_EPOCH=1700000000 gcc -O2 stamp.c"
note stamp-2 "SOURCE_DATE_EPOCH=1700097531 gcc -O2 stamp.c"
# 7. __FILE__ from two source directories (absolute paths, same length).
gcc -O2 -o "$OUT/where-a" "$A/where.c"
gcc -O2 -o "$OUT/where-b" "$B/where.c"
note where-a "gcc -O2 <dir A>/where.c"
note where-b "gcc -O2 <dir B>/where.c"

# Post-processing variants, with this image's binutils.
cp "$OUT/base" "$OUT/pkgforge"
objcopy --remove-section=.comment --remove-section='.note.*' "$OUT/pkgforge"
strip --strip-all "$OUT/pkgforge"
note pkgforge "base, then objcopy --remove-section=.comment --remove-section='.note.*'; strip --strip-all"
objcopy "$OUT/base" "$OUT/copied"
note copied "objcopy base copied (rewritten, nothing removed)"
objcopy --remove-section=.comment "$OUT/base" "$OUT/nocomment"
note nocomment "objcopy --remove-section=.comment base"
strip --strip-all -o "$OUT/strip-all" "$OUT/base"
strip --strip-debug -o "$OUT/strip-debug" "$OUT/base"
note strip-all "strip --strip-all base"
note strip-debug "strip --strip-debug base"
printf 'an extra payload that nothing loads\n' >"$W/payload"
objcopy --add-section .rebuild.extra="$W/payload" --set-section-flags .rebuild.extra=noload,readonly "$OUT/base" "$OUT/extra"
note extra "objcopy --add-section .rebuild.extra (non-allocated) base"
# A well-formed note (namesz 8 "rebuild\0", descsz 4, type 1, desc "v1\0\0"), little-endian.
printf '\010\000\000\000\004\000\000\000\001\000\000\000rebuild\000v1\000\000' >"$W/note"
objcopy --add-section .note.rebuild="$W/note" --set-section-flags .note.rebuild=noload,readonly "$OUT/base" "$OUT/addnote"
note addnote "objcopy --add-section .note.rebuild (non-allocated note) base"
# A note with a known owner: FDO package metadata (namesz 4 "FDO\0", descsz 29,
# type 0xcafe1a7e, a NUL-terminated JSON object padded to 32), little-endian.
printf '\004\000\000\000\035\000\000\000\176\032\376\312FDO\000{"type":"deb","name":"prog"}\000\000\000\000' >"$W/fdo"
objcopy --add-section .note.package="$W/fdo" --set-section-flags .note.package=noload,readonly "$OUT/base" "$OUT/addnote-fdo"
note addnote-fdo "objcopy --add-section .note.package (FDO package metadata, non-allocated) base"
# A debug link as objcopy writes it.
objcopy --only-keep-debug "$OUT/base" "$W/base.debug"
objcopy --add-gnu-debuglink="$W/base.debug" "$OUT/base" "$OUT/debuglink"
note debuglink "objcopy --add-gnu-debuglink base"
chmod 0644 "$OUT"/*
echo "corpus built in $OUT"
