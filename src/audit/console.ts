/**
 * What an audit prints while it runs (stderr): one line per package when
 * stderr is not a terminal (cron mail stays readable), a listr2 view in a
 * terminal (the packages being verified and the counts so far), nothing with
 * `--quiet`. The summary at the end goes to stdout (see report.ts).
 */
import { Listr } from 'listr2';
import { clean, duration } from '../report/format.js';
import type { AuditProgress } from './run.js';
import type { AuditItem, Unit } from './types.js';

const STATUS: Record<AuditItem['status'], string> = {
  verified: '',
  skipped: 'unchanged',
  elsewhere: 'elsewhere',
  'not-reached': 'not reached',
  unresolved: 'unresolved',
  waiting: 'waiting',
};

/** `[ 3/12] reproducible  hello-rb 1.0.0 x86_64 bincache  12.3 s  (regression)` */
export function itemLine(it: AuditItem, n: number, total: number): string {
  const w = String(total).length;
  const word = it.status === 'verified' ? (it.result?.verdict ?? 'error') : STATUS[it.status];
  const r = it.result;
  const change =
    it.status === 'verified' && r && r.change !== 'unchanged' && r.change !== 'first'
      ? `  (${r.change})`
      : '';
  const time =
    it.status === 'verified' && r
      ? `  ${duration(r.durationMs)}${r.attempts > 1 ? `, ${r.attempts} attempts` : ''}`
      : '';
  const what =
    it.status === 'unresolved'
      ? `${it.pkg}: ${it.detail}`
      : `${it.pkg} ${it.version} ${it.arch} ${it.repo}${it.status === 'skipped' && r ? ` (${r.verdict})` : ''}${
          it.status === 'elsewhere' || it.status === 'not-reached' || it.status === 'waiting'
            ? `: ${it.detail}`
            : ''
        }`;
  return clean(`[${String(n).padStart(w)}/${total}] ${word.padEnd(18)} ${what}${time}${change}`);
}

function plainProgress(write: (s: string) => void): AuditProgress {
  let total = 0;
  let n = 0;
  const stamp = () => new Date().toISOString().slice(11, 19);
  return {
    planned({ auditId, selected, toVerify, killed }) {
      total = selected;
      for (const k of killed)
        write(`${stamp()} audit #${k.id} (pid ${k.pid}) was killed; its unfinished work is redone\n`);
      write(
        `${stamp()} audit #${auditId}: ${selected} package${selected === 1 ? '' : 's'}, ${toVerify} to verify, ${selected - toVerify} unchanged\n`,
      );
    },
    item(it) {
      if (it.status !== 'unresolved') n++;
      write(`${stamp()} ${itemLine(it, n, total)}\n`);
    },
    started: () => undefined,
    log: () => undefined,
    done: () => undefined,
  };
}

function ttyProgress(): AuditProgress {
  const running = new Map<string, { unit: Unit; line: string; since: number }>();
  let total = 0;
  let done = 0;
  const counts = new Map<string, number>();
  let task: { title: string; output: string } | undefined;
  let finish: (() => void) | undefined;
  let listr: Promise<unknown> | undefined;
  const recent: string[] = [];
  const render = () => {
    if (!task) return;
    const tally = [...counts].map(([k, v]) => `${v} ${k}`).join(', ');
    task.title = `Audit: ${done}/${total} done${tally ? ` (${tally})` : ''}`;
    const cols = (process.stderr.columns ?? 100) - 6;
    const lines = [
      ...recent.slice(-4),
      ...[...running.values()].map(
        (r) => `▶ ${r.unit.record.pkg} ${r.unit.record.arch} (${duration(Date.now() - r.since)}): ${r.line}`,
      ),
    ];
    task.output = lines.map((l) => clean(l).slice(0, cols)).join('\n');
  };
  return {
    planned({ selected }) {
      total = selected;
      listr = new Listr(
        [
          {
            title: 'Audit',
            task: (_ctx, t) =>
              new Promise<void>((resolve) => {
                task = t;
                finish = resolve;
                render();
              }),
            rendererOptions: { outputBar: 1, persistentOutput: false },
          },
        ],
        { renderer: 'default', registerSignalListeners: false, exitOnError: false },
      ).run();
    },
    item(it) {
      if (it.status !== 'unresolved') done++;
      const word = it.status === 'verified' ? (it.result?.verdict ?? 'error') : STATUS[it.status];
      counts.set(word, (counts.get(word) ?? 0) + 1);
      running.delete(it.unit);
      if (it.status !== 'skipped') recent.push(itemLine(it, done, total));
      render();
    },
    started(unit) {
      running.set(unit.key, { unit, line: 'starting', since: Date.now() });
      render();
    },
    log(unit, line) {
      const r = running.get(unit.key);
      if (r) {
        r.line = line;
        render();
      }
    },
    done() {
      finish?.();
      void listr;
    },
  };
}

export function createAuditProgress(opts: { quiet?: boolean; verbose?: boolean }): AuditProgress {
  if (opts.quiet) {
    return {
      planned: () => undefined,
      item: () => undefined,
      started: () => undefined,
      log: () => undefined,
      done: () => undefined,
    };
  }
  const tty = process.stderr.isTTY && !opts.verbose && !process.env.CI;
  return tty ? ttyProgress() : plainProgress((s) => process.stderr.write(s));
}
