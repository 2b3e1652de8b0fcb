export * from './ci-rewrite.js';
export { classify, findDockerRuns, parseDockerRun } from './classify.js';
export {
  envOfRecord,
  type RecipeEnvOfRecord,
  type RecipeEnvOptions,
  type RecipeGeneration,
  recipeEnv,
  renderScript,
  sbuildPkg,
  versionsFromPkgverOutput,
} from './env.js';
export { collectRecipeFiles, loadRecipeFile, readRecipeFile } from './files.js';
export { MAX_RECIPE_BYTES, parseProvide, parseRecipe, pkgIdFromUrl } from './parse.js';
export { type SimpleCommand, simpleCommands, type Token, tokenize } from './shell-words.js';
export * from './types.js';
