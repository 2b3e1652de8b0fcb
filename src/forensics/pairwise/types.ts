/**
 * A pairwise proof: one section of each side, judged against the other
 * side's, not only for being well-formed. One-sided proofs (proofs/) check
 * structure; structure leaves values free (constants, blocks, strings), and
 * free values are room for an attacker's bytes. A pairwise proof says the
 * published section carries the rebuilt one's values, modulo what it names.
 */
import type { SectionHeader } from '../elf/reader.js';
import type { Side } from '../side.js';

export interface PairSection {
  side: Side;
  section: SectionHeader;
}

export type PairOutcome =
  | {
      same: true;
      /** What was allowed to differ (e.g. the build path substitution), for the explanation. */
      note?: string;
    }
  | { same: false; reason: string };

export type PairProof = (a: PairSection, b: PairSection) => Promise<PairOutcome>;
