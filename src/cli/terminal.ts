import { createColors } from 'picocolors';

/**
 * What the terminal wants, decided once per stream: colour by the NO_COLOR
 * (no-color.org) and FORCE_COLOR conventions, width from the terminal (a
 * terminal that reports 0 columns, or a pipe, gets COLUMNS or 80).
 */
export interface TerminalInfo {
  color: boolean;
  columns: number;
}

type Env = Record<string, string | undefined>;

/** NO_COLOR (non-empty) wins; FORCE_COLOR (not `0`/`false`) forces colour even into a pipe; else a TTY that is not `dumb`. */
export function colorWanted(stream: { isTTY?: boolean }, env: Env = process.env): boolean {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  if (env.FORCE_COLOR !== undefined) return env.FORCE_COLOR !== '0' && env.FORCE_COLOR !== 'false';
  return stream.isTTY === true && env.TERM !== 'dumb';
}

/** The usable width: the terminal's, else COLUMNS, else 80 (never 0). */
export function columnsOf(stream: { columns?: number; isTTY?: boolean }, env: Env = process.env): number {
  const c = stream.isTTY ? stream.columns : undefined;
  if (typeof c === 'number' && Number.isFinite(c) && c > 0) return Math.floor(c);
  const fromEnv = Number(env.COLUMNS);
  if (Number.isFinite(fromEnv) && fromEnv > 0) return Math.floor(fromEnv);
  return 80;
}

export function terminal(stream: NodeJS.WriteStream = process.stdout, env: Env = process.env): TerminalInfo {
  return { color: colorWanted(stream, env), columns: columnsOf(stream, env) };
}

/** Colour functions for stderr messages (errors, hints), honouring NO_COLOR/FORCE_COLOR. */
export function stderrColors(env: Env = process.env): ReturnType<typeof createColors> {
  return createColors(colorWanted(process.stderr, env));
}

/**
 * In a terminal, wraps a message to the stderr width, continuation lines
 * indented by `indent`. wrap-ansi (and its width tables) load only then.
 */
export async function wrapForStderr(text: string, indent = 2): Promise<string> {
  // Logs and pipes keep one line per message (grep-able); only a terminal wraps.
  if (!process.stderr.isTTY) return text;
  const { default: wrapAnsi } = await import('wrap-ansi');
  const w = Math.max(40, columnsOf(process.stderr) - 1);
  return text
    .split('\n')
    .map((line) => {
      const lead = /^ */.exec(line)?.[0].length ?? 0;
      const hang = ' '.repeat(lead + indent);
      // Not `hard`: a path or digest longer than the width overflows whole (it must paste as one token).
      return wrapAnsi(line.slice(lead), w - lead - indent, { hard: false, trim: true })
        .split('\n')
        .map((l, i) => (i === 0 ? ' '.repeat(lead) + l : hang + l))
        .join('\n');
    })
    .join('\n');
}
