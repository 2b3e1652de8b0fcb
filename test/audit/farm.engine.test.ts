/**
 * The audit farm end to end: a real PostgreSQL server (a throw-away cluster
 * on 127.0.0.1), real pg-boss, the coordinator and several `rebuild worker`
 * processes verifying the shipped examples with the real verifier and the
 * one local engine, against the loopback registry and metadata server.
 *
 * Three workers share twelve jobs with no unit verified twice; a worker
 * killed with SIGKILL mid-build (and the coordinator killed and restarted
 * meanwhile): another worker takes the job over once its lease expires,
 * exactly one result, no container left once a worker starts again; a
 * worker whose database connection is cut (a TCP proxy on loopback drops
 * it) finishes its build, reconnects and records the result once.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import Docker from 'dockerode';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditSummary } from '../../src/audit/report.js';
import { ExitCode } from '../../src/cli/exit-codes.js';
import { OWNER_PID_LABEL } from '../../src/engine/cleanup.js';
import { leftoverContainers, rebuild } from '../helpers/cli.js';
import { type RunningPostgres, startPostgres } from '../helpers/postgres.js';
import { EXAMPLES_DIR, type ExampleDir, exampleIdentity, publishExample } from '../helpers/publish.js';
import { type RunningServer, startMetadataServer, startRegistry } from '../helpers/registry.js';
import { tempDir } from './fixtures.js';

let work: string;
let cleanup: () => Promise<void>;
let pgs: RunningPostgres;
let registry: RunningServer & { storage: string };
let meta: RunningServer & { set(i: Parameters<typeof startMetadataServer>[0]): void };
const EXAMPLES: ExampleDir[] = ['wc-host', 'tally-container', 'hello-docker-run'];
/** Twelve units: the three examples in bincache and two in pkgcache, under two or three pkg_ids each. */
const twelve: { bincache: Record<string, unknown>[]; pkgcache: Record<string, unknown>[] } = {
  bincache: [],
  pkgcache: [],
};

beforeAll(async () => {
  ({ dir: work, cleanup } = await tempDir('rebuild-farm-e2e-'));
  pgs = await startPostgres();
  registry = await startRegistry();
  for (const dir of EXAMPLES) {
    const { pkgId } = await exampleIdentity(dir);
    for (const repo of ['bincache', 'pkgcache'] as const) {
      // wc-host's published lc carries the 2025 bincache objcopy of its loaded
      // notes, which pkgcache never ran: under pkgcache it is rightly
      // `different` (the of-record tests cover that), so pkgcache gets a
      // third copy of the other two instead.
      const variants = repo === 'bincache' ? ['', '.farm'] : dir === 'wc-host' ? [] : ['', '.farm', '.farm2'];
      for (const variant of variants) {
        const p = await publishExample(registry.url, dir, {
          repo,
          ...(variant ? { overrides: { pkg_id: `${pkgId}${variant}` } } : {}),
        });
        twelve[repo].push(p.record);
      }
    }
  }
  meta = await startMetadataServer(indexOf(twelve));
}, 300_000);

afterAll(async () => {
  await meta?.stop();
  await registry?.stop();
  await pgs?.stop();
  await cleanup?.();
});

function indexOf(i: { bincache: Record<string, unknown>[]; pkgcache: Record<string, unknown>[] }) {
  return {
    bincache: { x86_64: i.bincache, aarch64: [] },
    pkgcache: { x86_64: i.pkgcache, aarch64: [] },
  };
}

// Each process its own download cache; the engine's state (the record of the
// images it holds) is the machine's, shared as it is on a real worker host.
const env = (name: string) => ({ XDG_CACHE_HOME: join(work, `cache-${name}`) });

function coordinator(db: string, args: string[], name = 'coordinator') {
  return rebuild(
    [
      'audit',
      '--db',
      db,
      '--distributed',
      '--out',
      join(work, 'reports'),
      '--metadata-base',
      meta.url,
      '--registry-mirror',
      `ghcr.io=${registry.url}`,
      '--arch',
      'x86_64',
      ...args,
    ],
    { env: env(name), timeoutMs: 10 * 60_000 },
  );
}

function worker(db: string, name: string, args: string[] = []) {
  return rebuild(['worker', '--db', db, '--name', name, '--out', join(work, 'reports'), ...args], {
    env: env(name),
    timeoutMs: 10 * 60_000,
  });
}

async function summaryOf(stdout: string): Promise<AuditSummary> {
  const m = /^report: (.+)\/report\.html/m.exec(stdout);
  expect(m, stdout).toBeTruthy();
  return JSON.parse(await readFile(join(m![1]!, 'summary.json'), 'utf8')) as AuditSummary;
}

async function query<T = Record<string, unknown>>(
  db: string,
  sql: string,
  args: unknown[] = [],
): Promise<T[]> {
  const c = new pg.Client({ connectionString: db });
  await c.connect();
  try {
    return (await c.query(sql, args)).rows as T[];
  } finally {
    await c.end();
  }
}

/** Polls until `check` holds (a generous bound that only catches a hang). */
async function until(what: string, check: () => Promise<boolean>, ms = 5 * 60_000): Promise<void> {
  const end = Date.now() + ms;
  for (;;) {
    if (await check().catch(() => false)) return;
    if (Date.now() > end) throw new Error(`never happened: ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** A TCP proxy on loopback whose connections can be cut (and new ones refused) for a while. */
async function startProxy(
  port: number,
): Promise<{ port: number; cut(ms: number): void; cuts: number; stop(): Promise<void> }> {
  const sockets = new Set<Socket>();
  let refuseUntil = 0;
  let cuts = 0;
  const server: Server = createServer((client) => {
    if (Date.now() < refuseUntil) {
      client.destroy();
      return;
    }
    const upstream = connect(port, '127.0.0.1');
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => undefined);
    }
    client.pipe(upstream).pipe(client);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const addr = server.address();
  return {
    port: typeof addr === 'object' && addr ? addr.port : 0,
    cut(ms: number) {
      cuts++;
      refuseUntil = Date.now() + ms;
      for (const s of sockets) s.destroy();
    },
    get cuts() {
      return cuts;
    },
    stop: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

/** The tally example, published with a recipe that sleeps first (so a kill or a cut lands mid-build). */
async function slowTally(seconds: number): Promise<Record<string, unknown>> {
  const recipe = await readFile(join(EXAMPLES_DIR, 'tally-container', 'SBUILD'), 'utf8');
  const slow = recipe.replace('  run: |\n', `  run: |\n    sleep ${seconds}\n`);
  expect(slow).not.toBe(recipe);
  const { pkgId } = await exampleIdentity('tally-container');
  return (
    await publishExample(registry.url, 'tally-container', {
      sbuild: slow,
      overrides: { pkg_id: `${pkgId}.slow${seconds}` },
    })
  ).record;
}

describe('rebuild audit --distributed and rebuild worker (real PostgreSQL, pg-boss, engine)', () => {
  it('three workers share twelve jobs: each unit verified once, the report names who did what', async () => {
    const db = await pgs.createDatabase('twelve');
    meta.set(indexOf(twelve));
    const workers = ['w1', 'w2', 'w3'].map((n) => worker(db, n));
    try {
      const r = await coordinator(db, ['--repo', 'bincache,pkgcache']);
      expect(r.exitCode, `${r.stdout}\n${r.stderr}`).toBe(ExitCode.ok);
      const s = await summaryOf(r.stdout);
      expect(s.counts).toMatchObject({ selected: 12, verified: 12 });
      expect(s.packages.every((p) => p.verdict === 'reproducible' || p.verdict === 'equivalent')).toBe(true);
      const perUnit = await query<{ unit: string; n: string }>(
        db,
        'SELECT unit, count(*) AS n FROM results GROUP BY unit',
      );
      expect(perUnit).toHaveLength(12);
      expect(perUnit.every((u) => Number(u.n) === 1)).toBe(true);
      const byWorker = new Set(s.packages.map((p) => p.worker?.name));
      expect([...byWorker].every((w) => w && ['w1', 'w2', 'w3'].includes(w))).toBe(true);
      expect(byWorker.size).toBeGreaterThanOrEqual(2);
      expect(
        await readFile(join(r.stdout.match(/^report: (.+)\/report\.html/m)![1]!, 'report.md'), 'utf8'),
      ).toContain('## Workers');
      const jobs = await query<{ state: string; attempts: number }>(db, 'SELECT state, attempts FROM jobs');
      expect(jobs).toHaveLength(12);
      expect(jobs.every((j) => j.state === 'done' && j.attempts === 1)).toBe(true);
      const status = await rebuild(['audit', 'status', '--db', db], { env: env('status') });
      expect(status.exitCode).toBe(0);
      expect(status.stdout).toMatch(/0 queued .* 0 running, 12 done/);
      expect(status.stdout).toMatch(/w1 +alive +x86_64\/native/);
      expect(status.stdout).not.toContain(pgs.password);
    } finally {
      for (const w of workers) w.kill('SIGTERM');
      const ends = await Promise.all(workers);
      expect(ends.map((e) => e.exitCode)).toEqual([
        ExitCode.interrupted,
        ExitCode.interrupted,
        ExitCode.interrupted,
      ]);
    }
    expect(await leftoverContainers()).toEqual([]);
  });

  it('SIGKILL of a worker mid-build and of the coordinator: the job moves on after its lease, one result, no container left', async () => {
    const db = await pgs.createDatabase('kill');
    const tally = await slowTally(6);
    meta.set(indexOf({ bincache: [tally], pkgcache: [] }));
    const list = join(work, 'kill-list.txt');
    await writeFile(list, `${String(tally.pkg_id)}\n`);
    const first = coordinator(db, ['--packages', list, '--lease', '20'], 'coord-1');
    const a = worker(db, 'doomed');
    const docker = new Docker();
    // The job is running on `doomed` and its container is up.
    await until('the doomed worker builds', async () => {
      const j = await query<{ worker: string | null; state: string }>(db, 'SELECT worker, state FROM jobs');
      if (j[0]?.worker !== 'doomed' || j[0]?.state !== 'running') return false;
      const c = await docker.listContainers({
        filters: { label: [`${OWNER_PID_LABEL}=${a.pid}`], status: ['running'] },
      });
      return c.length > 0;
    });
    a.kill('SIGKILL');
    expect((await a).signal).toBe('SIGKILL');
    first.kill('SIGKILL');
    expect((await first).signal).toBe('SIGKILL');
    expect(
      (await docker.listContainers({ all: true, filters: { label: [`${OWNER_PID_LABEL}=${a.pid}`] } }))
        .length,
    ).toBeGreaterThan(0);
    // The coordinator comes back (same audit, nothing queued twice), then a worker.
    const second = coordinator(db, ['--packages', list, '--lease', '20'], 'coord-2');
    const b = worker(db, 'rescuer');
    try {
      // A worker starting on that engine removes what the killed one left.
      await until(
        'the killed worker’s containers are removed',
        async () => (await leftoverContainers()).length === 0,
        60_000,
      );
      const r = await second;
      expect(r.exitCode, `${r.stdout}\n${r.stderr}`).toBe(ExitCode.ok);
      expect(r.stderr).toMatch(/resuming audit #1/);
      const s = await summaryOf(r.stdout);
      expect(s.audit.id).toBe(1);
      expect(s.counts).toMatchObject({ selected: 1, verified: 1 });
      expect(s.packages[0]!.worker?.name).toBe('rescuer');
      const results = await query<{ worker: string }>(db, 'SELECT worker FROM results');
      expect(results).toEqual([{ worker: 'rescuer' }]);
      const jobs = await query<{ state: string; attempts: number }>(db, 'SELECT state, attempts FROM jobs');
      expect(jobs).toEqual([{ state: 'done', attempts: 2 }]);
    } finally {
      b.kill('SIGTERM');
      await b;
    }
    expect(await leftoverContainers()).toEqual([]);
  });

  it('a worker whose database connection is cut mid-build reconnects and records the result once', async () => {
    const db = await pgs.createDatabase('cut');
    const tally = await slowTally(5);
    meta.set(indexOf({ bincache: [tally], pkgcache: [] }));
    const list = join(work, 'cut-list.txt');
    await writeFile(list, `${String(tally.pkg_id)}\n`);
    const proxy = await startProxy(pgs.port);
    const viaProxy = db.replace(`:${pgs.port}/`, `:${proxy.port}/`);
    const run = coordinator(db, ['--packages', list, '--lease', '600'], 'coord-cut');
    const w = worker(viaProxy, 'cut-off');
    try {
      await until('the worker builds', async () => {
        const j = await query<{ worker: string | null; state: string }>(db, 'SELECT worker, state FROM jobs');
        return j[0]?.worker === 'cut-off' && j[0]?.state === 'running';
      });
      // Longer than what is left of the build: the result is ready while the database is unreachable.
      proxy.cut(15_000);
      const r = await run;
      expect(r.exitCode, `${r.stdout}\n${r.stderr}`).toBe(ExitCode.ok);
      const s = await summaryOf(r.stdout);
      expect(s.packages[0]).toMatchObject({
        status: 'verified',
        worker: { name: 'cut-off', mode: 'native' },
      });
      expect(await query(db, 'SELECT worker FROM results')).toEqual([{ worker: 'cut-off' }]);
    } finally {
      w.kill('SIGTERM');
      const end = await w;
      await proxy.stop();
      expect(end.stderr).toMatch(/database unreachable/);
      expect(end.stderr).not.toContain(pgs.password);
    }
  });

  it('an unreachable database or refused credentials: one clear line, exit 8, no password shown', async () => {
    const wrong = (await pgs.createDatabase('creds')).replace(pgs.password, 'not-the-password');
    for (const args of [
      ['worker', '--db', wrong],
      ['audit', 'status', '--db', wrong],
      ['history', 'tally', '--db', 'postgresql://rebuild:hunter2@127.0.0.1:1/none'],
    ]) {
      const r = await rebuild(args, { env: env('creds') });
      expect(r.exitCode, r.stderr).toBe(ExitCode.state);
      expect(r.stderr).toMatch(
        /^rebuild: postgresql:\/\/rebuild:\*\*\*@127\.0\.0\.1:\d+\/\w+: (the PostgreSQL server refused the credentials|cannot reach the PostgreSQL server)/,
      );
      expect(r.stderr).not.toMatch(/not-the-password|hunter2/);
      expect(r.stderr.trim().split('\n')).toHaveLength(2); // the line, and its fix
    }
  });
});
