/**
 * The forensic corpus built INSIDE the real builder images — x86_64 natively,
 * aarch64 under QEMU — with their own gcc and binutils, then compared with
 * compare(). Each pair has a known ground truth (test/forensics/corpus.ts).
 * Containers: network none, removed afterwards.
 */
import { chmod, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type Docker from 'dockerode';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runContainer } from '../../src/engine/container.js';
import { connectEngine } from '../../src/engine/docker.js';
import { ensureBuilderImage } from '../../src/engine/images.js';
import { ARCHES, type Arch } from '../../src/engine/types.js';
import { compare } from '../../src/forensics/compare.js';
import { type Attack, makeAttacks, parseRuns, RUN_SCRIPT } from './attacks.js';
import {
  BUILD_SCRIPT,
  BUILT,
  CORPUS_CASES,
  CORPUS_SOURCES,
  checkCase,
  makePatchedVariants,
  postProcessingHeaderEffects,
} from './corpus.js';

const MACHINE: Record<Arch, string> = { x86_64: 'Advanced Micro Devices X86-64', aarch64: 'AArch64' };

let docker: Docker;
beforeAll(async () => {
  docker = await connectEngine();
});

for (const arch of ARCHES) {
  describe(`corpus built in the ${arch} builder image`, () => {
    let dir: string;
    let log = '';
    let image: { tag: string };
    let attacks: Attack[] = [];

    beforeAll(async () => {
      image = await ensureBuilderImage(docker, arch);
      dir = await mkdtemp(join(tmpdir(), `rebuild-corpus-${arch}-`));
      // Writable by the container's root also when the engine remaps it to an unprivileged uid.
      await chmod(dir, 0o777);
      const started = Date.now();
      const outcome = await runContainer(docker, {
        image: image.tag,
        arch,
        cmd: ['sh', `/corpus/${BUILD_SCRIPT}`, '/corpus', '/out'],
        mounts: [
          { host: CORPUS_SOURCES, container: '/corpus', readOnly: true },
          { host: dir, container: '/out' },
        ],
        network: 'none',
        user: `${process.getuid?.() ?? 0}:${process.getgid?.() ?? 0}`,
        limits: { timeoutMs: 10 * 60_000 },
        onOutput: (chunk) => {
          log += chunk.toString();
        },
      });
      log += `\n[${arch} corpus build: ${Date.now() - started} ms]`;
      expect(outcome.timedOut, log).toBe(false);
      expect(outcome.exitCode, log).toBe(0);
      // the container is gone
      await expect(docker.getContainer(outcome.containerId).inspect()).rejects.toThrow();
      await makePatchedVariants(dir);
      attacks = await makeAttacks(dir);
    });

    afterAll(async () => {
      if (dir) await rm(dir, { recursive: true, force: true });
    });

    it('built every binary for the target architecture with the image toolchain', async () => {
      const toolchain = await readFile(join(dir, 'toolchain.txt'), 'utf8');
      expect(toolchain.split('\n')[0]).toBe(arch);
      for (const f of BUILT) {
        const { stdout } = await execa('readelf', ['-h', join(dir, f)]);
        expect(stdout, f).toContain(MACHINE[arch]);
      }
      const base = await readFile(join(dir, 'base'));
      expect((await readFile(join(dir, 'same'))).equals(base)).toBe(true);
    });

    it("pkgforge's objcopy empties NOTE/GNU_PROPERTY and drops GNU_RELRO; strip alone keeps GNU_RELRO", async () => {
      const fx = await postProcessingHeaderEffects(dir);
      expect(fx.relroBefore).toBe(1);
      expect(fx.relroAfter).toBe(0);
      expect(fx.relroAfterStripOnly).toBe(1);
      expect(fx.notesBefore).toBeGreaterThan(0);
      expect(fx.notesAfter).toBe(fx.notesBefore);
      expect(fx.nonEmptyNotesAfter).toBe(0);
      expect(fx.headersAfter).toBe(fx.headersBefore - 1);
    });

    for (const c of CORPUS_CASES) {
      it(c.name, async () => {
        await checkCase(dir, c, compare, expect);
      });
    }

    it('red-team corpus: every attack gets its expected verdict, and the tampered files still run there', async () => {
      const names = [...new Set(attacks.map((x) => x.name))];
      let out = '';
      const outcome = await runContainer(docker, {
        image: image.tag,
        arch,
        cmd: ['sh', `/corpus/${RUN_SCRIPT}`, '/out', 'base', ...names],
        mounts: [
          { host: CORPUS_SOURCES, container: '/corpus', readOnly: true },
          { host: dir, container: '/out', readOnly: true },
        ],
        network: 'none',
        user: `${process.getuid?.() ?? 0}:${process.getgid?.() ?? 0}`,
        limits: { timeoutMs: 10 * 60_000 },
        onOutput: (chunk) => {
          out += chunk.toString();
        },
      });
      expect(outcome.exitCode, out).toBe(0);
      const runs = parseRuns(out);
      const ref = runs.get('base');
      expect(ref?.rc, out).toBe(0);
      for (const x of attacks) {
        const c = await compare(join(dir, x.name), join(dir, x.against));
        const why = c.differences.map((d) => `${d.region}: ${d.detail}`).join('\n');
        expect(c.verdict, `${arch} ${x.name} (${x.what}) vs ${x.against}\n${why}`).toBe(x.expect);
        if (x.runs) expect(runs.get(x.name), `${arch} ${x.name} still runs like base`).toEqual(ref);
      }
    });
  });
}
