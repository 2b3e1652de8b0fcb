// Builds the CLI that bin/rebuild.js runs: src/cli/main.ts bundled by
// esbuild into one CommonJS file, dist/cli/main.cjs, and V8's code cache of
// it, dist/cli/main.cjs.cache (see bin/load-cli.js). Against tsc's one file
// per module, a small `rebuild compare` takes 0.74–0.81× the time (whole
// processes, paired runs; README, "How the CLI is built"). Node 20 has no
// compile cache for ES modules, hence CommonJS. The parts each command
// imports lazily stay lazy: esbuild wraps every module in an initialiser run
// at its first import. Packages stay imports (node_modules is resolved at
// run time). dist/cli/ is at the depth of src/<capability>/, so the paths
// modules find from import.meta.url (package.json, dockerfiles/, runners/)
// are the same from src/ and from dist/.
//
// The new build is written beside dist/ and swapped in once complete: a
// failed build leaves the previous one whole. The code cache is made after,
// by scripts/make-code-cache.mjs; without it the CLI runs the same code, only
// compiled at each start.
import { execFileSync } from 'node:child_process';
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import ts from 'typescript';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/**
 * An import of a package is, in the bundle, esbuild's `__toESM(require(pkg))`,
 * which in Node's mode makes the whole `require()` result the default export.
 * Node itself does so for CommonJS only; an ES module package (p-limit,
 * wrap-ansi) comes out of require() as its namespace, whose default is its own.
 * The helper is made to pass namespaces through as they are; a build whose
 * helper is not the one expected fails, rather than ship imports that differ
 * from Node's.
 */
function importsAsNodeDoes(text, file) {
  const helper = 'var __toESM = (mod, isNodeMode, target) => (';
  const at = text.indexOf(helper);
  if (at < 0 || text.indexOf(helper, at + 1) >= 0)
    throw new Error(`esbuild's __toESM helper is not the one scripts/bundle.mjs knows (in ${file})`);
  const patched = 'var __toESM = (mod, isNodeMode, target) => mod != null && mod[Symbol.toStringTag] === "Module" ? mod : (';
  return text.slice(0, at) + patched + text.slice(at + helper.length);
}

/**
 * The bundle in ASCII: V8 keeps a source with any other character as two bytes
 * a character, and every start reads, checks and compiles it (about 5% of
 * `rebuild --help`). esbuild escapes strings, templates and names itself
 * (charset ascii); what it leaves are the comments it keeps and regular
 * expression literals, where \uXXXX matches the same character (only the
 * literal's .source and toString show the escape; the CLI prints neither).
 * Any other place fails the build, naming the line. (The source map's columns on those few
 * lines shift by the escapes' length.)
 */
function asciiOnly(text, file) {
  if (!/[^\x00-\x7f]/.test(text)) return text;
  // Comments as comments (JSDoc left unparsed), so that they are nobody's token.
  const options = { languageVersion: ts.ScriptTarget.Latest, jsDocParsingMode: ts.JSDocParsingMode.ParseNone };
  const sf = ts.createSourceFile(file, text, options, true, ts.ScriptKind.JS);
  const inTokenOf = (pos) => {
    for (let node = sf; ; ) {
      const child = node.getChildren(sf).find((c) => c.pos <= pos && pos < c.end);
      if (!child) return pos >= node.getStart(sf) ? node.kind : undefined;
      node = child;
    }
  };
  return text.replace(/[^\x00-\x7f]/g, (c, pos) => {
    const kind = inTokenOf(pos);
    // Between tokens: a comment's, unless white space or a line end, which fail: U+2028 ends a line
    // comment (escaped, the comment would run on over code), and \u00a0 between tokens is no space.
    const escapable =
      (kind === undefined && !/\s/.test(c)) ||
      (kind === ts.SyntaxKind.RegularExpressionLiteral && text[pos - 1] !== '\\');
    if (!escapable) {
      const line = text.slice(0, pos).split('\n').length;
      const where = kind === undefined ? 'white space or a line end' : ts.SyntaxKind[kind];
      throw new Error(
        `${file}:${line}: a non-ASCII character in ${where} that esbuild did not escape: escape it in the source`,
      );
    }
    return `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;
  });
}

/**
 * `import('pkg')` of a package becomes a lazy `require('pkg')` (ES module
 * packages through Node's require() of ES modules): a script compiled with a
 * code cache has no import() of its own without an experimental callback.
 * Still imported at the first call, as before.
 */
const dynamicImportsAsRequire = {
  name: 'dynamic-imports-as-require',
  setup(b) {
    b.onResolve({ filter: /^[^./]/ }, (args) =>
      args.kind === 'dynamic-import' ? { path: args.path, namespace: 'required-package' } : undefined,
    );
    b.onLoad({ filter: /.*/, namespace: 'required-package' }, (args) => ({
      contents: `module.exports = require(${JSON.stringify(args.path)});`,
      loader: 'js',
      resolveDir: root,
    }));
  },
};

const dist = join(root, 'dist');
const fresh = join(root, `dist.new-${process.pid}`);
const old = join(root, `dist.old-${process.pid}`);

try {
  const result = await build({
    absWorkingDir: root,
    entryPoints: ['src/cli/main.ts'],
    outfile: join(fresh, 'cli', 'main.cjs'),
    bundle: true,
    format: 'cjs',
    platform: 'node',
    target: 'node20',
    packages: 'external',
    plugins: [dynamicImportsAsRequire],
    // CommonJS has no import.meta: the bundle's own file URL stands in for it.
    define: { 'import.meta.url': '__rebuild_bundle_url' },
    banner: { js: 'const __rebuild_bundle_url = require("node:url").pathToFileURL(__filename).href;' },
    sourcemap: 'linked',
    metafile: true,
    logLevel: 'warning',
  });
  const bundled = join(fresh, 'cli', 'main.cjs');
  await writeFile(bundled, asciiOnly(importsAsNodeDoes(await readFile(bundled, 'utf8'), bundled), bundled));
  // The source modules in the bundle, for tests that check which of them a command initialises.
  const modules = Object.keys(result.metafile.inputs)
    .filter((m) => m.startsWith('src/'))
    .sort();
  await writeFile(join(fresh, 'cli', 'meta.json'), `${JSON.stringify({ modules }, null, 1)}\n`);
} catch (err) {
  await rm(fresh, { recursive: true, force: true });
  process.stderr.write(`bundle: the CLI was not built (dist/ is unchanged): ${err.message ?? err}\n`);
  process.exit(1);
}
await rename(dist, old).catch((err) => {
  if (err.code !== 'ENOENT') throw err;
});
await rename(fresh, dist);
await rm(old, { recursive: true, force: true });

try {
  execFileSync(process.execPath, [join(root, 'scripts', 'make-code-cache.mjs')], {
    cwd: root,
    stdio: ['ignore', 'ignore', 'inherit'],
    timeout: 120_000,
  });
} catch (err) {
  process.stderr.write(
    `bundle: no code cache was made (the CLI works, compiled at each start): ${err.message ?? err}\n`,
  );
}
