/**
 * Pinning what a recipe leaves floating (issue 4, part 3). Pure functions:
 * the version, the source commit and the builder image are decided from the
 * published record and the recipe; nothing here touches the engine.
 */
import { parseImageName } from '../engine/image-names.js';
import type { Arch } from '../engine/types.js';
import type { Recipe } from '../recipe/types.js';
import type { PackageRecord } from '../upstream/types.js';

/** Environment variable the git wrapper (runners/git-pin) reads. */
export const SOURCE_COMMIT_ENV = 'REBUILD_SOURCE_COMMIT';
export const SOURCE_DATE_ENV = 'REBUILD_SOURCE_DATE';

/** `HEAD-<sha>-<yymmddTHHMMSS>` → sha and date (also accepts `HEAD-<sha>`). */
export function parseHeadVersion(version: string): { sha: string; date?: string } | undefined {
  const m = /^HEAD-([0-9a-f]{7,40})(?:-(\d{6}T\d{6}))?$/i.exec(version.trim());
  if (!m) return undefined;
  return m[2] ? { sha: m[1]!.toLowerCase(), date: m[2] } : { sha: m[1]!.toLowerCase() };
}

export interface SourcePin {
  sha: string;
  date?: string;
  /** Whether the recipe's script runs git at all (otherwise the pin has nothing to act on). */
  recipeUsesGit: boolean;
  /** Notes for the log and the result. */
  notes: string[];
  /** Environment for the build containers. */
  env: Record<string, string>;
}

/** True when the recipe's shell text runs `git clone`/`git checkout`/`git fetch` (or a `git` command at all). */
export function recipeRunsGit(recipe: Pick<Recipe, 'run'>): boolean {
  return /(^|[\s;&|('"`])git\s+(-C\s+\S+\s+)?(clone|checkout|fetch|pull|switch|submodule|reset)\b/m.test(
    recipe.run,
  );
}

/**
 * The source commit pin of a `HEAD-<sha>-<date>` version: an environment
 * variable for rebuild's git wrapper, and honest notes about whether the
 * recipe can honour it.
 */
export function sourcePin(
  record: Pick<PackageRecord, 'version' | 'sourceCommit'>,
  recipe: Pick<Recipe, 'run' | 'mode'>,
): SourcePin | undefined {
  const parsed = record.sourceCommit ?? parseHeadVersion(record.version);
  if (!parsed) return undefined;
  const sha = parsed.sha.toLowerCase();
  const usesGit = recipeRunsGit(recipe);
  const notes: string[] = [];
  if (!usesGit) {
    notes.push(
      `source pin ${sha} recorded, but the recipe runs no git command: it cannot be pinned to that commit (it builds whatever its sources are)`,
    );
  } else {
    notes.push(
      `source pin: ${SOURCE_COMMIT_ENV}=${sha}; rebuild's git wrapper (runners/git-pin) checks out that commit after \`git clone\` where the builder image carries it`,
    );
    if (recipe.mode === 'docker-run') {
      notes.push(
        `the recipe clones inside a builder it starts itself: ${SOURCE_COMMIT_ENV} reaches that container only if the recipe passes it with -e; otherwise the clone gets the current HEAD`,
      );
    }
  }
  const env: Record<string, string> = { [SOURCE_COMMIT_ENV]: sha };
  if (parsed.date) env[SOURCE_DATE_ENV] = parsed.date;
  return { sha, ...(parsed.date ? { date: parsed.date } : {}), recipeUsesGit: usesGit, notes, env };
}

/** A local image tag that carries a date: `<repo>:<arch>-vYYYY.MM.DD`. */
export interface DatedTag {
  tag: string;
  date: string;
}

/** Date part (`YYYY-MM-DD`) of an ISO date-time or date; undefined when unparseable. */
export function dayOf(isoDate: string): string | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})/.exec(isoDate.trim());
  return m ? `${m[1]}-${m[2]}-${m[3]}` : undefined;
}

/**
 * Among local tags, the dated tags of the builder a recipe names
 * (`…/debian-builder-unstable:x86_64-v2025.01.15`) for `arch`, and the newest
 * one on or before the build date. pkgforge rebuilt its builders weekly and
 * recipes pulled the floating tag, so that is the best available pin.
 */
export function chooseDatedImage(
  nameAsWritten: string,
  arch: Arch,
  buildDate: string,
  localTags: string[],
): { chosen?: DatedTag; candidates: DatedTag[] } {
  const want = parseImageName(nameAsWritten).short.toLowerCase();
  const day = dayOf(buildDate);
  const candidates: DatedTag[] = [];
  for (const tag of localTags) {
    const p = parseImageName(tag);
    if (p.short.toLowerCase() !== want || !p.tag) continue;
    const m = /^([a-z0-9_]+)-v(\d{4})\.(\d{2})\.(\d{2})$/i.exec(p.tag);
    if (!m || m[1]!.toLowerCase() !== arch) continue;
    candidates.push({ tag, date: `${m[2]}-${m[3]}-${m[4]}` });
  }
  candidates.sort((a, b) => b.date.localeCompare(a.date) || a.tag.localeCompare(b.tag));
  const chosen = day ? candidates.find((c) => c.date <= day) : undefined;
  return chosen ? { chosen, candidates } : { candidates };
}

/** Builder names a recipe uses: `x_exec.container`, or the images its `docker run`s start. */
export function builderNamesOf(recipe: Pick<Recipe, 'container' | 'images' | 'mode'>): string[] {
  if (recipe.mode === 'container' && recipe.container) return [recipe.container];
  return [...recipe.images];
}
