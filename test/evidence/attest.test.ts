import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import tar from 'tar-stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { attestResult, checkAttestation } from '../../src/evidence/attest.js';
import { collectEvidence, readBundle, writeBundle } from '../../src/evidence/bundle.js';
import { signEnvelope, verifyEnvelope } from '../../src/evidence/dsse.js';
import { generateKeyPair, parseSigningKey, parseVerifyingKey } from '../../src/evidence/keys.js';
import { asStatement } from '../../src/evidence/statement.js';
import { hashBytes } from '../../src/hash/digest.js';
import type { VerifyResult } from '../../src/verify/types.js';
import { unattemptedResult } from '../../src/verify/verify.js';
import { record } from '../audit/fixtures.js';

let dir: string;
let outDir: string;
const published = Buffer.from('\x7fELF published bytes of tally');
const keyA = generateKeyPair();
const keyB = generateKeyPair();
const signA = parseSigningKey(keyA.privatePem, 'a.key');
const pubA = parseVerifyingKey(keyA.publicPem, 'a.pub');
const pubB = parseVerifyingKey(keyB.publicPem, 'b.pub');

function equivalentResult(out: string): VerifyResult {
  const rec = record('tally', { version: '2.1.0' });
  const r = unattemptedResult(
    rec,
    {
      query: 'tally',
      arch: 'x86_64',
      metadata: { kind: 'base', url: 'http://127.0.0.1:1' },
      registry: {},
    } as never,
    new Date('2026-11-30T01:02:03.456Z'),
    { outDir: out, mainName: 'tally' },
  );
  const d = hashBytes(published);
  r.verdict = 'equivalent';
  r.summary = 'tally 2.1.0: the rebuilt tally differs from the published file only in ways pkgforge explains';
  r.published = {
    ...r.published,
    sha256: d.sha256,
    blake3: d.blake3,
    size: published.length,
    source: 'layer',
    shasumOk: true,
    bsumOk: true,
  };
  r.rebuilt = { name: 'tally', sha256: 'c'.repeat(64), blake3: 'd'.repeat(64), size: 10 };
  r.explanations = [{ kind: 'comment', summary: '.comment only in a (31 bytes)' } as never];
  r.inputs.manifestDigest = `sha256:${'e'.repeat(64)}`;
  r.inputs.recipe = { digest: 'f'.repeat(64), path: join(out, 'published', 'SBUILD') };
  r.inputs.pins.image = {
    asWritten: 'debian-builder',
    tag: 'rebuild/debian-builder:x86_64-1',
    id: `sha256:${'1'.repeat(64)}`,
    reason: 'local',
  };
  return r;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rebuild-evidence-'));
  outDir = join(dir, 'out');
  await mkdir(join(outDir, 'published'), { recursive: true });
  await mkdir(join(outDir, 'build', 'compare'), { recursive: true });
  await writeFile(join(outDir, 'result.json'), `${JSON.stringify(equivalentResult(outDir), null, 2)}\n`);
  await writeFile(join(outDir, 'report.md'), '# EQUIVALENT\n');
  await writeFile(join(outDir, 'published', 'SBUILD'), '#!/SBUILD\npkg: "tally"\n');
  await writeFile(join(outDir, 'published', 'tally'), published);
  await writeFile(join(outDir, 'published', 'tally.log'), 'log of record\n');
  await writeFile(join(outDir, 'build', 'build.log'), `${'x'.repeat(5 * 1024 * 1024)}\nLAST LINE\n`);
  await writeFile(join(outDir, 'build', 'compare', 'tally.html'), '<html></html>');
  // A hostile recipe's outputs: links that must never be followed into the bundle.
  await symlink('/etc/passwd', join(outDir, 'published', 'passwd'));
  await symlink('/etc/hostname', join(outDir, 'build', 'compare', 'evil.html'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('DSSE envelopes', () => {
  it('verify with the signing key, and fail for another key or a changed payload', () => {
    const env = signEnvelope(Buffer.from('{"a":1}'), 'application/vnd.in-toto+json', signA);
    expect(verifyEnvelope(env, pubA)).toMatchObject({ ok: true });
    expect(verifyEnvelope(env, pubB)).toMatchObject({ ok: false, reason: 'no-signature-by-key' });
    const changed = { ...env, payload: Buffer.from('{"a":2}').toString('base64') };
    expect(verifyEnvelope(changed, pubA)).toMatchObject({ ok: false, reason: 'bad-signature' });
    // the payload type is signed too (PAE): relabelling the payload breaks the signature
    expect(verifyEnvelope({ ...env, payloadType: 'text/plain' }, pubA)).toMatchObject({ ok: false });
  });

  it('reads OpenSSH keys made by ssh-keygen', async () => {
    const k = join(dir, 'ssh');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'auditor', '-f', k]);
    const sk = parseSigningKey(await readFile(k, 'utf8'), k);
    const pk = parseVerifyingKey(await readFile(`${k}.pub`, 'utf8'), `${k}.pub`);
    expect(pk.keyid).toBe(sk.keyid);
    const env = signEnvelope(Buffer.from('x'), 't', sk);
    expect(verifyEnvelope(env, pk).ok).toBe(true);
    // and the OpenSSH form keygen prints is the same key as its PEM
    expect(parseVerifyingKey(keyA.publicSsh, 'a.ssh').keyid).toBe(pubA.keyid);
  });

  it('refuses keys that are not Ed25519, naming the file and the fix', () => {
    const rsa = execFileSync(
      'openssl',
      ['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:1024'],
      { stdio: ['ignore', 'pipe', 'ignore'] },
    ).toString();
    expect(() => parseSigningKey(rsa, 'rsa.key')).toThrow(/not an Ed25519 key/);
    expect(() => parseVerifyingKey('garbage', 'x.pub')).toThrow(/cannot read the public key/);
  });
});

describe('statements', () => {
  it('name the published file as subject and carry the verdict, explanations and inputs', async () => {
    const att = await attestResult(outDir, signA);
    const st = asStatement(att.statement);
    expect(st).toBeDefined();
    expect(st!.subject[0]).toMatchObject({ name: 'tally', digest: { sha256: hashBytes(published).sha256 } });
    expect(st!.predicate.verification.verdict).toBe('equivalent');
    expect(st!.predicate.verification.explanations).toHaveLength(1);
    expect(st!.predicate.verification.resultDigest.sha256).toBe(
      hashBytes(await readFile(join(outDir, 'result.json'))).sha256,
    );
    expect(st!.predicate.buildDefinition.resolvedDependencies.map((d) => d.name)).toEqual(
      expect.arrayContaining(['artifact of record', 'recipe of record', 'builder image']),
    );
  });

  it('verify, and fail once a byte of the statement, the subject or the key changes', async () => {
    const path = join(outDir, 'attestation.intoto.jsonl');
    const subject = join(outDir, 'published', 'tally');
    expect(await checkAttestation(path, pubA, { subjectFile: subject })).toMatchObject({ ok: true });
    expect(await checkAttestation(path, pubB)).toMatchObject({ ok: false, failure: 'signature' });

    const other = join(dir, 'other-file');
    await writeFile(other, 'another file');
    expect(await checkAttestation(path, pubA, { subjectFile: other })).toMatchObject({
      ok: false,
      failure: 'mismatch',
    });

    // flip one byte inside the signed statement (equivalent → different)
    const env = JSON.parse(await readFile(path, 'utf8'));
    const payload = Buffer.from(env.payload, 'base64')
      .toString('utf8')
      .replace('"verdict":"equivalent"', '"verdict":"identical!"');
    const forged = join(dir, 'forged.intoto.jsonl');
    await writeFile(forged, JSON.stringify({ ...env, payload: Buffer.from(payload).toString('base64') }));
    expect(await checkAttestation(forged, pubA)).toMatchObject({ ok: false, failure: 'signature' });
  });
});

async function entriesOf(gz: Buffer): Promise<{ name: string; mtime?: Date; body: Buffer }[]> {
  const out: { name: string; mtime?: Date; body: Buffer }[] = [];
  const ex = tar.extract();
  ex.on('entry', (h, s, next) => {
    const chunks: Buffer[] = [];
    s.on('data', (c: unknown) => chunks.push(c as Buffer));
    s.on('end', () => {
      out.push({ name: h.name, mtime: h.mtime, body: Buffer.concat(chunks) });
      next();
    });
  });
  const done = new Promise((resolve, reject) => {
    ex.on('finish', () => resolve(undefined));
    ex.on('error', reject);
  });
  ex.end(gunzipSync(gz));
  await done;
  return out;
}

async function repack(entries: { name: string; body: Buffer }[]): Promise<Buffer> {
  const pack = tar.pack();
  for (const e of entries) pack.entry({ name: e.name, size: e.body.length }, e.body);
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const c of pack as AsyncIterable<Buffer>) chunks.push(c);
  return gzipSync(Buffer.concat(chunks));
}

describe('evidence bundles', () => {
  it('are byte-identical when made twice, sorted, with fixed mtimes, links never followed', async () => {
    const a = await writeBundle(join(dir, 'a.tar.gz'), await collectEvidence(outDir));
    const b = await writeBundle(join(dir, 'b.tar.gz'), await collectEvidence(outDir));
    expect(a.sha256).toBe(b.sha256);
    const entries = await entriesOf(await readFile(a.path));
    const names = entries.map((e) => e.name);
    expect(names).toEqual([...names].sort());
    expect(names).toEqual(
      expect.arrayContaining([
        'evidence/result.json',
        'evidence/recipe/SBUILD',
        'evidence/published/tally.log',
        'evidence/build/build.log',
        'evidence/compare/tally.html',
        'evidence/attestation.intoto.jsonl',
        'evidence/inputs.json',
        'evidence/digests.json',
        'evidence/README.txt',
        'evidence/MANIFEST.json',
      ]),
    );
    expect(names.some((n) => n.includes('passwd') || n.includes('evil'))).toBe(false);
    // the binary is referenced by digest, not embedded
    expect(names).not.toContain('evidence/binaries/published/tally');
    const manifest = JSON.parse(entries.find((e) => e.name === 'evidence/MANIFEST.json')!.body.toString());
    expect(manifest.referenced.map((r: { name: string }) => r.name)).toContain('published/tally');
    expect(new Set(entries.map((e) => e.mtime?.toISOString()))).toEqual(
      new Set(['2026-11-30T01:02:03.000Z']),
    );
    // the long log keeps its end, and says it was cut
    const log = entries.find((e) => e.name === 'evidence/build/build.log')!.body.toString();
    expect(log.endsWith('LAST LINE\n')).toBe(true);
    expect(
      manifest.entries.find((e: { name: string }) => e.name === 'build/build.log').truncated.originalSize,
    ).toBeGreaterThan(5 * 1024 * 1024);
  });

  it('embed the binaries with --with-binaries', async () => {
    const w = await writeBundle(
      join(dir, 'bin.tar.gz'),
      await collectEvidence(outDir, { withBinaries: true }),
    );
    const entries = await readBundle(w.path);
    expect(entries.get('binaries/published/tally')).toEqual(published);
  });

  it('attest verify detects an edited verdict inside a signed bundle', async () => {
    const good = join(dir, 'a.tar.gz');
    expect(await checkAttestation(good, pubA)).toMatchObject({ ok: true });
    const entries = await entriesOf(await readFile(good));
    const edited = entries.map((e) =>
      e.name === 'evidence/result.json'
        ? {
            ...e,
            body: Buffer.from(
              e.body.toString().replace('"verdict": "equivalent"', '"verdict": "reproducible"'),
            ),
          }
        : e,
    );
    expect(edited.find((e) => e.name === 'evidence/result.json')!.body.toString()).toContain(
      '"reproducible"',
    );
    const tampered = join(dir, 'tampered.tar.gz');
    await writeFile(tampered, await repack(edited));
    const r = await checkAttestation(tampered, pubA);
    expect(r).toMatchObject({ ok: false, failure: 'mismatch' });
    expect(r.message).toMatch(/edited/);
  });

  it('refuse hostile bundles cleanly', async () => {
    const escaping = join(dir, 'escape.tar.gz');
    await writeFile(
      escaping,
      await repack([
        { name: 'evidence/../../etc/x', body: Buffer.from('x') },
        { name: 'evidence/result.json', body: Buffer.from('{}') },
      ]),
    );
    await expect(readBundle(escaping)).rejects.toThrow(/entry name/);
    const truncated = join(dir, 'truncated.tar.gz');
    await writeFile(truncated, (await readFile(join(dir, 'a.tar.gz'))).subarray(0, 300));
    await expect(readBundle(truncated)).rejects.toThrow(/not a usable evidence bundle/);
    const big = join(dir, 'big.tar.gz');
    await writeFile(big, await repack([{ name: 'evidence/result.json', body: Buffer.alloc(2048) }]));
    await expect(
      readBundle(big, { maxEntries: 10, maxEntryBytes: 1024, maxTotalBytes: 4096 }),
    ).rejects.toThrow(/larger than allowed/);
  });
});
