import { type Arch, PLATFORM } from '../engine/types.js';
import type { Recipe } from './types.js';

export interface RecipeEnvOptions {
  arch: Arch;
  /** The version the build is for (pinned, or what x_exec.pkgver printed). */
  pkgver: string;
  /** $SBUILD_OUTDIR as the script sees it (e.g. `/sbuild` inside a container). */
  outdir: string;
  /** $SBUILD_TMPDIR as the script sees it (pkgforge: `$SBUILD_OUTDIR/SBUILD_TEMP`). */
  tmpdir: string;
}

/** `<pkg>.<pkg_type>`, or `<pkg>` when the recipe has no pkg_type. */
export function sbuildPkg(recipe: Pick<Recipe, 'pkg' | 'pkgType'>): string {
  return recipe.pkgType ? `${recipe.pkg}.${recipe.pkgType}` : recipe.pkg;
}

/**
 * The environment pkgforge's builder gives `x_exec.run`, each variable in
 * lower and UPPER case: pkg, pkg_id, pkg_type, sbuild_pkg, sbuild_pkgver,
 * pkgver, pkg_ver, sbuild_outdir, sbuild_tmpdir, arch, arch_alt.
 * `pkg_type` is the empty string when the recipe has none. Like pkgforge's
 * builder, whitespace is removed from every value except the directories.
 */
export function recipeEnv(recipe: Recipe, opts: RecipeEnvOptions): Record<string, string> {
  const base: Record<string, string> = {
    pkg: recipe.pkg,
    pkg_id: recipe.pkgId,
    pkg_type: recipe.pkgType ?? '',
    sbuild_pkg: sbuildPkg(recipe),
    sbuild_pkgver: opts.pkgver,
    pkgver: opts.pkgver,
    pkg_ver: opts.pkgver,
    sbuild_outdir: opts.outdir,
    sbuild_tmpdir: opts.tmpdir,
    arch: opts.arch,
    arch_alt: PLATFORM[opts.arch].architecture,
  };
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(base)) {
    // pkgforge's builder strips whitespace from every value but the two directories.
    const value = k === 'sbuild_outdir' || k === 'sbuild_tmpdir' ? v : v.replace(/\s+/g, '');
    env[k] = value;
    env[k.toUpperCase()] = value;
  }
  return env;
}

/**
 * The script file pkgforge's builder writes: `#!/usr/bin/env <shell>`, `set -x`,
 * then `run` verbatim (a YAML `|` block already ends with a newline; one is
 * added when it does not).
 */
export function renderScript(recipe: Pick<Recipe, 'shell' | 'run'>): string {
  const run = recipe.run.endsWith('\n') ? recipe.run : `${recipe.run}\n`;
  return `#!/usr/bin/env ${recipe.shell}\nset -x\n${run}`;
}
