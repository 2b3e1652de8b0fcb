import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import tar from 'tar-stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExitCode } from '../../src/cli/exit-codes.js';
import type { VerifyResult } from '../../src/verify/types.js';
import { leftoverContainers, REPO, rebuild } from '../helpers/cli.js';
import {
  type PushFile,
  publishPackage,
  type RunningServer,
  startMetadataServer,
  startRegistry,
} from '../helpers/registry.js';
import { sstripCopy } from '../helpers/sstrip.js';

/**
 * Proof a maintainer can check, end to end as users run it: an auditor runs
 * `rebuild <pkg> --attest KEY` against real servers on loopback (Debian's
 * distribution registry holding pkgforge-shaped artifacts, a metadata
 * server) and the real engine, packs `rebuild evidence`, and a maintainer
 * checks it with `rebuild attest verify` and re-runs it with `rebuild replay`.
 */
const TALLY = join(REPO, 'examples', 'tally-container');
const PUB = join(TALLY, 'published', 'x86_64');

let work: string;
let registry: RunningServer & { storage: string };
let meta: RunningServer;

function tallyFiles(main: PushFile): PushFile[] {
  return [
    main,
    { name: 'SBUILD', path: join(TALLY, 'SBUILD') },
    { name: 'tally.version', path: join(PUB, 'tally.version') },
    { name: 'CHECKSUM', path: join(PUB, 'CHECKSUM') },
    { name: 'tally.log', bytes: Buffer.from('+ musl-gcc -static -O2 … (build log of record)\n') },
  ];
}

function cli(args: string[]) {
  return rebuild(args, { cwd: work, env: { XDG_CACHE_HOME: join(work, 'cache') } });
}

async function entries(bundle: string): Promise<{ name: string; body: Buffer }[]> {
  const out: { name: string; body: Buffer }[] = [];
  const ex = tar.extract();
  ex.on('entry', (h, s, next) => {
    const chunks: Buffer[] = [];
    s.on('data', (c: unknown) => chunks.push(c as Buffer));
    s.on('end', () => {
      out.push({ name: h.name, body: Buffer.concat(chunks) });
      next();
    });
  });
  const done = new Promise((resolve, reject) => {
    ex.on('finish', () => resolve(undefined));
    ex.on('error', reject);
  });
  ex.end(gunzipSync(await readFile(bundle)));
  await done;
  return out;
}

/** A copy of a bundle with its result.json rewritten (what a forger would send). */
async function rewriteResult(bundle: string, edit: (text: string) => string): Promise<string> {
  const pack = tar.pack();
  for (const e of await entries(bundle)) {
    const body = e.name === 'evidence/result.json' ? Buffer.from(edit(e.body.toString())) : e.body;
    pack.entry({ name: e.name, size: body.length }, body);
  }
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const c of pack as AsyncIterable<Buffer>) chunks.push(c);
  const path = join(work, `forged-${chunks.length}-${Date.now()}.tar.gz`);
  await writeFile(path, gzipSync(Buffer.concat(chunks)));
  return path;
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'rebuild-evidence-engine-'));
  registry = await startRegistry();
  const tally = await readFile(join(PUB, 'tally'));
  // Equivalent: sstrip-ed (no section headers, every loaded byte unchanged).
  const sstripped = join(work, 'tally-sstripped');
  await sstripCopy(join(PUB, 'tally'), sstripped);
  const changed = Buffer.from(tally);
  changed[changed.indexOf('(tally v') + 1] = 'T'.charCodeAt(0);
  const records: unknown[] = [];
  for (const [pkg, main] of [
    ['tally', { name: 'tally', path: join(PUB, 'tally') }],
    ['tally-eq', { name: 'tally', path: sstripped }],
    ['tally-diff', { name: 'tally', bytes: changed }],
  ] as const) {
    const p = await publishPackage(registry.url, {
      repo: 'bincache',
      arch: 'x86_64',
      buildDate: '2025-03-04T05:06:07Z',
      pkg,
      pkgName: pkg,
      pkgFamily: pkg,
      pkgId: `example.invalid.rebuild.${pkg}`,
      version: '2.1.0',
      mainFile: 'tally',
      files: tallyFiles(main),
    });
    records.push(p.record);
  }
  meta = await startMetadataServer({
    bincache: { x86_64: records, aarch64: [] },
    pkgcache: { x86_64: [], aarch64: [] },
  });
  const k = await cli(['keygen', '-o', join(work, 'auditor')]);
  expect(k.exitCode, k.stderr).toBe(0);
  const other = await cli(['keygen', '-o', join(work, 'someone-else')]);
  expect(other.exitCode, other.stderr).toBe(0);
}, 120_000);

afterAll(async () => {
  await meta?.stop();
  await registry?.stop();
  await rm(work, { recursive: true, force: true });
});

describe('evidence bundles and signed statements, end to end', () => {
  for (const [pkg, verdict, code] of [
    ['tally', 'reproducible', ExitCode.ok],
    ['tally-eq', 'equivalent', ExitCode.equivalent],
    ['tally-diff', 'different', ExitCode.different],
  ] as const) {
    it(`${verdict}: attested, bundled twice byte for byte, checked, replayed to the same verdict`, async () => {
      const out = join(work, `out-${pkg}`);
      const v = await cli([
        pkg,
        '--arch',
        'x86_64',
        '--out',
        out,
        '--attest',
        join(work, 'auditor.key'),
        '--metadata-base',
        meta.url,
        '--registry-mirror',
        `ghcr.io=${registry.url}`,
      ]);
      expect(v.exitCode, `${v.stdout}\n${v.stderr}`).toBe(code);
      expect(v.stdout).toContain('attestation.intoto.jsonl');
      const result = JSON.parse(await readFile(join(out, 'result.json'), 'utf8')) as VerifyResult;
      expect(result.verdict).toBe(verdict);

      const a = join(work, `${pkg}-a.tar.gz`);
      const b = join(work, `${pkg}-b.tar.gz`);
      expect((await cli(['evidence', out, '-o', a])).exitCode).toBe(0);
      expect((await cli(['evidence', join(out, 'result.json'), '-o', b])).exitCode).toBe(0);
      expect((await readFile(a)).equals(await readFile(b))).toBe(true);
      const names = (await entries(a)).map((e) => e.name);
      expect(names).toEqual(
        expect.arrayContaining([
          'evidence/result.json',
          'evidence/recipe/SBUILD',
          'evidence/build/build.log',
          'evidence/inputs.json',
        ]),
      );
      if (verdict !== 'reproducible') expect(names.some((n) => n.startsWith('evidence/compare/'))).toBe(true);

      // the maintainer's two commands
      const check = await cli([
        'attest',
        'verify',
        a,
        '--key',
        join(work, 'auditor.pub'),
        '--subject',
        join(out, 'published', 'tally'),
      ]);
      expect(check.exitCode, `${check.stdout}\n${check.stderr}`).toBe(0);
      expect(check.stdout).toContain(`attestation ok: ${verdict.toUpperCase()}`);
      const replay = await cli([
        'replay',
        a,
        '--out',
        join(work, `replay-${pkg}`),
        '--registry-mirror',
        `ghcr.io=${registry.url}`,
      ]);
      expect(replay.exitCode, `${replay.stdout}\n${replay.stderr}`).toBe(code);
      expect(replay.stdout).toMatch(new RegExp(`same verdict: ${verdict}`));
    });
  }

  it("replaying someone else's bundle never follows its recorded registry, cache or network mode", async () => {
    const trap = createServer((_req, res) => {
      trapHits++;
      res.writeHead(500).end();
    });
    let trapHits = 0;
    await new Promise<void>((r) => trap.listen(0, '127.0.0.1', r));
    const trapUrl = `http://127.0.0.1:${(trap.address() as AddressInfo).port}`;
    try {
      const hostile = await rewriteResult(join(work, 'tally-a.tar.gz'), (text) => {
        const r = JSON.parse(text) as VerifyResult;
        r.inputs.network = 'host';
        r.inputs.registry = { mirrors: { 'ghcr.io': trapUrl }, cacheDir: join(work, 'planted-cache') };
        return JSON.stringify(r);
      });
      const out = join(work, 'replay-hostile');
      const r = await cli(['replay', hostile, '--out', out, '--registry-mirror', `ghcr.io=${registry.url}`]);
      expect(r.exitCode, `${r.stdout}\n${r.stderr}`).toBe(ExitCode.ok);
      expect(trapHits).toBe(0);
      const after = JSON.parse(await readFile(join(out, 'result.json'), 'utf8')) as VerifyResult;
      expect(after.inputs.network).toBe('none');
      expect(await stat(join(work, 'planted-cache')).catch(() => undefined)).toBeUndefined();
    } finally {
      await new Promise((r) => trap.close(r));
    }
  });

  it('another key, another file, or an edited verdict each fail with their own exit code', async () => {
    const a = join(work, 'tally-diff-a.tar.gz');
    const wrongKey = await cli(['attest', 'verify', a, '--key', join(work, 'someone-else.pub')]);
    expect(wrongKey.exitCode).toBe(ExitCode.attestationInvalid);
    expect(wrongKey.stderr).toMatch(/signature invalid/);
    const wrongFile = await cli([
      'attest',
      'verify',
      a,
      '--key',
      join(work, 'auditor.pub'),
      '--subject',
      join(PUB, 'tally'),
    ]);
    expect(wrongFile.exitCode).toBe(ExitCode.attestationMismatch);
    expect(wrongFile.stderr).toMatch(/subject/);

    // the auditor's "different" edited into "reproducible", the bundle repacked
    const edited = await rewriteResult(a, (text) =>
      text.replace('"verdict": "different"', '"verdict": "reproducible"'),
    );
    const r = await cli(['attest', 'verify', edited, '--key', join(work, 'auditor.pub')]);
    expect(r.exitCode).toBe(ExitCode.attestationMismatch);
    expect(r.stderr).toMatch(/edited/);
    expect(await leftoverContainers()).toEqual([]);
  });
});
