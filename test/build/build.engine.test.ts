import { cp, mkdtemp, readdir, readFile, rm, stat, statfs, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BuildResult } from '../../src/build/result.js';
import { leftoverContainers, REPO, rebuild } from '../helpers/cli.js';

/**
 * End to end on the real engine: the CLI a user runs, the builder images
 * made offline, real containers (x86_64 natively, aarch64 under QEMU), real
 * compilers, real binutils. Nothing is mocked.
 */
let work: string;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'rebuild-build-test-'));
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

async function readResult(outDir: string): Promise<BuildResult> {
  return JSON.parse(await readFile(join(outDir, 'result.json'), 'utf8')) as BuildResult;
}

async function sha256sum(path: string): Promise<string> {
  return (await execa('sha256sum', [path])).stdout.split(/\s+/)[0]!;
}
async function b3sum(path: string): Promise<string> {
  return (await execa('b3sum', [path])).stdout.split(/\s+/)[0]!;
}

async function noPartialDirs(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((n) => n.includes('.partial-'));
}

/** A minimal SBUILD recipe: `run` lines under x_exec, in the builder image unless `container` is false. */
function sbuild(pkg: string, run: string[], container = true): string {
  return [
    '#!/SBUILD',
    '_disabled: false',
    `pkg: ${pkg}`,
    'pkg_type: static',
    `description: ${pkg}`,
    'src_url: [https://example.invalid]',
    'x_exec:',
    ...(container ? ['  container: ghcr.io/pkgforge/devscripts/debian-builder-unstable'] : []),
    '  shell: bash',
    '  run: |',
    ...run.map((l) => `    ${l}`),
    '',
  ].join('\n');
}

describe('rebuild build (x86_64, native)', () => {
  it('runs a 2026 container recipe in the builder and hashes its outputs like sha256sum and b3sum', async () => {
    const out = join(work, 'tally-x86_64');
    const r = await rebuild(['build', 'examples/tally-container/SBUILD', '--arch', 'x86_64', '--out', out]);
    expect(r.stderr).not.toMatch(/internal error/);
    expect(r.exitCode, r.stderr).toBe(0);
    const result = await readResult(out);
    expect(result.status).toBe('built');
    expect(result.recipe.mode).toBe('container');
    expect(result.inputs.image.asWritten).toBe('ghcr.io/pkgforge/devscripts/debian-builder-unstable');
    expect(result.inputs.image.id).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(result.inputs.emulator.kind).toBe('native');
    expect(result.inputs.pkgver).toEqual({ source: 'script', value: '2.1.0' });
    const tally = result.outputs.find((o) => o.name === 'tally')!;
    expect(tally.sha256).toBe(await sha256sum(join(out, 'tally')));
    expect(tally.blake3).toBe(await b3sum(join(out, 'tally')));
    expect((await execa('readelf', ['-h', join(out, 'tally')])).stdout).toMatch(
      /Machine:\s+Advanced Micro Devices X86-64/,
    );
    // post-processing: the published file has no symbols and no .comment; the original is kept
    const sections = (await execa('readelf', ['-S', '-W', join(out, 'tally')])).stdout;
    expect(sections).not.toMatch(/\.symtab|\.comment|\.note/);
    expect((await execa('readelf', ['-S', '-W', join(out, 'unstripped/tally')])).stdout).toMatch(/\.symtab/);
    expect(tally.unstripped?.sha256).toBe(await sha256sum(join(out, 'unstripped/tally')));
    // the program runs and the log is complete
    const run = await execa(join(out, 'tally'), { input: 'a b\nc\n' });
    expect(run.stdout).toBe('2 3 6 (tally v2)');
    expect(await readFile(join(out, 'build.log'), 'utf8')).toMatch(/musl-gcc -static/);
    expect(await noPartialDirs(work)).toEqual([]);
  });

  it('runs a 2025 docker-run recipe through the shim, under the container policy', async () => {
    const out = join(work, 'hello-x86_64');
    const r = await rebuild([
      'build',
      'examples/hello-docker-run/SBUILD',
      '--arch',
      'x86_64',
      '--out',
      out,
      '--json',
    ]);
    expect(r.exitCode, r.stderr).toBe(0);
    const result = JSON.parse(r.stdout) as BuildResult;
    expect(result.recipe.mode).toBe('docker-run');
    expect(result.inputs.image.asWritten).toBe('host-runner');
    expect(result.inputs.innerImages).toHaveLength(1);
    expect(result.inputs.innerImages[0]!.asWritten).toBe(
      'ghcr.io/pkgforge/devscripts/debian-builder-unstable:x86_64',
    );
    expect(result.inputs.innerImages[0]!.policy).toEqual(
      expect.arrayContaining(['--network host replaced by none', '--privileged ignored']),
    );
    // the default profile (bincache 2025-04-10) is older than the CI's docker run rewrite
    expect(result.inputs.recipeRewrite).toBeUndefined();
    expect((await execa(join(out, 'hello-rb'))).stdout).toBe('hello from a reproducible rebuild (1.0.0)');
  });

  it('runs a docker-run recipe as the CI of record rewrote it (--platform, :$(uname -m)) under a profile from 2025-06-25 on', async () => {
    const out = join(work, 'hello-rewritten-x86_64');
    const r = await rebuild([
      'build',
      'examples/hello-docker-run/SBUILD',
      '--arch',
      'x86_64',
      '--out',
      out,
      '--postprocess',
      'bincache-2025-06-25',
      '--json',
    ]);
    expect(r.exitCode, r.stderr).toBe(0);
    const result = JSON.parse(r.stdout) as BuildResult;
    expect(result.inputs.recipeRewrite?.source).toMatch(/^pkgforge\/bincache@4791d37:/);
    expect(result.inputs.recipeRewrite?.changed.map((c) => c.after.trim())).toEqual([
      expect.stringMatching(/^# `docker run --platform="linux\/amd64"/),
      expect.stringMatching(/^docker run --platform="linux\/amd64" --privileged/),
      '"ghcr.io/pkgforge/devscripts/debian-builder-unstable:x86_64" \\',
    ]);
    // the script ran the rewritten docker run (bash's trace shows it)
    const log = await readFile(join(out, 'build.log'), 'utf8');
    expect(log).toMatch(/^\+ docker run --platform=linux\/amd64 --privileged /m);
    expect(log).toMatch(/the CI of record rewrote 3 line\(s\)/);
    expect(result.inputs.innerImages[0]!.asWritten).toBe(
      'ghcr.io/pkgforge/devscripts/debian-builder-unstable:x86_64',
    );
    expect((await execa(join(out, 'hello-rb'))).stdout).toBe('hello from a reproducible rebuild (1.0.0)');
  });

  it('runs a host recipe in the host-runner, with --pkgver pinned', async () => {
    const out = join(work, 'lc-x86_64');
    const r = await rebuild([
      'build',
      'examples/wc-host/SBUILD',
      '--arch',
      'x86_64',
      '--out',
      out,
      '--pkgver',
      '9.9',
    ]);
    expect(r.exitCode, r.stderr).toBe(0);
    const result = await readResult(out);
    expect(result.recipe.mode).toBe('host');
    expect(result.inputs.pkgver).toEqual({ source: 'pinned', value: '9.9' });
    expect(await readFile(join(out, 'lc.version'), 'utf8')).toBe('9.9\n');
  });

  it('keeps the log and leaves no container behind when the build fails', async () => {
    const recipe = join(work, 'fails.SBUILD');
    await writeFile(
      recipe,
      `#!/SBUILD\n_disabled: false\npkg: fails\npkg_type: static\ndescription: fails\nsrc_url: [https://example.invalid]\nx_exec:\n  container: ghcr.io/pkgforge/devscripts/debian-builder-unstable\n  shell: bash\n  run: |\n    echo about to fail\n    exit 7\n`,
    );
    const out = join(work, 'fails-out');
    const r = await rebuild(['build', recipe, '--arch', 'x86_64', '--out', out, '--pkgver', '1']);
    expect(r.exitCode).toBe(4);
    const result = await readResult(out);
    expect(result.status).toBe('failed');
    expect(result.failure?.message).toMatch(/exited with status 7/);
    expect(result.failure?.logTail.join('\n')).toMatch(/about to fail/);
    expect(await readFile(join(out, 'build.log'), 'utf8')).toMatch(/about to fail/);
    expect(await leftoverContainers()).toEqual([]);
  });

  it('stops a build at its time limit, inner containers included, and leaves nothing running', async () => {
    const recipe = join(work, 'sleeps.SBUILD');
    await writeFile(
      recipe,
      sbuild(
        'sleeps',
        [
          'docker run --name sleeper ghcr.io/pkgforge/devscripts/debian-builder-unstable:$(uname -m) sleep 600',
        ],
        false,
      ),
    );
    const out = join(work, 'sleeps-out');
    // The recipe sleeps 600 s: ending with the time-limit failure (before the test's own hang bound) is the proof.
    const r = await rebuild([
      'build',
      recipe,
      '--arch',
      'x86_64',
      '--out',
      out,
      '--pkgver',
      '1',
      '--timeout',
      '0.2',
    ]);
    expect(r.exitCode).toBe(4);
    const result = await readResult(out);
    expect(result.failure?.timedOut).toBe(true);
    expect(await leftoverContainers()).toEqual([]);
  }, 600_000); // hang bound: below the recipe's 600 s sleep plus start-up, so a limit that never fires fails

  it.each([
    ["its own layer (the engine's data root)", '/var/tmp/fill'],
    ['its work directory (a host bind mount)', '"$SBUILD_OUTDIR/fill"'],
  ])(
    'stops a build that fills the disk through %s, before the disk is full',
    async (_where, target) => {
      const recipe = join(work, 'fills.SBUILD');
      await writeFile(
        recipe,
        sbuild('fills', [`while :; do dd if=/dev/zero bs=1M count=64 status=none >> ${target}; done`]),
      );
      const out = join(work, `fills-out-${target.includes('var') ? 'layer' : 'work'}`);
      // The reserve is set 256 MiB below what is free now: the endless writer must be stopped there.
      const s = await statfs(work);
      const reserveGiB = (s.bavail * s.bsize - 256 * 1024 ** 2) / 1024 ** 3;
      const r = await rebuild([
        'build',
        recipe,
        '--arch',
        'x86_64',
        '--out',
        out,
        '--pkgver',
        '1',
        '--timeout',
        '10',
        '--disk-reserve',
        reserveGiB.toFixed(6),
      ]);
      expect(r.exitCode, r.stderr).toBe(4);
      const result = await readResult(out);
      expect(result.failure?.message).toMatch(
        /free space on the file system of .* fell to .* below the .* a build must leave free/,
      );
      expect(result.failure?.fix).toMatch(/df -h .*--disk-reserve/);
      expect(result.failure?.timedOut).toBe(false);
      expect(result.inputs.limits.diskReserveBytes).toBeGreaterThan(0);
      expect(await leftoverContainers()).toEqual([]);
      // What it wrote went with its container and work directory.
      const after = await statfs(work);
      expect(after.bavail * after.bsize).toBeGreaterThan(s.bavail * s.bsize - 256 * 1024 ** 2);
    },
    600_000,
  ); // hang bound: the writer never ends by itself, so a guard that never fires fails at the 10 min limit

  it('refuses to start a build when the disk is already below the reserve, naming the disk and the fix', async () => {
    const recipe = join(work, 'never-runs.SBUILD');
    await writeFile(recipe, sbuild('never-runs', ['echo ran > ran']));
    const s = await statfs(work);
    const r = await rebuild([
      'build',
      recipe,
      '--arch',
      'x86_64',
      '--out',
      join(work, 'fills-out-refused'),
      '--pkgver',
      '1',
      '--disk-reserve',
      String(Math.ceil((s.bavail * s.bsize) / 1024 ** 3) + 1),
    ]);
    expect(r.exitCode, r.stderr).toBe(5);
    expect(r.stderr).toMatch(
      /free space on the file system of .* is .* GiB, below the .* GiB a build must leave free/,
    );
    expect(r.stderr).toMatch(/fix: free space there \(df -h .*\), or lower the reserve with --disk-reserve/);
    expect(await leftoverContainers()).toEqual([]);
  });

  it('removes everything on Ctrl-C: no container, no output directory, no staging', async () => {
    const recipe = join(work, 'interrupted.SBUILD');
    await writeFile(
      recipe,
      '#!/SBUILD\n_disabled: false\npkg: intr\npkg_type: static\ndescription: d\nsrc_url: [https://e.invalid]\nx_exec:\n  container: ghcr.io/pkgforge/devscripts/debian-builder-unstable\n  shell: bash\n  run: |\n    echo started; sleep 600\n',
    );
    const out = join(work, 'intr-out');
    const child = execa(
      'node',
      [join(REPO, 'bin/rebuild.js'), 'build', recipe, '--out', out, '--pkgver', '1'],
      {
        reject: false,
        cwd: REPO,
        env: { CI: '1' },
      },
    );
    let seen = '';
    await new Promise<void>((resolve, reject) => {
      child.stderr!.on('data', (c: Buffer) => {
        seen += c.toString();
        if (seen.includes('started')) resolve();
      });
      void child.then(() => reject(new Error(`the build ended before it started:\n${seen}`)));
    });
    child.kill('SIGINT');
    const r = await child;
    expect(r.exitCode).toBe(130);
    expect(await leftoverContainers()).toEqual([]);
    await expect(stat(out)).rejects.toThrow();
    expect(await noPartialDirs(work)).toEqual([]);
  });

  it('refuses what the policy forbids: host mounts, links out of the output, hostile docker cp', async () => {
    const recipe = join(work, 'hostile.SBUILD');
    await writeFile(
      recipe,
      [
        '#!/SBUILD',
        '_disabled: false',
        'pkg: hostile',
        'pkg_type: static',
        'description: tries to escape',
        'src_url: [https://example.invalid]',
        'x_exec:',
        '  shell: bash',
        '  run: |',
        '    docker run --name m -v /etc:/host-etc ghcr.io/pkgforge/devscripts/debian-builder-unstable:$(uname -m) true',
        '    echo "mount exit $?"',
        '    docker run --name b ghcr.io/pkgforge/devscripts/debian-builder-unstable:$(uname -m) bash -c \\',
        "      'mkdir -p /o && echo data > /o/hostile && ln -s /etc/passwd /o/passwd-link && ln -s ../../.. /o/up'",
        '    docker cp b:/o/. "$SBUILD_OUTDIR/"',
        '    ln -s /etc/shadow "$SBUILD_OUTDIR/shadow"',
        '    docker cp b:/o/hostile /etc/hostile-copy; echo "cp exit $?"',
        '    docker rm -f b',
        '',
      ].join('\n'),
    );
    const out = join(work, 'hostile-out');
    const r = await rebuild(['build', recipe, '--arch', 'x86_64', '--out', out, '--pkgver', '1']);
    expect(r.exitCode, r.stderr).toBe(0);
    const log = await readFile(join(out, 'build.log'), 'utf8');
    expect(log).toMatch(/"\/etc" is outside the work directory/);
    expect(log).toMatch(/mount exit 125/);
    // docker cp copies the links into the work directory (the host never follows them there); collection leaves them out.
    expect(log).toMatch(/not an output: passwd-link: symlink to "\/etc\/passwd" leaves the output directory/);
    expect(log).toMatch(/cp exit 125/);
    const result = await readResult(out);
    expect(result.outputs.map((o) => o.name)).toEqual(['hostile']);
    expect(result.skippedOutputs.map((s) => s.name).sort()).toEqual(['passwd-link', 'shadow', 'up']);
    expect(await readdir(out)).not.toContain('passwd-link');
    await expect(stat('/etc/hostile-copy')).rejects.toThrow();
    expect(await leftoverContainers()).toEqual([]);
  });

  it('rejects a malformed recipe and an unknown builder with clear errors', async () => {
    const bad = join(work, 'bad.SBUILD');
    await writeFile(bad, '#!/SBUILD\npkg: x\nx_exec:\n  shell: python\n');
    const r1 = await rebuild(['build', bad, '--out', join(work, 'bad-out')]);
    expect(r1.exitCode).toBe(3);
    expect(r1.stderr).toContain(bad);
    expect(r1.stderr).not.toMatch(/\n\s+at /);
    const alpine = join(work, 'alpine.SBUILD');
    await writeFile(
      alpine,
      '#!/SBUILD\n_disabled: false\npkg: a\npkg_type: static\ndescription: d\nsrc_url: [https://e.invalid]\nx_exec:\n  container: ghcr.io/pkgforge/devscripts/alpine-builder\n  shell: bash\n  run: "true"\n',
    );
    const r2 = await rebuild(['build', alpine, '--out', join(work, 'alpine-out'), '--pkgver', '1']);
    expect(r2.exitCode).toBe(5);
    expect(r2.stderr).toMatch(/alpine-builder/);
    expect(r2.stderr).toMatch(/fix:/);
    await expect(stat(join(work, 'alpine-out'))).rejects.toThrow();
  });
});

describe('rebuild build (aarch64 under QEMU) and verification', () => {
  it('builds the shipped 2026 example for aarch64 and reports reproducible against its published checksums', async () => {
    const out = join(work, 'tally-aarch64');
    const r = await rebuild([
      'build',
      'examples/tally-container/SBUILD',
      '--arch',
      'aarch64',
      '--out',
      out,
      '--expect',
      'examples/tally-container/published/aarch64',
    ]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/REPRODUCIBLE/);
    const result = await readResult(out);
    expect(result.status).toBe('reproducible');
    expect(result.inputs.emulator).toMatchObject({ kind: 'qemu-user', handler: 'qemu-aarch64' });
    expect(result.inputs.emulator.version).toMatch(/qemu-aarch64 version/);
    expect((await execa('readelf', ['-h', join(out, 'tally')])).stdout).toMatch(/Machine:\s+AArch64/);
  });

  it('reports a mismatch, and explains it, when one byte of the source changes', async () => {
    const dir = join(work, 'hello-changed');
    await cp(join(REPO, 'examples/hello-docker-run'), dir, { recursive: true });
    const recipe = join(dir, 'SBUILD');
    const text = await readFile(recipe, 'utf8');
    await writeFile(
      recipe,
      text.replace('hello from a reproducible rebuild', 'hello from a reproducible rebuilt'),
    );
    const out = join(work, 'hello-changed-out');
    const r = await rebuild([
      'build',
      recipe,
      '--arch',
      'aarch64',
      '--out',
      out,
      '--expect',
      join(dir, 'published/aarch64'),
    ]);
    expect(r.exitCode, r.stderr).toBe(2);
    const result = await readResult(out);
    expect(result.status).toBe('mismatch');
    expect(result.verdict).toBe('different');
    const main = result.outputs.find((o) => o.name === 'hello-rb')!;
    expect(main.check).toBe('mismatch');
    expect(main.comparison?.verdict).toBe('different');
    const report = JSON.parse(await readFile(join(out, main.comparison!.reports.json), 'utf8')) as {
      differences: { region: string }[];
    };
    expect(report.differences.map((d) => d.region)).toContain('.rodata');
    await stat(join(out, main.comparison!.reports.html));
  });
});

describe('rebuild build --source-commit (runners/git-pin in the builder)', () => {
  it('checks out the pinned commit after the recipe clones, instead of the current HEAD', async () => {
    // Commits are content-addressed: fixed names, dates and contents give the same SHA here and in the container.
    const gitEnv = {
      GIT_AUTHOR_NAME: 'r',
      GIT_AUTHOR_EMAIL: 'r@example.invalid',
      GIT_AUTHOR_DATE: '2025-01-01T00:00:00Z',
      GIT_COMMITTER_NAME: 'r',
      GIT_COMMITTER_EMAIL: 'r@example.invalid',
      GIT_COMMITTER_DATE: '2025-01-01T00:00:00Z',
    };
    const repo = join(work, 'origin');
    const git = (...args: string[]) => execa('git', args, { cwd: repo, env: gitEnv });
    await execa('mkdir', ['-p', repo]);
    await git('init', '-q');
    await writeFile(join(repo, 'file'), 'one\n');
    await git('add', 'file');
    await git('commit', '-q', '-m', 'one');
    const first = (await git('rev-parse', 'HEAD')).stdout.trim();
    const envLines = Object.entries(gitEnv).map(([k, v]) => `    export ${k}=${v}`);
    const recipe = join(work, 'pinned.SBUILD');
    await writeFile(
      recipe,
      [
        '#!/SBUILD',
        '_disabled: false',
        'pkg: pinned',
        'pkg_type: static',
        'description: d',
        'src_url: [https://example.invalid]',
        'x_exec:',
        '  container: ghcr.io/pkgforge/devscripts/debian-builder-unstable',
        '  shell: bash',
        '  run: |',
        ...envLines,
        '    mkdir -p "$SBUILD_TMPDIR/origin" && cd "$SBUILD_TMPDIR/origin" && git init -q',
        '    echo one > file && git add file && git commit -q -m one',
        '    echo two > file && git commit -q -am two',
        '    cd "$SBUILD_TMPDIR" && git clone -q "file://$SBUILD_TMPDIR/origin" src',
        '    cp src/file "$SBUILD_OUTDIR/pinned"',
        '',
      ].join('\n'),
    );
    const pinnedOut = join(work, 'pinned-out');
    const r1 = await rebuild([
      'build',
      recipe,
      '--out',
      pinnedOut,
      '--pkgver',
      '1',
      '--source-commit',
      first,
    ]);
    expect(r1.exitCode, r1.stderr).toBe(0);
    expect(await readFile(join(pinnedOut, 'pinned'), 'utf8')).toBe('one\n');
    const headOut = join(work, 'head-out');
    const r2 = await rebuild(['build', recipe, '--out', headOut, '--pkgver', '1']);
    expect(r2.exitCode, r2.stderr).toBe(0);
    expect(await readFile(join(headOut, 'pinned'), 'utf8')).toBe('two\n');
  });
});
