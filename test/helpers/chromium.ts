/**
 * Debian's headless chromium for tests of self-contained HTML pages: one run
 * with a fresh profile and a network log, returning the DOM (--dump-dom) or
 * taking a screenshot, and the URLs the page itself requested.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { execa } from 'execa';

export const CHROMIUM = '/usr/bin/chromium';

export function requireChromium(): void {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `${CHROMIUM} not found: the HTML report tests need Debian's chromium. Install it with ` +
        '`sudo bash scripts/setup-engine.sh --with-test-tools` (or `apt-get install chromium`).',
    );
  }
}

export interface ChromiumRun {
  stdout: string;
  /** URLs the page itself requested (browser background requests excluded). */
  pageRequests: string[];
}

/** One headless chromium run on `file` with a fresh profile (under `scratch`) and a network log. */
export async function chromium(file: string, extra: string[], scratch: string): Promise<ChromiumRun> {
  const profile = await mkdtemp(join(scratch, 'profile-'));
  const netlog = join(profile, 'netlog.json');
  try {
    const r = await execa(
      CHROMIUM,
      [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        `--user-data-dir=${profile}`,
        `--log-net-log=${netlog}`,
        ...extra,
        pathToFileURL(file).href,
      ],
      { timeout: 90_000, reject: false, stdin: 'ignore' },
    );
    if (r.exitCode !== 0) throw new Error(`chromium exited with ${r.exitCode}: ${r.stderr.slice(-2000)}`);
    return { stdout: r.stdout, pageRequests: pageRequests(await readFile(netlog, 'utf8')) };
  } finally {
    await rm(profile, { recursive: true, force: true });
  }
}

/**
 * Requests started on behalf of a page: their initiator is an origin (a
 * file:// page's is "null"); the browser's own update/account pings carry
 * "not an origin".
 */
export function pageRequests(netlogText: string): string[] {
  let log: {
    constants: { logEventTypes: Record<string, number> };
    events: Array<{ type: number; params?: Record<string, unknown> }>;
  };
  try {
    log = JSON.parse(netlogText);
  } catch {
    log = JSON.parse(`${netlogText.replace(/,\s*$/, '')}]}`); // chromium may leave the log unterminated
  }
  const start = log.constants.logEventTypes.URL_REQUEST_START_JOB;
  if (typeof start !== 'number') throw new Error('netlog has no URL_REQUEST_START_JOB event type');
  return log.events
    .filter(
      (e) => e.type === start && typeof e.params?.url === 'string' && e.params.initiator !== 'not an origin',
    )
    .map((e) => String(e.params?.url));
}
