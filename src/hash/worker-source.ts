/**
 * The hashing worker, as source text: it runs with `eval: true`, so it loads
 * the same way from dist/, under tsx and under vitest. It hashes the chunks
 * the main thread names ([slot, length] in a shared buffer), in the order
 * posted, answers each with the slot number (the slot may be reused) and
 * `-1` with the hex digest.
 */
export const HASH_WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { algorithm, shared, chunkSize, blake3Module } = workerData;
const hasher = algorithm === 'sha256'
  ? require('node:crypto').createHash('sha256')
  : new (require(blake3Module).Blake3Hasher)();
parentPort.on('message', (m) => {
  if (m === -1) {
    parentPort.postMessage(hasher.digest('hex'));
    return;
  }
  hasher.update(new Uint8Array(shared, m[0] * chunkSize, m[1]));
  parentPort.postMessage(m[0]);
});
`;
