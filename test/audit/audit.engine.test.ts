/**
 * `rebuild audit` end to end, as cron runs it: the CLI as a real process,
 * the real verifier, engine and builder images, against Debian's
 * distribution registry and a metadata index server on loopback holding the
 * shipped examples as pkgforge would publish them (test/helpers/publish.ts).
 *
 * First run, a second run that skips everything, a run after one package's
 * upstream changed (a regression, exit 10), SIGKILL mid-run then resume, two
 * audits at once, and a database file that is not a database.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import Database from 'better-sqlite3';
import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditSummary } from '../../src/audit/report.js';
import { ExitCode } from '../../src/cli/exit-codes.js';
import { OWNER_PID_LABEL } from '../../src/engine/cleanup.js';
import { leftoverContainers, rebuild } from '../helpers/cli.js';
import { EXAMPLES_DIR, type ExampleDir, publishExample } from '../helpers/publish.js';
import { type RunningServer, startMetadataServer, startRegistry } from '../helpers/registry.js';

let work: string;
let registry: RunningServer & { storage: string };
let meta: RunningServer & { set(i: Parameters<typeof startMetadataServer>[0]): void };
const index: Record<string, Record<string, unknown>> = {};
const ALL: ExampleDir[] = ['wc-host', 'tally-container', 'hello-docker-run'];
/** The packages list shipped in examples/audit/ (it names the three examples). */
const LIST = join(EXAMPLES_DIR, 'audit', 'packages.txt');

const arm: Record<string, unknown>[] = [];

function indexes() {
  return {
    bincache: { x86_64: Object.values(index), aarch64: arm },
    pkgcache: { x86_64: [], aarch64: [] },
  };
}

function serve(): void {
  meta.set(indexes());
}

/** The CLI, pointed at the loopback servers, with its own cache. */
function audit(args: string[], db: string, opts: { timeoutMs?: number; arch?: string } = {}) {
  return rebuild(
    [
      'audit',
      '--db',
      db,
      '--out',
      join(dirname(db), 'reports'),
      '--metadata-base',
      meta.url,
      '--registry-mirror',
      `ghcr.io=${registry.url}`,
      '--arch',
      opts.arch ?? 'x86_64',
      ...args,
    ],
    {
      env: { XDG_CACHE_HOME: join(work, 'cache') },
      ...(opts.timeoutMs ? { timeoutMs: opts.timeoutMs } : {}),
    },
  );
}

async function summaryOf(stdout: string): Promise<AuditSummary> {
  const m = /^report: (.+)\/report\.html/m.exec(stdout);
  expect(m, stdout).toBeTruthy();
  return JSON.parse(await readFile(join(m![1]!, 'summary.json'), 'utf8')) as AuditSummary;
}

function rows(db: string, sql: string): Array<Record<string, unknown>> {
  const d = new Database(db, { readonly: true });
  try {
    return d.prepare(sql).all() as Array<Record<string, unknown>>;
  } finally {
    d.close();
  }
}

/** Units whose last result's builder image is no longer what its floating tag points at. */
async function movedImages(dbPath: string): Promise<Set<string>> {
  const docker = new Docker();
  const ids = new Map<string, string>();
  for (const img of await docker.listImages()) for (const t of img.RepoTags ?? []) ids.set(t, img.Id);
  const moved = new Set<string>();
  for (const r of rows(
    dbPath,
    'SELECT unit, image_tag, image_id FROM results WHERE id IN (SELECT max(id) FROM results GROUP BY unit)',
  )) {
    const floating = String(r.image_tag).replace(/-[0-9a-f]{12}$/, '');
    if (ids.get(floating) !== r.image_id) moved.add(String(r.unit));
  }
  return moved;
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'rebuild-audit-e2e-'));
  registry = await startRegistry();
  for (const dir of ALL) {
    const p = await publishExample(registry.url, dir);
    index[p.pkg] = p.record;
  }
  // tally is also published for aarch64 (rebuilt under QEMU in the last test)
  arm.push((await publishExample(registry.url, 'tally-container', { arch: 'aarch64' })).record);
  meta = await startMetadataServer(indexes());
}, 120_000);

afterAll(async () => {
  await meta?.stop();
  await registry?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

describe('rebuild audit (real verifier, engine, loopback registry)', () => {
  const db = () => join(work, 'main', 'audit.db');

  it('first run: verifies every package, one line each, reports and database agree, exit 0', async () => {
    const t0 = Date.now();
    const r = await audit(['--packages', LIST, '--jobs', '2'], db());
    const secs = (Date.now() - t0) / 1000;
    expect(r.stderr).not.toMatch(/internal error| {4}at /);
    expect(r.exitCode, `${r.stdout}\n${r.stderr}`).toBe(ExitCode.ok);
    const s = await summaryOf(r.stdout);
    expect(s.counts).toMatchObject({ selected: 3, verified: 3, skipped: 0 });
    expect(s.packages.map((p) => [p.pkg, p.status, p.verdict, p.change])).toEqual([
      ['hello-rb', 'verified', 'reproducible', 'first'],
      ['tally', 'verified', 'reproducible', 'first'],
      ['lc', 'verified', 'reproducible', 'first'],
    ]);
    // cron mail: one plain line per package on stderr (not a TTY)
    const lines = r.stderr.split('\n').filter((l) => / reproducible {2,}/.test(l));
    expect(lines).toHaveLength(3);
    // each package links to its own report, which exists
    const dir = join(dirname(db()), 'reports', `audit-${s.audit.id}`);
    for (const p of s.packages) {
      expect(p.report.html).toMatch(/^packages\/x86_64\/bincache\//);
      expect(existsSync(join(dir, p.report.html!)), p.report.html).toBe(true);
    }
    expect(await readFile(join(dir, 'report.md'), 'utf8')).toContain('| `tally` |');
    const results = rows(
      db(),
      'SELECT pkg, verdict, inputs_hash, image_id, recipe_digest, rebuilt_sha256, published_sha256 FROM results ORDER BY pkg',
    );
    expect(results).toHaveLength(3);
    for (const row of results) {
      expect(row.inputs_hash).toMatch(/^[0-9a-f]{64}$/);
      expect(row.image_id).toMatch(/^sha256:/);
      expect(row.rebuilt_sha256).toBe(row.published_sha256);
    }
    expect(await leftoverContainers()).toEqual([]);
    console.log(`first audit of 3 examples: ${secs.toFixed(1)} s`);
  });

  it('second run: everything unchanged is skipped, nothing is rebuilt, exit 0', async () => {
    const t0 = Date.now();
    const r = await audit(['--packages', LIST], db());
    const secs = (Date.now() - t0) / 1000;
    expect(r.exitCode, `${r.stdout}\n${r.stderr}`).toBe(ExitCode.ok);
    const s = await summaryOf(r.stdout);
    // The engine is shared: if a builder image was rebuilt since (its floating tag moved), the
    // packages built in it are rightly verified again. Everything else must be skipped.
    const moved = await movedImages(db());
    const expectVerified = s.packages.filter((p) => moved.has(p.unit)).length;
    expect(s.counts).toMatchObject({ selected: 3, verified: expectVerified, skipped: 3 - expectVerified });
    for (const p of s.packages.filter((x) => x.status === 'verified'))
      expect(p.detail).toMatch(/builder image .* changed/);
    expect(s.counts.verdicts.reproducible).toBe(3);
    expect(rows(db(), 'SELECT count(*) AS n FROM results')[0]!.n).toBe(3 + expectVerified);
    expect(r.stdout).toContain('changes since last time: none');
    console.log(`second (unchanged) audit: ${secs.toFixed(1)} s`);
  });

  it('after an upstream change (a new version whose bytes differ): a confirmed regression, listed first, exit 10; history shows it', async () => {
    const original = await readFile(join(EXAMPLES_DIR, 'tally-container', 'published', 'x86_64', 'tally'));
    const changed = Buffer.from(original);
    const at = changed.indexOf('(tally v');
    expect(at).toBeGreaterThan(0);
    changed[at + 1] = 'T'.charCodeAt(0); // one byte of .rodata
    const p = await publishExample(registry.url, 'tally-container', { version: '2.1.1', mainBytes: changed });
    index.tally = p.record;
    serve();
    try {
      const r = await audit(['--packages', LIST], db());
      expect(r.exitCode, `${r.stdout}\n${r.stderr}`).toBe(ExitCode.auditRegressed);
      const s = await summaryOf(r.stdout);
      expect(s.counts).toMatchObject({ verified: 1, skipped: 2 });
      expect(s.changes[0]).toMatchObject({
        pkg: 'tally',
        change: 'regression',
        verdict: 'different',
        version: '2.1.1',
        previous: { verdict: 'reproducible', version: '2.1.0' },
        attempts: 2, // confirmed before being reported
      });
      expect(r.stdout).toMatch(
        /REGRESSION\s+tally \(x86_64, bincache\): was reproducible at 2\.1\.0, now different at 2\.1\.1/,
      );
      const html = await readFile(
        join(dirname(db()), 'reports', `audit-${s.audit.id}`, 'report.html'),
        'utf8',
      );
      expect(html.indexOf('REGRESSION')).toBeLessThan(html.indexOf('<h2>Packages</h2>'));

      const h = await rebuild(['history', 'tally', '--db', db(), '--json']);
      expect(h.exitCode, h.stderr).toBe(0);
      const entries = JSON.parse(h.stdout) as Array<{ version: string; verdict: string; change: string }>;
      expect(entries.map((e) => [e.version, e.verdict, e.change])).toEqual([
        ['2.1.0', 'reproducible', 'first'],
        ['2.1.1', 'different', 'regression'],
      ]);
      const text = await rebuild(['history', 'tally', '--db', db()]);
      expect(text.stdout).toMatch(/2\.1\.1\s+different\s+regression/);
      const none = await rebuild(['history', 'no-such-package', '--db', db()]);
      expect(none.exitCode).toBe(ExitCode.input);
    } finally {
      index.tally = (await publishExample(registry.url, 'tally-container')).record;
      serve();
    }
  });

  it('SIGKILL mid-run, then resume: the rest is finished, nothing is redone, no duplicate rows, no containers left', async () => {
    const kdb = join(work, 'kill', 'audit.db');
    // The second package (tally) sleeps before it compiles, so the kill surely lands while its
    // container runs; its published bytes are unchanged, so it still reproduces on resume.
    const recipe = await readFile(join(EXAMPLES_DIR, 'tally-container', 'SBUILD'), 'utf8');
    const slow = recipe.replace('  run: |\n', '  run: |\n    sleep 8\n');
    expect(slow).not.toBe(recipe);
    index.tally = (await publishExample(registry.url, 'tally-container', { sbuild: slow })).record;
    serve();
    try {
      const child = audit(['--packages', LIST, '--jobs', '1'], kdb);
      // Wait for the first verdict to be committed and the second package's containers to be running.
      const docker = new Docker();
      const deadline = Date.now() + 10 * 60_000;
      let ownContainers = 0;
      for (;;) {
        expect(Date.now() < deadline, 'the audit never reached its second package').toBe(true);
        await new Promise((r) => setTimeout(r, 250));
        if (!existsSync(kdb)) continue;
        // The file exists a moment before the audit's migrations have made its tables.
        const count = (table: string) => {
          try {
            return rows(kdb, `SELECT count(*) AS n FROM ${table}`)[0]!.n as number;
          } catch (err) {
            if (/no such table/.test(String(err))) return 0;
            throw err;
          }
        };
        const done = count('results');
        const claims = count('claims');
        if (done >= 1 && claims >= 1) {
          // Only a running container is sure to outlive the kill: one that has exited may be removed any moment.
          const list = await docker.listContainers({
            filters: { label: [`${OWNER_PID_LABEL}=${child.pid}`], status: ['running'] },
          });
          ownContainers = list.length;
          if (ownContainers > 0) break;
        }
      }
      child.kill('SIGKILL');
      const killed = await child;
      expect(killed.signal).toBe('SIGKILL');
      const before = rows(kdb, 'SELECT unit, verdict FROM results');
      expect(before).toHaveLength(1);
      expect(rows(kdb, 'SELECT status FROM audits')[0]!.status).toBe('running');
      // its containers were left behind by the kill
      const orphans = await docker.listContainers({
        all: true,
        filters: { label: [`${OWNER_PID_LABEL}=${child.pid}`] },
      });
      expect(orphans.length).toBeGreaterThan(0);

      const r = await audit(['--packages', LIST, '--jobs', '1'], kdb);
      expect(r.exitCode, `${r.stdout}\n${r.stderr}`).toBe(ExitCode.ok);
      const s = await summaryOf(r.stdout);
      expect(s.audit.killedBefore).toEqual([1]);
      expect(s.counts).toMatchObject({ selected: 3, verified: 2, skipped: 1 });
      expect(s.packages.find((p) => p.unit === before[0]!.unit)?.status).toBe('skipped');
      const after = rows(kdb, 'SELECT unit, count(*) AS n FROM results GROUP BY unit');
      expect(after).toHaveLength(3);
      expect(after.every((x) => x.n === 1)).toBe(true);
      expect(rows(kdb, 'SELECT id, status FROM audits ORDER BY id')).toEqual([
        { id: 1, status: 'killed' },
        { id: 2, status: 'finished' },
      ]);
      expect(rows(kdb, 'SELECT count(*) AS n FROM claims')[0]!.n).toBe(0);
      const left = await docker.listContainers({
        all: true,
        filters: { label: [`${OWNER_PID_LABEL}=${child.pid}`] },
      });
      expect(left).toEqual([]);
      expect(await leftoverContainers()).toEqual([]);
      console.log(`killed with ${ownContainers} container(s) of its own running; resume reaped them`);
    } finally {
      // put the recipe of record back (same tag) for the tests that follow
      index.tally = (await publishExample(registry.url, 'tally-container')).record;
      expect(index.tally).toBeDefined();
      serve();
    }
  });

  it('SIGTERM (a systemd stop): stops, removes its containers, records the rest as not reached, exit 130', async () => {
    const tdb = join(work, 'term', 'audit.db');
    const child = audit(['--packages', LIST, '--jobs', '1'], tdb);
    const docker = new Docker();
    const deadline = Date.now() + 10 * 60_000;
    for (;;) {
      expect(Date.now() < deadline, 'the audit never started a container').toBe(true);
      await new Promise((r) => setTimeout(r, 100));
      const list = await docker.listContainers({
        all: true,
        filters: { label: [`${OWNER_PID_LABEL}=${child.pid}`] },
      });
      if (list.length > 0) break;
    }
    child.kill('SIGTERM');
    const r = await child;
    expect(r.exitCode, `${r.stdout}\n${r.stderr}`).toBe(ExitCode.interrupted);
    const s = await summaryOf(r.stdout);
    expect(s.audit.interrupted).toBe(true);
    expect(s.counts.notReached).toBeGreaterThanOrEqual(1);
    expect(s.counts.verified + s.counts.notReached).toBe(3);
    expect(rows(tdb, 'SELECT status, exit_code FROM audits')).toEqual([
      { status: 'interrupted', exit_code: 130 },
    ]);
    expect(rows(tdb, 'SELECT count(*) AS n FROM claims')[0]!.n).toBe(0);
    expect(
      await docker.listContainers({ all: true, filters: { label: [`${OWNER_PID_LABEL}=${child.pid}`] } }),
    ).toEqual([]);
    // the next run finishes the rest only
    const again = await audit(['--packages', LIST], tdb);
    expect(again.exitCode, again.stderr).toBe(ExitCode.ok);
    const s2 = await summaryOf(again.stdout);
    expect(s2.counts).toMatchObject({ verified: s.counts.notReached, skipped: s.counts.verified });
  });

  it('two audits started at once: every package verified exactly once between them', async () => {
    const cdb = join(work, 'concurrent', 'audit.db');
    const [a, b] = await Promise.all([
      audit(['--packages', LIST, '--jobs', '1'], cdb),
      audit(['--packages', LIST, '--jobs', '1'], cdb),
    ]);
    expect(a.exitCode, `${a.stdout}\n${a.stderr}`).toBe(ExitCode.ok);
    expect(b.exitCode, `${b.stdout}\n${b.stderr}`).toBe(ExitCode.ok);
    const perUnit = rows(
      cdb,
      'SELECT unit, count(*) AS n, count(DISTINCT audit_id) AS audits FROM results GROUP BY unit',
    );
    expect(perUnit).toHaveLength(3);
    expect(perUnit.every((x) => x.n === 1)).toBe(true);
    const sa = await summaryOf(a.stdout);
    const sb = await summaryOf(b.stdout);
    expect(sa.counts.verified + sb.counts.verified).toBe(3);
    // what one verified, the other left to it (elsewhere) or found done (skipped)
    for (const p of sa.packages) {
      const q = sb.packages.find((x) => x.unit === p.unit)!;
      expect([p.status, q.status].filter((st) => st === 'verified')).toHaveLength(1);
    }
    expect(await leftoverContainers()).toEqual([]);
    console.log(`concurrent: audit A verified ${sa.counts.verified}, audit B verified ${sb.counts.verified}`);
  });

  it('a --db file that is not a database: exit 8, the file named, its bytes unchanged, no report written', async () => {
    const bad = join(work, 'garbage', 'audit.db');
    await rm(dirname(bad), { recursive: true, force: true });
    const { mkdir } = await import('node:fs/promises');
    await mkdir(dirname(bad), { recursive: true });
    const bytes = Buffer.from(Array.from({ length: 5000 }, (_, i) => (i * 7919) % 256));
    await writeFile(bad, bytes);
    const r = await audit(['--packages', LIST], bad);
    expect(r.exitCode).toBe(ExitCode.state);
    expect(r.stderr).toContain(bad);
    expect(r.stderr).toMatch(/not an SQLite database/);
    expect(r.stderr).not.toMatch(/ {4}at /);
    expect(Buffer.compare(await readFile(bad), bytes)).toBe(0);
    expect(existsSync(`${bad}-wal`)).toBe(false);
    expect(existsSync(join(dirname(bad), 'reports'))).toBe(false);
  });

  it('both arches: --arch x86_64,aarch64 audits each package for each arch it is published for (aarch64 under QEMU)', async () => {
    const adb = join(work, 'arches', 'audit.db');
    const list = join(work, 'arches.txt');
    await writeFile(list, 'tally\nlc\n');
    const t0 = Date.now();
    const r = await audit(['--packages', list, '--jobs', '2'], adb, { arch: 'x86_64,aarch64' });
    expect(r.exitCode, `${r.stdout}\n${r.stderr}`).toBe(ExitCode.ok);
    const s = await summaryOf(r.stdout);
    // lc is published for x86_64 only here: one unit; tally: two
    expect(s.packages.map((p) => [p.pkg, p.arch, p.verdict])).toEqual([
      ['tally', 'x86_64', 'reproducible'],
      ['tally', 'aarch64', 'reproducible'],
      ['lc', 'x86_64', 'reproducible'],
    ]);
    const emu = rows(adb, 'SELECT arch, emulator FROM results ORDER BY arch');
    expect(emu[0]).toMatchObject({ arch: 'aarch64' });
    expect(String(emu[0]!.emulator)).toMatch(/qemu|aarch64/i);
    expect(emu[1]).toMatchObject({ arch: 'x86_64', emulator: null });
    const h = await rebuild(['history', 'tally', '--arch', 'aarch64', '--db', adb, '--json']);
    expect(JSON.parse(h.stdout).map((e: { arch: string }) => e.arch)).toEqual(['aarch64']);
    expect(await leftoverContainers()).toEqual([]);
    console.log(`audit of tally (both arches) and lc: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  });
});
