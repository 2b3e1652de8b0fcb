// Makes dist/cli/main.cjs.cache (see bin/load-cli.js): one process loads the
// bundle without a cache, runs the commands users wait for most (help, and
// small compares that are identical and that differ), so that V8 compiles
// what they run, and writes V8's cache of the compiled code, header first.
// Their output goes nowhere (scripts/bundle.mjs runs this with stdout closed).
import { existsSync } from 'node:fs';
import { rename, writeFile } from 'node:fs/promises';
import { CODE_CACHE, cacheHeader, loadCli } from '../bin/load-cli.js';

const { cli, script } = loadCli({ useCache: false });
const small = ['/bin/true', '/bin/false'].filter((f) => existsSync(f));
const runs = [
  ['--help'],
  ['compare', '--help'],
  ...(small.length === 2
    ? [
        ['compare', small[0], small[0]],
        ['compare', small[0], small[1]],
        ['compare', small[0], small[1], '--json'],
      ]
    : []),
];
for (const args of runs) await cli.main(['node', 'rebuild', ...args]);
const tmp = `${CODE_CACHE}.${process.pid}.tmp`;
await writeFile(tmp, Buffer.concat([cacheHeader(), script.createCachedData()]));
await rename(tmp, CODE_CACHE);
process.exitCode = 0;
