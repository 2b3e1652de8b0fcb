/**
 * Audits attest too: a verifier that signs each result it produces (the
 * statement lands beside the result.json, `attestation.intoto.jsonl`), so
 * every verdict of a nightly audit or a farm worker carries its proof.
 */
import type { Verifier } from '../audit/types.js';
import { attestResult } from './attest.js';
import type { SigningKey } from './keys.js';

export function attestingVerifier(inner: Verifier, key: SigningKey): Verifier {
  return async (record, opts, reporter) => {
    const result = await inner(record, opts, reporter);
    // Nothing to attest when the published file was never fetched (an error before it).
    if (result.published.sha256 && result.outDir) await attestResult(result.outDir, key);
    return result;
  };
}
