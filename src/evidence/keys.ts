/**
 * Ed25519 signing keys for attestations, in the forms people already have:
 * PKCS#8 / SPKI PEM (what `rebuild keygen` writes, what `openssl genpkey
 * -algorithm ed25519` makes) and OpenSSH (`ssh-keygen -t ed25519`). Parsing
 * of the OpenSSH containers is sshpk's; signing and verifying are node:crypto's
 * (OpenSSL). Nothing here implements a primitive.
 */
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
} from 'node:crypto';
import sshpk from 'sshpk';
import { messageOf, RebuildError } from '../util/errors.js';
import { readRegularFile } from '../util/regular-file.js';

export interface SigningKey {
  privateKey: KeyObject;
  publicKey: KeyObject;
  /** sha256 of the DER SubjectPublicKeyInfo, hex: names the key in envelopes. */
  keyid: string;
}

export interface VerifyingKey {
  publicKey: KeyObject;
  keyid: string;
}

const KEY_FIX =
  'give an Ed25519 key: `rebuild keygen -o NAME` writes NAME.key and NAME.pub; OpenSSH (`ssh-keygen -t ed25519 -N ""`) and PKCS#8 PEM keys work too';

/** The id rebuild gives a public key: sha256 of its SPKI DER, hex. */
export function keyIdOf(publicKey: KeyObject): string {
  return createHash('sha256')
    .update(publicKey.export({ type: 'spki', format: 'der' }))
    .digest('hex');
}

function requireEd25519(key: KeyObject, subject: string): void {
  if (key.asymmetricKeyType !== 'ed25519') {
    throw new RebuildError('input', `not an Ed25519 key (it is ${key.asymmetricKeyType ?? 'unknown'})`, {
      subject,
      fix: KEY_FIX,
    });
  }
}

/**
 * An OpenSSH Ed25519 private key as a KeyObject: its seed (`k`) and public
 * point (`A`) handed to node:crypto as a JWK (sshpk's own PKCS#8 export of
 * Ed25519 keys is not the RFC 8410 form OpenSSL reads).
 */
function fromOpenSsh(key: sshpk.PrivateKey): KeyObject {
  if (key.type !== 'ed25519') throw new Error(`an OpenSSH ${key.type} key`);
  const part = (name: string) => key.parts.find((p) => p.name === name)?.data;
  const seed = part('k');
  const pub = part('A');
  if (!seed || !pub) throw new Error('an OpenSSH Ed25519 key without its parts');
  return createPrivateKey({
    key: {
      kty: 'OKP',
      crv: 'Ed25519',
      d: seed.subarray(0, 32).toString('base64url'),
      x: pub.toString('base64url'),
    },
    format: 'jwk',
  });
}

/** Parses a private key (PKCS#8 PEM or OpenSSH), pure. */
export function parseSigningKey(text: string, subject: string): SigningKey {
  let privateKey: KeyObject;
  try {
    if (text.includes('BEGIN OPENSSH PRIVATE KEY')) {
      privateKey = fromOpenSsh(sshpk.parsePrivateKey(text, 'ssh', { filename: subject }));
    } else {
      privateKey = createPrivateKey(text);
    }
  } catch (err) {
    const encrypted = /ENCRYPTED|passphrase/i.test(messageOf(err)) || text.includes('ENCRYPTED');
    throw new RebuildError('input', `cannot read the signing key: ${messageOf(err)}`, {
      subject,
      fix: encrypted ? 'decrypt the key first (rebuild reads unencrypted keys only)' : KEY_FIX,
    });
  }
  requireEd25519(privateKey, subject);
  const publicKey = createPublicKey(privateKey);
  return { privateKey, publicKey, keyid: keyIdOf(publicKey) };
}

/** Parses a public key (SPKI PEM, an OpenSSH `ssh-ed25519 …` line, or a private key's public half), pure. */
export function parseVerifyingKey(text: string, subject: string): VerifyingKey {
  let publicKey: KeyObject;
  try {
    const trimmed = text.trim();
    if (trimmed.startsWith('ssh-ed25519 ') || trimmed.startsWith('ssh-')) {
      publicKey = createPublicKey(sshpk.parseKey(trimmed, 'ssh', { filename: subject }).toString('pkcs8'));
    } else if (trimmed.includes('PRIVATE KEY')) {
      return parseSigningKey(text, subject);
    } else {
      publicKey = createPublicKey(trimmed);
    }
  } catch (err) {
    if (err instanceof RebuildError) throw err;
    throw new RebuildError('input', `cannot read the public key: ${messageOf(err)}`, {
      subject,
      fix: KEY_FIX,
    });
  }
  requireEd25519(publicKey, subject);
  return { publicKey, keyid: keyIdOf(publicKey) };
}

async function readKeyFile(path: string): Promise<string> {
  try {
    return (await readRegularFile(path, 'key file', 1 << 20)).toString('utf8');
  } catch (err) {
    throw new RebuildError('input', `cannot read the key file: ${messageOf(err)}`, {
      subject: path,
      fix: KEY_FIX,
    });
  }
}

export async function loadSigningKey(path: string): Promise<SigningKey> {
  return parseSigningKey(await readKeyFile(path), path);
}

export async function loadVerifyingKey(path: string): Promise<VerifyingKey> {
  return parseVerifyingKey(await readKeyFile(path), path);
}

export interface GeneratedKeyPair {
  /** PKCS#8 PEM. */
  privatePem: string;
  /** SPKI PEM. */
  publicPem: string;
  /** The same public key as one OpenSSH line. */
  publicSsh: string;
  keyid: string;
}

export function generateKeyPair(comment = 'rebuild attestation key'): GeneratedKeyPair {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const publicPem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
  const ssh = sshpk.parseKey(publicPem, 'pem');
  ssh.comment = comment;
  return {
    privatePem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicPem,
    publicSsh: `${ssh.toString('ssh')}\n`,
    keyid: keyIdOf(publicKey),
  };
}
