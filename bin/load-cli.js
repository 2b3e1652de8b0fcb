// Loads the bundled CLI (dist/cli/main.cjs, made by scripts/bundle.mjs) with
// V8's code cache of it (dist/cli/main.cjs.cache, made by the same build):
// functions compiled once at build time are not compiled again at every
// start. The cache is used only when its header names the SHA-256 of the
// bundle's bytes (V8 itself checks no more than its own version and the
// source's length: a cache made from another bundle of the same length would
// run that bundle's code), so a cache refused is a slower start, never other
// code. Not the bundle's size and modification time: a bundle changed with both
// kept (cp -p, rsync -a, tar) would pass, and npm's tarballs give every file one
// fixed time, so an installed bundle would never match. Hashing it costs < 1 ms.
// CommonJS (bin/package.json), as the entry is.
'use strict';
const { createHash } = require('node:crypto');
const { readFileSync } = require('node:fs');
const { createRequire } = require('node:module');
const { dirname, join } = require('node:path');
const vm = require('node:vm');

const BUNDLE = join(__dirname, '..', 'dist', 'cli', 'main.cjs');
const CODE_CACHE = `${BUNDLE}.cache`;

/** The header a code cache starts with: which bundle (its bytes, given or read) it was made from. */
function cacheHeader(bundle = BUNDLE, bytes = readFileSync(bundle)) {
  return Buffer.from(`rebuild-code-cache sha256:${createHash('sha256').update(bytes).digest('hex')}\n`);
}

function cachedData(bytes) {
  let data;
  try {
    data = readFileSync(CODE_CACHE);
  } catch {
    return undefined; // none built (or not readable): compiled as usual
  }
  const header = cacheHeader(BUNDLE, bytes);
  return data.subarray(0, header.length).equals(header) ? data.subarray(header.length) : undefined;
}

// Held for the life of the process: nothing the bundle runs may outlive its script.
const scripts = [];

/** The CLI's exports and the script they came from (its cache can be made from it). */
function loadCli({ useCache = true } = {}) {
  let bytes;
  try {
    bytes = readFileSync(BUNDLE);
  } catch (err) {
    throw Object.assign(
      new Error(`the CLI is not built (${BUNDLE}: ${err.code ?? err.message}); run \`npm run build\``),
      { code: 'REBUILD_NOT_BUILT' },
    );
  }
  // The bytes the cache is checked against are the bytes compiled (one read).
  const source = bytes.toString('utf8');
  const data = useCache ? cachedData(bytes) : undefined;
  // The CommonJS wrapper on the first line, so that line numbers are the bundle's.
  const script = new vm.Script(`(function (exports, require, module, __filename, __dirname) {${source}\n})`, {
    filename: BUNDLE,
    ...(data ? { cachedData: data } : {}),
  });
  scripts.push(script);
  const module = { exports: {} };
  script.runInThisContext()(module.exports, createRequire(BUNDLE), module, BUNDLE, dirname(BUNDLE));
  return {
    cli: module.exports,
    script,
    cacheRejected: data !== undefined && script.cachedDataRejected === true,
  };
}

module.exports = { BUNDLE, CODE_CACHE, cacheHeader, loadCli };
