#!/bin/sh
# Runs each named binary of DIR and prints one line per binary:
#   <name> <exit status> <first line of its output>
# so that the tests can tell a tampered binary still runs like the original.
DIR=$1
shift
for f in "$@"; do
  out=$("$DIR/$f" 2>&1 </dev/null | head -1)
  rc=$?
  # the pipeline's status is head's: ask the binary again for its own
  "$DIR/$f" >/dev/null 2>&1 </dev/null
  rc=$?
  printf '%s %s %s\n' "$f" "$rc" "$out"
done
