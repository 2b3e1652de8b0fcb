/**
 * What `rebuild build` shows when it is done: a view of the build result
 * that the CLI maps the real result into, and its document (rendered to the
 * terminal, Markdown or HTML by src/report/index.ts).
 */

import type { Verdict } from '../forensics/types.js';
import { type Block, code, type Doc, type Rich, type Tone, tone } from './doc.js';
import { duration, humanSize, sizeHexDec } from './format.js';
import { excludedText } from './options.js';

export type BuildStatus =
  /** Every output matches the expected checksums. */
  | 'reproducible'
  /** At least one output does not match what was expected. */
  | 'mismatch'
  /** Built, and nothing was expected to compare with. */
  | 'built'
  /** The recipe failed, timed out or was interrupted. */
  | 'failed';

export interface ExpectedDigests {
  sha256?: string;
  blake3?: string;
}

export interface BuildOutputView {
  /** Path relative to the output directory. */
  name: string;
  size: number;
  sha256: string;
  blake3: string;
  expected?: ExpectedDigests;
  /** Whether the output matched `expected` (absent when nothing was expected). */
  match?: boolean;
  /** pkgforge's post-processing (objcopy + strip) was applied. */
  stripped?: boolean;
  /** Where the unstripped copy was kept, for forensics. */
  unstrippedPath?: string;
  /** The comparison run on this output when it did not match. */
  comparison?: BuildComparisonView;
}

export interface BuildComparisonView {
  verdict: Verdict;
  /** Where the report was written (Markdown/HTML/JSON). */
  reportPath?: string;
  /** The verdict sentence (e.g. `verdictLine(comparison)`). */
  summary?: string;
  /** Regions `--exclude` left out of the report (still counted in the verdict). */
  excluded?: string[];
}

export interface BuildSummaryView {
  recipe: { file: string; pkg: string; pkgId?: string; pkgType?: string };
  arch: string;
  outDir: string;
  status: BuildStatus;
  outputs: BuildOutputView[];
  inputs: {
    /** The builder image as the recipe names it, and the local image used. */
    image: string;
    imageId?: string;
    /** e.g. `qemu-aarch64 8.2.2 (binfmt flags: OCF)`; absent when native. */
    emulator?: string;
    pkgver?: string;
    /** More recorded inputs, shown as label → value. */
    other?: Array<[string, string]>;
  };
  durationMs: number;
  /** A comparison for the build as a whole (when there is one output, say). */
  comparison?: BuildComparisonView;
  logPath?: string;
  resultPath?: string;
  failure?: { message: string; fix?: string; logTail: string[] };
  /** For a mismatch: the forensic verdict of the main file (worst of all outputs). */
  verdict?: Verdict;
}

/** The headline word: a mismatch says what the forensics found (EQUIVALENT in amber, DIFFERENT in red). */
function headline(r: BuildSummaryView): { word: string; tone: Tone } {
  if (r.status === 'mismatch' && r.verdict === 'equivalent') return { word: 'EQUIVALENT', tone: 'warn' };
  if (r.status === 'mismatch' && r.verdict === 'different') return { word: 'DIFFERENT', tone: 'bad' };
  return { word: r.status.toUpperCase(), tone: STATUS_TONE[r.status] };
}

const STATUS_TONE: Record<BuildStatus, Tone> = {
  reproducible: 'ok',
  mismatch: 'bad',
  built: 'strong',
  failed: 'bad',
};
const VERDICT_TONE: Record<Verdict, Tone> = { identical: 'ok', equivalent: 'warn', different: 'bad' };

function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

export function buildSentence(r: BuildSummaryView): string {
  const who = `${r.recipe.pkg} for ${r.arch}`;
  const n = r.outputs.length;
  switch (r.status) {
    case 'reproducible':
      return `${who}: ${n === 1 ? 'the output matches' : `all ${n} outputs match`} the expected checksums`;
    case 'mismatch': {
      const bad = r.outputs.filter((o) => o.match === false).length;
      return `${who}: ${bad} of ${plural(n, 'output')} ${bad === 1 ? 'does' : 'do'} not match the expected checksums`;
    }
    case 'built':
      return `${who}: ${plural(n, 'output')}, no expected checksums to compare with`;
    case 'failed':
      return `${who}: ${r.failure?.message ?? 'the build failed'}`;
  }
}

function digestRows(label: string, actual: string, expected: string | undefined): Array<[string, Rich]> {
  if (expected === undefined) return [[label, code(actual)]];
  if (expected.toLowerCase() === actual.toLowerCase())
    return [[label, [code(actual), ' ', tone('ok', '✓ as expected')]]];
  return [
    [label, [code(actual, 'bad'), ' ', tone('bad', '✗ differs')]],
    [`${label} expected`, code(expected)],
  ];
}

/** The report rows of a comparison: where it is, and what `--exclude` left out of it. */
function reportRows(c: BuildComparisonView): Array<[string, Rich]> {
  const rows: Array<[string, Rich]> = [];
  if (c.reportPath) rows.push(['report', code(c.reportPath)]);
  if (c.excluded?.length) rows.push(['left out', excludedText(c.excluded)]);
  return rows;
}

function comparisonRich(c: BuildComparisonView): Rich {
  const parts: Rich[] = [tone(VERDICT_TONE[c.verdict], c.verdict.toUpperCase())];
  if (c.summary) parts.push(` — ${c.summary.replace(/^[A-Z]+ — /, '')}`);
  return parts;
}

export function buildDoc(r: BuildSummaryView): Doc {
  const blocks: Block[] = [];
  blocks.push({ t: 'verdict', ...headline(r), text: buildSentence(r) });

  const kv: Array<[string, Rich]> = [];
  const pkgBits = [
    r.recipe.pkgId ? `pkg_id ${r.recipe.pkgId}` : '',
    r.recipe.pkgType ? `type ${r.recipe.pkgType}` : '',
  ]
    .filter(Boolean)
    .join(', ');
  kv.push(['package', [code(r.recipe.pkg), pkgBits ? ` (${pkgBits})` : '']]);
  kv.push(['recipe', code(r.recipe.file)]);
  kv.push(['arch', r.inputs.emulator ? `${r.arch}, emulated: ${r.inputs.emulator}` : `${r.arch}, native`]);
  kv.push([
    'image',
    r.inputs.imageId ? [code(r.inputs.image), ' ', code(r.inputs.imageId)] : code(r.inputs.image),
  ]);
  if (r.inputs.pkgver) kv.push(['pkgver', code(r.inputs.pkgver)]);
  for (const [k, v] of r.inputs.other ?? []) kv.push([k, v]);
  kv.push(['output dir', code(r.outDir)]);
  kv.push(['duration', duration(r.durationMs)]);
  if (r.resultPath) kv.push(['result', code(r.resultPath)]);
  if (r.logPath) kv.push(['log', code(r.logPath)]);
  blocks.push({ t: 'kv', rows: kv });

  if (r.failure) {
    blocks.push({ t: 'heading', level: 2, text: 'Failure' });
    blocks.push({ t: 'para', text: tone('bad', r.failure.message) });
    if (r.failure.fix) blocks.push({ t: 'kv', rows: [['fix', r.failure.fix]] });
    if (r.failure.logTail.length) {
      blocks.push({
        t: 'code',
        title: `last ${plural(r.failure.logTail.length, 'line')} of the log${r.logPath ? ` (${r.logPath})` : ''}`,
        lines: r.failure.logTail,
      });
    }
  }

  blocks.push({ t: 'heading', level: 2, text: `Outputs (${r.outputs.length})` });
  if (r.outputs.length === 0) blocks.push({ t: 'para', text: tone('dim', 'No outputs.') });
  r.outputs.forEach((o) => {
    const status: Rich =
      o.match === true
        ? tone('ok', 'matches')
        : o.match === false
          ? o.comparison?.verdict === 'equivalent'
            ? tone('warn', 'EQUIVALENT (checksum differs)')
            : tone('bad', 'MISMATCH')
          : tone('dim', 'no expectation');
    const flags = [
      o.stripped === true ? 'stripped like pkgforge' : o.stripped === false ? 'not stripped' : '',
    ]
      .filter(Boolean)
      .join(', ');
    blocks.push({
      t: 'heading',
      level: 3,
      text: [code(o.name), ` — ${humanSize(o.size)} — `, status, flags ? ` — ${flags}` : ''],
    });
    const rows: Array<[string, Rich]> = [
      ['size', sizeHexDec(o.size)],
      ...digestRows('sha256', o.sha256, o.expected?.sha256),
      ...digestRows('blake3', o.blake3, o.expected?.blake3),
    ];
    if (o.unstrippedPath) rows.push(['unstripped', code(o.unstrippedPath)]);
    if (o.comparison) {
      rows.push(['comparison', comparisonRich(o.comparison)], ...reportRows(o.comparison));
    }
    blocks.push({ t: 'kv', rows });
  });

  if (r.comparison) {
    blocks.push({ t: 'heading', level: 2, text: 'Comparison' });
    const rows: Array<[string, Rich]> = [
      ['verdict', comparisonRich(r.comparison)],
      ...reportRows(r.comparison),
    ];
    blocks.push({ t: 'kv', rows });
  }

  return { title: `rebuild build: ${r.status.toUpperCase()} ${r.recipe.pkg} (${r.arch})`, blocks };
}
