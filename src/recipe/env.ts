import { type Arch, PLATFORM } from '../engine/types.js';
import type { Recipe } from './types.js';

/**
 * Which builder of record ran the recipe: the 2025 bash CI (bincache
 * scripts/runner/functions.sh) or the Rust `sbuild` (pkgcache 2025,
 * soarpkgs 2026; pkgforge/sbuilder sbuild/src/builder.rs).
 */
export type RecipeGeneration = 'bash-ci' | 'sbuild';

/** What the builder of record did, recorded in result.json. */
export interface RecipeEnvOfRecord {
  generation: RecipeGeneration;
  /** Where it comes from. */
  source: string;
  /** The lines written before `run`. */
  header: string;
  /** How pkg_ver/PKG_VER relates to the x_exec.pkgver output. */
  versionSemantics: string;
  /** Whether the environment was cleared to a whitelist first. */
  clearedEnvironment: boolean;
  /** `set -x` (or its shell's equivalent) in the header. */
  trace: boolean;
}

/**
 * The trace line of each builder: the bash CI added it unless DEBUG_BUILD=NO
 * (sh/bash `set -x`, zsh `setopt xtrace` + `export SHELLOPTS`, fish
 * `fish_trace`); sbuild only at log level verbose (`set -x`) or debug (`set -xv`).
 */
export function traceLines(generation: RecipeGeneration, shell: string, trace: boolean): string[] {
  if (!trace) return [];
  if (generation === 'sbuild') return ['set -x'];
  if (shell === 'zsh') return ['setopt xtrace', 'export SHELLOPTS'];
  if (shell === 'fish') return ['set fish_trace 1', 'set -g fish_trace 1'];
  return ['set -x'];
}

/** The builder of record's script header and semantics. `trace` default: bash CI yes, sbuild no. */
export function envOfRecord(generation: RecipeGeneration, shell: string, trace?: boolean): RecipeEnvOfRecord {
  const t = trace ?? generation === 'bash-ci';
  if (generation === 'bash-ci') {
    return {
      generation,
      source: 'pkgforge/bincache@338a3ba:scripts/runner/functions.sh',
      // echo -e '#!/usr/bin/env <shell>\n\n' writes the shebang and two empty lines
      header: `#!/usr/bin/env ${shell}\n\n\n${traceLines(generation, shell, t)
        .map((l) => `${l}\n`)
        .join('')}`,
      versionSemantics:
        'pkgver = PKGVER = pkg_ver = PKG_VER = the x_exec.pkgver output with all whitespace removed',
      clearedEnvironment: false,
      trace: t,
    };
  }
  const setx = traceLines(generation, shell, t)[0] ?? '';
  return {
    generation,
    source: 'pkgforge/sbuilder@be52fc29:sbuild/src/builder.rs',
    header: `#!/usr/bin/env ${shell}\n${setx}\n`,
    versionSemantics:
      'pkgver = line 1 of the x_exec.pkgver output; pkg_ver = PKG_VER = remote_pkgver = line 2 (line 1 when there is one line)',
    clearedEnvironment: true,
    trace: t,
  };
}

/** The sbuild environment whitelist: inherited only when set (`env_vars` in builder.rs). */
export const SBUILD_INHERITED_ENV = [
  'DEBIAN_FRONTEND',
  'EGET_TIMEOUT',
  'GIT_ASKPASS',
  'GIT_TERMINAL_PROMPT',
  'GITHUB_TOKEN',
  'GH_TOKEN',
  'GITLAB_TOKEN',
  'GL_TOKEN',
  'HF_TOKEN',
  'HOST_TRIPLET',
  'NIXPKGS_ALLOW_BROKEN',
  'NIXPKGS_ALLOW_UNFREE',
  'NIXPKGS_ALLOW_UNSUPPORTED_SYSTEM',
  'SYSTMP',
  'TERM',
  'USER_AGENT',
] as const;

/** What x_exec.pkgver printed, read as each builder read it. Pure. */
export function versionsFromPkgverOutput(
  generation: RecipeGeneration,
  output: string,
): { pkgver: string; remotePkgver: string } {
  if (generation === 'bash-ci') {
    const v = output.replace(/\s+/g, '');
    return { pkgver: v, remotePkgver: v };
  }
  const lines = output.split('\n').map((l) => l.trim());
  const pkgver = lines[0] ?? '';
  return { pkgver, remotePkgver: lines.length > 1 && lines[1] ? lines[1] : pkgver };
}

export interface RecipeEnvOptions {
  arch: Arch;
  /** The version the build is for (pinned, or what x_exec.pkgver printed). */
  pkgver: string;
  /** sbuild: pkg_ver/PKG_VER and remote_pkgver (default: pkgver). */
  remotePkgver?: string;
  /** Default 'bash-ci' (pkg_ver = pkgver, no remote_pkgver). */
  generation?: RecipeGeneration;
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
    // sbuild: pkg_ver is the remote version (builder.rs env_vars), and remote_pkgver is set too
    pkg_ver: opts.generation === 'sbuild' ? (opts.remotePkgver ?? opts.pkgver) : opts.pkgver,
    ...(opts.generation === 'sbuild' ? { remote_pkgver: opts.remotePkgver ?? opts.pkgver } : {}),
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
export function renderScript(recipe: Pick<Recipe, 'shell' | 'run'>, of?: RecipeEnvOfRecord): string {
  const run = recipe.run.endsWith('\n') ? recipe.run : `${recipe.run}\n`;
  return `${of ? of.header : `#!/usr/bin/env ${recipe.shell}\nset -x\n`}${run}`;
}
