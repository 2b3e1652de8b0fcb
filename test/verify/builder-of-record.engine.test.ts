import { access, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { VerifyResult } from '../../src/verify/types.js';
import { rebuild } from '../helpers/cli.js';
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
  const publish = async (pkg: string, sbuild?: string) => {
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
        { name: 'marker', bytes: Buffer.from('x86_64-v2025.01.08\n') },
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
  await writeFile(join(work, 'SBUILD'), recipe('ghcr.io/pkgforge/devscripts/alpine-builder'));
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
    expect(res.summary).toMatch(/rebuilt from the local recipe .*SBUILD, not the recipe of record$/);
    expect(res.inputs.recipe).toMatchObject({ local: file, path: join(out, 'recipe', 'SBUILD') });
    expect(await readFile(join(out, 'recipe', 'SBUILD'), 'utf8')).toBe(await readFile(file, 'utf8'));
    expect(res.inputs.notes?.join('\n')).toMatch(/a local recipe is rebuilt instead of the recipe of record/);

    // a recipe that cannot be read fails before anything is fetched, and writes nothing
    const bad = join(work, 'out-bad-recipe');
    const rb = await verify(['marker', '--arch', 'x86_64', '--out', bad, '--recipe', join(work, 'nope')]);
    expect(rb.exitCode).not.toBe(0);
    expect(rb.stderr).toMatch(/nope/);
    await expect(access(bad)).rejects.toThrow();
  }, 300_000);
});
