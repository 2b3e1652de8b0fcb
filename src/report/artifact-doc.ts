/**
 * Artifact comparison → document blocks: the verdict, the two files with
 * their container facts, the member tree with each member's verdict,
 * archive-level differences (explained or not), the pkgforge rules applied
 * with their evidence, then the details of the members that differ (each a
 * file comparison, drawn as the file report draws it).
 */

import type { ArtifactComparison, MemberComparison } from '../forensics/artifact/types.js';
import type { Verdict } from '../forensics/types.js';
import { comparisonDoc, type ReportOptions, SIDE_A, SIDE_B } from './comparison-doc.js';
import { type Block, code, type Doc, type Row, type Tone, tone } from './doc.js';
import { bytes, duration } from './format.js';
import { globMatcher } from './globs.js';
import { excludedText } from './options.js';

const VERDICT_TONE: Record<Verdict, Tone> = { identical: 'ok', equivalent: 'warn', different: 'bad' };
/** Rows of the member tree drawn (the JSON document has them all). */
const MAX_TREE_ROWS = 500;
/** Differing members whose full comparison is drawn. */
const MAX_MEMBER_DETAILS = 10;

/** A member with its nesting, flattened for the tree (`outer.tar.gz › inner/file`). */
interface TreeRow {
  depth: number;
  label: string;
  m: MemberComparison;
}

/**
 * `--exclude`: a member matches by its path in its archive, by its path from
 * the top (`outer.tar.gz/inner/file`), or (a glob without `/`) by its name;
 * an excluded archive takes its members with it.
 */
export function memberFilter(globs: readonly string[] | undefined): (path: string, full: string) => boolean {
  if (!globs?.length) return () => false;
  // picomatch's `basename` matches only the last segment, so globs with a `/` go without it
  const byPath = globMatcher(globs);
  const names = globs.filter((g) => !g.includes('/'));
  const byName = names.length ? globMatcher(names, { basename: true }) : () => false;
  return (path, full) => byPath(path) || byPath(full) || byName(path);
}

function flatten(
  members: readonly MemberComparison[],
  excluded: (path: string, full: string) => boolean,
  left: string[],
  depth = 0,
  prefix = '',
  fullPrefix = '',
): TreeRow[] {
  const out: TreeRow[] = [];
  for (const m of members) {
    const full = fullPrefix ? `${fullPrefix}/${m.path}` : m.path;
    if (excluded(m.path, full)) {
      left.push(full);
      continue;
    }
    const parts = m.path.split('/');
    const label = `${'  '.repeat(depth + parts.length - 1)}${parts[parts.length - 1] ?? m.path}${m.pathA ? ` (published as ${m.pathA})` : ''}${m.presence !== 'both' ? ` [only in ${m.presence}]` : ''}`;
    out.push({ depth, label: prefix ? `${prefix} › ${label.trimStart()}` : label, m });
    if (m.nested)
      out.push(
        ...flatten(
          m.nested.members,
          excluded,
          left,
          depth + 1,
          prefix ? `${prefix} › ${m.path}` : m.path,
          full,
        ),
      );
  }
  return out;
}

export function artifactSentence(c: ArtifactComparison): string {
  if (c.verdict === 'identical') return `same bytes (sha256 ${c.a.sha256.slice(0, 16)}…)`;
  const rules = [...new Set(c.explanations.map((e) => e.rule))];
  if (c.verdict === 'equivalent') return `differs only by what pkgforge did: ${rules.join(', ')}`;
  const differing = c.members.filter((m) => m.verdict === 'different');
  if (differing.length) {
    const shown = differing.slice(0, 3).map((m) => m.path);
    const more = differing.length - shown.length;
    return `${differing.length} member(s) differ: ${shown.join(', ')}${more > 0 ? `, and ${more} more` : ''}`;
  }
  const aspects = [...new Set(c.archive.filter((d) => !d.explainedBy).map((d) => d.aspect))];
  if (c.metadataOnly)
    return `member contents are the same; archive-level differences nothing explains: ${aspects.join(', ')}`;
  return c.file ? 'the files differ' : `archive-level differences nothing explains: ${aspects.join(', ')}`;
}

function fileRows(c: ArtifactComparison): Row[] {
  const row = (name: string, a: string, b: string): Row =>
    a === b
      ? { cells: [name, code(a), code(b), ''] }
      : { cells: [name, code(a), code(b), tone('bad', '≠')], mark: 'bad' };
  const rows = [
    row('path', c.a.path, c.b.path),
    row('kind', c.a.kind, c.b.kind),
    row('size', bytes(c.a.size), bytes(c.b.size)),
    row('sha256', c.a.sha256, c.b.sha256),
    row('blake3', c.a.blake3, c.b.blake3),
  ];
  const keys = [...new Set([...Object.keys(c.a.container ?? {}), ...Object.keys(c.b.container ?? {})])];
  for (const k of keys)
    rows.push(row(k, String(c.a.container?.[k] ?? '—'), String(c.b.container?.[k] ?? '—')));
  return rows;
}

function demote(blocks: Block[]): Block[] {
  return blocks.map((b) => (b.t === 'heading' ? { ...b, level: 3 } : b));
}

export function artifactDoc(c: ArtifactComparison, opts: ReportOptions = {}): Doc {
  const blocks: Block[] = [
    { t: 'verdict', word: c.verdict.toUpperCase(), tone: VERDICT_TONE[c.verdict], text: artifactSentence(c) },
  ];
  // A plain file: the file report, under the artifact's verdict.
  if (c.file && c.members.length === 0) {
    const inner = comparisonDoc(c.file, opts);
    if (c.verdict === c.file.verdict && c.explanations.length === 0 && c.archive.length === 0) return inner;
    return {
      ...inner,
      blocks: [...blocks, ...explanationBlocks(c), ...archiveBlocks(c), ...inner.blocks.slice(1)],
    };
  }

  blocks.push({ t: 'heading', level: 2, text: 'Files' });
  blocks.push({ t: 'table', headers: ['', SIDE_A, SIDE_B, ''], rows: fileRows(c), compare: true });

  const leftOut: string[] = [];
  const rows = flatten(c.members, memberFilter(opts.exclude), leftOut);
  if (rows.length || leftOut.length) {
    blocks.push({ t: 'heading', level: 2, text: `Members (${c.members.length})` });
    blocks.push({
      t: 'table',
      headers: ['member', 'verdict', 'why'],
      rows: rows.slice(0, MAX_TREE_ROWS).map((r) => ({
        cells: [code(r.label), tone(VERDICT_TONE[r.m.verdict], r.m.verdict), r.m.detail],
        ...(r.m.verdict === 'different' ? { mark: 'bad' as const } : {}),
      })),
    });
    if (rows.length > MAX_TREE_ROWS)
      blocks.push({
        t: 'para',
        text: tone('dim', `… ${rows.length - MAX_TREE_ROWS} more rows in the JSON document`),
      });
    if (leftOut.length) blocks.push({ t: 'para', text: tone('dim', excludedText(leftOut, 'members')) });
  }
  blocks.push(...archiveBlocks(c), ...explanationBlocks(c));
  if (c.notes.length) {
    blocks.push({ t: 'heading', level: 2, text: 'Notes' });
    blocks.push({ t: 'list', items: c.notes });
  }
  const detailed = rows
    .filter((r) => r.m.verdict === 'different' && r.m.comparison)
    .slice(0, MAX_MEMBER_DETAILS);
  for (const r of detailed) {
    blocks.push({ t: 'heading', level: 2, text: ['Member ', code(r.label.trim())] });
    blocks.push(
      ...demote(comparisonDoc(r.m.comparison as NonNullable<MemberComparison['comparison']>, opts).blocks),
    );
  }
  return {
    title: `rebuild compare: ${c.verdict} (${c.a.kind})`,
    blocks,
    footer: `${c.schema} · ${duration(c.durationMs)}`,
  };
}

function archiveBlocks(c: ArtifactComparison): Block[] {
  if (c.archive.length === 0) return [];
  return [
    { t: 'heading', level: 2, text: 'Archive-level differences' },
    {
      t: 'table',
      headers: ['aspect', 'member', SIDE_A, SIDE_B, 'explained by'],
      rows: c.archive.map((d) => ({
        cells: [
          d.aspect,
          d.member ? code(d.member) : '',
          d.a !== undefined ? code(d.a) : d.detail,
          d.b !== undefined ? code(d.b) : '',
          d.explainedBy ? tone('warn', d.explainedBy) : tone('bad', 'nothing: a difference'),
        ],
        ...(d.explainedBy ? {} : { mark: 'bad' as const }),
      })),
    },
  ];
}

function explanationBlocks(c: ArtifactComparison): Block[] {
  if (c.explanations.length === 0) return [];
  return [
    { t: 'heading', level: 2, text: 'What pkgforge did (benign, proven)' },
    {
      t: 'list',
      items: c.explanations.map((e) => [code(e.rule), `: ${e.detail}. Checked: ${e.evidence.join('; ')}`]),
    },
  ];
}
