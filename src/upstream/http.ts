import { setTimeout as sleep } from 'node:timers/promises';
import { asReported, isNoSpace, messageOf, RebuildError } from '../util/errors.js';

/** Bounds for one HTTP exchange. */
export interface HttpBounds {
  /** Idle time allowed between received bytes (and for the headers), ms. */
  timeoutMs: number;
  /** Retries after the first attempt (network errors, 5xx, 429, truncated bodies). */
  retries: number;
  /** First backoff delay, doubled on each retry. */
  retryBaseMs: number;
}

export const DEFAULT_BOUNDS: HttpBounds = { timeoutMs: 60_000, retries: 4, retryBaseMs: 250 };

/** A failure worth another attempt (dropped connection, 5xx, timeout, short body). */
export class TransientError extends Error {
  override readonly name = 'TransientError';
}

/** Retry-able HTTP status: 5xx and 429. */
export function isTransientStatus(status: number): boolean {
  return status >= 500 || status === 429 || status === 408;
}

/** Delay before retry `attempt` (1-based): base·2^(attempt-1), capped at 10 s, with ±20 % jitter. */
export function backoffMs(attempt: number, baseMs: number): number {
  const d = Math.min(baseMs * 2 ** (attempt - 1), 10_000);
  return Math.round(d * (0.8 + Math.random() * 0.4));
}

/**
 * An AbortController that fires when `kick()` has not been called for
 * `idleMs` (headers slow, body stalled). `done()` stops the timer.
 */
export function idleTimeout(idleMs: number): { signal: AbortSignal; kick(): void; done(): void } {
  const ctl = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const arm = () => {
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => ctl.abort(new TransientError(`no data for ${idleMs} ms`)), idleMs);
    timer.unref?.();
  };
  arm();
  return {
    signal: ctl.signal,
    kick: arm,
    done: () => {
      if (timer) clearTimeout(timer);
    },
  };
}

/**
 * Runs `attempt` up to 1+retries times, backing off between tries, while it
 * throws TransientError or a network-level fetch failure. Anything else (a
 * RebuildError, a 4xx) is final. After the last try: RebuildError('network').
 */
export async function withRetries<T>(
  what: string,
  bounds: HttpBounds,
  attempt: (n: number) => Promise<T>,
): Promise<T> {
  let last: unknown;
  for (let n = 0; n <= bounds.retries; n++) {
    if (n > 0) await sleep(backoffMs(n, bounds.retryBaseMs));
    try {
      return await attempt(n);
    } catch (err) {
      if (err instanceof RebuildError) throw err;
      // A full disk is not the network: never retried, reported as the environment it is.
      if (isNoSpace(err)) throw asReported(err);
      last = err;
    }
  }
  throw new RebuildError(
    'network',
    `${what} failed after ${bounds.retries + 1} attempts: ${describeNetworkError(last)}`,
    {
      fix: 'check the network or the mirror URL and run again (downloads resume from the cache)',
      cause: last,
    },
  );
}

/** `fetch failed` hides the reason in `cause`: surface it. */
export function describeNetworkError(err: unknown): string {
  if (err instanceof Error) {
    const cause = (err as { cause?: unknown }).cause;
    const inner =
      cause instanceof Error
        ? `${cause.message}${(cause as { code?: string }).code ? ` (${(cause as { code?: string }).code})` : ''}`
        : '';
    if (err.name === 'TimeoutError' || err.name === 'AbortError') {
      const reason = (err as { cause?: unknown }).cause ?? err.message;
      return `timed out (${messageOf(reason)})`;
    }
    return inner && inner !== err.message ? `${err.message}: ${inner}` : err.message;
  }
  return String(err);
}

/**
 * Reads a whole body into memory, refusing more than `maxBytes` (streams, so
 * an oversized body is cut off instead of buffered). `onChunk` lets callers
 * reset an idle timer.
 */
export async function readBounded(
  res: Response,
  maxBytes: number,
  what: string,
  onChunk?: () => void,
): Promise<Buffer> {
  const declared = Number(res.headers.get('content-length') ?? Number.NaN);
  if (Number.isFinite(declared) && declared > maxBytes) {
    await res.body?.cancel().catch(() => {});
    throw new RebuildError('upstream', `${what} is ${declared} bytes, more than the limit of ${maxBytes}`, {
      fix: 'check the URL; raise the limit only if the file is really that large',
    });
  }
  const chunks: Buffer[] = [];
  let total = 0;
  if (res.body) {
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      onChunk?.();
      total += chunk.byteLength;
      if (total > maxBytes) {
        throw new RebuildError('upstream', `${what} is larger than the limit of ${maxBytes} bytes`, {
          fix: 'check the URL; raise the limit only if the file is really that large',
        });
      }
      chunks.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    }
  }
  if (Number.isFinite(declared) && total !== declared) {
    throw new TransientError(`${what}: got ${total} of ${declared} bytes`);
  }
  return Buffer.concat(chunks, total);
}
