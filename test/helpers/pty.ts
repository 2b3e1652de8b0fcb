import { execa } from 'execa';
import { BIN, REPO } from './cli.js';

/**
 * Runs the compiled CLI in a real pseudo-terminal (util-linux `script`) of
 * `cols` columns; returns what the terminal got (stdout and stderr both).
 */
export async function inPty(args: string[], cols: number, env: Record<string, string> = {}) {
  const cmd = `stty cols ${cols} rows 50; exec node ${BIN} ${args.map((a) => `'${a}'`).join(' ')}`;
  const r = await execa('script', ['-q', '-e', '-c', cmd, '/dev/null'], {
    reject: false,
    cwd: REPO,
    env: { TERM: 'xterm-256color', ...env },
    extendEnv: true,
    stdin: 'ignore',
    timeout: 120_000,
  });
  return { code: r.exitCode, out: r.stdout.replace(/\r\n/g, '\n') };
}
