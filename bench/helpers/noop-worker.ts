/**
 * One farm worker in a process of its own, as `rebuild worker` runs, but
 * with a verifier of no cost (the queue bench measures the queue, not
 * builds): `node --import tsx bench/helpers/noop-worker.ts <db> <name> <outDir> <jobs>`.
 * Runs until SIGTERM, then prints how many jobs it verified and the CPU time it used.
 */
import { runWorker } from '../../src/audit/farm/worker.js';
import { seedVerifier } from './seed-verifier.js';

const [db, name, outDir, jobs = '1'] = process.argv.slice(2) as [string, string, string, string?];
const controller = new AbortController();
process.on('SIGTERM', () => controller.abort());
const verify = seedVerifier();
// The worker's own CPU, not that of loading this script.
const cpu0 = process.cpuUsage();
await runWorker(
  {
    db,
    name,
    arches: [{ arch: 'x86_64', mode: 'native' }],
    tags: {},
    jobs: Number(jobs),
    outDir,
    pollMs: 50,
    signal: controller.signal,
  },
  { verify, engine: null },
);
const cpu = process.cpuUsage(cpu0);
process.stdout.write(`${JSON.stringify({ calls: verify.calls, cpuMs: (cpu.user + cpu.system) / 1000 })}\n`);
