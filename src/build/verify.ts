import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Comparison, Verdict } from '../forensics/types.js';
import { hashFile } from '../hash/digest.js';
import {
  forensicCandidates,
  type PostProcessProfile,
  type PostProcessRecord,
  profileById,
  readElfFacts,
  simulatePostProcessing,
} from '../postprocess/index.js';
import type { ReportOptions } from '../report/options.js';
import { writeFileAtomic, writeJsonAtomic } from '../util/atomic.js';
import { checkDigests, type Expectations } from './expect.js';
import type { BuildStatus, OutputRecord } from './result.js';

export interface VerifyInput {
  dir: string;
  files: string[];
  postProcessing?: PostProcessRecord;
  expectations: Expectations;
  /** Directory of the published files, for forensics on a mismatch. */
  publishedDir?: string;
  /** By output name: where the published file is kept when publishedDir is a temporary copy. */
  publishedShownAs?: Readonly<Record<string, string>>;
  mainProgram: string;
  note(line: string): void;
  /** Receives each comparison as a typed value. */
  onComparison?: (output: string, comparison: Comparison) => void;
  /** What the forensic reports show (`--exclude` and the size limits); the verdicts are untouched. */
  report?: ReportOptions;
}

export interface Verified {
  outputs: OutputRecord[];
  missing: string[];
  status: BuildStatus;
  verdict?: Verdict;
}

const VERDICT_RANK: Record<Verdict, number> = { identical: 0, equivalent: 1, different: 2 };

/**
 * Hashes every output (and its unstripped original), checks the expected
 * checksums, and, for each mismatch whose published file is at hand, runs the
 * forensic comparison and writes its reports to `<dir>/compare/`.
 */
export async function verifyOutputs(input: VerifyInput): Promise<Verified> {
  const outputs: OutputRecord[] = [];
  const deleted = new Set(input.postProcessing?.deleted ?? []);
  const names = (input.postProcessing?.files ?? []).reduce(
    (acc, f) => (f.renamedFrom ? [...new Set(acc.map((n) => (n === f.renamedFrom ? f.name : n)))] : acc),
    input.files.filter((n) => !deleted.has(n)),
  );
  for (const name of names.sort()) {
    const digests = await hashFile(join(input.dir, name));
    const record: OutputRecord = { name, ...digests };
    const pp = input.postProcessing?.files.find((f) => f.name === name);
    if (pp?.unstripped) {
      const u = await hashFile(join(input.dir, pp.unstripped));
      record.unstripped = { path: pp.unstripped, ...u };
    }
    const expected = input.expectations.get(name);
    if (expected) {
      record.expected = expected;
      record.check = checkDigests(expected, digests) === 'match' ? 'match' : 'mismatch';
    }
    input.note(
      `${name}: sha256 ${digests.sha256} blake3 ${digests.blake3}${record.check ? ` (${record.check})` : ''}`,
    );
    outputs.push(record);
  }
  for (const o of outputs.filter((x) => x.check === 'mismatch' && x.expected)) {
    const by = await reproducedByAlternative(input, o);
    if (!by) continue;
    o.reproducedBy = by;
    o.check = 'match';
    input.note(
      `${o.name}: the published bytes are what post-processing profile ${by.profile} makes of this rebuild`,
    );
  }
  const missing = [...input.expectations.keys()].filter((k) => !names.includes(k));
  const checked = outputs.filter((o) => o.check);
  let verdict: Verdict | undefined;
  const mismatches = input.publishedDir ? outputs.filter((x) => x.check === 'mismatch') : [];
  // The forensic comparison and its reports (most of rebuild's code) are loaded only when a mismatch needs them.
  const forensics =
    mismatches.length > 0
      ? await Promise.all([
          import('../forensics/compare.js'),
          import('../report/index.js'),
          import('../report/comparison-access.js'),
        ])
      : undefined;
  for (const o of mismatches) {
    if (!input.publishedDir || !forensics) continue;
    const [{ compare }, { excludedRegions, renderHtml, renderMarkdown, verdictLine }, { displayPath }] =
      forensics;
    const published = join(input.publishedDir, o.name);
    const shownAs = input.publishedShownAs?.[o.name];
    try {
      // Both named where they will be once the staging directories are renamed into place.
      const rebuilt = join(input.dir, o.name);
      const pp = input.postProcessing;
      const c = await compare(published, rebuilt, {
        names: { a: shownAs ?? displayPath(published), b: displayPath(rebuilt) },
        // The forensic route tries the record's candidate profiles, the chosen one first.
        postProcessingProfiles: forensicCandidates(pp ? [pp.profile, ...(pp.alternatives ?? [])] : []),
      });
      const base = join(input.dir, 'compare', o.name);
      await mkdir(join(input.dir, 'compare'), { recursive: true });
      await writeJsonAtomic(`${base}.json`, c);
      await writeFileAtomic(`${base}.md`, renderMarkdown(c, input.report));
      await writeFileAtomic(`${base}.html`, renderHtml(c, input.report));
      const excluded = excludedRegions(c, input.report?.exclude);
      o.comparison = {
        verdict: c.verdict,
        against: shownAs ?? published,
        summary: verdictLine(c),
        ...(excluded.length ? { excluded } : {}),
        reports: {
          json: `compare/${o.name}.json`,
          markdown: `compare/${o.name}.md`,
          html: `compare/${o.name}.html`,
        },
      };
      input.onComparison?.(o.name, c);
      if (!verdict || VERDICT_RANK[c.verdict] > VERDICT_RANK[verdict]) verdict = c.verdict;
      input.note(`${o.name}: ${verdictLine(c)}`);
    } catch (err) {
      input.note(
        `${o.name}: could not compare with ${published}: ${err instanceof Error ? err.message : String(err)}`,
      );
    }
  }
  let status: BuildStatus;
  if (checked.length === 0 && missing.length === 0) status = 'built';
  else if (missing.length === 0 && checked.every((o) => o.check === 'match')) status = 'reproducible';
  else status = 'mismatch';
  return { outputs, missing, status, verdict };
}

/**
 * Tries the other plausible post-processing profiles on the rebuilt original
 * (before post-processing) and returns the first whose output has exactly the
 * expected digests.
 */
async function reproducedByAlternative(
  input: VerifyInput,
  o: OutputRecord,
): Promise<OutputRecord['reproducedBy'] | undefined> {
  const alternatives = (input.postProcessing?.alternatives ?? [])
    .map((id) => profileById(id))
    .filter((p): p is PostProcessProfile => p !== undefined);
  if (alternatives.length === 0 || !o.expected) return undefined;
  const original = join(input.dir, o.unstripped?.path ?? o.name);
  const facts = await readElfFacts(original);
  if (!facts) return undefined;
  const sim = await simulatePostProcessing(original, alternatives, {
    machine: facts.ident.machine,
    class: facts.ident.class,
    endian: facts.ident.endian,
  });
  try {
    for (const r of sim.results) {
      if (!('outputPath' in r)) continue;
      if (checkDigests(o.expected, await hashFile(r.outputPath)) === 'match')
        return { profile: r.profile, steps: r.steps };
    }
    return undefined;
  } finally {
    await sim.cleanup();
  }
}
