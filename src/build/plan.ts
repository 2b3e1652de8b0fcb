import type { Arch, ContainerLimits } from '../engine/types.js';
import type { Recipe, RecipeMode } from '../recipe/types.js';

/** Where things are inside the containers (the layout pkgforge's builder used). */
export const CONTAINER_PATHS = {
  /** $SBUILD_OUTDIR: the work directory, mounted read-write. */
  outDir: '/sbuild',
  /** $SBUILD_TMPDIR. */
  tmpDir: '/sbuild/SBUILD_TEMP',
  /** The rendered `run` script, mounted read-only. */
  script: '/exec_script',
  /** The rendered `x_exec.pkgver` script, mounted read-only. */
  pkgverScript: '/exec_pkgver',
  /** The docker shim's socket directory (host-runner only). */
  shimDir: '/run/rebuild',
} as const;

/** Which image runs the script. */
export type RunImage =
  /** 2026: the builder the recipe names in `x_exec.container`. */
  | { role: 'builder'; nameAsWritten: string }
  /** 2025 docker-run and host recipes: the host-runner, with the docker shim. */
  | { role: 'host-runner' };

export interface PkgverChoice {
  /** `pinned`: --pkgver; `script`: run x_exec.pkgver; `field`: the recipe's pkgver; `none`: unknown. */
  source: 'pinned' | 'script' | 'field' | 'none';
  value?: string;
}

export interface BuildPlan {
  recipe: Recipe;
  arch: Arch;
  mode: RecipeMode;
  runImage: RunImage;
  /** The main output, whose checksums pkgforge published as bsum/shasum. */
  mainProgram: string;
  pkgver: PkgverChoice;
  network: 'none' | 'host';
  limits: ContainerLimits;
  /** Notes on decisions, for the log and the result. */
  notes: string[];
}

export interface PlanOptions {
  arch: Arch;
  pkgver?: string;
  network?: 'none' | 'host';
  limits: ContainerLimits;
}

/** Decides how a recipe will be rebuilt. Pure; throws nothing a recipe can cause. */
export function planBuild(recipe: Recipe, opts: PlanOptions): BuildPlan {
  const notes: string[] = [];
  if (recipe.arches.length > 0 && !recipe.arches.includes(opts.arch)) {
    notes.push(
      `the recipe lists hosts ${recipe.hosts.join(', ')}; building for ${opts.arch} anyway, as asked`,
    );
  }
  const runImage: RunImage =
    recipe.mode === 'container' && recipe.container
      ? { role: 'builder', nameAsWritten: recipe.container }
      : { role: 'host-runner' };
  let pkgver: PkgverChoice;
  if (opts.pkgver !== undefined) pkgver = { source: 'pinned', value: opts.pkgver };
  else if (recipe.pkgverScript?.trim()) pkgver = { source: 'script' };
  else if (recipe.pkgver) pkgver = { source: 'field', value: recipe.pkgver };
  else pkgver = { source: 'none' };
  if (recipe.disabled) notes.push('the recipe is marked _disabled; building it anyway, as asked');
  if (recipe.mode === 'docker-run') {
    notes.push("the recipe starts builder containers itself: `docker` in the host-runner is rebuild's shim");
  }
  return {
    recipe,
    arch: opts.arch,
    mode: recipe.mode,
    runImage,
    mainProgram: recipe.programs[0] ?? recipe.pkg,
    pkgver,
    network: opts.network ?? 'none',
    limits: opts.limits,
    notes,
  };
}
