import { readRecipeFile } from '../files.js';
import type { Recipe } from '../types.js';
import type { RecipeDialect, RecipeRecordBase } from './types.js';

/** The JSON Lines record for one valid SBUILD recipe. */
export function recipeRecord(r: Recipe): RecipeRecordBase & Record<string, unknown> {
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

export function isSbuildName(name: string): boolean {
  return name.endsWith('.yaml') || name.endsWith('.yml') || name === 'SBUILD' || name.endsWith('.SBUILD');
}

export const sbuildDialect: RecipeDialect = {
  name: 'sbuild',
  claims: isSbuildName,
  read(path) {
    const recipe = readRecipeFile(path);
    return { record: recipeRecord(recipe), human: humanReport(recipe) };
  },
};
