import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Docker from 'dockerode';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashBytes } from '../../src/hash/digest.js';
import type { VerifyResult } from '../../src/verify/types.js';
import { leftoverContainers, REPO, rebuild } from '../helpers/cli.js';
import {
  type FaultyProxy,
  type PackageSpec,
  type PushFile,
  publishPackage,
  type RunningServer,
  startFaultyProxy,
  startMetadataServer,
  startRegistry,
} from '../helpers/registry.js';
import { sstripCopy } from '../helpers/sstrip.js';

/**
 * `rebuild <pkg> --arch A` end to end, as a user runs it, against real
 * servers on loopback: Debian's distribution registry holding artifacts laid
 * out like pkgforge's (one layer per file, titled by name), a metadata index
 * server, and a fault-injecting proxy. Builds run on the real engine.
 */
const EX = join(REPO, 'examples');
const TALLY = join(EX, 'tally-container');
const BUILD_DATE = '2025-03-04T05:06:07Z';

let work: string;
let registry: RunningServer & { storage: string };
let proxy: FaultyProxy;
let meta: RunningServer;
const records: { bincache: unknown[]; pkgcache: unknown[]; aarch64: unknown[] } = {
  bincache: [],
  pkgcache: [],
  aarch64: [],
};
const mains: Record<string, { sha256: string; blake3: string }> = {};
let datedTag: string | undefined;

function file(name: string, path: string): PushFile {
  return { name, path };
}

async function publish(spec: Omit<PackageSpec, 'arch' | 'buildDate'> & { arch?: PackageSpec['arch'] }) {
  // pkg_name and family default to pkg: each package its own OCI repository and name
  const full: PackageSpec = {
    arch: 'x86_64',
    buildDate: BUILD_DATE,
    pkgName: spec.pkg,
    pkgFamily: spec.pkg,
    ...spec,
  };
  const p = await publishPackage(registry.url, full);
  records[full.arch === 'aarch64' ? 'aarch64' : full.repo].push(p.record);
  const main = full.files.find((f) => f.name === full.mainFile)!;
  mains[full.arch === 'aarch64' ? `${full.pkg}@aarch64` : full.pkg] = hashBytes(
    main.bytes ?? (await readFile(main.path!)),
  );
  return p;
}

/** The files of the tally example as pkgforge would publish them, with `main` as the program. */
function tallyFiles(
  main: PushFile,
  sbuild: PushFile = file('SBUILD', join(TALLY, 'SBUILD')),
  arch: 'x86_64' | 'aarch64' = 'x86_64',
): PushFile[] {
  const pub = join(TALLY, 'published', arch);
  return [
    main,
    sbuild,
    file('tally.version', join(pub, 'tally.version')),
    file('CHECKSUM', join(pub, 'CHECKSUM')),
    { name: 'tally.log', bytes: Buffer.from('+ musl-gcc -static -O2 … (build log of record)\n') },
  ];
}

/** The CLI, pointed at the loopback servers, with its own download cache. */
function verify(args: string[], opts: { mirror?: string; cache?: string } = {}) {
  return rebuild(
    [...args, '--metadata-base', meta.url, '--registry-mirror', `ghcr.io=${opts.mirror ?? registry.url}`],
    { env: { XDG_CACHE_HOME: opts.cache ?? join(work, 'cache') } },
  );
}

async function readResult(dir: string): Promise<VerifyResult> {
  return JSON.parse(await readFile(join(dir, 'result.json'), 'utf8')) as VerifyResult;
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'rebuild-verify-test-'));
  registry = await startRegistry();
  proxy = await startFaultyProxy(registry.url);
  const pub = join(TALLY, 'published', 'x86_64');
  const tallyBytes = await readFile(join(pub, 'tally'));

  // reproducible: the example's published file
  await publish({
    repo: 'bincache',
    pkg: 'tally',
    pkgId: 'example.invalid.rebuild.tally',
    version: '2.1.0',
    mainFile: 'tally',
    files: tallyFiles(file('tally', join(pub, 'tally'))),
  });

  // equivalent: the same file sstrip-ed (section header table cut off, every loaded byte unchanged).
  // (A .comment only the published file carries is free text, never explained: not a fixture for this.)
  const sstripped = join(work, 'tally-sstripped');
  await sstripCopy(join(pub, 'tally'), sstripped);
  await publish({
    repo: 'bincache',
    pkg: 'tally-eq',
    pkgId: 'example.invalid.rebuild.tally-eq',
    version: '2.1.0',
    mainFile: 'tally',
    files: tallyFiles(file('tally', sstripped)),
  });

  // different: one byte of .rodata changed (the printf format string)
  const changed = Buffer.from(tallyBytes);
  const at = changed.indexOf('(tally v');
  expect(at).toBeGreaterThan(0);
  changed[at + 1] = 'T'.charCodeAt(0);
  await publish({
    repo: 'bincache',
    pkg: 'tally-diff',
    pkgId: 'example.invalid.rebuild.tally-diff',
    version: '2.1.0',
    mainFile: 'tally',
    files: tallyFiles({ name: 'tally', bytes: changed }),
  });

  // upstream integrity: the metadata's bsum is not the file's
  await publish({
    repo: 'bincache',
    pkg: 'tally-badsum',
    pkgId: 'example.invalid.rebuild.tally-badsum',
    version: '2.1.0',
    mainFile: 'tally',
    files: tallyFiles(file('tally', join(pub, 'tally'))),
    overrides: { bsum: 'f'.repeat(64) },
  });

  // unknown builder: the recipe names alpine-builder, which cannot be made offline
  const alpine = (await readFile(join(TALLY, 'SBUILD'), 'utf8')).replace(
    'ghcr.io/pkgforge/devscripts/debian-builder-unstable',
    'ghcr.io/pkgforge/devscripts/alpine-builder',
  );
  expect(alpine).toContain('alpine-builder');
  await publish({
    repo: 'bincache',
    pkg: 'tally-alpine',
    pkgId: 'example.invalid.rebuild.tally-alpine',
    version: '2.1.0',
    mainFile: 'tally',
    files: tallyFiles(file('tally', join(pub, 'tally')), { name: 'SBUILD', bytes: Buffer.from(alpine) }),
  });

  // build failure: the recipe of record fails half-way
  const broken = (await readFile(join(TALLY, 'SBUILD'), 'utf8')).replace(
    /^( *)echo .*\.version"$/m,
    '$1echo "cannot find libfoo" >&2; exit 42',
  );
  expect(broken).toContain('exit 42');
  await publish({
    repo: 'bincache',
    pkg: 'tally-broken',
    pkgId: 'example.invalid.rebuild.tally-broken',
    version: '2.1.0',
    mainFile: 'tally',
    files: tallyFiles(file('tally', join(pub, 'tally')), { name: 'SBUILD', bytes: Buffer.from(broken) }),
  });

  // several matches: `lc` in both repositories
  const lcPub = join(EX, 'wc-host', 'published', 'x86_64');
  for (const repo of ['bincache', 'pkgcache'] as const) {
    await publish({
      repo,
      pkg: 'lc',
      pkgId: `example.invalid.rebuild.lc.${repo}`,
      version: '0.3.0',
      mainFile: 'lc',
      files: [
        file('lc', join(lcPub, 'lc')),
        file('SBUILD', join(EX, 'wc-host', 'SBUILD')),
        file('CHECKSUM', join(lcPub, 'CHECKSUM')),
      ],
    });
  }

  // aarch64: the example as published, rebuilt under QEMU
  const pubArm = join(TALLY, 'published', 'aarch64');
  await publish({
    repo: 'bincache',
    arch: 'aarch64',
    pkg: 'tally',
    pkgId: 'example.invalid.rebuild.tally',
    version: '2.1.0',
    mainFile: 'tally',
    files: tallyFiles(file('tally', join(pubArm, 'tally')), undefined, 'aarch64'),
  });

  meta = await startMetadataServer({
    bincache: { x86_64: records.bincache, aarch64: records.aarch64 },
    pkgcache: { x86_64: records.pkgcache, aarch64: [] },
  });
}, 120_000);

afterAll(async () => {
  if (datedTag)
    await new Docker()
      .getImage(datedTag)
      .remove({ noprune: true })
      .catch(() => undefined);
  await meta?.stop();
  await proxy?.stop();
  await registry?.stop();
  await rm(work, { recursive: true, force: true });
});

describe('rebuild <pkg> --arch x86_64 against a loopback registry', () => {
  it('reproducible: fetched through a registry that drops the connection mid-blob, retried, verified, rebuilt byte for byte', async () => {
    const digest = `sha256:${mains.tally!.sha256}`;
    proxy.mode = { dropBlob: { times: 1, digest } };
    const out = join(work, 'out-tally');
    const t0 = Date.now();
    const r = await verify(['tally', '--arch', 'x86_64', '--out', out], {
      mirror: proxy.url,
      cache: join(work, 'cache-drop'),
    });
    proxy.mode = {};
    expect(r.stderr).not.toMatch(/internal error| {4}at /);
    expect(r.exitCode, `${r.stdout}\n${r.stderr}`).toBe(0);
    expect(proxy.blobGets(digest)).toBeGreaterThanOrEqual(2); // dropped once, fetched again
    const res = await readResult(out);
    expect(res.verdict).toBe('reproducible');
    expect(res.published).toMatchObject({
      name: 'tally',
      sha256: mains.tally!.sha256,
      blake3: mains.tally!.blake3,
      shasumOk: true,
      bsumOk: true,
    });
    expect(res.rebuilt).toMatchObject({
      name: 'tally',
      sha256: mains.tally!.sha256,
      blake3: mains.tally!.blake3,
    });
    expect(res.inputs.pins.pkgver).toBe('2.1.0');
    expect(res.build?.inputs.pkgver).toEqual({ source: 'pinned', value: '2.1.0' }); // x_exec.pkgver not run
    expect(res.inputs.manifestDigest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(res.inputs.recipe.digest).toBe(hashBytes(await readFile(join(TALLY, 'SBUILD'))).sha256);
    expect(res.inputs.pins.image.id).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(res.inputs.pins.image.reason).toMatch(
      /^no dated builder image before 2025-03-04; using local rebuild\/debian-builder:x86_64-/,
    );
    // the registry of record was asked (through the mirror) and has no such builder: said plainly
    expect(res.inputs.builderOfRecord?.[0]?.status).toBe('differs');
    expect(res.inputs.builderOfRecord?.[0]?.reason).toMatch(
      /^the builder differs from the one of record \(ghcr\.io\/pkgforge\/devscripts\/debian-builder-unstable:x86_64\): the registry has no tags/,
    );
    // the files of record and both reports are in the output directory
    expect((await readdir(join(out, 'published'))).sort()).toEqual([
      'CHECKSUM',
      'SBUILD',
      'tally',
      'tally.log',
      'tally.version',
    ]);
    const md = await readFile(join(out, 'report.md'), 'utf8');
    expect(md).toContain('REPRODUCIBLE');
    // when it started: local, with the zone, how long ago, and the ISO time
    expect(md).toMatch(
      /started \d{4}-\d{2}-\d{2} \d{2}:\d{2} \S+ \((just now|\d+ min ago)\), \d{4}-\d{2}-\d{2}T/,
    );
    expect(await readFile(join(out, 'report.html'), 'utf8')).toContain(mains.tally!.sha256);
    expect(r.stdout).toContain('REPRODUCIBLE');
    expect((await readdir(work)).filter((n) => n.includes('.partial-'))).toEqual([]);
    console.log(`reproducible run: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  });

  it('replay re-runs the recorded inputs (manifest by digest, same recipe, same image id) and gets the same verdict', async () => {
    const r = await rebuild(
      [
        'replay',
        join(work, 'out-tally', 'result.json'),
        '--out',
        join(work, 'out-tally-replay'),
        // a limit given to replay replaces the recorded one, and is recorded
        '--memory',
        '2',
        '--pids',
        '512',
      ],
      {
        env: { XDG_CACHE_HOME: join(work, 'cache') },
      },
    );
    expect(r.exitCode, `${r.stdout}\n${r.stderr}`).toBe(0);
    expect(r.stdout).toMatch(/same verdict: reproducible/i);
    const before = await readResult(join(work, 'out-tally'));
    const after = await readResult(join(work, 'out-tally-replay'));
    expect(after.replayOf).toMatchObject({ same: true, verdict: 'reproducible' });
    expect(after.inputs.manifestDigest).toBe(before.inputs.manifestDigest);
    expect(after.inputs.pins.image.id).toBe(before.inputs.pins.image.id);
    expect(after.inputs.pins.image.reason).toMatch(/^replay: the recorded image sha256:/);
    expect(after.rebuilt?.sha256).toBe(before.rebuilt?.sha256);
    expect(after.replayOf?.limits).toEqual({ memoryBytes: 2 * 1024 ** 3, pids: 512 });
    expect(after.build?.inputs.limits).toMatchObject({
      memoryBytes: 2 * 1024 ** 3,
      pids: 512,
      timeoutMs: before.build?.inputs.limits.timeoutMs,
    });
    expect(r.stdout).toMatch(/changed: limits: memory 4 GiB, .*pids 4096.* → memory 2 GiB, .*pids 512/);
  });

  it('replay refuses a result whose recipe digest no longer matches what the registry serves', async () => {
    const before = await readResult(join(work, 'out-tally'));
    const forged = {
      ...before,
      inputs: { ...before.inputs, recipe: { ...before.inputs.recipe, digest: '0'.repeat(64) } },
    };
    const path = join(work, 'forged', 'result.json');
    await execa('mkdir', ['-p', join(work, 'forged')]);
    await writeFile(path, JSON.stringify(forged));
    const r = await rebuild(['replay', path, '--out', join(work, 'out-forged')], {
      env: { XDG_CACHE_HOME: join(work, 'cache') },
    });
    expect(r.exitCode).toBe(6);
    expect(r.stderr).toMatch(/the recipe of record changed/);
    await expect(stat(join(work, 'out-forged'))).rejects.toThrow();
  });

  it('equivalent: the published file is sstrip-ed (no section headers); the dated builder tag is chosen', async () => {
    // A dated tag of the builder, older than the build date, in the engine: verify must pick it.
    const docker = new Docker();
    const local = (
      await docker.listImages({
        filters: { label: ['dev.rebuild.builder=debian-builder', 'dev.rebuild.arch=x86_64'] },
      })
    ).sort((a, b) => b.Created - a.Created)[0]!;
    datedTag = 'ghcr.io/pkgforge/devscripts/debian-builder-unstable:x86_64-v2025.02.26';
    await docker
      .getImage(local.Id)
      .tag({ repo: 'ghcr.io/pkgforge/devscripts/debian-builder-unstable', tag: 'x86_64-v2025.02.26' });
    const out = join(work, 'out-eq');
    const r = await verify(['tally-eq', '--arch', 'x86_64', '--out', out]);
    expect(r.exitCode, `${r.stdout}\n${r.stderr}`).toBe(1);
    const res = await readResult(out);
    expect(res.verdict).toBe('equivalent');
    expect(res.explanations.map((e) => e.kind)).toContain('layout');
    expect(res.differences).toEqual([]);
    expect(res.rebuilt?.sha256).toBe(mains.tally!.sha256);
    expect(res.inputs.pins.image.tag).toBe(datedTag);
    expect(res.inputs.pins.image.reason).toMatch(
      /^dated tag .*x86_64-v2025\.02\.26: the newest of 1 on or before the build date 2025-03-04/,
    );
    expect(await readFile(join(out, 'report.md'), 'utf8')).toMatch(/Explained differences/);
  });

  it('different: one .rodata byte differs; the report names the region', async () => {
    const out = join(work, 'out-diff');
    const r = await verify(['tally-diff', '--arch', 'x86_64', '--out', out, '--json']);
    expect(r.exitCode, r.stderr).toBe(2);
    const res = JSON.parse(r.stdout) as VerifyResult;
    expect(res.verdict).toBe('different');
    expect(res.differences.map((d) => d.region)).toContain('.rodata');
    expect(res.differences.find((d) => d.region === '.rodata')?.differingBytes).toBe(1);
    const md = await readFile(join(out, 'report.md'), 'utf8');
    expect(md).toMatch(/\.rodata/);
    // the forensic report is linked, and names the published file where it is kept (not the
    // temporary .expect/ copy the build compared with)
    expect(md).toContain('[`build/compare/tally.html`](build/compare/tally.html)');
    const forensic = JSON.parse(await readFile(join(out, 'build', 'compare', 'tally.json'), 'utf8'));
    expect(forensic.a.path).toBe(join(out, 'published', 'tally'));
    await stat(forensic.a.path);
    for (const f of ['tally.json', 'tally.md', 'tally.html']) {
      const text = await readFile(join(out, 'build', 'compare', f), 'utf8');
      expect(text, f).not.toMatch(/\.expect\/|\.partial-/);
    }
    expect(JSON.stringify(res)).not.toMatch(/\.expect\/|\.partial-/);
  });

  it('upstream integrity: a wrong bsum in the metadata is reported before anything is built', async () => {
    const out = join(work, 'out-badsum');
    const r = await verify(['tally-badsum', '--arch', 'x86_64', '--out', out]);
    expect(r.exitCode, r.stderr).toBe(6);
    const res = await readResult(out);
    expect(res.verdict).toBe('upstream-integrity');
    expect(res.published).toMatchObject({
      shasumOk: true,
      bsumOk: false,
      blake3: mains['tally-badsum']!.blake3,
    });
    expect(res.build).toBeUndefined();
    expect(res.rebuilt).toBeUndefined();
    await expect(stat(join(out, 'build'))).rejects.toThrow();
    expect(r.stdout).toMatch(/UPSTREAM-INTEGRITY/);
  });

  it('a blob whose digest does not match (corrupting proxy) is a clean network/upstream error, not a verdict on the package', async () => {
    proxy.mode = { corruptBlob: `sha256:${mains.tally!.sha256}` };
    const out = join(work, 'out-corrupt');
    const r = await verify(['tally', '--arch', 'x86_64', '--out', out], {
      mirror: proxy.url,
      cache: join(work, 'cache-corrupt'),
    });
    proxy.mode = {};
    expect(r.stderr).not.toMatch(/internal error| {4}at /);
    expect([6, 7]).toContain(r.exitCode);
    const res = await readResult(out);
    expect(res.verdict).toBe('error');
    expect(res.error?.message).toMatch(/digest/i);
    expect(res.build).toBeUndefined();
  });

  it('several matches: a usage error listing them, exit 3; a qualifier picks one', async () => {
    const r = await verify(['lc', '--arch', 'x86_64', '--out', join(work, 'out-lc')]);
    expect(r.exitCode).toBe(3);
    expect(r.stderr).toMatch(/lc#bincache/);
    expect(r.stderr).toMatch(/lc#pkgcache/);
    expect(r.stderr).not.toMatch(/internal error| {4}at /);
    await expect(stat(join(work, 'out-lc'))).rejects.toThrow();
  });

  it('unknown builder image: error verdict, exit 5, with the fix', async () => {
    const out = join(work, 'out-alpine');
    const r = await verify(['tally-alpine', '--arch', 'x86_64', '--out', out]);
    expect(r.exitCode, r.stderr).toBe(5);
    const res = await readResult(out);
    expect(res.verdict).toBe('error');
    expect(res.error?.category).toBe('environment');
    expect(res.error?.fix).toMatch(/--image-map alpine-builder=/);
    expect(r.stdout).toMatch(/--image-map alpine-builder=/);
  });

  it('build failed: the recipe exits non-zero; the verdict carries the log tail, exit 4', async () => {
    const out = join(work, 'out-broken');
    const r = await verify(['tally-broken', '--arch', 'x86_64', '--out', out]);
    expect(r.exitCode, `${r.stdout}\n${r.stderr}`).toBe(4);
    const res = await readResult(out);
    expect(res.verdict).toBe('build-failed');
    expect(res.build?.failure?.exitCode).toBe(42);
    expect(res.build?.failure?.logTail.join('\n')).toMatch(/cannot find libfoo/);
    expect(await readFile(join(out, 'report.md'), 'utf8')).toMatch(/cannot find libfoo/);
    expect(await readFile(join(out, 'build', 'build.log'), 'utf8')).toMatch(/cannot find libfoo/);
  });

  it('aarch64 under QEMU: the example as published is reproducible', async () => {
    const out = join(work, 'out-tally-arm');
    const t0 = Date.now();
    const r = await verify(['tally', '--arch', 'aarch64', '--out', out]);
    expect(r.exitCode, `${r.stdout}\n${r.stderr}`).toBe(0);
    const res = await readResult(out);
    expect(res.verdict).toBe('reproducible');
    expect(res.package.arch).toBe('aarch64');
    expect(res.inputs.emulator).toMatch(/qemu/i);
    expect(res.rebuilt?.sha256).toBe(
      hashBytes(await readFile(join(TALLY, 'published', 'aarch64', 'tally'))).sha256,
    );
    console.log(`aarch64 run: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  });

  it('leaves no containers behind', async () => {
    expect(await leftoverContainers()).toEqual([]);
  });
});
