/**
 * minisign signatures, as pkgforge's CI writes them (`minisign -Sm FILE -x
 * FILE.sig`) and soar checks them. The format:
 *
 *   public key: base64("Ed" ‖ key id (8) ‖ Ed25519 public key (32)), optionally
 *               after an `untrusted comment:` line;
 *   signature:  `untrusted comment: …`, base64(alg (2) ‖ key id (8) ‖ sig (64)),
 *               `trusted comment: …`, base64(global sig (64)).
 *
 * `alg` "ED" signs the BLAKE2b-512 of the file (minisign's default), "Ed"
 * the file itself (legacy). The global signature covers sig ‖ trusted
 * comment, so the comment cannot be swapped. Ed25519 is @noble/ed25519
 * (strict RFC 8032 checks, as libsodium), BLAKE2b is hash-wasm: no
 * primitive is written here, only the parsing.
 */
import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { verifyAsync } from '@noble/ed25519';

export interface MinisignPublicKey {
  /** Key id as minisign prints it (16 hex digits, the 8 bytes little-endian). */
  keyId: string;
  key: Uint8Array;
}

export interface MinisignSignature {
  algorithm: 'ED' | 'Ed';
  keyId: string;
  signature: Uint8Array;
  trustedComment: string;
  globalSignature: Uint8Array;
}

export type SignatureCheck =
  | { status: 'ok'; keyId: string; trustedComment: string }
  | { status: 'bad'; keyId?: string; reason: string };

/** Thrown for text that is not a minisign key or signature. */
export class MinisignFormatError extends Error {
  override name = 'MinisignFormatError';
}

function b64(text: string, what: string, length: number): Uint8Array {
  const t = text.trim();
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(t)) throw new MinisignFormatError(`${what} is not base64`);
  const bytes = Buffer.from(t, 'base64');
  if (bytes.length !== length)
    throw new MinisignFormatError(`${what} is ${bytes.length} bytes, not ${length}`);
  return new Uint8Array(bytes);
}

const hexId = (id: Uint8Array) => Buffer.from(id).reverse().toString('hex').toUpperCase();

/** Parses a public key: its base64 line, or a whole `.pub` file. Pure. */
export function parsePublicKey(text: string): MinisignPublicKey {
  const lines = text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== '');
  const line = lines.find((l) => !l.startsWith('untrusted comment:'));
  if (!line) throw new MinisignFormatError('no public key line');
  const raw = b64(line, 'the public key', 42);
  if (raw[0] !== 0x45 || raw[1] !== 0x64)
    throw new MinisignFormatError('the public key is not an Ed25519 minisign key');
  return { keyId: hexId(raw.subarray(2, 10)), key: raw.slice(10) };
}

/** Parses a `.sig`/`.minisig` file. Pure. */
export function parseSignature(text: string): MinisignSignature {
  const lines = text.split(/\r?\n/);
  if (lines.length < 4 || !lines[0]?.startsWith('untrusted comment:'))
    throw new MinisignFormatError('not a minisign signature (no untrusted comment line)');
  const raw = b64(lines[1] ?? '', 'the signature', 74);
  const alg = String.fromCharCode(raw[0]!, raw[1]!);
  if (alg !== 'ED' && alg !== 'Ed') throw new MinisignFormatError(`unknown signature algorithm "${alg}"`);
  const tc = lines[2] ?? '';
  if (!tc.startsWith('trusted comment: ')) throw new MinisignFormatError('no trusted comment line');
  return {
    algorithm: alg,
    keyId: hexId(raw.subarray(2, 10)),
    signature: raw.slice(10),
    trustedComment: tc.slice('trusted comment: '.length),
    globalSignature: b64(lines[3] ?? '', 'the global signature', 64),
  };
}

/** BLAKE2b-512 of a file, streamed. */
async function blake2b512(path: string): Promise<Uint8Array> {
  // Loaded only for a signature to check (most artifacts have none).
  const { createBLAKE2b } = await import('hash-wasm');
  const h = await createBLAKE2b(512);
  h.init();
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) h.update(chunk as Buffer);
  return h.digest('binary');
}

/** Verifies `file` against the text of its `.sig` with `key`. Never throws for a bad or malformed signature. */
export async function verifyFileSignature(
  file: string,
  signatureText: string,
  key: MinisignPublicKey,
): Promise<SignatureCheck> {
  let sig: MinisignSignature;
  try {
    sig = parseSignature(signatureText);
  } catch (err) {
    return { status: 'bad', reason: `malformed signature: ${(err as Error).message}` };
  }
  if (sig.keyId !== key.keyId) {
    return {
      status: 'bad',
      keyId: sig.keyId,
      reason: `signed by key ${sig.keyId}, not by the repository's key ${key.keyId}`,
    };
  }
  const message = sig.algorithm === 'ED' ? await blake2b512(file) : new Uint8Array(await readFile(file));
  const strict = { zip215: false };
  if (!(await verifyAsync(sig.signature, message, key.key, strict).catch(() => false))) {
    return { status: 'bad', keyId: sig.keyId, reason: 'the signature does not match the file' };
  }
  const global = new Uint8Array([...sig.signature, ...Buffer.from(sig.trustedComment, 'utf8')]);
  if (!(await verifyAsync(sig.globalSignature, global, key.key, strict).catch(() => false))) {
    return {
      status: 'bad',
      keyId: sig.keyId,
      reason: 'the trusted comment was altered (global signature does not match)',
    };
  }
  return { status: 'ok', keyId: sig.keyId, trustedComment: sig.trustedComment };
}

/**
 * pkgforge's minisign public keys: bincache `keys/minisign.pub` (pkgcache
 * publishes the same key), and soarpkgs 2026 (`soar-config/src/repository.rs`).
 */
export const PKGFORGE_MINISIGN_KEYS: Readonly<Record<'bincache' | 'pkgcache' | 'soarpkgs', string>> = {
  bincache: 'RWSWp/oBUfND5B2fSmDlYaBXPimGV+r2s9skVRYTQ5cJ+7i6ff/1Nxcr',
  pkgcache: 'RWSWp/oBUfND5B2fSmDlYaBXPimGV+r2s9skVRYTQ5cJ+7i6ff/1Nxcr',
  soarpkgs: 'RWQ109gKujRqohsA7RERlXFfeJi23EcHN3Dz8TxyPAywa5mLw/fbcbU4',
};
