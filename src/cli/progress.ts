import type { BuildReporter } from '../build/build.js';
import { columnsOf } from './terminal.js';

/** Log lines under a running step are redrawn at most this often (a QEMU build prints thousands). */
const REDRAW_MS = 250;

/**
 * Progress for long work: a listr2 view in a terminal (each step a task, the
 * last lines of the build log under it), plain timestamped lines otherwise
 * (cron mail, CI logs, `--verbose`). Both go to stderr: stdout is for results.
 */
export function createReporter(opts: { verbose?: boolean; quiet?: boolean } = {}): BuildReporter {
  const tty = process.stderr.isTTY && !opts.verbose && !process.env.CI;
  if (opts.quiet) return { step: (_t, fn) => fn(), log: () => undefined };
  if (!tty) return plainReporter();
  let current: { output: string } | undefined;
  let pending: string | undefined;
  let last = 0;
  let timer: NodeJS.Timeout | undefined;
  const flush = () => {
    timer = undefined;
    last = Date.now();
    if (current && pending !== undefined) current.output = pending;
    pending = undefined;
  };
  return {
    async step(title, fn) {
      // Loaded here: plain and quiet output (cron, CI, scripts) never draw a listr2 view.
      const { Listr, PRESET_TIMER } = await import('listr2');
      let value: unknown;
      await new Listr(
        [
          {
            title,
            task: async (_ctx, task) => {
              current = task;
              try {
                value = await fn();
              } finally {
                if (timer) clearTimeout(timer);
                timer = undefined;
                pending = undefined;
                current = undefined;
              }
            },
            rendererOptions: { bottomBar: 6, timer: PRESET_TIMER },
          },
        ],
        {
          renderer: 'default',
          exitOnError: true,
          rendererOptions: { collapseErrors: false, timer: PRESET_TIMER },
          registerSignalListeners: false,
        },
      ).run();
      return value as Awaited<ReturnType<typeof fn>>;
    },
    log(line) {
      if (!current) return;
      // A terminal that reports 0 columns gets 80 (not one character per line).
      pending = line.slice(0, Math.max(20, columnsOf(process.stderr) - 4));
      if (timer) return;
      const wait = REDRAW_MS - (Date.now() - last);
      if (wait <= 0) flush();
      else timer = setTimeout(flush, wait);
    },
  };
}

function plainReporter(): BuildReporter {
  const stamp = () => new Date().toISOString().slice(11, 19);
  return {
    async step(title, fn) {
      const t0 = Date.now();
      process.stderr.write(`${stamp()} ▶ ${title}\n`);
      try {
        const v = await fn();
        process.stderr.write(`${stamp()} ✔ ${title} (${((Date.now() - t0) / 1000).toFixed(1)} s)\n`);
        return v;
      } catch (err) {
        process.stderr.write(`${stamp()} ✖ ${title}\n`);
        throw err;
      }
    },
    log(line) {
      process.stderr.write(`  │ ${line}\n`);
    },
  };
}
