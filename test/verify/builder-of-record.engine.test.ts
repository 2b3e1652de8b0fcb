import { createHash } from 'node:crypto';
import { access, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BuildResult } from '../../src/build/result.js';
import { hashFile } from '../../src/hash/digest.js';
import type { VerifyResult } from '../../src/verify/types.js';
import { BIN, rebuild } from '../helpers/cli.js';
import {
  publishPackage,
  type RunningServer,
  startMetadataServer,
  startRegistry,
} from '../helpers/registry.js';
import { pushTinyImage } from '../helpers/tiny-image.js';

/**
 * pkgforge's builder of record, end to end: the loopback distribution
 * registry serves `ghcr.io/pkgforge/devscripts/alpine-builder` (through
 * --registry-mirror) with two dated tags and the floating one, each a tiny
 * image that says which it is. The recipe of record copies that marker into
 * its output, so the published bytes are reproduced only when rebuild pulled
 * the dated tag nearest before the build date, by its digest.
 */
const REPOSITORY = 'pkgforge/devscripts/alpine-builder';

function recipe(container: string): string {
  return `#!/SBUILD
_disabled: false
pkg: "marker"
pkg_id: "example.invalid.rebuild.marker"
pkg_type: "static"
description: "Copies the builder's marker (rebuild test)"
license:
  - "MIT"
provides:
  - "marker"
src_url:
  - "https://example.invalid/rebuild/marker"
x_exec:
  container: "${container}"
  host:
    - "x86_64-linux"
  shell: "sh"
  pkgver: |
    echo "1.0"
  run: |
    cat /builder-of-record > "\${SBUILD_OUTDIR}/marker"
`;
}

let work: string;
let registry: RunningServer & { storage: string };
let meta: RunningServer;
const digests: Record<string, string> = {};

async function readResult(dir: string): Promise<VerifyResult> {
  return JSON.parse(await readFile(join(dir, 'result.json'), 'utf8')) as VerifyResult;
}

function verify(args: string[]) {
  return rebuild([...args, '--metadata-base', meta.url, '--registry-mirror', `ghcr.io=${registry.url}`], {
    env: { XDG_CACHE_HOME: join(work, 'cache') },
  });
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'rebuild-builder-of-record-'));
  registry = await startRegistry();
  for (const tag of ['x86_64-v2025.01.08', 'x86_64-v2025.02.05', 'x86_64']) {
    digests[tag] = await pushTinyImage(registry.host, REPOSITORY, tag, {
      'builder-of-record': `${tag === 'x86_64' ? 'floating' : tag}\n`,
    });
  }
  const records: unknown[] = [];
  const publish = async (pkg: string, sbuild?: string, marker = 'x86_64-v2025.01.08\n') => {
    const p = await publishPackage(registry.url, {
      repo: 'bincache',
      arch: 'x86_64',
      pkg,
      pkgId: `example.invalid.rebuild.${pkg}`,
      pkgName: pkg,
      pkgFamily: pkg,
      version: '1.0',
      buildDate: '2025-01-22T09:51:37Z',
      mainFile: 'marker',
      files: [
        { name: 'marker', bytes: Buffer.from(marker) },
        ...(sbuild === undefined ? [] : [{ name: 'SBUILD', bytes: Buffer.from(sbuild) }]),
      ],
    });
    records.push(p.record);
  };
  await publish('marker', recipe('ghcr.io/pkgforge/devscripts/alpine-builder'));
  // the same builder named on Docker Hub, for which the run has no mirror
  await publish('marker-hub', recipe('pkgforge/alpine-builder'));
  // no recipe of record (ghcr_files without SBUILD, as in early-2025 bincache)
  await publish('marker-norecipe');
  // published bytes the recipe of record does not make (different, whatever --exclude hides)
  await publish('marker-other', recipe('ghcr.io/pkgforge/devscripts/alpine-builder'), 'made elsewhere\n');
  await writeFile(join(work, 'SBUILD'), recipe('ghcr.io/pkgforge/devscripts/alpine-builder'));
  // the same recipe with one comment more: other bytes, other digest
  await writeFile(
    join(work, 'SBUILD-edited'),
    `${recipe('ghcr.io/pkgforge/devscripts/alpine-builder')}# edited locally\n`,
  );
  meta = await startMetadataServer({ bincache: { x86_64: records } });
}, 120_000);

afterAll(async () => {
  if (registry) {
    const ids = await execa('docker', ['images', '-q', `${registry.host}/${REPOSITORY}`]).catch(
      () => undefined,
    );
    for (const id of new Set(ids?.stdout.split('\n').filter(Boolean) ?? []))
      await execa('docker', ['image', 'rm', '-f', id]).catch(() => undefined);
  }
  await meta?.stop();
  await registry?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

describe("pkgforge's builder image of record", () => {
  it('pulls the dated tag nearest before the build date by digest through the mirror, and the build in it reproduces the published bytes', async () => {
    const out = join(work, 'out-marker');
    const r = await verify(['marker', '--arch', 'x86_64', '--out', out]);
    expect(r.exitCode, `${r.stdout}\n${r.stderr}`).toBe(0);
    const res = await readResult(out);
    expect(res.verdict).toBe('reproducible');
    const [b] = res.inputs.builderOfRecord ?? [];
    expect(b).toMatchObject({
      asWritten: 'ghcr.io/pkgforge/devscripts/alpine-builder',
      status: 'pulled',
      choice: 'dated-tag',
      digest: digests['x86_64-v2025.01.08'],
      reference: `ghcr.io/${REPOSITORY}:x86_64-v2025.01.08@${digests['x86_64-v2025.01.08']}`,
      pulledAs: `${registry.host}/${REPOSITORY}@${digests['x86_64-v2025.01.08']}`,
    });
    expect(b?.reason).toMatch(/newest of 2 dated x86_64 tag\(s\) on or before the build date 2025-01-22/);
    expect(res.build?.inputs.image).toMatchObject({ id: b?.id, builder: 'pkgforge (of record)' });
    expect(res.inputs.pins.image.reason).toContain('builder of record');
    expect(await readFile(join(out, 'report.md'), 'utf8')).toContain('builder of record ghcr.io/');
  }, 300_000);

  it('says the builder differs from the one of record when its registry cannot be reached, and --local-builder asks for the stand-in', async () => {
    const out = join(work, 'out-hub');
    const r = await verify(['marker-hub', '--arch', 'x86_64', '--out', out]);
    const res = await readResult(out);
    const [b] = res.inputs.builderOfRecord ?? [];
    expect(b?.status).toBe('differs');
    expect(b?.reason).toMatch(
      /^the builder differs from the one of record \(docker\.io\/pkgforge\/alpine-builder:x86_64\): offline for docker\.io/,
    );
    // rebuild cannot make alpine-builder itself: the stand-in is refused with the fix, not substituted
    expect(res.verdict).toBe('error');
    expect(r.exitCode).not.toBe(0);

    const local = join(work, 'out-local');
    await verify(['marker', '--arch', 'x86_64', '--out', local, '--local-builder']);
    const lres = await readResult(local);
    expect(lres.inputs.builderOfRecord?.[0]?.reason).toMatch(/--local-builder/);
    expect(lres.verdict).not.toBe('reproducible');
  }, 300_000);

  it('verify --recipe FILE rebuilds a local recipe instead of the recipe of record, and the result says so', async () => {
    const without = join(work, 'out-norecipe');
    const r0 = await verify(['marker-norecipe', '--arch', 'x86_64', '--out', without]);
    expect(r0.exitCode).not.toBe(0);
    const res0 = await readResult(without);
    expect(res0.error?.fix).toMatch(/--recipe FILE/);

    const out = join(work, 'out-local-recipe');
    const file = join(work, 'SBUILD');
    const r = await verify(['marker-norecipe', '--arch', 'x86_64', '--out', out, '--recipe', file]);
    expect(r.exitCode, `${r.stdout}\n${r.stderr}`).toBe(0);
    const res = await readResult(out);
    expect(res.verdict).toBe('reproducible');
    expect(res.summary).toMatch(
      /rebuilt from the local recipe .*SBUILD; pkgforge published no recipe of record$/,
    );
    expect(res.inputs.recipe).toMatchObject({
      local: file,
      path: join(out, 'recipe', 'SBUILD'),
      ofRecord: { is: 'none' },
    });
    expect(await readFile(join(out, 'recipe', 'SBUILD'), 'utf8')).toBe(await readFile(file, 'utf8'));
    expect(res.inputs.notes?.join('\n')).toMatch(/a local recipe is rebuilt instead of the recipe of record/);

    // a recipe that cannot be read fails before anything is fetched, and writes nothing
    const bad = join(work, 'out-bad-recipe');
    const rb = await verify(['marker', '--arch', 'x86_64', '--out', bad, '--recipe', join(work, 'nope')]);
    expect(rb.exitCode).not.toBe(0);
    expect(rb.stderr).toMatch(/nope/);
    await expect(access(bad)).rejects.toThrow();
  }, 300_000);

  it('--recipe FILE with the bytes of the recipe of record says "identical to the recipe of record" (by SHA-256); one edited byte says "not the recipe of record"', async () => {
    const same = join(work, 'out-same-recipe');
    const r = await verify(['marker', '--arch', 'x86_64', '--out', same, '--recipe', join(work, 'SBUILD')]);
    expect(r.exitCode, `${r.stdout}\n${r.stderr}`).toBe(0);
    const res = await readResult(same);
    expect(res.summary).toMatch(/rebuilt from the local recipe .*SBUILD, identical to the recipe of record$/);
    expect(res.summary).not.toMatch(/not the recipe of record/);
    expect(r.stdout.replace(/\s+/g, ' ')).toMatch(/^REPRODUCIBLE — .* identical to the recipe of record /);
    expect(res.inputs.recipe.ofRecord).toEqual({ is: 'identical' });
    expect(res.inputs.notes?.join('\n')).toMatch(
      /is identical to the recipe of record \(SBUILD sha256 [0-9a-f]{64}\)/,
    );
    expect(await readFile(join(same, 'report.md'), 'utf8')).toMatch(/identical to the recipe rebuilt/);

    const edited = join(work, 'out-edited-recipe');
    const e = await verify([
      'marker',
      '--arch',
      'x86_64',
      '--out',
      edited,
      '--recipe',
      join(work, 'SBUILD-edited'),
    ]);
    expect(e.exitCode, `${e.stdout}\n${e.stderr}`).toBe(0);
    const eres = await readResult(edited);
    expect(eres.summary).toMatch(/rebuilt from the local recipe .*SBUILD-edited, not the recipe of record$/);
    const ofRecord = createHash('sha256')
      .update(await readFile(join(edited, 'published', 'SBUILD')))
      .digest('hex');
    expect(eres.inputs.recipe.ofRecord).toEqual({ is: 'different', digest: ofRecord });
    expect(eres.inputs.recipe.digest).not.toBe(ofRecord);
    const md = await readFile(join(edited, 'report.md'), 'utf8');
    expect(md).toContain(`SBUILD sha256:${ofRecord}`);
    expect(md).toMatch(/not rebuilt/);
  }, 300_000);

  it('verify --exclude leaves the region out of every report and says so; the verdict still counts it', async () => {
    const out = join(work, 'out-exclude');
    const r = await verify(['marker-other', '--arch', 'x86_64', '--out', out, '--exclude', 'content']);
    expect(r.exitCode, `${r.stdout}\n${r.stderr}`).toBe(2);
    const res = await readResult(out);
    expect(res.verdict).toBe('different');
    expect(res.differences.map((d) => d.region)).toEqual(['content']);
    const said = '1 region left out by --exclude (still counted in the verdict): content';
    // the terminal text may wrap it at spaces
    expect(r.stdout.replace(/\s+/g, ' ')).toContain(said);
    const md = await readFile(join(out, 'report.md'), 'utf8');
    expect(md).toContain(said);
    // the headline is the verdict and still names it; the list of differing regions does not
    expect(md).toMatch(/^# DIFFERENT — .*content/);
    // the list item the same verification shows without --exclude is gone
    const plain = join(work, 'out-no-exclude');
    expect((await verify(['marker-other', '--arch', 'x86_64', '--out', plain])).exitCode).toBe(2);
    const item = (await readFile(join(plain, 'report.md'), 'utf8'))
      .split('\n')
      .find((l) => l.startsWith('- ') && l.includes('content ('));
    expect(item).toBeDefined();
    expect(md).not.toContain(item);
    const forensic = await readFile(join(out, 'build', 'compare', 'marker.md'), 'utf8');
    expect(forensic).toContain(said);
    expect(forensic).not.toMatch(/### 1\. /);
    // the JSON record keeps everything
    const json = JSON.parse(await readFile(join(out, 'build', 'compare', 'marker.json'), 'utf8'));
    expect(json.differences.map((d: { region: string }) => d.region)).toEqual(['content']);
    expect(res.build?.outputs.find((o) => o.name === 'marker')?.comparison?.excluded).toEqual(['content']);
  }, 300_000);

  it('replay --exclude: the replayed reports leave the region out and say so; the verdict still counts it', async () => {
    const first = join(work, 'out-exclude');
    const again = join(work, 'out-exclude-replay');
    const r = await rebuild(['replay', join(first, 'result.json'), '--out', again, '--exclude', 'content'], {
      env: { XDG_CACHE_HOME: join(work, 'cache') },
    });
    expect(r.exitCode, `${r.stdout}\n${r.stderr}`).toBe(2);
    const res = await readResult(again);
    expect(res.verdict).toBe('different');
    expect(res.differences.map((d) => d.region)).toEqual(['content']);
    const said = '1 region left out by --exclude (still counted in the verdict): content';
    expect(r.stdout.replace(/\s+/g, ' ')).toContain(said);
    expect(await readFile(join(again, 'report.md'), 'utf8')).toContain(said);
    expect(res.build?.outputs.find((o) => o.name === 'marker')?.comparison?.excluded).toEqual(['content']);
  }, 300_000);

  it('build --exclude: the same option, the same effect on the forensic report and the summary', async () => {
    const image = `${registry.host}/${REPOSITORY}@${digests['x86_64-v2025.01.08']}`;
    await execa('docker', ['pull', image]);
    const expectDir = join(work, 'expect-other');
    await mkdir(expectDir, { recursive: true });
    await writeFile(join(expectDir, 'marker'), 'made elsewhere\n');
    const d = await hashFile(join(expectDir, 'marker'));
    await writeFile(
      join(expectDir, 'CHECKSUM'),
      `BLAKE3: ${d.blake3} ./marker\nSHA256: ${d.sha256} ./marker\n`,
    );
    const out = join(work, 'out-build-exclude');
    const r = await rebuild([
      'build',
      join(work, 'SBUILD'),
      '--arch',
      'x86_64',
      '--out',
      out,
      '--image-map',
      `ghcr.io/pkgforge/devscripts/alpine-builder=${image}`,
      '--expect',
      expectDir,
      '--exclude',
      'content',
    ]);
    expect(r.exitCode, `${r.stdout}\n${r.stderr}`).toBe(2);
    const said = '1 region left out by --exclude (still counted in the verdict): content';
    // the terminal text may wrap it at spaces
    expect(r.stdout.replace(/\s+/g, ' ')).toContain(said);
    const result = JSON.parse(await readFile(join(out, 'result.json'), 'utf8')) as BuildResult;
    expect(result.verdict).toBe('different');
    const marker = result.outputs.find((o) => o.name === 'marker');
    expect(marker?.comparison?.excluded).toEqual(['content']);
    expect(await readFile(join(out, 'compare', 'marker.md'), 'utf8')).toContain(said);
    expect(await readFile(join(out, 'compare', 'marker.html'), 'utf8')).toContain(said);
  }, 300_000);

  it('a download cache on a full file system: an environment error (exit 5) naming the cache directory, not a network failure retried', async () => {
    // a 64 KiB tmpfs in a private mount namespace, filled: room for directories, not for a byte of data
    const full = await mkdtemp(join(tmpdir(), 'rebuild-full-cache-'));
    const out = join(work, 'out-full-cache');
    const args = [
      'marker',
      '--arch',
      'x86_64',
      '--out',
      out,
      '--json',
      '--metadata-base',
      meta.url,
      '--registry-mirror',
      `ghcr.io=${registry.url}`,
    ];
    const sh = `mount -t tmpfs -o size=64k tmpfs '${full}' && head -c 65536 /dev/zero > '${full}/fill' 2>/dev/null; XDG_CACHE_HOME='${full}' exec node ${BIN} ${args.map((x) => `'${x}'`).join(' ')}`;
    const r = await execa('unshare', ['--mount', '--map-root-user', 'sh', '-c', sh], {
      reject: false,
      env: { CI: '1' },
      stdin: 'ignore',
    });
    await rm(full, { recursive: true, force: true });
    expect(r.exitCode, `${r.stdout}\n${r.stderr}`).toBe(5);
    const res = JSON.parse(r.stdout) as VerifyResult;
    expect(res.error).toMatchObject({ category: 'environment' });
    expect(res.error?.message).toMatch(/the file system is full \(ENOSPC\)/);
    expect(res.error?.fix).toContain(`free space on the file system that holds ${full}`);
    expect(r.stderr).not.toMatch(/failed after \d+ attempts/);
  }, 300_000);
});
