import { memberFilter } from '../report/artifact-doc.js';
import { excludedText, type ReportOptions } from '../report/options.js';
import type { PinnedResult } from './pinned.js';

/**
 * Plain text for a terminal: the verdict, what it proves, what it does not.
 * Members `exclude` matches are left out of the list (and said so); the
 * verdict still counts them.
 */
export function renderPinnedText(r: PinnedResult, opts: Pick<ReportOptions, 'exclude'> = {}): string {
  const isExcluded = memberFilter(opts.exclude);
  const lines = [
    `${r.package.name} ${r.package.version} (${r.package.host}): ${r.verdict.toUpperCase()}`,
    `  ${r.summary}`,
    `  artifact  ${r.artifact.url}${r.package.origin === 'pkgforge/builds' ? ' (built by pkgforge/builds)' : ' (upstream release)'}`,
    `  pinned by ${r.package.versionFile}`,
  ];
  for (const c of r.checks)
    lines.push(
      `  ${c.ok ? 'ok ' : 'BAD'} ${c.field.padEnd(7)}${c.ok ? c.actual : `pinned ${c.expected}, got ${c.actual}`}`,
    );
  if (r.index)
    lines.push(
      `  index     ${r.index.where}: signature ${r.index.signature}${r.index.keyId ? ` (key ${r.index.keyId})` : ''}${r.index.reason ? `: ${r.index.reason}` : ''}`,
    );
  for (const f of r.install?.installed ?? [])
    lines.push(`  installed ${f.to.padEnd(24)} ${f.size} bytes  blake3 ${f.blake3.slice(0, 16)}…`);
  if (r.rebuild)
    lines.push(
      `  rebuilt   ${r.rebuild.result.archive.name}  sha256 ${r.rebuild.result.archive.sha256}  (${r.rebuild.verdict})`,
    );
  const leftOut: string[] = [];
  for (const m of r.rebuild?.members ?? []) {
    if (isExcluded(m.path, m.path)) leftOut.push(m.path);
    else if (m.verdict !== 'identical') lines.push(`  member    ${m.path}: ${m.verdict} (${m.detail})`);
  }
  if (leftOut.length) lines.push(`  member    ${excludedText(leftOut, 'members')}`);
  for (const d of r.rebuild?.archive ?? [])
    lines.push(
      `  archive   ${d.aspect}: ${d.detail}${d.explainedBy ? ` (explained: ${d.explainedBy})` : ' (unexplained)'}`,
    );
  if (r.verified.length > 0) lines.push('  verified:', ...r.verified.map((s) => `    - ${s}`));
  if (r.notVerified.length > 0) lines.push('  not verified:', ...r.notVerified.map((s) => `    - ${s}`));
  if (r.error?.fix) lines.push(`  fix: ${r.error.fix}`);
  lines.push(`  result    ${r.outDir}/result.json`);
  return `${lines.join('\n')}\n`;
}
