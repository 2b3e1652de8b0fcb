/**
 * minisign signature verification (the format soarpkgs signs its index
 * with, `minisign -S -s key -m file -x file.sig`). The cryptography is
 * node:crypto's (Ed25519, BLAKE2b-512); this module only reads the two text
 * formats and checks key ids and the trusted comment's global signature.
 *
 *   public key:  [untrusted comment line] base64("Ed" ‖ key id[8] ‖ Ed25519 key[32])
 *   signature:   untrusted comment: …
 *                base64(alg[2] ‖ key id[8] ‖ signature[64])   alg "ED": over BLAKE2b-512(file); "Ed": over the file
 *                trusted comment: …
 *                base64(global signature[64] over signature ‖ trusted comment)
 */
import { createHash, createPublicKey, verify } from 'node:crypto';
import { RebuildError } from '../util/errors.js';

export interface MinisignPublicKey {
  /** Key id as minisign prints it (16 hex digits, big-endian). */
  keyId: string;
  key: Buffer;
}

export interface MinisignVerdict {
  ok: boolean;
  keyId: string;
  /** The text after `trusted comment: ` (only meaningful when ok). */
  trustedComment: string;
  /** Why it failed, in words. */
  reason?: string;
}

function b64(text: string, what: string, subject: string): Buffer {
  const t = text.trim();
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(t))
    throw new RebuildError('input', `${what} is not base64`, { subject });
  return Buffer.from(t, 'base64');
}

/** Key id bytes are stored little-endian; minisign prints them as a big-endian hex number. */
function keyIdHex(bytes: Buffer): string {
  return Buffer.from(bytes).reverse().toString('hex').toUpperCase();
}

/** Reads a public key file (or the bare base64 line, as soarpkgs' keys/minisign.pub holds it). */
export function parsePublicKey(text: string, subject = 'public key'): MinisignPublicKey {
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== '' && !l.startsWith('untrusted comment:'));
  if (lines.length !== 1)
    throw new RebuildError('input', 'not a minisign public key (one base64 line expected)', { subject });
  const raw = b64(lines[0]!, 'the public key', subject);
  if (raw.length !== 42 || raw.subarray(0, 2).toString('latin1') !== 'Ed')
    throw new RebuildError('input', 'not a minisign Ed25519 public key', { subject });
  return { keyId: keyIdHex(raw.subarray(2, 10)), key: raw.subarray(10) };
}

function ed25519Verify(key: Buffer, message: Buffer, signature: Buffer): boolean {
  const pub = createPublicKey({
    key: { kty: 'OKP', crv: 'Ed25519', x: key.toString('base64url') },
    format: 'jwk',
  });
  return verify(null, message, pub, signature);
}

/** Verifies `signatureText` (a `.minisig`/`.sig` file) over `data` with `key`. Malformed signature files throw. */
export function verifyMinisign(
  data: Buffer,
  signatureText: string,
  key: MinisignPublicKey,
  subject = 'signature',
): MinisignVerdict {
  const lines = signatureText.split(/\r?\n/);
  if (
    lines.length < 4 ||
    !lines[0]!.startsWith('untrusted comment:') ||
    !lines[2]!.startsWith('trusted comment: ')
  )
    throw new RebuildError(
      'input',
      'not a minisign signature file (4 lines: comment, signature, trusted comment, global signature)',
      {
        subject,
      },
    );
  const sig = b64(lines[1]!, 'the signature', subject);
  const global = b64(lines[3]!, 'the global signature', subject);
  if (sig.length !== 74 || global.length !== 64)
    throw new RebuildError('input', 'minisign signature has the wrong length', { subject });
  const alg = sig.subarray(0, 2).toString('latin1');
  const keyId = keyIdHex(sig.subarray(2, 10));
  const trustedComment = lines[2]!.slice('trusted comment: '.length);
  const fail = (reason: string): MinisignVerdict => ({ ok: false, keyId, trustedComment, reason });
  if (alg !== 'ED' && alg !== 'Ed') return fail(`unknown signature algorithm "${alg}"`);
  if (keyId !== key.keyId) return fail(`signed with key ${keyId}, not the trusted key ${key.keyId}`);
  const signature = sig.subarray(10);
  const message = alg === 'ED' ? createHash('blake2b512').update(data).digest() : data;
  if (!ed25519Verify(key.key, message, signature)) return fail('the signature does not match the file');
  if (!ed25519Verify(key.key, Buffer.concat([signature, Buffer.from(trustedComment, 'utf8')]), global))
    return fail('the trusted comment was altered (global signature does not match)');
  return { ok: true, keyId, trustedComment };
}

/** soarpkgs' index signing key (keys/minisign.pub in pkgforge/soarpkgs). */
export const SOARPKGS_PUBLIC_KEY = 'RWQ109gKujRqohsA7RERlXFfeJi23EcHN3Dz8TxyPAywa5mLw/fbcbU4';
