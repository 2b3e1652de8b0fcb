import type { Command } from 'commander';
import { collectRecipeFiles, readRecipeFile } from '../../recipe/files.js';
import type { Recipe } from '../../recipe/types.js';
import { isRebuildError, messageOf } from '../../util/errors.js';
import { action } from '../action.js';
import { ExitCode } from '../exit-codes.js';
import { describe } from '../registry.js';

/** The JSON Lines record for one valid recipe. */
export function recipeRecord(r: Recipe): Record<string, unknown> {
  return {
    file: r.file,
    pkg: r.pkg,
    pkg_id: r.pkgId,
    pkg_type: r.pkgType ?? null,
    dialect: r.dialect,
    disabled: r.disabled,
    shell: r.shell,
    hosts: r.hosts,
    arches: r.arches,
    mode: r.mode,
    images: r.images,
    container: r.container ?? null,
    bsys: r.bsys ?? null,
    pkgver: r.pkgver ?? null,
    pkgver_script: r.pkgverScript !== undefined,
    programs: r.programs,
    provides: r.provides.map((p) =>
      p.target ? { name: p.name, kind: p.kind, target: p.target } : { name: p.name, kind: p.kind },
    ),
    build_assets: r.buildAssets,
    description: r.description,
  };
}

/** One sentence on what `rebuild build` would do with this recipe. */
export function rebuildPlan(r: Recipe): string[] {
  const steps: string[] = [];
  if (r.disabled) steps.push('recipe is _disabled: pkgforge skipped it; rebuild builds it only when asked');
  if (r.arches.length === 0) steps.push(`no target rebuild supports (hosts: ${r.hosts.join(', ')})`);
  if (r.buildAssets.length > 0)
    steps.push(`download ${r.buildAssets.length} build asset(s) into $SBUILD_TMPDIR`);
  if (r.pkgver) steps.push(`version ${r.pkgver} from the recipe (or --pkgver)`);
  else if (r.pkgverScript) steps.push('version from x_exec.pkgver (or pin it with --pkgver)');
  else steps.push('no version source: pass --pkgver');
  if (r.mode === 'container') {
    const tagged = /:[^/]+$/.test(r.container ?? '') ? r.container : `${r.container}:<arch>`;
    steps.push(`run the ${r.shell} script inside the builder ${tagged}, cwd $SBUILD_OUTDIR=/sbuild`);
  } else if (r.mode === 'docker-run') {
    const imgs =
      r.images.length > 0 ? r.images.join(', ') : `the builder named by bsys ${r.bsys ?? ''}`.trim();
    steps.push(
      `run the ${r.shell} script in the host-runner; its docker run of ${imgs} goes to the local builder image for the target arch`,
    );
  } else steps.push(`run the ${r.shell} script in the host-runner container`);
  if (r.pkgType?.includes('static'))
    steps.push('then strip like pkgforge CI (objcopy .comment/.note.*, strip --strip-all)');
  steps.push(`expect ${r.programs.join(', ')} in $SBUILD_OUTDIR, then hash with SHA-256 and BLAKE3`);
  return steps;
}

function humanReport(r: Recipe): string {
  const lines = [
    `${r.file}`,
    `  pkg       ${r.pkg} (${r.pkgId})${r.pkgType ? `, ${r.pkgType}` : ''}${r.disabled ? ', DISABLED' : ''}`,
    `  recipe    ${r.dialect} dialect, shell ${r.shell}${r.bsys ? `, bsys ${r.bsys}` : ''}`,
    `  mode      ${r.mode}`,
    `  hosts     ${r.hosts.length > 0 ? r.hosts.join(', ') : '(any)'} -> ${r.arches.join(', ') || 'none rebuild supports'}`,
  ];
  if (r.images.length > 0) lines.push(`  images    ${r.images.join(', ')}`);
  lines.push(`  programs  ${r.programs.join(', ')}`);
  const plan = rebuildPlan(r);
  lines.push(`  rebuild   ${plan[0]}`);
  for (const s of plan.slice(1)) lines.push(`            ${s}`);
  return lines.join('\n');
}

export interface RecipeCommandOptions {
  json?: boolean;
}

/** Validate each path (directories expand to the recipes below them); returns the exit code. */
export function runRecipeCommand(
  paths: string[],
  opts: RecipeCommandOptions,
  write: (chunk: string) => void = (c) => process.stdout.write(c),
): number {
  const targets = collectRecipeFiles(paths);
  let failed = 0;
  let internal = 0;
  let valid = 0;
  let buf: string[] = [];
  const emit = (line: string) => {
    buf.push(line);
    if (buf.length >= 256) {
      write(`${buf.join('\n')}\n`);
      buf = [];
    }
  };
  for (const t of targets) {
    let recipe: Recipe | undefined;
    let error = t.error;
    if (error === undefined) {
      try {
        recipe = readRecipeFile(t.file);
      } catch (err) {
        if (isRebuildError(err)) error = err.message;
        else {
          internal++;
          error = `internal error: ${messageOf(err)}`;
        }
      }
    }
    if (recipe) {
      valid++;
      emit(opts.json ? JSON.stringify(recipeRecord(recipe)) : `${humanReport(recipe)}\n`);
    } else {
      failed++;
      emit(opts.json ? JSON.stringify({ file: t.file, error }) : `${t.file}\n  invalid   ${error}\n`);
    }
  }
  if (!opts.json) emit(`${targets.length} recipe(s): ${valid} valid, ${failed} invalid`);
  if (buf.length > 0) write(`${buf.join('\n')}\n`);
  if (internal > 0) return ExitCode.internal;
  return failed > 0 ? ExitCode.input : ExitCode.ok;
}

export function register(program: Command): void {
  program
    .command('recipe')
    .description(describe('recipe'))
    .argument('<file...>', 'recipe files or directories')
    .option('--json', 'one JSON object per file and line (JSON Lines), in input order')
    .action(action((files: string[], opts: RecipeCommandOptions) => runRecipeCommand(files, opts)));
}
