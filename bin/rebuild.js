#!/usr/bin/env node
// Entry point: the bundled CLI (scripts/bundle.mjs; npm's `prepare` builds it on install).
import { main } from '../dist/cli/main.js';

main(process.argv).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    process.stderr.write(`rebuild: internal error: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 70;
  },
);
