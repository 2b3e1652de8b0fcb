import { removeAllTracked } from '../engine/cleanup.js';
import { ExitCode } from './exit-codes.js';

/**
 * `rebuild … | head -1`: when the reader closes the pipe early, the next
 * write fails with EPIPE, which Node raises as an unhandled 'error' event (a
 * stack trace). Like any Unix tool killed by SIGPIPE, rebuild then stops
 * quietly: it removes the containers it started and exits 141 (128 + SIGPIPE),
 * without a word (stderr may be the same closed pipe).
 */
export function exitQuietlyWhenOutputCloses(): void {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code !== 'EPIPE') throw err;
      void removeAllTracked().finally(() => process.exit(ExitCode.outputClosed));
    });
  }
}
