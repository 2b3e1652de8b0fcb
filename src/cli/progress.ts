import { Listr } from 'listr2';
import type { BuildReporter } from '../build/build.js';

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
  return {
    async step(title, fn) {
      let value: unknown;
      await new Listr(
        [
          {
            title,
            task: async (_ctx, task) => {
              current = task;
              value = await fn();
              current = undefined;
            },
            rendererOptions: { bottomBar: 6 },
          },
        ],
        {
          renderer: 'default',
          exitOnError: true,
          rendererOptions: { collapseErrors: false },
          registerSignalListeners: false,
        },
      ).run();
      return value as Awaited<ReturnType<typeof fn>>;
    },
    log(line) {
      if (current) current.output = line.slice(0, (process.stderr.columns ?? 100) - 4);
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
