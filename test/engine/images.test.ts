import { mkdir, mkdtemp, readFile, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import tar from 'tar-stream';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  binfmtHandlerPath,
  checkBinfmt,
  mmdebstrapArgs,
  mmdebstrapVersion,
  parsePackageList,
  readPackageList,
} from '../../src/engine/base-image.js';
import { collectDir, contextHash, contextTar } from '../../src/engine/build-context.js';
import {
  cacheDir,
  defaultAssetsDir,
  floatingTagFor,
  hashTagFor,
  inputsHashOf,
  withLock,
} from '../../src/engine/images.js';
import { RebuildError } from '../../src/util/errors.js';

let tmp: string;
beforeEach(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'rebuild-images-'));
});
afterEach(async () => {
  vi.unstubAllEnvs();
  await rm(tmp, { recursive: true, force: true });
});

async function rejection(p: Promise<unknown>): Promise<RebuildError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(RebuildError);
    return err as RebuildError;
  }
  throw new Error('expected a rejection');
}

describe('package list', () => {
  it('parses names, skipping comments, blanks and duplicates', () => {
    expect(parsePackageList('# head\nbash\n\n  coreutils  # the basics\nbash\nlibstdc++6\n')).toEqual([
      'bash',
      'coreutils',
      'libstdc++6',
    ]);
  });

  it('names the line of a bad entry', () => {
    expect(() => parsePackageList('bash\ngcc g++\n', 'list.packages')).toThrow(/line 2: "gcc g\+\+"/);
    expect(() => parsePackageList('# only a comment\n')).toThrow(/empty/);
  });

  it('the shipped list holds what recipes need', async () => {
    const pkgs = await readPackageList(join(defaultAssetsDir(), 'dockerfiles', 'debian-builder.packages'));
    for (const p of [
      'bash',
      'coreutils',
      'build-essential',
      'musl-tools',
      'file',
      'rsync',
      'git',
      'curl',
      'ca-certificates',
      'pkg-config',
      'binutils',
      'patchelf',
      'xz-utils',
      'zstd',
      'findutils',
      'procps',
    ]) {
      expect(pkgs).toContain(p);
    }
  });

  it('mmdebstrap gets the arch, suite, packages and target', () => {
    const args = mmdebstrapArgs('aarch64', ['bash', 'file'], '/t/rootfs.tar');
    expect(args).toContain('--arch=arm64');
    expect(args).toContain('--variant=apt');
    expect(args).toContain('--include=bash,file');
    expect(args.slice(-2)).toEqual(['bookworm', '/t/rootfs.tar']);
    expect(mmdebstrapArgs('x86_64', ['bash'], 'x')).toContain('--arch=amd64');
  });
});

describe('host checks', () => {
  it('needs no handler for the native arch', () => {
    expect(binfmtHandlerPath('x86_64', 'x86_64')).toBeUndefined();
    expect(binfmtHandlerPath('aarch64', 'x86_64')).toBe('/proc/sys/fs/binfmt_misc/qemu-aarch64');
  });

  it('a missing or disabled binfmt handler is an environment error naming the fix', async () => {
    const missing = await rejection(checkBinfmt('aarch64', join(tmp, 'qemu-aarch64')));
    expect(missing.category).toBe('environment');
    expect(missing.message).toContain('aarch64 binfmt_misc handler is missing');
    expect(missing.fix).toContain('sudo bash scripts/setup-engine.sh');
    const disabled = join(tmp, 'disabled');
    await writeFile(disabled, 'disabled\ninterpreter /usr/libexec/qemu-binfmt/aarch64-binfmt-P\n');
    expect((await rejection(checkBinfmt('aarch64', disabled))).message).toContain('disabled');
    const enabled = join(tmp, 'enabled');
    await writeFile(enabled, 'enabled\ninterpreter /usr/libexec/qemu-binfmt/aarch64-binfmt-P\nflags: PF\n');
    await expect(checkBinfmt('aarch64', enabled)).resolves.toBeUndefined();
  });

  it('a missing mmdebstrap is an environment error naming the fix', async () => {
    vi.stubEnv('PATH', join(tmp, 'empty-bin'));
    const e = await rejection(mmdebstrapVersion(join(tmp, 'mmdebstrap-version.json')));
    expect(e.category).toBe('environment');
    expect(e.message).toContain('mmdebstrap is not installed');
    expect(e.fix).toContain('sudo bash scripts/setup-engine.sh');
  });
});

describe('build context', () => {
  async function tree(): Promise<string> {
    const d = join(tmp, 'runners');
    await mkdir(join(d, 'lib'), { recursive: true });
    await writeFile(join(d, 'docker-shim'), '#!/bin/sh\necho shim\n', { mode: 0o755 });
    await writeFile(join(d, 'lib', 'common.sh'), 'x=1\n', { mode: 0o600 });
    return d;
  }

  it('collects files with normalised modes and hashes them stably', async () => {
    const files = await collectDir(await tree(), 'runners');
    expect(files.map((f) => [f.path, f.mode.toString(8)])).toEqual([
      ['runners/docker-shim', '755'],
      ['runners/lib/common.sh', '644'],
    ]);
    const h1 = contextHash(files);
    expect(contextHash([...files].reverse())).toBe(h1);
    // touching a file changes nothing, changing a byte or a mode does
    await utimes(join(tmp, 'runners', 'lib', 'common.sh'), 1, 1);
    expect(contextHash(await collectDir(join(tmp, 'runners'), 'runners'))).toBe(h1);
    await writeFile(join(tmp, 'runners', 'lib', 'common.sh'), 'x=2\n');
    expect(contextHash(await collectDir(join(tmp, 'runners'), 'runners'))).not.toBe(h1);
    const f0 = files[0]!;
    expect(contextHash([{ ...f0, mode: 0o644 }, files[1]!])).not.toBe(h1);
  });

  it('refuses symlinks in the context', async () => {
    const d = await tree();
    await symlink('/etc/passwd', join(d, 'leak'));
    expect((await rejection(collectDir(d, 'runners'))).message).toContain('other than files');
  });

  it('packs a deterministic tar with parent directories', async () => {
    const files = [
      { path: 'runners/docker-shim', mode: 0o755, bytes: Buffer.from('#!/bin/sh\n') },
      // biome-ignore lint/suspicious/noTemplateCurlyInString: a Dockerfile line
      { path: 'Dockerfile', mode: 0o644, bytes: Buffer.from('ARG BASE\nFROM ${BASE}\n') },
    ];
    const read = async () => {
      const chunks: Buffer[] = [];
      for await (const c of await contextTar(files)) chunks.push(c as Buffer);
      return Buffer.concat(chunks);
    };
    const a = await read();
    expect((await read()).equals(a)).toBe(true);
    const entries: { name: string; mode: number | undefined; mtime: number | undefined; body: string }[] = [];
    const ex = tar.extract();
    const done = new Promise<void>((resolve, reject) => {
      ex.on('entry', (h, stream, next) => {
        const parts: Buffer[] = [];
        stream.on('data', (c) => parts.push(c as Buffer));
        stream.on('end', () => {
          entries.push({
            name: h.name,
            mode: h.mode,
            mtime: h.mtime?.getTime(),
            body: Buffer.concat(parts).toString(),
          });
          next();
        });
      });
      ex.on('finish', resolve);
      ex.on('error', reject);
    });
    ex.end(a);
    await done;
    expect(entries.map((e) => e.name)).toEqual(['Dockerfile', 'runners/', 'runners/docker-shim']);
    expect(entries[2]!.mode).toBe(0o755);
    expect(entries.every((e) => e.mtime === 0)).toBe(true);
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a Dockerfile line
    expect(entries[0]!.body).toContain('FROM ${BASE}');
  });
});

describe('names and hashes', () => {
  it('hashes canonical JSON, independent of key order', () => {
    expect(inputsHashOf({ a: 1, b: [1, { y: 2, x: 1 }] })).toBe(
      inputsHashOf({ b: [1, { x: 1, y: 2 }], a: 1 }),
    );
    expect(inputsHashOf({ a: 1 })).not.toBe(inputsHashOf({ a: 2 }));
  });

  it('tags', () => {
    const h = 'abcdef0123456789'.repeat(4);
    expect(hashTagFor('builder', 'debian-builder', 'aarch64', h)).toBe(
      'rebuild/debian-builder:aarch64-abcdef012345',
    );
    expect(hashTagFor('base', 'debian-bookworm', 'x86_64', h)).toBe('rebuild/base:x86_64-abcdef012345');
    expect(floatingTagFor('host-runner', 'host-runner', 'aarch64')).toBe('rebuild/host-runner:aarch64');
  });
});

describe('withLock', () => {
  beforeEach(() => {
    vi.stubEnv('XDG_CACHE_HOME', join(tmp, 'cache'));
    // Locks live with the engine's state, not the download cache.
    vi.stubEnv('XDG_STATE_HOME', join(tmp, 'state'));
  });

  it('serialises holders of the same lock and removes the lock file', async () => {
    expect(cacheDir()).toBe(join(tmp, 'cache', 'rebuild'));
    const log: string[] = [];
    const waits: string[] = [];
    const job = (n: string) =>
      withLock(
        'same',
        (l) => waits.push(l),
        async () => {
          log.push(`${n} in`);
          await new Promise((r) => setTimeout(r, 150));
          log.push(`${n} out`);
          return n;
        },
      );
    expect(await Promise.all([job('a'), job('b')])).toEqual(['a', 'b']);
    // Either may win the lock; what matters is that they never overlap.
    expect([
      ['a in', 'a out', 'b in', 'b out'],
      ['b in', 'b out', 'a in', 'a out'],
    ]).toContainEqual(log);
    expect(waits.some((w) => w.includes(`pid ${process.pid}`))).toBe(true);
    await expect(readFile(join(tmp, 'state', 'rebuild', 'locks', 'same.lock'))).rejects.toThrow();
  });

  it('releases the lock when the work fails', async () => {
    await expect(
      withLock('fail', undefined, async () => {
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect(await withLock('fail', undefined, async () => 'again')).toBe('again');
  });

  it('takes over a lock whose holder died', async () => {
    const dir = join(tmp, 'state', 'rebuild', 'locks');
    await mkdir(dir, { recursive: true });
    // pid_max on Linux is at most 2^22: this pid cannot be alive
    await writeFile(join(dir, 'dead.lock'), `4194303 ${hostname()} 2020-01-01T00:00:00Z x`);
    const lines: string[] = [];
    // Taken over, not waited out: while the work runs the lock names this process.
    expect(
      await withLock(
        'dead',
        (l) => lines.push(l),
        async () => (await readFile(join(dir, 'dead.lock'), 'utf8')).split(' ')[0],
      ),
    ).toBe(String(process.pid));
    expect(lines.join('\n')).toContain('stale lock');
  });
});
