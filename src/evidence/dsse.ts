/**
 * DSSE envelopes (https://github.com/secure-systems-lab/dsse, v1.0): the
 * signature covers the pre-authentication encoding of the payload type and
 * the payload bytes (PAE, from @sigstore/core), never the JSON of the
 * envelope, so nothing in the envelope can be re-ordered or re-encoded into
 * a different meaning. Ed25519 through node:crypto.
 */
import { sign, verify } from 'node:crypto';
import { dsse } from '@sigstore/core';
import type { SigningKey, VerifyingKey } from './keys.js';

export const IN_TOTO_PAYLOAD_TYPE = 'application/vnd.in-toto+json';

export interface DsseSignature {
  keyid: string;
  sig: string;
}

export interface DsseEnvelope {
  payloadType: string;
  /** base64 of the payload bytes. */
  payload: string;
  signatures: DsseSignature[];
}

export function signEnvelope(payload: Uint8Array, payloadType: string, key: SigningKey): DsseEnvelope {
  const body = Buffer.from(payload);
  const sig = sign(null, dsse.preAuthEncoding(payloadType, body), key.privateKey);
  return {
    payloadType,
    payload: body.toString('base64'),
    signatures: [{ keyid: key.keyid, sig: sig.toString('base64') }],
  };
}

export type EnvelopeCheck =
  | { ok: true; payload: Buffer; keyid: string }
  | { ok: false; reason: 'malformed' | 'no-signature-by-key' | 'bad-signature'; detail: string };

/** A value read from JSON that should be an envelope: checked field by field, pure. */
export function asEnvelope(value: unknown): DsseEnvelope | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const v = value as Record<string, unknown>;
  if (typeof v.payloadType !== 'string' || typeof v.payload !== 'string' || !Array.isArray(v.signatures))
    return undefined;
  const signatures: DsseSignature[] = [];
  for (const s of v.signatures as unknown[]) {
    if (typeof s !== 'object' || s === null) return undefined;
    const { keyid, sig } = s as Record<string, unknown>;
    if (typeof sig !== 'string') return undefined;
    signatures.push({ keyid: typeof keyid === 'string' ? keyid : '', sig });
  }
  return { payloadType: v.payloadType, payload: v.payload, signatures };
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/**
 * Verifies the envelope against one public key. Every signature is tried (a
 * keyid is a hint, not trusted): one valid signature by this key is enough.
 */
export function verifyEnvelope(envelope: DsseEnvelope, key: VerifyingKey): EnvelopeCheck {
  if (!BASE64.test(envelope.payload) || envelope.payload.length % 4 !== 0)
    return { ok: false, reason: 'malformed', detail: 'the payload is not base64' };
  const payload = Buffer.from(envelope.payload, 'base64');
  if (envelope.signatures.length === 0)
    return { ok: false, reason: 'malformed', detail: 'the envelope carries no signature' };
  const pae = dsse.preAuthEncoding(envelope.payloadType, payload);
  for (const s of envelope.signatures) {
    if (!BASE64.test(s.sig)) continue;
    if (verify(null, pae, key.publicKey, Buffer.from(s.sig, 'base64')))
      return { ok: true, payload, keyid: key.keyid };
  }
  const named = envelope.signatures.some((s) => s.keyid === key.keyid);
  return named
    ? { ok: false, reason: 'bad-signature', detail: 'the signature by this key does not match the statement' }
    : {
        ok: false,
        reason: 'no-signature-by-key',
        detail: `no signature by this key (key ${key.keyid.slice(0, 16)}…; signed by ${envelope.signatures
          .map((s) => (s.keyid ? `${s.keyid.slice(0, 16)}…` : 'an unnamed key'))
          .join(', ')})`,
      };
}
