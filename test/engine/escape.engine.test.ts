import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Docker from 'dockerode';
import { execa } from 'execa';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { BuildResult } from '../../src/build/result.js';
import { BIN, leftoverContainers, rebuild } from '../helpers/cli.js';

/**
 * Red team: hostile 2025-style recipes whose `run` script calls `docker`,
 * written by an attacker who has read the shim, run through the real CLI on
 * the real engine. Each attack names its expected outcome before it runs;
 * every test then checks that the victim (a host directory and file the
 * recipe knows the path of) is untouched, that no container is left and
 * that rebuild left no work directory behind.
 */
const IMG = 'ghcr.io/pkgforge/devscripts/debian-builder-unstable:$(uname -m)';

let work: string;
/** TMPDIR of the rebuild processes: their work directories land here, so leftovers are ours to see. */
let tmp: string;
let victim: string;
let secret: string;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'rebuild-escape-test-'));
  tmp = join(work, 'tmp');
  await mkdir(tmp);
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});
beforeEach(async () => {
  victim = await mkdtemp(join(tmpdir(), 'rebuild-victim-'));
  secret = `secret-${randomBytes(8).toString('hex')}`;
  await writeFile(join(victim, 'secret'), `${secret}\n`);
});

async function victimUntouched(): Promise<void> {
  expect(await readdir(victim)).toEqual(['secret']);
  expect(await readFile(join(victim, 'secret'), 'utf8')).toBe(`${secret}\n`);
  await rm(victim, { recursive: true, force: true });
}

/** Writes `<work>/<name>.SBUILD`: a 2025 recipe whose `x_exec` holds `exec` (lines after `shell: bash`). */
async function writeRecipe(name: string, description: string, exec: string[]): Promise<string> {
  const recipe = join(work, `${name}.SBUILD`);
  const head = ['#!/SBUILD', '_disabled: false', 'pkg: esc', 'pkg_type: static'];
  const tail = ['src_url: [https://example.invalid]', 'x_exec:', '  shell: bash'];
  await writeFile(recipe, [...head, `description: ${description}`, ...tail, ...exec, ''].join('\n'));
  return recipe;
}

/** `run: |` with each line indented under it. */
function runBlock(lines: string[]): string[] {
  return ['  run: |', ...lines.map((l) => `    ${l}`)];
}

/** Runs a hostile recipe (its script ends by writing the main output, so the build itself succeeds). */
async function attack(name: string, script: string[]): Promise<{ log: string; result: BuildResult }> {
  const recipe = await writeRecipe(
    name,
    'tries to escape',
    runBlock([...script, 'echo ok > "$SBUILD_OUTDIR/esc"']),
  );
  const out = join(work, `${name}-out`);
  const r = await rebuild(['build', recipe, '--arch', 'x86_64', '--out', out, '--pkgver', '1'], {
    env: { TMPDIR: tmp },
    // Only catches a hang (a FIFO, a frozen container never thawed): these builds take seconds.
    timeoutMs: 5 * 60_000,
  });
  expect(r.exitCode, r.stderr.slice(-4000)).toBe(0);
  const log = await readFile(join(out, 'build.log'), 'utf8');
  const result = JSON.parse(await readFile(join(out, 'result.json'), 'utf8')) as BuildResult;
  expect(await leftoverContainers()).toEqual([]);
  expect(await readdir(tmp)).toEqual([]);
  expect(log).not.toContain(secret);
  return { log, result };
}

describe('a hostile recipe never reaches the host (x86_64)', () => {
  it('docker cp: planted staging names, symlinked and hard-linked destinations, `..` sources', async () => {
    // Expected: rebuild has no host-side staging any more, so the planted `.rebuild-cp-*` links are never
    // used; a copy into a missing directory fails like docker's (exit 1); a destination that is a link to
    // the victim is resolved inside the copy helper's own root (where the victim does not exist), never on
    // the host; `..` in the source path stays inside the inner container (its own /etc/marker is copied);
    // copying into a container is refused (125).
    const { log, result } = await attack('cp', [
      `V=${victim}`,
      'now=$(date +%s%3N)',
      'for i in $(seq 0 2000); do ln -s "$V" "/sbuild/.rebuild-cp-$((now + i))"; done',
      `docker run --name b ${IMG} bash -c 'mkdir /o && echo pwned > /o/file && echo inner > /etc/marker && ln /etc/marker /o/hard && ln -s "${victim}/secret" /o/sl'`,
      'docker cp b:/o/file /sbuild/missing/file; echo "cp-missing $?"',
      'ln -s "$V" /sbuild/dlink',
      'docker cp b:/o/file /sbuild/dlink; echo "cp-dlink $?"',
      'docker cp b:/o/. /sbuild/dlink/; echo "cp-dlink-dir $?"',
      'docker cp b:/o/file "$V/file"; echo "cp-abs $?"',
      'docker cp b:../../../../etc/marker /sbuild/marker; echo "cp-dotdot $?"',
      'echo x > /sbuild/mine && ln /sbuild/mine /sbuild/hl && docker cp b:/o/file /sbuild/hl; echo "cp-hardlink $?"',
      'docker cp /sbuild/mine b:/x; echo "cp-into $?"',
      'mkdir /sbuild/tree && docker cp b:/o /sbuild/tree/; echo "cp-tree $?"',
      'ls -la /sbuild/tree/o',
      'rm -f /sbuild/.rebuild-cp-* /sbuild/dlink',
    ]);
    expect(log).toMatch(/cp-missing 1/);
    expect(log).toMatch(/cp-abs 125/);
    expect(log).toMatch(/cp-dotdot 0/);
    expect(log).toMatch(/cp-hardlink 0/);
    expect(log).toMatch(/cp-into 125/);
    expect(log).toMatch(/cp-tree 0/);
    expect(result.outputs.map((o) => o.name).sort()).toEqual(['esc', 'hl', 'marker', 'mine']);
    const out = join(work, 'cp-out');
    expect(await readFile(join(out, 'marker'), 'utf8')).toBe('inner\n');
    // hl and mine were one inode: the copy replaced hl (as docker's extraction does) instead of writing through it.
    expect(await readFile(join(out, 'hl'), 'utf8')).toBe('pwned\n');
    expect(await readFile(join(out, 'mine'), 'utf8')).toBe('x\n');
    await victimUntouched();
  });

  it('docker cp: the destination is swapped for a link to the host while a large archive is written', async () => {
    // Expected: the archive is unpacked in the helper's private root, then copied by the helper; a swap
    // of /sbuild/dest for a link to the victim is followed, if at all, inside the helper's root. The
    // victim gains no file; the copy may fail (exit 1) or land in the work directory.
    const { log } = await attack('cp-swap', [
      `V=${victim}`,
      `docker run --name big ${IMG} bash -c 'mkdir /o && head -c 48M /dev/zero > /o/a-big && for i in $(seq 1 40); do echo $i > /o/z$i; done'`,
      'mkdir /sbuild/dest',
      '( while :; do rm -rf /sbuild/dest; ln -s "$V" /sbuild/dest; rm -f /sbuild/dest; mkdir /sbuild/dest; done ) &',
      'swapper=$!',
      'for n in 1 2 3; do docker cp big:/o/. /sbuild/dest/; echo "cp-swap $?"; done',
      'kill $swapper; wait $swapper 2>/dev/null',
      'rm -rf /sbuild/dest',
    ]);
    expect(log).toMatch(/cp-swap \d/);
    await victimUntouched();
  });

  it("docker cp through a link to the helper's own root: the helper's root is read-only", async () => {
    // Expected: a link planted in the work directory to /usr/bin is followed inside the copy helper,
    // whose root is read-only: the copy fails (exit 1) saying so, instead of changing the helper's
    // tools; a link to the helper's /tmp (its tmpfs) is private to it. The victim is untouched.
    const { log } = await attack('cp-ro', [
      `docker run --name b ${IMG} bash -c 'mkdir /o && echo pwned > /o/file'`,
      'ln -s /usr/bin /sbuild/binlink',
      'docker cp b:/o/file /sbuild/binlink/file; echo "cp-rootlink $?"',
      'ln -s /tmp /sbuild/tmplink',
      'docker cp b:/o/file /sbuild/tmplink/file; echo "cp-tmplink $?"',
      'ls /sbuild/tmplink/file 2>/dev/null || echo "not in the recipe\'s /tmp"',
      'rm -f /sbuild/binlink /sbuild/tmplink',
    ]);
    expect(log).toMatch(/cp-rootlink 1/);
    expect(log).toMatch(/Read-only file system/);
    expect(log).toMatch(/cp-tmplink 0/);
    expect(log).toMatch(/not in the recipe's \/tmp/);
    await victimUntouched();
  });

  it("a recipe that replaces a tool in its container's root changes only that container: the next build runs the image's own", async () => {
    // Expected: the build container's root is writable, as pkgforge's `docker run` gave it (real
    // recipes install packages there), so planting /usr/local/bin/gcc succeeds (exit 0) and the
    // result says why that root is writable; a second build in the same image sees no such file
    // (the container's writes went with it) and the host has none either.
    const first = await attack('rw-root', [
      'printf "#!/bin/sh\\necho planted\\n" > /usr/local/bin/gcc && chmod +x /usr/local/bin/gcc',
      'test "$(gcc)" = planted && echo "planted in its own root"',
    ]);
    expect(first.log).toMatch(/planted in its own root/);
    expect(first.result.inputs.hardening?.readOnlyRootFs.heldFor).toContain('x_exec.pkgver');
    // The build container's root is writable: the record must not say read-only roots held.
    expect(first.result.inputs.hardening?.readOnlyRootFs.held).toBe(false);
    expect(first.result.inputs.hardening?.readOnlyRootFs.notFor.map((n) => n.what)).toContain(
      'the build container (builder, host-runner or pkgforge/builds)',
    );
    const second = await attack('rw-root-after', [
      'if test -e /usr/local/bin/gcc; then echo "STILL PLANTED"; else echo "image untouched"; fi',
    ]);
    expect(second.log).toMatch(/image untouched/);
    expect(second.log).not.toMatch(/STILL PLANTED/);
    expect(existsSync('/usr/local/bin/gcc') ? readFileSync('/usr/local/bin/gcc', 'utf8') : '').not.toContain(
      'planted',
    );
  });

  it('-v: sources through links, outside the work directory, and every spelling of a host mount', async () => {
    // Expected: a source through a link to the victim is refused (125) before anything is created, so the
    // victim gains no `new/dir`; `/`, the victim, `..` escapes, `--volume=` and relative sources outside
    // the work directory are refused (125); `--mount` and `--volumes-from` are refused by the argv policy
    // (125); a named volume becomes a work subdirectory (0); a missing source below the work directory is
    // created by rebuild with the recipe frozen (0) and the inner container sees it.
    const { log } = await attack('mounts', [
      `V=${victim}`,
      'ln -s "$V" /sbuild/link',
      `docker run --rm -v /sbuild/link/new/dir:/x ${IMG} true; echo "v-link $?"`,
      `docker run --rm -v /sbuild/link:/x ${IMG} cat /x/secret; echo "v-linkroot $?"`,
      `docker run --rm -v /:/h ${IMG} true; echo "v-root $?"`,
      `docker run --rm -v "$V":/h ${IMG} true; echo "v-victim $?"`,
      `docker run --rm --volume=/sbuild/../..:/h ${IMG} true; echo "v-dotdot $?"`,
      `cd /sbuild && docker run --rm -v ../../etc:/h ${IMG} true; echo "v-rel $?"`,
      `docker run --rm --mount type=bind,source=/,target=/h ${IMG} true; echo "v-mount $?"`,
      `docker run --rm --volumes-from x ${IMG} true; echo "v-from $?"`,
      `docker run --rm -v named:/data ${IMG} bash -c 'echo in > /data/f'; echo "v-named $?"`,
      `docker run --rm -v /sbuild/fresh/a/b:/d ${IMG} bash -c 'echo in > /d/f'; echo "v-fresh $?"`,
      'cat /sbuild/fresh/a/b/f /sbuild/named/f',
      'rm -rf /sbuild/link /sbuild/fresh /sbuild/named',
    ]);
    expect(log).toMatch(/v-link 125/);
    expect(log).toMatch(/passes through the symlink "link"/);
    expect(log).toMatch(/v-linkroot 125/);
    for (const k of ['v-root', 'v-victim', 'v-dotdot', 'v-rel', 'v-mount', 'v-from']) {
      expect(log).toMatch(new RegExp(`${k} 125`));
    }
    expect(log).toMatch(/v-named 0/);
    expect(log).toMatch(/v-fresh 0/);
    await victimUntouched();
  });

  it('-v: the source is swapped for a link to the host between the check and the mount', async () => {
    // Expected: the source is checked with every container that can write the work directory frozen,
    // and they stay frozen until the engine has mounted it, so each run either mounts the real directory
    // or is refused as a link: the secret never appears, whatever the timing.
    const { log } = await attack('mount-race', [
      `V=${victim}`,
      '( while :; do rm -rf /sbuild/m; mkdir /sbuild/m; rm -rf /sbuild/m; ln -s "$V" /sbuild/m; done ) &',
      'swapper=$!',
      `for n in $(seq 1 12); do docker run --rm -v /sbuild/m:/h ${IMG} cat /h/secret; echo "race $?"; done`,
      'kill $swapper; wait $swapper 2>/dev/null',
      'rm -rf /sbuild/m',
    ]);
    expect(log.match(/^race \d+$/gm)).toHaveLength(12);
    await victimUntouched();
  });

  it('-v: a docker cp helper writing a link into the work directory while another run checks its source', async () => {
    // Expected: the copy helper (it writes where the recipe's archive says) runs its whole life inside the
    // freezer's lock, so no -v check and mount happens while it writes: each run either finds /sbuild/m a
    // real directory (created by rebuild with everything frozen, mounted empty) or the helper's link there
    // and is refused (125); the helper never replaces a directory with the link (its copy fails, 1). The
    // secret never appears and no run reports LEAK.
    const { log } = await attack('cp-mount-race', [
      `V=${victim}`,
      `docker run --name src ${IMG} bash -c 'mkdir /o && head -c 24M /dev/zero > /o/a-big && ln -s "${victim}" /o/m'`,
      'for n in 1 2 3 4 5 6; do',
      '  ( docker cp src:/o/. /sbuild/; echo "cp $?" ) &',
      `  docker run --rm -v /sbuild/m:/h ${IMG} bash -c 'cat /h/secret 2>/dev/null && echo LEAK; true'; echo "run $?"`,
      '  wait',
      '  rm -rf /sbuild/m /sbuild/a-big',
      'done',
    ]);
    expect(log.match(/^run (0|125)$/gm)).toHaveLength(6);
    expect(log.match(/^cp (0|1)$/gm)).toHaveLength(6);
    expect(log).not.toMatch(/^LEAK$/m);
    await victimUntouched();
  });

  it("raw requests to the shim's socket, env files and build contexts naming host paths", async () => {
    // Expected: a request with a relative working directory is refused (exit 125); a malformed request
    // gets 400 and a too large one 413; unknown URLs 404; the socket's directory is read-only, so the
    // recipe can neither replace the socket with a link nor plant files beside it; --env-file and
    // `docker build` (a host build context) are refused (125).
    const { log } = await attack('socket', [
      `V=${victim}`,
      'S=$REBUILD_SHIM_SOCKET',
      'req() { curl -s -o /dev/null -w "%{http_code}" --unix-socket "$S" --data-binary @- http://shim/v1/jobs; }',
      `job=$(printf '%s\\0' . 6 run --rm -v x:/h ${IMG} true | curl -s --unix-socket "$S" --data-binary @- http://shim/v1/jobs)`,
      'echo "raw-relative $(curl -s --unix-socket "$S" http://shim/v1/jobs/$job/exit)"',
      'echo "raw-malformed $(printf \'/sbuild\\0999\\0run\\0\' | req)"',
      'echo "raw-huge $(head -c 5M /dev/zero | req)"',
      'echo "raw-404 $(curl -s -o /dev/null -w "%{http_code}" --unix-socket "$S" http://shim/v1/jobs/../../etc/passwd)"',
      'ln -sf "$V/secret" "$S"; echo "sock-link $?"',
      'touch "$(dirname "$S")/planted"; echo "sock-plant $?"',
      `docker run --rm --env-file "$V/secret" ${IMG} true; echo "env-file $?"`,
      'docker build -f "$V/secret" "$V"; echo "build-ctx $?"',
      `docker run --rm ${IMG} true; echo "still-works $?"`,
    ]);
    expect(log).toMatch(/raw-relative 125/);
    expect(log).toMatch(/raw-malformed 400/);
    expect(log).toMatch(/raw-huge 413/);
    expect(log).toMatch(/raw-404 404/);
    expect(log).not.toMatch(/sock-link 0/);
    expect(log).not.toMatch(/sock-plant 0/);
    expect(log).toMatch(/env-file 125/);
    expect(log).toMatch(/build-ctx 125/);
    expect(log).toMatch(/still-works 0/);
    await victimUntouched();
  });

  it('docker run sent just before the script exits never starts a container after the build', async () => {
    // Expected: the script posts a burst of detached runs straight to the socket and exits at once; the shim is still carrying them out when the host-runner has gone.
    // Those not started by then are refused ("the build has ended"), those started are stopped and
    // removed with the others, so no container outlives the build (before the fix, late ones were
    // created after the cleanup, ran on after the work directory was removed and were left behind).
    const { log } = await attack('late', [
      'for i in $(seq 1 16); do',
      `  printf '%s\\0' /sbuild 7 run -d --name "late$i" "${IMG}" sleep 40 |`,
      '    curl -s -o /dev/null --unix-socket "$REBUILD_SHIM_SOCKET" --data-binary @- http://shim/v1/jobs',
      'done',
    ]);
    expect(log).toContain('the build has ended; no more containers are started');
    await victimUntouched();
  });

  it("a million ignored flags or a huge container name never swell rebuild's record", async () => {
    // Expected: a raw request carrying 300,000 ignored flags runs (0), its record names the first 16 and
    // counts the rest, so result.json stays small (before the fix, 8 such runs made a 250 MB result.json and
    // 1.9 GB of memory); a 100,000-character container name is refused like docker refuses it (125).
    const { log, result } = await attack('policy-flood', [
      'N=300000; flags=(); for ((k=0;k<N;k++)); do flags+=(-i); done',
      `job=$(printf '%s\\0' /sbuild $((N+4)) run --rm "\${flags[@]}" "${IMG}" true | curl -s --unix-socket "$REBUILD_SHIM_SOCKET" --data-binary @- http://shim/v1/jobs)`,
      'echo "flood $(curl -s --unix-socket "$REBUILD_SHIM_SOCKET" http://shim/v1/jobs/$job/exit)"',
      `docker run --rm --name "$(head -c 100000 /dev/zero | tr '\\0' a)" ${IMG} true 2>&1 | cut -c1-80; echo "long-name \${PIPESTATUS[0]}"`,
    ]);
    expect(log).toMatch(/^flood 0$/m);
    expect(log).toMatch(/^long-name 125$/m);
    expect(log).toContain('invalid container name');
    const policy = result.inputs.innerImages?.[0]?.policy ?? [];
    expect(policy).toHaveLength(17);
    expect(policy.at(-1)).toBe('299984 more flags ignored');
    expect(JSON.stringify(result).length).toBeLessThan(1024 * 1024);
    await victimUntouched();
  });

  it('x_exec.pkgver printing without end is refused, not held', async () => {
    // Expected: a version is one short line; rebuild keeps at most 64 KiB of what pkgver prints and refuses
    // more with a build error (exit 4) naming the bound (before the fix, 1.5 GB printed made rebuild hold
    // 4.9 GB and die with an internal error, exit 70).
    const recipe = await writeRecipe('pkgver-flood', 'pkgver floods', [
      '  pkgver: |',
      "    head -c 8M /dev/zero | tr '\\0' v",
      ...runBlock(['echo ok > "$SBUILD_OUTDIR/esc"']),
    ]);
    const out = join(work, 'pkgver-flood-out');
    const r = await rebuild(['build', recipe, '--arch', 'x86_64', '--out', out], {
      env: { TMPDIR: tmp },
      timeoutMs: 5 * 60_000,
    });
    expect(r.exitCode, r.stderr.slice(-2000)).toBe(4);
    expect(r.stdout + r.stderr).toMatch(/x_exec\.pkgver printed 8388608 bytes, more than a\s+version/);
    expect(await leftoverContainers()).toEqual([]);
    expect(await readdir(tmp)).toEqual([]);
    await victimUntouched();
  });

  it("docker cp helpers' private volumes: out of the recipe's reach, none left after failed or abandoned copies", async () => {
    // Expected: a link to /rebuild-stage (the helper's volume) leads only into the helper's own
    // copy of the file (the copy fails: same file, 1); a named volume `stage` becomes a work
    // subdirectory, empty (0); a copy onto a file with a directory fails (1); a copy whose client is
    // killed finishes in the shim; afterwards no volume made during the build is left dangling.
    const docker = new Docker();
    const dangling = async () =>
      new Set(
        ((await docker.listVolumes({ filters: { dangling: ['true'] } })).Volumes ?? []).map((v) => v.Name),
      );
    const before = await dangling();
    const { log } = await attack('cp-volume', [
      `docker run --name b ${IMG} bash -c 'mkdir /o && echo pwned > /o/file && head -c 50000000 /dev/zero > /o/big'`,
      'ln -s /rebuild-stage /sbuild/stagelink',
      'docker cp b:/o/file /sbuild/stagelink/file; echo "cp-stagelink $?"',
      `n=$(docker run --rm -v stage:/rebuild-stage ${IMG} bash -c 'ls -A /rebuild-stage | wc -l'); echo "v-named $? $n"`,
      'echo x > /sbuild/notadir',
      'docker cp b:/o /sbuild/notadir; echo "cp-notdir $?"',
      'timeout -s KILL 1 docker cp b:/o/big /sbuild/big; echo "cp-killed $?"',
      'docker cp b:/o/file /sbuild/SBUILD_TEMP/; echo "cp-ok $?"',
      'rm -rf /sbuild/stagelink /sbuild/stage /sbuild/notadir /sbuild/big',
    ]);
    expect(log).toMatch(/^cp-stagelink 1$/m);
    expect(log).toMatch(/^v-named 0 0$/m);
    expect(log).toMatch(/^cp-notdir 1$/m);
    expect(log).toMatch(/^cp-ok 0$/m);
    // Another build's helper may be between its removal and its volume's: asked again before blaming.
    let left = [...(await dangling())].filter((v) => !before.has(v));
    if (left.length > 0) {
      await new Promise((r) => setTimeout(r, 3000));
      const now = await dangling();
      left = left.filter((v) => now.has(v));
    }
    expect(left).toEqual([]);
    await victimUntouched();
  });

  it('docker cp onto FIFOs planted at the destination replaces them instead of blocking', async () => {
    // Expected: the copy helper removes an existing destination file before writing it, so a FIFO there
    // (as the destination itself, or inside a destination directory) is replaced by the copied file and
    // each copy ends at once (0) (before the fix, the helper blocked opening the FIFO while every
    // container that could read it was frozen, until the build's time limit).
    const { log } = await attack('cp-fifo', [
      `docker run --name src ${IMG} bash -c 'mkdir /o && echo data > /o/f'`,
      'mkfifo /sbuild/SBUILD_TEMP/f; mkdir /sbuild/SBUILD_TEMP/d; mkfifo /sbuild/SBUILD_TEMP/d/f',
      'timeout 120 docker cp src:/o/f /sbuild/SBUILD_TEMP/f; echo "cp-fifo-file $?"',
      'timeout 120 docker cp src:/o/. /sbuild/SBUILD_TEMP/d; echo "cp-fifo-dir $?"',
      'cat /sbuild/SBUILD_TEMP/f /sbuild/SBUILD_TEMP/d/f',
    ]);
    expect(log).toMatch(/^cp-fifo-file 0$/m);
    expect(log).toMatch(/^cp-fifo-dir 0$/m);
    expect(log).toMatch(/^data\ndata$/m);
    await victimUntouched();
  });

  it('docker cp of a path the inner container lacks fails at once instead of hanging', async () => {
    // Expected: the engine refuses the archive before the copy helper has started; the helper's stdin is
    // then already closed, and the copy fails with docker's error (125) instead of waiting (before the
    // fix, the helper waited on a stdin whose close it never saw, until the build's time limit).
    const { log } = await attack('cp-nosrc', [
      `docker run --name gone ${IMG} true`,
      'for p in /nonexistent /proc/self/root/etc/hostname; do',
      '  timeout 60 docker cp "gone:$p" /sbuild/SBUILD_TEMP/x; echo "cp-nosrc $?"',
      'done',
    ]);
    expect(log.match(/^cp-nosrc 125$/gm)?.length).toBe(2);
    await victimUntouched();
  });

  it('collection and inner containers: FIFOs, links, bad names, failed starts, floods of output', async () => {
    // Expected: a FIFO output is skipped without hanging, a link to the victim and a non-UTF-8 name are
    // skipped with reasons; an inner container that cannot start (unknown user) is refused (125) and
    // removed; `docker logs` of a 20 MiB container returns its last 8 MiB with a note; 80 MiB of
    // output with no newline caps build.log at 64 MiB with the cap stated in the log and the result.
    const { log, result } = await attack('collect', [
      `V=${victim}`,
      'mkfifo /sbuild/fifo',
      'ln -s "$V/secret" /sbuild/sec',
      "touch $'/sbuild/bad\\xff'",
      `docker run --name nouser --user nosuchuser ${IMG} true; echo "start-fail $?"`,
      `docker run -d --name loud ${IMG} bash -c 'head -c 20M /dev/zero | tr "\\0" a'`,
      'docker wait loud',
      'echo "logs-bytes $(docker logs loud | wc -c)"',
      'docker logs loud | head -c 200 | grep -o "bytes of this output were dropped"',
      'docker rm loud',
      'head -c 80M /dev/zero | tr "\\0" y',
    ]);
    expect(log).toMatch(/start-fail 125/);
    const bytes = Number(/logs-bytes (\d+)/.exec(log)?.[1]);
    expect(bytes).toBeGreaterThanOrEqual(8 * 1024 ** 2);
    expect(bytes).toBeLessThan(8 * 1024 ** 2 + 1024);
    expect(log).toMatch(/bytes of this output were dropped/);
    const skipped = Object.fromEntries(result.skippedOutputs.map((s) => [s.name, s.reason]));
    expect(skipped.fifo).toMatch(/not a regular file/);
    expect(skipped.sec).toMatch(/leaves the output directory/);
    expect(skipped['bad?']).toMatch(/not valid UTF-8/);
    const logSize = (await stat(join(work, 'collect-out', 'build.log'))).size;
    expect(logSize).toBeLessThan(64 * 1024 ** 2 + 4096);
    expect(log).toMatch(/build\.log capped at 67108864 bytes/);
    expect(result.notes.join('\n')).toMatch(/build\.log capped at 67108864 bytes/);
    await victimUntouched();
  });

  it("after a SIGKILL, the next run removes the killed run's containers, work and staging directories", async () => {
    // Expected: the killed run leaves a running container, its work directory and its `.partial`
    // staging; the next build removes all three before it starts and says so in its log.
    const recipe = join(work, 'sleeper.SBUILD');
    await writeFile(
      recipe,
      [
        '#!/SBUILD',
        '_disabled: false',
        'pkg: sleeper',
        'pkg_type: static',
        'description: sleeps',
        'src_url: [https://example.invalid]',
        'x_exec:',
        '  shell: bash',
        '  run: |',
        '    touch /sbuild/started; sleep 600',
        '',
      ].join('\n'),
    );
    const killedOut = join(work, 'killed-out');
    const child = execa(
      'node',
      [BIN, 'build', recipe, '--arch', 'x86_64', '--out', killedOut, '--pkgver', '1'],
      {
        reject: false,
        env: { CI: '1', TMPDIR: tmp },
      },
    );
    const started = async () => {
      for (const n of await readdir(tmp)) {
        if (await stat(join(tmp, n, 'sbuild', 'started')).catch(() => undefined)) return true;
      }
      return false;
    };
    for (let i = 0; i < 600 && !(await started()); i++) await new Promise((r) => setTimeout(r, 200));
    expect(await started()).toBe(true);
    child.kill('SIGKILL');
    await child;
    expect((await readdir(tmp)).length).toBe(1);
    expect((await readdir(work)).some((n) => n.startsWith('.killed-out.partial-'))).toBe(true);
    // attack() itself asserts that no container and no work directory is left.
    await attack('after-kill', []);
    expect((await readdir(work)).some((n) => n.startsWith('.killed-out.partial-'))).toBe(false);
    await victimUntouched();
  });

  it('an image derived from the builder (docker commit) never becomes the builder', async () => {
    // Expected: `docker commit` copies rebuild's labels, but rebuild knows its images by the ID it
    // recorded. With the committed image under the floating tag, the build still runs rebuild's image
    // (by ID, recorded in the result) and says the tag was moved back; under the content tag, the
    // build is refused (exit 5) naming the tag and the fix; `runner ls` never lists the committed image.
    const { result } = await attack('image-before', []);
    const ours = result.inputs.image;
    const docker = new Docker();
    const c = await docker.createContainer({ Image: ours.id, Cmd: ['true'], Labels: {} });
    const committed = (await c.commit({ comment: 'hostile' })) as { Id: string };
    await c.remove({ force: true });
    const floating = ours.tag.replace(/-[0-9a-f]{12}$/, '');
    const [repo, tag] = [
      ours.tag.slice(0, ours.tag.lastIndexOf(':')),
      ours.tag.slice(ours.tag.lastIndexOf(':') + 1),
    ];
    try {
      await docker.getImage(committed.Id).tag({ repo, tag: floating.slice(floating.lastIndexOf(':') + 1) });
      const again = await attack('image-floating', []);
      expect(again.result.inputs.image.id).toBe(ours.id);
      const ls = await rebuild(['runner', 'ls', '--json']);
      expect(ls.stdout).not.toContain(committed.Id.slice(7, 19));
      await docker.getImage(committed.Id).tag({ repo, tag });
      const r = await rebuild(
        [
          'build',
          join(work, 'image-before.SBUILD'),
          '--arch',
          'x86_64',
          '--out',
          join(work, 'image-refused'),
          '--pkgver',
          '1',
        ],
        {
          env: { TMPDIR: tmp },
        },
      );
      expect(r.exitCode, r.stderr).toBe(5);
      expect(r.stderr).toContain(`the tag ${ours.tag} names`);
      expect(r.stderr).toMatch(/docker rmi/);
      expect(await readdir(tmp)).toEqual([]);
    } finally {
      await docker.getImage(ours.id).tag({ repo, tag });
      await docker.getImage(ours.id).tag({ repo, tag: floating.slice(floating.lastIndexOf(':') + 1) });
      await docker
        .getImage(committed.Id)
        .remove({ force: true })
        .catch(() => undefined);
    }
    await victimUntouched();
  });
});
