/**
 * Pairwise proofs for non-loaded sections that two builds of the same source
 * write alike: notes outside every segment and `.comment` hold toolchain
 * facts (identification strings, gold's version, probes at addresses the
 * loaded code decides), and pkgforge's post-processing only ever removes
 * them. Where a's differs from b's, the difference is a's own text in a
 * section whose one-sided proof leaves that text free (a JSON package note,
 * a gold version, a "GCC: (…)" line of a few kilobytes), so it is never
 * explained. The pair proof is only asked when the bytes differ.
 */
import type { PairOutcome, PairProof } from './types.js';

export const verbatimPair =
  (what: string): PairProof =>
  async (): Promise<PairOutcome> => ({
    same: false,
    reason: `it differs from b's, and two builds of the same source write the same ${what} (post-processing only removes them), so a's own text there is not explained`,
  });

/** Why a non-loaded section only a carries is not explained. */
export const onlyInPublished = (what: string) =>
  `the published file carries ${what} the rebuilt one lacks; pkgforge's post-processing only removes sections, and what a carries beyond b cannot be checked against anything (its one-sided proof leaves text and values free)`;
