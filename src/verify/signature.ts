/**
 * The minisign check of a published file, as soar does it by default: the
 * `<file>.sig` of the artifact against the repository's public key (or
 * `--minisign-key`). `none` when the artifact carries no signature (pkgforge
 * signed every file in both CI generations, so none is worth saying);
 * `bad` for a signature by another key, a mismatch or a malformed one.
 */
import { readFile } from 'node:fs/promises';
import {
  MinisignFormatError,
  PKGFORGE_MINISIGN_KEYS,
  parsePublicKey,
  verifyFileSignature,
} from '../upstream/minisign.js';
import type { FetchedFile, PackageRecord } from '../upstream/types.js';
import { RebuildError } from '../util/errors.js';
import type { VerifyResult } from './types.js';

export type SignatureFacts = NonNullable<VerifyResult['signature']>;

export async function checkSignature(
  record: PackageRecord,
  files: Record<string, FetchedFile>,
  mainName: string,
  override: string | undefined,
): Promise<SignatureFacts> {
  const keyName = override ? '--minisign-key' : `the ${record.repo} key`;
  let key: ReturnType<typeof parsePublicKey>;
  try {
    key = parsePublicKey(override ?? PKGFORGE_MINISIGN_KEYS[record.repo]);
  } catch (err) {
    if (!(err instanceof MinisignFormatError)) throw err;
    throw new RebuildError('usage', `--minisign-key is not a minisign public key: ${err.message}`, {
      fix: 'pass the base64 line of a minisign .pub file (RW…) or the file itself',
    });
  }
  const main = files[mainName];
  const sig = files[`${mainName}.sig`];
  if (!main || !sig) return { status: 'none', key: keyName, keyId: key.keyId };
  const check = await verifyFileSignature(main.path, await readFile(sig.path, 'utf8'), key);
  if (check.status === 'ok') {
    return { status: 'ok', key: keyName, keyId: key.keyId, trustedComment: check.trustedComment };
  }
  return { status: 'bad', key: keyName, keyId: check.keyId ?? key.keyId, reason: check.reason };
}

/** `signature ok (key …)`, `no signature`, `signature BAD: …`. */
export function signatureLine(s: SignatureFacts | undefined): string {
  if (!s) return 'signature not checked';
  if (s.status === 'ok') return `signature ok (${s.key} ${s.keyId})`;
  if (s.status === 'none') return 'no signature';
  return `signature BAD: ${s.reason} (checked with ${s.key} ${s.keyId})`;
}
