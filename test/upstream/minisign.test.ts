/** minisign verification against signatures made by Debian's `minisign` (installed by scripts/setup-engine.sh --with-test-tools). */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  MinisignFormatError,
  PKGFORGE_MINISIGN_KEYS,
  parsePublicKey,
  verifyFileSignature,
} from '../../src/upstream/minisign.js';

let dir: string;
const key = (n: string) => join(dir, n);

async function keypair(name: string) {
  await execa('minisign', ['-G', '-W', '-p', key(`${name}.pub`), '-s', key(`${name}.sec`)]);
  return parsePublicKey(await readFile(key(`${name}.pub`), 'utf8'));
}
async function sign(file: string, name: string, extra: string[] = []) {
  await execa('minisign', [
    '-S',
    '-s',
    key(`${name}.sec`),
    '-m',
    file,
    '-x',
    `${file}.sig`,
    '-t',
    'timestamp:1 file:x',
    ...extra,
  ]);
  return readFile(`${file}.sig`, 'utf8');
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rebuild-minisign-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('minisign', () => {
  it("parses pkgforge's keys and minisign's own .pub files", async () => {
    expect(parsePublicKey(PKGFORGE_MINISIGN_KEYS.bincache).keyId).toMatch(/^[0-9A-F]{16}$/);
    expect(parsePublicKey(PKGFORGE_MINISIGN_KEYS.soarpkgs).key).toHaveLength(32);
    const pub = await keypair('a');
    const text = await readFile(key('a.pub'), 'utf8');
    expect(text).toContain(`minisign public key ${pub.keyId.replace(/^0+/, '')}`); // minisign prints the id without leading zeros
    expect(() => parsePublicKey('RWQ=')).toThrow(MinisignFormatError);
    expect(() => parsePublicKey('not base64 !')).toThrow(MinisignFormatError);
  });

  it('accepts a good signature (prehashed ED and legacy Ed), rejects tampering, other keys and garbage', async () => {
    const a = await keypair('k1');
    const b = await keypair('k2');
    const file = join(dir, 'tool');
    await writeFile(file, Buffer.from('\x7fELF pretend binary\n'.repeat(1000)));
    const sig = await sign(file, 'k1');
    expect(await verifyFileSignature(file, sig, a)).toMatchObject({
      status: 'ok',
      keyId: a.keyId,
      trustedComment: 'timestamp:1 file:x',
    });
    const legacy = await sign(file, 'k1', ['-l']);
    expect(
      Buffer.from(legacy.split('\n')[1] ?? '', 'base64')
        .subarray(0, 2)
        .toString(),
    ).toBe('Ed');
    expect((await verifyFileSignature(file, legacy, a)).status).toBe('ok');
    // another key
    const other = await verifyFileSignature(file, await sign(file, 'k2'), a);
    expect(other).toMatchObject({ status: 'bad', keyId: b.keyId });
    expect((other as { reason: string }).reason).toContain(`not by the repository's key ${a.keyId}`);
    // the file changed after signing
    const good = await sign(file, 'k1');
    await writeFile(file, 'changed');
    expect(await verifyFileSignature(file, good, a)).toMatchObject({
      status: 'bad',
      reason: 'the signature does not match the file',
    });
    // trusted comment altered
    await writeFile(file, Buffer.from('\x7fELF pretend binary\n'.repeat(1000)));
    const swapped = good.replace(
      'trusted comment: timestamp:1 file:x',
      'trusted comment: timestamp:2 file:x',
    );
    expect((await verifyFileSignature(file, swapped, a)).status).toBe('bad');
    expect((await verifyFileSignature(file, swapped, a)) as { reason: string }).toMatchObject({
      reason: expect.stringContaining('trusted comment'),
    });
    // garbage
    for (const g of ['', 'hello', 'untrusted comment: x\n!!!\ntrusted comment: y\nzz\n']) {
      expect((await verifyFileSignature(file, g, a)).status).toBe('bad');
    }
  });
});
