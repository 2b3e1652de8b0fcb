/**
 * Runs a short-lived host tool (objcopy, strip, objdump) to its end and
 * hands back its exit code and output. Node's own execFile: the compare path
 * runs these tools a few times per process, and loading execa (about a
 * hundred modules) cost more start-up than the tools themselves (measured
 * by `npm run bench -- startup`). Never rejects: a tool that cannot start,
 * fails or times out is a result the caller judges.
 */
import { execFile } from 'node:child_process';

export interface ToolRun {
  /** The exit code; undefined when the tool could not start or was killed. */
  exitCode: number | undefined;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  /** Why the tool did not succeed (cannot start, signal, exit code), for messages. */
  failure?: string;
}

export interface ToolOptions {
  /** Kill the tool after this long (SIGKILL: binutils hold no state worth a graceful stop). */
  timeoutMs: number;
  /** Output beyond this many bytes per stream fails the run (default 64 MiB). */
  maxBuffer?: number;
}

export function runTool(file: string, args: readonly string[], opts: ToolOptions): Promise<ToolRun> {
  return new Promise((resolve) => {
    execFile(
      file,
      args,
      {
        timeout: opts.timeoutMs,
        killSignal: 'SIGKILL',
        maxBuffer: opts.maxBuffer ?? 64 << 20,
        encoding: 'utf8',
        windowsHide: true,
      },
      (err, stdout, stderr) => {
        if (!err) {
          resolve({ exitCode: 0, stdout, stderr, timedOut: false });
          return;
        }
        const e = err as NodeJS.ErrnoException & { killed?: boolean; signal?: string | null; code?: unknown };
        const overflow = e.code === 'ERR_CHILD_PROCESS_STDIO_MAXBUFFER';
        const timedOut = !overflow && e.killed === true && e.signal === 'SIGKILL';
        const exitCode = typeof e.code === 'number' ? e.code : undefined;
        const failure = overflow
          ? 'printed more output than expected'
          : timedOut
            ? `timed out after ${opts.timeoutMs} ms`
            : exitCode !== undefined
              ? `exited with code ${exitCode}`
              : e.signal
                ? `killed by ${e.signal}`
                : `cannot run ${file}: ${e.code ?? e.message}`;
        resolve({ exitCode, stdout: stdout ?? '', stderr: stderr ?? '', timedOut, failure });
      },
    );
  });
}
