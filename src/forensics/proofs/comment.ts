/**
 * `.comment`: the toolchain identification strings (`.ident`) that
 * compilers and linkers write, merged by the linker. It is proven to be a
 * short run of NUL-terminated text strings, each naming a known producer,
 * within COMMENT_LIMIT bytes and COMMENT_STRINGS strings.
 *
 * Why nothing hides here: no loader reads .comment (it lies outside every
 * program header, checked before any proof runs), so nothing in it runs;
 * and what it may hold is a few short lines of text that each start with a
 * toolchain's own name: no machine code (control bytes and invalid UTF-8 are
 * refused), and no room for more than a few hundred bytes of prose.
 */
import { checkStringTable, need, quote } from './cursor.js';
import type { Proof } from './types.js';

/** gcc/clang/ld/rustc write one line each; a static binary from several toolchains a handful. */
export const COMMENT_LIMIT = 4096;
export const COMMENT_STRINGS = 32;
const STRING_LIMIT = 256;

/** Prefixes of the identification strings toolchains write. */
const PRODUCERS = [
  'GCC: (',
  'GCC: ',
  'clang version ',
  'Linker: ',
  'rustc version ',
  'GNU ',
  'LLD ',
  'mold ',
  'zig ',
  'GHC ',
  'Homebrew clang version ',
];
const VENDOR_CLANG = /^[A-Za-z][\w.+-]* clang version /;

export const proveComment: Proof = ({ bytes }) => {
  need(
    bytes.length <= COMMENT_LIMIT,
    `it is ${bytes.length} bytes, more than toolchain identification strings take (${COMMENT_LIMIT})`,
  );
  checkStringTable(bytes, 'it', false);
  const strings = bytes.toString('latin1').split('\0').slice(0, -1);
  need(strings.length <= COMMENT_STRINGS, `it holds ${strings.length} strings, more than ${COMMENT_STRINGS}`);
  for (const s of strings) {
    if (s === '') continue;
    need(
      s.length <= STRING_LIMIT,
      `a string of ${s.length} bytes is longer than an identification string (${STRING_LIMIT})`,
    );
    need(
      PRODUCERS.some((p) => s.startsWith(p)) || VENDOR_CLANG.test(s),
      `the string ${quote(Buffer.from(s, 'latin1'))} names no known compiler or linker`,
    );
  }
  return undefined;
};
