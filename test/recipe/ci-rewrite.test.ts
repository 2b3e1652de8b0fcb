import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Arch } from '../../src/engine/types.js';
import { dockerRunRewriteApplies, readRecipeFile, rewriteDockerRuns } from '../../src/recipe/index.js';
import { REPO } from '../helpers/cli.js';

/**
 * The CI's own commands (bincache functions.sh setup_env, 4791d37), run with
 * the host's awk and sed, are the oracle for rewriteDockerRuns.
 */
async function ciRewrite(dir: string, text: string, arch: Arch): Promise<string> {
  const file = join(dir, `SBUILD-${arch}`);
  await writeFile(file, text);
  const platform = arch === 'x86_64' ? 'linux/amd64' : 'linux/arm64';
  const awk = await execa('awk', [
    '-v',
    `platform=${platform}`,
    `
    /--platform/ { print; next }
    /docker[[:space:]]+run[[:space:]]/ {
        sub(/docker[[:space:]]+run[[:space:]]+/, "docker run --platform=\\"" platform "\\" ")
        print
        next
    }
    /docker[[:space:]]+container[[:space:]]+run[[:space:]]/ {
        sub(/docker[[:space:]]+container[[:space:]]+run[[:space:]]+/, "docker container run --platform=\\"" platform "\\" ")
        print
        next
    }
    { print }
    `,
    file,
  ]);
  await writeFile(file, `${awk.stdout}\n`);
  await execa('sed', ['-E', `/:${arch}"/b\ns/:\\$\\(uname -m\\)"/:${arch}"/g`, '-i', file]);
  return readFile(file, 'utf8');
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rebuild-ci-rewrite-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const EXAMPLE = join(REPO, 'examples', 'hello-docker-run', 'SBUILD');

describe("the 2025 CI's docker run rewrite", () => {
  it('rewrites a real docker-run recipe exactly as the CI commands do, for both arches, and a second pass changes nothing', async () => {
    const text = await readFile(EXAMPLE, 'utf8');
    for (const arch of ['x86_64', 'aarch64'] as const) {
      const rw = rewriteDockerRuns(text, arch);
      expect(rw.text).toBe(await ciRewrite(dir, text, arch));
      // Textual, like awk: the file's comment that quotes a docker run is rewritten too.
      expect(rw.changed.map((c) => c.after.trim())).toEqual([
        expect.stringMatching(/^# `docker run --platform="linux\/(amd64|arm64)" … bash/),
        expect.stringMatching(/^docker run --platform="linux\/(amd64|arm64)" --privileged --net="host"/),
        `"ghcr.io/pkgforge/devscripts/debian-builder-unstable:${arch}" \\`,
      ]);
      expect(rewriteDockerRuns(rw.text, arch).changed).toEqual([]);
    }
  });

  it('matches the CI commands on the edge cases: --platform already there, docker container run, tabs, a tag already fixed, no final newline', async () => {
    const text = [
      'docker run --platform=linux/amd64 "img:$(uname -m)"',
      'sudo docker\trun   -d "a:$(uname -m)" "b:$(uname -m)"',
      'docker container run --rm x',
      '# docker run in a comment',
      'docker run "a:x86_64" "b:$(uname -m)"',
      'echo dockerrun :$(uname -m) unquoted',
      'docker  container  run  docker run y',
    ].join('\n');
    for (const arch of ['x86_64', 'aarch64'] as const) {
      const rw = rewriteDockerRuns(text, arch);
      expect(rw.text, arch).toBe(await ciRewrite(dir, text, arch));
    }
    const rw = rewriteDockerRuns(text, 'x86_64');
    expect(rw.changed.map((c) => c.line)).toEqual([1, 2, 3, 4, 5, 7]);
  });

  it('applies only to docker:// build systems with x_exec.host, as BUILD_SYSTEM=DOCKER was set', () => {
    const recipe = readRecipeFile(EXAMPLE);
    expect(dockerRunRewriteApplies(recipe)).toBe(true);
    expect(dockerRunRewriteApplies({ ...recipe, bsys: 'host://debian' })).toBe(false);
    expect(dockerRunRewriteApplies({ ...recipe, hosts: [] })).toBe(false);
    expect(dockerRunRewriteApplies(readRecipeFile(join(REPO, 'examples', 'wc-host', 'SBUILD')))).toBe(false);
  });
});
