import { describe, expect, it } from 'vitest';
import { envOfRecord, recipeEnv, renderScript, versionsFromPkgverOutput } from '../../src/recipe/index.js';
import type { Recipe } from '../../src/recipe/types.js';

const recipe = {
  pkg: 'tool',
  pkgId: 'example.tool',
  pkgType: 'static',
  shell: 'bash',
  run: 'make\n',
} as unknown as Recipe;
const opts = { arch: 'x86_64' as const, pkgver: '1.2', outdir: '/sbuild', tmpdir: '/sbuild/SBUILD_TEMP' };

describe('the environment of record', () => {
  it('bash CI: shebang, two empty lines, set -x; pkg_ver = pkgver; zsh and fish get their own trace', () => {
    const bash = envOfRecord('bash-ci', 'bash');
    expect(renderScript(recipe, bash)).toBe('#!/usr/bin/env bash\n\n\nset -x\nmake\n');
    expect(envOfRecord('bash-ci', 'zsh').header).toBe(
      '#!/usr/bin/env zsh\n\n\nsetopt xtrace\nexport SHELLOPTS\n',
    );
    expect(envOfRecord('bash-ci', 'fish').header).toContain('set fish_trace 1');
    const env = recipeEnv(recipe, { ...opts, generation: 'bash-ci' });
    expect(env.PKG_VER).toBe('1.2');
    expect(env.remote_pkgver).toBeUndefined();
    expect(versionsFromPkgverOutput('bash-ci', ' 1.2\n3.4\n')).toEqual({
      pkgver: '1.23.4',
      remotePkgver: '1.23.4',
    });
  });

  it('sbuild: set -x only when verbose; pkg_ver = PKG_VER = remote_pkgver (line 2)', () => {
    expect(renderScript(recipe, envOfRecord('sbuild', 'bash'))).toBe('#!/usr/bin/env bash\n\nmake\n');
    expect(envOfRecord('sbuild', 'bash', true).header).toBe('#!/usr/bin/env bash\nset -x\n');
    expect(envOfRecord('sbuild', 'sh').clearedEnvironment).toBe(true);
    const v = versionsFromPkgverOutput('sbuild', '1.2\nv1.2-upstream\n');
    expect(v).toEqual({ pkgver: '1.2', remotePkgver: 'v1.2-upstream' });
    expect(versionsFromPkgverOutput('sbuild', '1.2')).toEqual({ pkgver: '1.2', remotePkgver: '1.2' });
    const env = recipeEnv(recipe, { ...opts, generation: 'sbuild', remotePkgver: v.remotePkgver });
    expect(env).toMatchObject({
      pkgver: '1.2',
      PKGVER: '1.2',
      pkg_ver: 'v1.2-upstream',
      PKG_VER: 'v1.2-upstream',
      REMOTE_PKGVER: 'v1.2-upstream',
    });
  });
});
