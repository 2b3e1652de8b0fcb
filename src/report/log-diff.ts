/**
 * The published build log against the rebuild's, aligned with jsdiff:
 * lines are compared after the noise is taken out (timestamps, temporary
 * paths, random hex, progress bars, durations), so that only what really
 * changed stands out; runs of the same lines are folded. Pure.
 */
import { diffArrays } from 'diff';

/** The last state of a line redrawn with carriage returns (progress bars), without ANSI escapes. */
export function lastDraw(line: string): string {
  const noAnsi = line.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '');
  const parts = noAnsi.split('\r').filter((p) => p !== '');
  return parts[parts.length - 1] ?? '';
}

/** A line with its noise replaced by placeholders: equal keys mean "the same, up to noise". */
export function noiseKey(line: string): string {
  return lastDraw(line)
    .replace(/\d{4}-\d\d-\d\d[T ]\d\d:\d\d(:\d\d(\.\d+)?)?(Z|[+-]\d\d:?\d\d)?/g, '<time>')
    .replace(/\b\d\d:\d\d:\d\d(\.\d+)?\b/g, '<time>')
    .replace(/\b(Mon|Tue|Wed|Thu|Fri|Sat|Sun),? +\w{3} +\d+\b/g, '<date>')
    .replace(/\/(tmp|var\/tmp|build|__w|home\/runner|github\/workspace)\/[^\s'":]*/g, '<path>')
    .replace(/\b[0-9a-f]{12,}\b/gi, '<hex>')
    .replace(/\b\d+(\.\d+)?\s?(ms|s|sec|secs|seconds|min|m)\b/g, '<duration>')
    .replace(/\d+(\.\d+)?\s?(B|KiB|MiB|GiB|kB|MB|GB)\/s/g, '<rate>')
    .replace(/\[?[#=>\-. ]{10,}\]?\s*\d{1,3}%/g, '<progress>')
    .replace(/\b\d{1,3}(\.\d+)?%/g, '<pct>')
    .replace(/\s+/g, ' ')
    .trim();
}

export type LogDiffLine =
  | { t: 'same'; text: string; noisy?: boolean }
  | { t: 'fold'; count: number; noisy: number }
  | { t: 'del'; text: string }
  | { t: 'add'; text: string };

export interface LogDiff {
  lines: LogDiffLine[];
  /** Lines only in the published log / only in the rebuild's. */
  removed: number;
  added: number;
  /** Lines that differ only in noise (shown as the same). */
  noisy: number;
}

/** Aligns the two logs; runs of more than `2 * context` same lines are folded. */
export function diffLogs(published: string, rebuilt: string, context = 3): LogDiff {
  const a = published.split(/\r?\n/).map(lastDraw);
  const b = rebuilt.split(/\r?\n/).map(lastDraw);
  if (a[a.length - 1] === '') a.pop();
  if (b[b.length - 1] === '') b.pop();
  const parts = diffArrays(a.map(noiseKey), b.map(noiseKey));
  const raw: LogDiffLine[] = [];
  let ia = 0;
  let ib = 0;
  let removed = 0;
  let added = 0;
  let noisy = 0;
  for (const p of parts) {
    const n = p.count ?? p.value.length;
    for (let k = 0; k < n; k++) {
      if (p.removed) {
        raw.push({ t: 'del', text: a[ia++] ?? '' });
        removed++;
      } else if (p.added) {
        raw.push({ t: 'add', text: b[ib++] ?? '' });
        added++;
      } else {
        const la = a[ia++] ?? '';
        const lb = b[ib++] ?? '';
        if (la !== lb) noisy++;
        raw.push({ t: 'same', text: lb, ...(la !== lb ? { noisy: true } : {}) });
      }
    }
  }
  // Fold long runs of same lines, keeping `context` lines around each change.
  const lines: LogDiffLine[] = [];
  for (let i = 0; i < raw.length; ) {
    if (raw[i]?.t !== 'same') {
      lines.push(raw[i] as LogDiffLine);
      i++;
      continue;
    }
    let j = i;
    while (j < raw.length && raw[j]?.t === 'same') j++;
    const run = raw.slice(i, j);
    const keepHead = i === 0 ? 0 : context;
    const keepTail = j === raw.length ? 0 : context;
    if (run.length > keepHead + keepTail + 1) {
      lines.push(...run.slice(0, keepHead));
      const folded = run.slice(keepHead, run.length - keepTail);
      lines.push({
        t: 'fold',
        count: folded.length,
        noisy: folded.filter((l) => l.t === 'same' && l.noisy).length,
      });
      lines.push(...run.slice(run.length - keepTail));
    } else lines.push(...run);
    i = j;
  }
  return { lines, removed, added, noisy };
}

/** The diff as text lines: `-` published only, `+` rebuild only, `~` same up to noise. */
export function renderLogDiff(d: LogDiff, labels: [string, string]): string {
  const out = [`--- ${labels[0]}`, `+++ ${labels[1]}`];
  for (const l of d.lines) {
    if (l.t === 'fold') {
      out.push(
        `@@ ${l.count} same lines folded${l.noisy ? ` (${l.noisy} differ only in timestamps, paths or progress)` : ''} @@`,
      );
    } else if (l.t === 'del') out.push(`-${l.text}`);
    else if (l.t === 'add') out.push(`+${l.text}`);
    else out.push(`${l.noisy ? '~' : ' '}${l.text}`);
  }
  out.push(
    `${d.removed} lines only in the published log, ${d.added} only in the rebuild's; ${d.noisy} differ only in noise (~)`,
  );
  return `${out.join('\n')}\n`;
}
