/**
 * `.gnu_debuglink` / `.gnu_debugaltlink` against b's. The debug file they
 * name is built with the program, so its checksum (debuglink's CRC32) or
 * build-id (altlink's) may differ between two builds in two build
 * directories: those few bytes (4, or at most 64) are a stated residual.
 * The name or path before them must be b's, byte for byte: otherwise it is
 * up to 255 (debuglink) or 4096 (altlink) bytes of a's own text.
 */
import { debugContents } from '../proofs/index.js';
import type { PairOutcome, PairProof, PairSection } from './types.js';

const name = async (p: PairSection): Promise<Buffer> => {
  const bytes = await debugContents(p.side.elf, p.side.src, p.section);
  const nul = bytes.indexOf(0);
  return bytes.subarray(0, nul < 0 ? bytes.length : nul);
};

export const compareLinkPair: PairProof = async (pa, pb): Promise<PairOutcome> => {
  const link = pa.section.name === '.gnu_debuglink';
  if (!link && pa.section.name !== '.gnu_debugaltlink')
    return { same: false, reason: "it differs from b's and rebuild cannot compare what it holds" };
  const [x, y] = [await name(pa), await name(pb)];
  if (!x.equals(y))
    return {
      same: false,
      reason: `the ${link ? 'debug file name' : 'path'} it holds differs from b's, so its text is a's own`,
    };
  return {
    same: true,
    note: `the same ${link ? 'debug file name' : 'path'} as b's; only the ${link ? 'CRC32 (4 bytes)' : 'build-id (at most 64 bytes)'} of the debug file differs, as it does between builds in two build directories`,
  };
};
