import { randomUUID } from 'node:crypto';
import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type Docker from 'dockerode';
import tar from 'tar-stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectEngine } from '../../src/engine/docker.js';
import {
  defaultAssetsDir,
  ensureBuilderImage,
  ensureHostRunnerImage,
  imageDigestInfo,
  LABELS,
  listImages,
} from '../../src/engine/images.js';
import { type Arch, PLATFORM } from '../../src/engine/types.js';
import { RebuildError } from '../../src/util/errors.js';

// Cold, these build the base images with mmdebstrap (aarch64 ≈ 3–4 min under
// QEMU, x86_64 ≈ 1 min); warm, they reuse them in well under a second.

let docker: Docker;
const progress = (line: string) => {
  if (process.env.REBUILD_TEST_VERBOSE) process.stderr.write(`${line}\n`);
};

beforeAll(async () => {
  docker = await connectEngine();
});

/** Runs `cmd` in a throw-away container (network none), returns its output; always removes it. */
async function runIn(image: string, arch: Arch, cmd: string[]): Promise<{ code: number; out: string }> {
  const platform = `${PLATFORM[arch].os}/${PLATFORM[arch].architecture}`;
  const container = await docker.createContainer({
    Image: image,
    Cmd: cmd,
    Tty: true,
    NetworkDisabled: true,
    HostConfig: { NetworkMode: 'none', AutoRemove: false },
    platform,
  } as Docker.ContainerCreateOptions);
  try {
    await container.start();
    const { StatusCode } = (await container.wait()) as { StatusCode: number };
    const logs = (await container.logs({ stdout: true, stderr: true, follow: false })) as unknown as Buffer;
    return { code: StatusCode, out: logs.toString('utf8') };
  } finally {
    await container.remove({ force: true });
  }
}

describe.each(['x86_64', 'aarch64'] as const)('%s images', (arch) => {
  const architecture = PLATFORM[arch].architecture;

  it('ensures base, builder and host-runner with the right architecture and labels', async () => {
    const builder = await ensureBuilderImage(docker, arch, { onProgress: progress });
    const hostRunner = await ensureHostRunnerImage(docker, arch, { onProgress: progress });
    const base = builder.base!;
    expect(base.role).toBe('base');
    expect(hostRunner.base!.id).toBe(base.id);

    for (const img of [base, builder, hostRunner]) {
      const info = await docker.getImage(img.tag).inspect();
      expect(info.Id).toBe(img.id);
      expect(info.Architecture).toBe(architecture);
      expect(info.Os).toBe('linux');
      const labels = info.Config.Labels ?? {};
      expect(labels[LABELS.role]).toBe(img.role);
      expect(labels[LABELS.arch]).toBe(arch);
      expect(labels[LABELS.inputsHash]).toBe(img.inputsHash);
      expect(img.tag).toBe(
        `${img.role === 'base' ? 'rebuild/base' : `rebuild/${img.builder}`}:${arch}-${img.inputsHash.slice(0, 12)}`,
      );
    }
    expect(builder.tag).toMatch(new RegExp(`^rebuild/debian-builder:${arch}-[0-9a-f]{12}$`));
    // the floating tag points at the image just ensured
    expect((await docker.getImage(`rebuild/debian-builder:${arch}`).inspect()).Id).toBe(builder.id);
    expect((await docker.getImage(`rebuild/host-runner:${arch}`).inspect()).Id).toBe(hostRunner.id);

    const digest = await imageDigestInfo(docker, `rebuild/debian-builder:${arch}`);
    expect(digest).toMatchObject({ id: builder.id, architecture, os: 'linux', repoDigests: [] });

    const listed = await listImages(docker);
    for (const img of [base, builder, hostRunner]) {
      expect(listed.find((l) => l.id === img.id)).toMatchObject({
        role: img.role,
        arch,
        builder: img.builder,
        inputsHash: img.inputsHash,
        tag: img.tag,
      });
    }
  });

  it('reuses the images on a second call (nothing is built again)', async () => {
    const first = await ensureBuilderImage(docker, arch);
    const again = await ensureBuilderImage(docker, arch);
    const hostRunner = await ensureHostRunnerImage(docker, arch);
    expect(again.id).toBe(first.id);
    expect(again.reused).toBe(true);
    expect(again.base!.reused).toBe(true);
    expect(hostRunner.reused).toBe(true);
  });

  it('runs the target arch, with the tools and the docker shim in place', async () => {
    const builder = await ensureBuilderImage(docker, arch);
    const r = await runIn(builder.tag, arch, [
      'bash',
      '-c',
      'uname -m; test -d /build-bins && echo build-bins; for t in gcc musl-gcc file rsync git curl patchelf zstd xz b3sum; do command -v $t >/dev/null || echo "missing $t"; done; echo "$GIT_TERMINAL_PROMPT $LC_ALL"',
    ]);
    expect(r.code).toBe(0);
    expect(r.out.split(/\r?\n/)).toEqual([arch, 'build-bins', '0 C.UTF-8', '']);

    const hostRunner = await ensureHostRunnerImage(docker, arch);
    const h = await runIn(hostRunner.tag, arch, ['readlink', '/usr/local/bin/docker']);
    expect(h.out.trim()).toBe('/opt/rebuild/runners/docker-shim');
  });
});

describe('inputs hash, locking and failures (x86_64, throw-away builder)', () => {
  let assets: string;
  const name = `test-builder-${randomUUID().slice(0, 8)}`;
  const made = new Set<string>();

  beforeAll(async () => {
    assets = await mkdtemp(join(tmpdir(), 'rebuild-assets-'));
    await mkdir(join(assets, 'dockerfiles'));
    await copyFile(
      join(defaultAssetsDir(), 'dockerfiles', 'debian-builder.packages'),
      join(assets, 'dockerfiles', 'debian-builder.packages'),
    );
  });

  afterAll(async () => {
    // Children first: an image with a child (a planted parent, should a build use it) cannot be removed.
    for (const ref of [`rebuild/${name}:x86_64`, ...[...made].reverse()]) {
      await docker
        .getImage(ref)
        .remove({ force: true })
        .catch(() => undefined);
    }
    await rm(assets, { recursive: true, force: true });
  });

  const dockerfile = (extra: string) =>
    writeFile(join(assets, 'dockerfiles', `${name}.Dockerfile`), `ARG BASE\nFROM \${BASE}\n${extra}\n`);

  it('two concurrent ensures build once; a changed Dockerfile builds a new image on the same base', async () => {
    await dockerfile('RUN echo one > /one');
    const [a, b] = await Promise.all([
      ensureBuilderImage(docker, 'x86_64', { builder: name, assetsDir: assets }),
      ensureBuilderImage(docker, 'x86_64', { builder: name, assetsDir: assets }),
    ]);
    made.add(a.tag);
    expect(b.id).toBe(a.id);
    expect([a.reused, b.reused].sort()).toEqual([false, true]);
    const real = await ensureBuilderImage(docker, 'x86_64');
    expect(a.base!.id).toBe(real.base!.id);

    await dockerfile('RUN echo two > /two');
    const c = await ensureBuilderImage(docker, 'x86_64', { builder: name, assetsDir: assets });
    made.add(c.tag);
    expect(c.reused).toBe(false);
    expect(c.id).not.toBe(a.id);
    expect(c.inputsHash).not.toBe(a.inputsHash);
    expect((await docker.getImage(`rebuild/${name}:x86_64`).inspect()).Id).toBe(c.id);
    // going back to the first Dockerfile finds the first image again by its inputs hash
    await dockerfile('RUN echo one > /one');
    const back = await ensureBuilderImage(docker, 'x86_64', { builder: name, assetsDir: assets });
    expect(back).toMatchObject({ id: a.id, reused: true, inputsHash: a.inputsHash });
    expect((await docker.getImage(`rebuild/${name}:x86_64`).inspect()).Id).toBe(a.id);
  });

  it('a committed child of the base planted to match a step is never taken from the build cache', async () => {
    // Expected: the planted image (same parent, same step config, a changed file) is not used as the step's
    // result; the builder's /m holds what its Dockerfile wrote. Before builds ran without the cache, the
    // engine's classic builder took the planted image for the RUN step and rebuild recorded it as its own.
    const nonce = randomUUID();
    const step = `echo legit-${nonce} > /m`;
    await dockerfile(`RUN ${step}`);
    const base = (await ensureBuilderImage(docker, 'x86_64')).base!;
    const baseConfig = (await docker.getImage(base.id).inspect()).Config;
    const planted = await docker.createContainer({
      Image: base.id,
      Cmd: ['/bin/sh', '-c', step],
      Env: baseConfig.Env,
      Labels: baseConfig.Labels,
      AttachStdout: false,
      AttachStderr: false,
      HostConfig: { NetworkMode: 'none' },
    } as Docker.ContainerCreateOptions);
    let forged: string;
    try {
      const pack = tar.pack();
      pack.entry({ name: 'm', mode: 0o644 }, 'planted\n');
      pack.finalize();
      await planted.putArchive(pack as unknown as NodeJS.ReadableStream, { path: '/' });
      forged = ((await planted.commit()) as { Id: string }).Id;
      made.add(forged);
    } finally {
      await planted.remove({ force: true });
    }
    const built = await ensureBuilderImage(docker, 'x86_64', { builder: name, assetsDir: assets });
    made.add(built.id);
    expect(built.reused).toBe(false);
    const history = (await docker.getImage(built.id).history()) as { Id: string }[];
    expect(history.map((h) => h.Id)).not.toContain(forged);
    expect((await runIn(built.id, 'x86_64', ['cat', '/m'])).out.trim()).toBe(`legit-${nonce}`);
  });

  it('a failing Dockerfile step rejects with the step output and leaves no container behind', async () => {
    const marker = `marker-${randomUUID()}`;
    await dockerfile(`RUN echo ${marker} && exit 3`);
    let err: unknown;
    try {
      await ensureBuilderImage(docker, 'x86_64', { builder: name, assetsDir: assets });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(RebuildError);
    const e = err as RebuildError;
    expect(e.category).toBe('environment');
    expect(e.message).toContain(`building ${name} for x86_64 failed`);
    expect(e.message).toContain(marker);
    const left = await docker.listContainers({ all: true });
    expect(left.filter((c) => c.Command.includes(marker))).toEqual([]);
  });

  it('a step that needs the network fails (builds run with network none)', async () => {
    await dockerfile('RUN curl -fsS --max-time 5 http://deb.debian.org/ >/dev/null');
    await expect(ensureBuilderImage(docker, 'x86_64', { builder: name, assetsDir: assets })).rejects.toThrow(
      /failed/,
    );
  });

  it('a Dockerfile that does not start FROM the base is refused before any build', async () => {
    await writeFile(join(assets, 'dockerfiles', 'alpine-ish.Dockerfile'), 'FROM alpine:edge\nRUN true\n');
    const p = ensureBuilderImage(docker, 'x86_64', { builder: 'alpine-ish', assetsDir: assets });
    await expect(p).rejects.toThrow(/cannot be built offline/);
    await expect(
      ensureBuilderImage(docker, 'x86_64', { builder: 'nope', assetsDir: assets }),
    ).rejects.toThrow(/no Dockerfile for builder "nope"/);
  });
});
