/**
 * One farm worker in a process of its own, as `rebuild worker` runs, but
 * with a verifier of no cost (the queue bench measures the queue, not
 * builds): `node --import tsx bench/helpers/noop-worker.ts <db> <name> <outDir>`.
 * Runs until SIGTERM, then prints how many jobs it verified.
 */
import { runWorker } from '../../src/audit/farm/worker.js';
import { seedVerifier } from './seed-verifier.js';

const [db, name, outDir] = process.argv.slice(2) as [string, string, string];
const controller = new AbortController();
process.on('SIGTERM', () => controller.abort());
const verify = seedVerifier();
await runWorker(
  {
    db,
    name,
    arches: [{ arch: 'x86_64', mode: 'native' }],
    tags: {},
    jobs: 1,
    outDir,
    pollMs: 50,
    signal: controller.signal,
  },
  { verify, engine: null },
);
process.stdout.write(`${JSON.stringify({ calls: verify.calls })}\n`);
