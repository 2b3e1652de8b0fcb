/**
 * The rewrite pkgforge's 2025 bash CI applied to a recipe before running it
 * (bincache scripts/runner/functions.sh `setup_env`, from 4791d37 on, only
 * when `x_exec.bsys` is `docker://…` so that BUILD_SYSTEM=DOCKER):
 *
 *   awk: on each line without `--platform`, the first `docker run ` (else
 *        `docker container run `) becomes `docker run --platform="linux/<amd64|arm64>" `;
 *   sed: on each line without `:<arch>"`, every `:$(uname -m)"` becomes `:<arch>"`.
 *
 * Both run over the whole SBUILD file (comments and all), which the CI then
 * copied into the artifact: a recipe of record from those builds already
 * carries the rewrite, and applying it again changes nothing. Pure.
 */
import { type Arch, PLATFORM } from '../engine/types.js';
import type { Recipe } from './types.js';

export const DOCKER_RUN_REWRITE_SOURCE = 'pkgforge/bincache@4791d37:scripts/runner/functions.sh (setup_env)';

/** One changed line (1-based), before and after. */
export interface RewrittenLine {
  line: number;
  before: string;
  after: string;
}

export interface DockerRunRewrite {
  source: string;
  /** The recipe text as the CI ran it. */
  text: string;
  /** Empty when the recipe already carried the rewrite (or had nothing to rewrite). */
  changed: RewrittenLine[];
}

/** awk's `[[:space:]]` within one line. */
const SP = '[ \\t\\v\\f\\r]';
const RUN = new RegExp(`docker${SP}+run${SP}`);
const RUN_SUB = new RegExp(`docker${SP}+run${SP}+`);
const CONTAINER_RUN = new RegExp(`docker${SP}+container${SP}+run${SP}`);
const CONTAINER_RUN_SUB = new RegExp(`docker${SP}+container${SP}+run${SP}+`);

/** Whether the CI applied the rewrite to this recipe: `x_exec.bsys: docker://…` with `x_exec.host` set. */
export function dockerRunRewriteApplies(recipe: Pick<Recipe, 'bsys' | 'hosts'>): boolean {
  return /docker:\/\//i.test(recipe.bsys ?? '') && recipe.hosts.length > 0;
}

export function rewriteDockerRuns(text: string, arch: Arch): DockerRunRewrite {
  const platform = `linux/${PLATFORM[arch].architecture}`;
  const tagged = `:${arch}"`;
  // awk prints every record with a newline: a last line without one gets it.
  const lines = (text.endsWith('\n') ? text.slice(0, -1) : text).split('\n');
  const changed: RewrittenLine[] = [];
  const out = lines.map((before, i) => {
    let after = before;
    if (!after.includes('--platform')) {
      if (RUN.test(after)) after = after.replace(RUN_SUB, () => `docker run --platform="${platform}" `);
      else if (CONTAINER_RUN.test(after))
        after = after.replace(CONTAINER_RUN_SUB, () => `docker container run --platform="${platform}" `);
    }
    if (!after.includes(tagged)) after = after.split(':$(uname -m)"').join(tagged);
    if (after !== before) changed.push({ line: i + 1, before, after });
    return after;
  });
  return { source: DOCKER_RUN_REWRITE_SOURCE, text: `${out.join('\n')}\n`, changed };
}
