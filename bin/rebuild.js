#!/usr/bin/env node
// Entry point: the bundled CLI (scripts/bundle.mjs; npm's `prepare` builds it on install).
import { loadCli } from './load-cli.js';

let main;
try {
  ({ main } = loadCli().cli);
} catch (err) {
  // Not built or not readable: the installation's, an environment error (ExitCode.environment).
  process.stderr.write(`rebuild: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(5);
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
