import { createHash } from 'node:crypto';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { messageOf } from '../util/errors.js';
import { readRegularFileSync } from '../util/regular-file.js';
import { dialectForName } from './dialects/index.js';
import { MAX_RECIPE_BYTES, parseRecipe } from './parse.js';
import type { Recipe } from './types.js';

/** A path to read, or an argument that could not be expanded. */
export interface RecipeTarget {
  file: string;
  error?: string;
}

/** A file some recipe dialect reads (SBUILD, pkg.toml, build.toml). */
function isRecipeName(name: string): boolean {
  return dialectForName(name) !== undefined;
}

/** Recipe files below `dir`, skipping hidden directories (`.github`, `.git`) and node_modules; symlinked directories are not followed. */
function walk(dir: string, out: string[]): void {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) {
      if (!e.name.startsWith('.') && e.name !== 'node_modules') walk(p, out);
    } else if (isRecipeName(e.name)) {
      if (e.isFile()) out.push(p);
      else if (e.isSymbolicLink()) {
        try {
          if (statSync(p).isFile()) out.push(p);
        } catch {
          // dangling link: not a recipe
        }
      }
    }
  }
}

/**
 * Expand CLI arguments: a file stays as given; a directory becomes every
 * `*.yaml`, `*.yml`, `SBUILD`, `pkg.toml` and `build.toml` file below it, sorted by path. Arguments
 * that cannot be read become entries with an error (order is kept).
 */
export function collectRecipeFiles(args: string[]): RecipeTarget[] {
  const out: RecipeTarget[] = [];
  for (const arg of args) {
    let isDir: boolean;
    try {
      isDir = statSync(arg).isDirectory();
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      out.push({
        file: arg,
        error: code === 'ENOENT' ? 'no such file or directory' : `cannot read: ${messageOf(err)}`,
      });
      continue;
    }
    if (!isDir) {
      out.push({ file: arg });
      continue;
    }
    const found: string[] = [];
    try {
      walk(arg, found);
    } catch (err) {
      out.push({ file: arg, error: `cannot list directory: ${messageOf(err)}` });
      continue;
    }
    found.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    if (found.length === 0)
      out.push({
        file: arg,
        error: 'no recipe files (*.yaml, *.yml, SBUILD, pkg.toml, build.toml) below this directory',
      });
    for (const f of found) out.push({ file: f });
  }
  return out;
}

/** Read and parse one recipe file; refuses oversized files before reading them. */
/** Reads and parses a recipe file; see loadRecipeFile for its bytes' digest too. */
export function readRecipeFile(path: string): Recipe {
  return loadRecipeFile(path).recipe;
}

/** A recipe with the SHA-256 of the exact bytes parsed (the recipe digest recorded as a build input). */
export function loadRecipeFile(path: string): { recipe: Recipe; sha256: string; text: string } {
  // Checked on the open handle: a FIFO or device is refused instead of hanging the read.
  const bytes = readRegularFileSync(path, 'recipe file', MAX_RECIPE_BYTES);
  const text = bytes.toString('utf8');
  return {
    recipe: parseRecipe(text, path),
    sha256: createHash('sha256').update(bytes).digest('hex'),
    text,
  };
}
