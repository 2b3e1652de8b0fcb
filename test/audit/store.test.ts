/**
 * The audit database, on real SQLite files in temp dirs: schema and
 * migrations, refusal of files that are not databases (left untouched),
 * transactions, claims (taken, refused, taken over from the dead and the
 * expired), killed audits, history and change detection.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SCHEMA_VERSION } from '../../src/audit/schema.js';
import { AuditStore, defaultPidAlive } from '../../src/audit/store.js';
import { RebuildError } from '../../src/util/errors.js';
import { checkRecentVerdicts, newResult, tempDir, unit } from './fixtures.js';

let dir: string;
let cleanup: () => Promise<void>;
const open: AuditStore[] = [];

async function openStore(
  path: string,
  opts: Parameters<typeof AuditStore.open>[1] = {},
): Promise<AuditStore> {
  const s = await AuditStore.open(path, opts);
  open.push(s);
  return s;
}

beforeEach(async () => {
  ({ dir, cleanup } = await tempDir());
});

afterEach(async () => {
  for (const s of open.splice(0)) await s.close();
  await cleanup();
});

/** A pid that certainly is not running: a child that has exited. */
function deadPid(): number {
  const r = spawnSync('true');
  return r.pid!;
}

describe('schema', () => {
  it('creates a WAL database at the current schema version, and reopening changes nothing', async () => {
    const path = join(dir, 'sub', 'dir', 'audit.db');
    const s = await openStore(path);
    expect(await s.schemaVersion()).toBe(SCHEMA_VERSION);
    await s.close();
    const raw = new Database(path, { readonly: true });
    expect(raw.pragma('journal_mode', { simple: true })).toBe('wal');
    const tables = (
      raw.prepare("SELECT name FROM sqlite_master WHERE type='table' ORDER BY name").all() as {
        name: string;
      }[]
    ).map((t) => t.name);
    raw.close();
    expect(tables).toEqual([
      'audits',
      'claims',
      'items',
      'jobs',
      'latest',
      'recent_verdicts',
      'results',
      'workers',
    ]);
    const again = await openStore(path);
    expect(await again.schemaVersion()).toBe(SCHEMA_VERSION);
    expect(await again.counts()).toEqual({ audits: 0, results: 0, items: 0, claims: 0, jobs: 0 });
  });

  it('migrates an older database forward (version 0 → current), keeping its own tables', async () => {
    const path = join(dir, 'old.db');
    const raw = new Database(path);
    raw.exec("CREATE TABLE notes (x TEXT); INSERT INTO notes VALUES ('kept')");
    raw.close();
    const s = await openStore(path);
    expect(await s.schemaVersion()).toBe(SCHEMA_VERSION);
    await s.close();
    const check = new Database(path, { readonly: true });
    expect(check.prepare('SELECT x FROM notes').get()).toEqual({ x: 'kept' });
    check.close();
  });

  it('refuses a database written by a newer rebuild', async () => {
    const path = join(dir, 'newer.db');
    const raw = new Database(path);
    raw.pragma(`user_version = ${SCHEMA_VERSION + 5}`);
    raw.close();
    await expect(openStore(path)).rejects.toThrow(/newer rebuild/);
  });
});

describe('a file that is not a database', () => {
  for (const [name, bytes] of [
    ['garbage', Buffer.from('this is my shopping list, not a database\n'.repeat(200))],
    [
      'SQLite header, corrupt body',
      Buffer.concat([Buffer.from('SQLite format 3\0'), Buffer.alloc(4000, 0x41)]),
    ],
  ] as const) {
    it(`${name}: RebuildError('state') naming the file; bytes unchanged; no -wal/-shm`, async () => {
      const path = join(dir, 'precious.db');
      await writeFile(path, bytes);
      let err: unknown;
      try {
        await openStore(path);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(RebuildError);
      const re = err as RebuildError;
      expect(re.category).toBe('state');
      expect(re.describe()).toContain(path);
      expect(re.fix).toMatch(/left as it is/);
      expect(Buffer.compare(await readFile(path), bytes)).toBe(0);
      expect(existsSync(`${path}-wal`)).toBe(false);
      expect(existsSync(`${path}-shm`)).toBe(false);
    });
  }

  it('a directory', async () => {
    await expect(openStore(dir)).rejects.toThrow(/is not a file/);
  });
});

describe('transactions', () => {
  it('a result that cannot be recorded leaves no row behind (results, items, claims)', async () => {
    const path = join(dir, 'a.db');
    const s = await openStore(path);
    const { id } = await s.beginAudit({});
    const u = unit('hello');
    expect((await s.claim(u.key, id)).ok).toBe(true);
    // Fault injection: the items insert (after the results insert) fails.
    const raw = new Database(path);
    raw.exec("CREATE TRIGGER fail BEFORE INSERT ON items BEGIN SELECT RAISE(ABORT, 'injected'); END");
    await expect(s.recordResult(id, newResult(u, 'reproducible'))).rejects.toThrow(/injected/);
    expect(await s.counts()).toMatchObject({ results: 0, items: 0, claims: 1 });
    raw.exec('DROP TRIGGER fail');
    raw.close();
    const r = (await s.recordResult(id, newResult(u, 'reproducible')))!;
    expect(r.id).toBeGreaterThan(0);
    expect(await s.counts()).toMatchObject({ results: 1, items: 1, claims: 0 });
  });
});

describe('claims', () => {
  it('one audit at a time per unit; the owner may re-claim; release frees it', async () => {
    const path = join(dir, 'c.db');
    const alive = () => true;
    const a = await openStore(path, { pid: 1001, host: 'h', pidAlive: alive });
    const b = await openStore(path, { pid: 1002, host: 'h', pidAlive: alive });
    const ida = (await a.beginAudit({})).id;
    const idb = (await b.beginAudit({})).id;
    const u = unit('x').key;
    expect(await a.claim(u, ida)).toEqual({ ok: true });
    const refused = await b.claim(u, idb);
    expect(refused.ok).toBe(false);
    if (!refused.ok) expect(refused.holder).toMatchObject({ auditId: ida, pid: 1001, host: 'h' });
    expect((await a.claim(u, ida)).ok).toBe(true);
    await a.release(u, ida);
    expect(await b.claim(u, idb)).toEqual({ ok: true });
  });

  it('a claim whose owner is dead on this host is taken over at once', async () => {
    const path = join(dir, 'd.db');
    const dead = deadPid();
    expect(defaultPidAlive(dead)).toBe(false);
    expect(defaultPidAlive(process.pid)).toBe(true);
    const a = await openStore(path, { pid: dead });
    const b = await openStore(path);
    const ida = (await a.beginAudit({})).id;
    const idb = (await b.beginAudit({})).id;
    const u = unit('y').key;
    expect((await a.claim(u, ida)).ok).toBe(true);
    const took = await b.claim(u, idb);
    expect(took).toEqual({ ok: true, tookOver: { auditId: ida, pid: dead, host: b.host } });
    expect(await b.claims()).toEqual([expect.objectContaining({ unit: u, auditId: idb, pid: process.pid })]);
  });

  it('a claim from another host lives until it expires; a heartbeat extends it', async () => {
    const path = join(dir, 'e.db');
    let t = Date.parse('2026-01-01T00:00:00Z');
    const now = () => new Date(t);
    const a = await openStore(path, { pid: 7, host: 'other-host', now, ttlMs: 60_000 });
    const b = await openStore(path, { now, ttlMs: 60_000 });
    const ida = (await a.beginAudit({})).id;
    const idb = (await b.beginAudit({})).id;
    const u = unit('z').key;
    expect((await a.claim(u, ida)).ok).toBe(true);
    t += 50_000;
    expect((await b.claim(u, idb)).ok).toBe(false);
    await a.heartbeat(ida);
    t += 50_000; // 100 s after the claim, 50 s after the heartbeat
    expect((await b.claim(u, idb)).ok).toBe(false);
    t += 11_000;
    expect(await b.claim(u, idb)).toMatchObject({ ok: true, tookOver: { auditId: ida, host: 'other-host' } });
  });

  it('an audit whose process died is marked killed by the next one and its claims are freed', async () => {
    const path = join(dir, 'k.db');
    const dead = deadPid();
    const a = await openStore(path, { pid: dead });
    const ida = (await a.beginAudit({ jobs: 1 })).id;
    await a.claim(unit('p').key, ida);
    await a.claim(unit('q').key, ida);
    const b = await openStore(path);
    const { id: idb, killed } = await b.beginAudit({});
    expect(killed.map((k) => k.id)).toEqual([ida]);
    expect((await b.audit(ida))?.status).toBe('killed');
    expect((await b.audit(idb))?.status).toBe('running');
    expect(await b.claims()).toEqual([]);
    // a live audit is left alone
    const c = await openStore(path);
    expect((await c.beginAudit({})).killed).toEqual([]);
    expect((await c.audit(idb))?.status).toBe('running');
  });
});

describe("the strip's recent verdicts", () => {
  it('match the results (errors included, more than kept, an older audit), and are refilled when an older database is opened', async () => {
    const path = join(dir, 'strip.db');
    await checkRecentVerdicts(() => openStore(path));
  });
});

describe('history and change detection', () => {
  it('classifies each verdict against the last informative one and keeps them in order', async () => {
    const s = await openStore(join(dir, 'h.db'));
    const id = (await s.beginAudit({})).id;
    const v1 = unit('tally', { version: '1.0' });
    const v2 = unit('tally', { version: '2.0', shasum: '1'.repeat(64) });
    const seq: Array<[typeof v1, Parameters<typeof newResult>[1], string]> = [
      [v1, 'reproducible', 'first'],
      [v1, 'reproducible', 'unchanged'],
      [v1, 'different', 'regression'],
      [v1, 'error', 'now-fails'],
      [v1, 'reproducible', 'fixed'], // compared with `different` (errors are not informative)
      [v2, 'equivalent', 'new-version'],
      [v2, 'build-failed', 'now-fails'],
      [v2, 'different', 'new-different'],
      [v2, 'upstream-integrity', 'upstream-integrity'],
    ];
    for (const [u, verdict] of seq) await s.recordResult(id, newResult(u, verdict));
    const h = await s.history('tally');
    expect(h.map((r) => [r.verdict, r.change])).toEqual(seq.map(([, v, c]) => [v, c]));
    expect(h[2]).toMatchObject({ prevVerdict: 'reproducible', prevVersion: '1.0' });
    expect(h[5]).toMatchObject({ version: '2.0', prevVersion: '1.0' });
    // qualifiers and filters
    expect(await s.history('tally#bincache')).toHaveLength(seq.length);
    expect(await s.history('tally#pkgcache')).toHaveLength(0);
    expect(await s.history('example.invalid.tally', 'x86_64')).toHaveLength(seq.length);
    expect(await s.history('tally', 'aarch64')).toHaveLength(0);
    // latest skips errors
    await s.recordResult(id, newResult(v2, 'error'));
    expect((await s.latest(v2.key))?.verdict).toBe('upstream-integrity');
    expect((await s.latestAll()).get(v2.key)?.verdict).toBe('upstream-integrity');
  });

  it('keeps every stored field (hashes, explanations, differences, attempts, reports) as written', async () => {
    const s = await openStore(join(dir, 'f.db'));
    const id = (await s.beginAudit({})).id;
    const u = unit('lc');
    const written = newResult(u, 'different', {
      attempts: 2,
      attemptVerdicts: ['different', 'different'],
      explanations: [{ kind: 'comment', detail: '.comment removed' }],
      error: null,
      reportHtml: '/r/report.html',
      logPath: '/r/build/build.log',
      emulator: 'qemu-aarch64 8.2 (binfmt qemu-aarch64, flags POCF)',
    });
    const r = await s.recordResult(id, written, 4321);
    expect(r).toMatchObject({
      attempts: 2,
      attemptVerdicts: ['different', 'different'],
      explanations: [{ kind: 'comment', detail: '.comment removed' }],
      differences: [{ region: '.text', detail: 'code differs' }],
      rebuiltSha256: 'e'.repeat(64),
      reportHtml: '/r/report.html',
      logPath: '/r/build/build.log',
      emulator: written.emulator,
      change: 'new-different',
    });
    expect(await s.items(id)).toEqual([
      expect.objectContaining({ unit: u.key, status: 'verified', wallMs: 4321 }),
    ]);
  });
});
