/** What a content proof is handed: one non-loaded section of one side, and a way to read others. */
import type { ElfFile, SectionHeader } from '../elf/reader.js';

export interface ProofSubject {
  elf: ElfFile;
  section: SectionHeader;
  /** The section's bytes (decompressed when it was stored compressed). */
  bytes: Buffer;
  /** Another section's bytes (refused past the proof size limit). */
  read: (s: SectionHeader) => Promise<Buffer>;
}

/**
 * A content proof: undefined when the bytes are what the section's kind
 * says, else why not (one sentence, naming what failed). It may throw a
 * ProofFailure (cursor.ts) instead of returning the reason.
 */
export type Proof = (s: ProofSubject) => Promise<string | undefined> | string | undefined;
