#!/usr/bin/env node
// Entry point: the bundled CLI (scripts/bundle.mjs; npm's `prepare` builds it on install).
// CommonJS (bin/package.json): no ES module loader is started before the bundle.
'use strict';
const { loadCli } = require('./load-cli.js');

let main;
try {
  ({ main } = loadCli().cli);
  if (typeof main !== 'function') throw new Error('the bundle (dist/cli/main.cjs) exports no main()');
} catch (err) {
  // Not built: the installation's, an environment error (ExitCode.environment); else a bug (internal).
  const notBuilt = err?.code === 'REBUILD_NOT_BUILT';
  process.stderr.write(
    `rebuild: ${notBuilt ? '' : 'internal error: '}${err instanceof Error ? err.message : String(err)}\n`,
  );
  process.exit(notBuilt ? 5 : 70);
}
main(process.argv).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    process.stderr.write(`rebuild: internal error: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 70;
  },
);
