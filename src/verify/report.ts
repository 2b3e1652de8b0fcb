/**
 * The verification report: one document model drawn as terminal text,
 * Markdown (report.md) and HTML (report.html). Pure.
 */

import { sidesRegion } from '../report/comparison-access.js';
import { differenceSummary } from '../report/comparison-doc.js';
import { type Block, code, type Doc, link, type Rich, type Tone, tone } from '../report/doc.js';
import { duration, humanSize, localTime } from '../report/format.js';
import { renderDocHtml } from '../report/html.js';
import { renderDocMarkdown } from '../report/markdown.js';
import { excludedText } from '../report/options.js';
import { renderDocText, type TextOptions } from '../report/text.js';
import type { VerifyResult, VerifyVerdict } from './types.js';

const VERDICT_TONE: Record<VerifyVerdict, Tone> = {
  reproducible: 'ok',
  equivalent: 'warn',
  different: 'bad',
  'build-failed': 'bad',
  'upstream-integrity': 'bad',
  error: 'bad',
};

/** What each verdict means, in one sentence (also in the README). */
export const VERDICT_MEANING: Record<VerifyVerdict, string> = {
  reproducible: 'the rebuilt file has exactly the published bytes',
  equivalent:
    'the rebuilt file differs from the published one only in parts that are fully explained as benign (notes, comments, build IDs, symbols, post-processing, layout)',
  different: 'code, data, headers or unexplained bytes differ between the published and the rebuilt file',
  'build-failed': 'the recipe of record failed or timed out when rebuilt',
  'upstream-integrity':
    'the published file does not match the checksums published for it in the metadata; nothing was rebuilt',
  error: 'the verification could not be attempted (unknown builder image, download failure …)',
};

function digestRow(label: string, actual: string, want: string | undefined): [string, Rich] {
  if (want === undefined) return [label, code(actual)];
  return actual === want
    ? [label, [code(actual), ' ', tone('ok', '✓ matches')]]
    : [label, [code(actual, 'bad'), ' ', tone('bad', `✗ published ${want}`)]];
}

/** Which recipe was rebuilt, and (with `--recipe FILE`) how it stands to the recipe of record. */
function recipeRows(recipe: VerifyResult['inputs']['recipe']): Array<[string, Rich]> {
  if (!recipe.digest) return [['recipe of record', 'not fetched']];
  if (!recipe.local) return [['recipe of record', code(`SBUILD sha256:${recipe.digest}`)]];
  const rebuilt: [string, Rich] = [
    'recipe rebuilt',
    [code(recipe.local), ' ', code(`sha256:${recipe.digest}`)],
  ];
  switch (recipe.ofRecord?.is) {
    case 'identical':
      return [rebuilt, ['recipe of record', tone('ok', 'identical to the recipe rebuilt (same sha256)')]];
    case 'different':
      return [
        rebuilt,
        [
          'recipe of record',
          [code(`SBUILD sha256:${recipe.ofRecord.digest}`), ' ', tone('warn', 'not rebuilt')],
        ],
      ];
    default:
      return [rebuilt, ['recipe of record', 'none published']];
  }
}

export function verifyDoc(r: VerifyResult): Doc {
  const blocks: Block[] = [];
  blocks.push({
    t: 'verdict',
    word: r.verdict.toUpperCase(),
    tone: VERDICT_TONE[r.verdict],
    text: r.summary,
  });
  blocks.push({ t: 'para', text: tone('dim', VERDICT_MEANING[r.verdict]) });

  const p = r.package;
  const kv: Array<[string, Rich]> = [
    ['package', [code(p.pkg), ` (${p.repo}, pkg_id ${p.pkgId}${p.pkgType ? `, type ${p.pkgType}` : ''})`]],
    ['version', code(p.version)],
    ['arch', p.arch],
    ['built by pkgforge', p.buildDate],
    ['artifact', [code(r.inputs.record.ghcrPkg), ' ', code(r.inputs.manifestDigest || '(not fetched)')]],
    ...recipeRows(r.inputs.recipe),
  ];
  blocks.push({ t: 'kv', rows: kv });

  if (r.error) {
    blocks.push({ t: 'heading', level: 2, text: 'Error' });
    blocks.push({ t: 'para', text: tone('bad', r.error.message) });
    if (r.error.fix) blocks.push({ t: 'kv', rows: [['fix', r.error.fix]] });
  }

  blocks.push({ t: 'heading', level: 2, text: 'Published' });
  const pub = r.published;
  if (pub.sha256) {
    blocks.push({
      t: 'kv',
      rows: [
        ['file', [code(pub.name), ` — ${humanSize(pub.size)}`]],
        [
          'sha256',
          [
            code(pub.sha256),
            ' ',
            pub.shasumOk ? tone('ok', '✓ = metadata shasum') : tone('bad', '✗ ≠ metadata shasum'),
          ],
        ],
        [
          'blake3',
          [
            code(pub.blake3),
            ' ',
            pub.bsumOk ? tone('ok', '✓ = metadata bsum') : tone('bad', '✗ ≠ metadata bsum'),
          ],
        ],
        ['hashes from', pub.source],
      ],
    });
  } else {
    blocks.push({ t: 'para', text: tone('dim', `not fetched (${pub.source})`) });
  }

  if (r.rebuilt) {
    blocks.push({ t: 'heading', level: 2, text: 'Rebuilt' });
    blocks.push({
      t: 'kv',
      rows: [
        ['file', [code(r.rebuilt.name), ` — ${humanSize(r.rebuilt.size)}`]],
        digestRow('sha256', r.rebuilt.sha256, pub.sha256 || undefined),
        digestRow('blake3', r.rebuilt.blake3, pub.blake3 || undefined),
      ],
    });
  }

  if (r.explanations.length) {
    blocks.push({ t: 'heading', level: 2, text: `Explained differences (${r.explanations.length})` });
    blocks.push({
      t: 'list',
      items: r.explanations.map((e) => [tone('warn', e.kind), e.region ? ` ${e.region}: ` : ': ', e.detail]),
    });
  }
  const comparison = r.build?.outputs.find((o) => o.name === r.rebuilt?.name)?.comparison;
  if (r.differences.length) {
    blocks.push({ t: 'heading', level: 2, text: `Differing regions (${r.differences.length})` });
    // What --exclude left out of the forensic report is left out here too, and said so.
    const excluded = new Set(comparison?.excluded ?? []);
    const shown = r.differences.filter((d) => !excluded.has(sidesRegion(d)));
    if (shown.length) {
      blocks.push({
        t: 'list',
        items: shown.slice(0, 50).map((d) => [tone('bad', differenceSummary(d)), ` — ${d.detail}`]),
      });
    }
    if (shown.length > 50) {
      blocks.push({
        t: 'para',
        text: tone('dim', `and ${shown.length - 50} more (see result.json)`),
      });
    }
    if (comparison?.excluded?.length)
      blocks.push({ t: 'para', text: tone('dim', excludedText(comparison.excluded)) });
  }
  if (comparison) {
    // Relative to this report (it sits in the output directory, the build's reports under build/).
    const rep = comparison.reports;
    blocks.push({
      t: 'kv',
      rows: [
        [
          'forensic report',
          [link(`build/${rep.html}`), ' · ', link(`build/${rep.markdown}`), ' · ', link(`build/${rep.json}`)],
        ],
      ],
    });
  }

  if (r.build?.failure) {
    const f = r.build.failure;
    blocks.push({ t: 'heading', level: 2, text: 'Build failure' });
    blocks.push({ t: 'para', text: tone('bad', f.message) });
    if (f.fix) blocks.push({ t: 'kv', rows: [['fix', f.fix]] });
    if (f.logTail.length) {
      blocks.push({
        t: 'code',
        title: `last ${f.logTail.length} lines of build/build.log`,
        lines: f.logTail,
      });
    }
  }

  if (r.replayOf) {
    blocks.push({ t: 'heading', level: 2, text: 'Replay' });
    const rows: Array<[string, Rich]> = [
      ['of', code(r.replayOf.result)],
      [
        'verdict',
        r.replayOf.same
          ? tone('ok', `the same: ${r.verdict}`)
          : tone('bad', `CHANGED: ${r.replayOf.verdict} → ${r.verdict}`),
      ],
    ];
    for (const ch of r.replayOf.changes.filter((x) => !x.startsWith('verdict:'))) rows.push(['changed', ch]);
    blocks.push({ t: 'kv', rows });
  }
  blocks.push({ t: 'heading', level: 2, text: 'Inputs (rebuild replay result.json runs these again)' });
  const pins = r.inputs.pins;
  const inputRows: Array<[string, Rich]> = [
    ['PKGVER', [code(pins.pkgver), ' (the published version; x_exec.pkgver not run)']],
    [
      'source commit',
      pins.sourceCommit ? code(pins.sourceCommit) : tone('dim', 'none (not a HEAD-<sha> version)'),
    ],
    [
      'builder image',
      pins.image.tag
        ? [
            code(pins.image.asWritten ?? ''),
            ' → ',
            code(pins.image.tag),
            pins.image.id ? [' ', code(pins.image.id.slice(0, 19))] : '',
          ]
        : tone('dim', 'not resolved'),
    ],
    ['image choice', pins.image.reason],
    ...(r.inputs.builderOfRecord ?? []).map((b): [string, Rich] => [
      'builder of record',
      b.status === 'pulled' ? tone('ok', b.reason) : tone('warn', b.reason),
    ]),
    ['emulator', r.inputs.emulator ?? 'native'],
    ['network', r.inputs.network],
  ];
  for (const n of r.inputs.notes ?? []) inputRows.push(['note', n]);
  blocks.push({ t: 'kv', rows: inputRows });
  blocks.push({
    t: 'kv',
    rows: [
      ['output dir', code(r.outDir)],
      ['result', code(r.reports.json)],
      ['duration', duration(r.durationMs)],
    ],
  });
  return {
    title: `rebuild: ${p.pkg} ${p.version} (${p.arch}) — ${r.verdict}`,
    blocks,
    footer: `${r.schema} · started ${localTime(r.startedAt)}, ${r.startedAt}`,
  };
}

export function renderVerifyText(r: VerifyResult, opts: TextOptions = {}): string {
  return renderDocText(verifyDoc(r), opts);
}

export function renderVerifyMarkdown(r: VerifyResult): string {
  return renderDocMarkdown(verifyDoc(r));
}

export function renderVerifyHtml(r: VerifyResult): string {
  return renderDocHtml(verifyDoc(r));
}
