import type { Command } from 'commander';
import { dialectForPath, type ReadRecipe } from '../../recipe/dialects/index.js';
import { collectRecipeFiles } from '../../recipe/files.js';
import { isRebuildError, messageOf } from '../../util/errors.js';
import { action } from '../action.js';
import { ExitCode } from '../exit-codes.js';
import { describe } from '../registry.js';

export { rebuildPlan, recipeRecord } from '../../recipe/dialects/sbuild.js';

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
    let recipe: ReadRecipe | undefined;
    let error = t.error;
    let fix: string | undefined = error === undefined ? undefined : `check the path ${t.file}`;
    if (error === undefined) {
      try {
        recipe = dialectForPath(t.file).read(t.file);
      } catch (err) {
        if (isRebuildError(err)) {
          error = err.message;
          fix =
            err.fix ??
            `correct what the error names in ${t.file}, then run \`rebuild recipe ${t.file}\` again`;
        } else {
          internal++;
          error = `internal error: ${messageOf(err)}`;
        }
      }
    }
    if (recipe) {
      valid++;
      emit(opts.json ? JSON.stringify(recipe.record) : `${recipe.human}\n`);
    } else {
      failed++;
      emit(
        opts.json
          ? JSON.stringify({ file: t.file, error, ...(fix ? { fix } : {}) })
          : `${t.file}\n  invalid   ${error}\n${fix ? `  fix       ${fix}\n` : ''}`,
      );
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
