/**
 * Image records are per engine: a second dockerd of the test's own (its own
 * socket and data root, no remapping) next to the shared one (remapped).
 * The images are tiny one-file roots loaded the way base images are; the
 * records live in a temporary root (the process's own state is untouched).
 * Each attack writes its expected outcome first.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import type Docker from 'dockerode';
import tar from 'tar-stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadRootfsImage } from '../../src/engine/base-image.js';
import { connectEngine } from '../../src/engine/docker.js';
import {
  claimTags,
  engineIdentity,
  engineKey,
  type ImageRecord,
  imageStateFor,
} from '../../src/engine/image-state.js';
import { hashTagFor, LABELS, listImages } from '../../src/engine/images.js';
import { followJsonStream } from '../../src/engine/progress.js';
import { type PrivateEngine, startPrivateEngine } from '../helpers/private-engine.js';

let shared: Docker;
let other: PrivateEngine;
let work: string;
let rootfs: string;
const madeOnShared = new Set<string>();
const builder = `test-engines-${randomUUID().slice(0, 8)}`;
const inputsHash = randomBytes(32).toString('hex');
const key = { role: 'builder' as const, builder, arch: 'x86_64' as const, inputsHash };
const tag = hashTagFor('builder', builder, 'x86_64', inputsHash);

beforeAll(async () => {
  shared = await connectEngine();
  other = await startPrivateEngine();
  work = await mkdtemp(join(tmpdir(), 'rebuild-image-records-'));
  rootfs = join(work, 'rootfs.tar');
  const pack = tar.pack();
  pack.entry({ name: 'marker', mode: 0o644, mtime: new Date(0) }, 'a tiny root\n');
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const c of pack) chunks.push(c as Buffer);
  await writeFile(rootfs, Buffer.concat(chunks));
}, 300_000);

afterAll(async () => {
  for (const id of madeOnShared)
    await shared
      .getImage(id)
      .remove({ force: true })
      .catch(() => undefined);
  await other?.stop();
  if (work) await rm(work, { recursive: true, force: true });
}, 300_000);

/** A one-layer image with rebuild's labels for `key` (or the given ones); each call makes a new ID (its `created`). */
async function load(docker: Docker, labels: Record<string, string> = {}): Promise<string> {
  const id = await loadRootfsImage(docker, rootfs, {
    arch: 'x86_64',
    tags: [],
    labels: {
      [LABELS.role]: 'builder',
      [LABELS.arch]: 'x86_64',
      [LABELS.builder]: builder,
      [LABELS.inputsHash]: inputsHash,
      ...labels,
    },
    createdBy: 'test',
  });
  if (docker === shared) madeOnShared.add(id);
  // The next image made must differ by its creation time (seconds resolution at worst).
  await new Promise((r) => setTimeout(r, 1100));
  return id;
}

function record(id: string): ImageRecord {
  return { ...key, id, tag, created: new Date().toISOString() };
}

async function legacyRoot(r: ImageRecord): Promise<string> {
  const root = await mkdtemp(join(work, 'state-'));
  await writeFile(join(root, `builder-${builder}-x86_64-${inputsHash}.json`), JSON.stringify(r));
  return root;
}

describe('image records are kept per engine', () => {
  it('the two engines are told apart', async () => {
    // Expected: different keys. dockerd 20.10 takes its ID from the host's /etc/docker/key.json, so two
    // daemons on one host may report the same ID: the data root (and remapping) tells them apart.
    const a = await engineIdentity(shared);
    const b = await engineIdentity(other.docker);
    expect(a.rootDir).not.toBe(b.rootDir);
    expect(b.userns).toBe('none');
    expect(engineKey(a)).not.toBe(engineKey(b));
  });

  it('the same image key on two engines keeps two records, each naming its own engine image', async () => {
    // Expected: each engine finds its own ID; before, the second record overwrote the first.
    const root = await mkdtemp(join(work, 'state-'));
    const idA = await load(shared);
    const idB = await load(other.docker);
    expect(idA).not.toBe(idB);
    const a = await imageStateFor(shared, root);
    const b = await imageStateFor(other.docker, root);
    await a.put(record(idA));
    await b.put(record(idB));
    expect((await a.find(shared, key))?.id).toBe(idA);
    expect((await b.find(other.docker, key))?.id).toBe(idB);
    expect((await readdir(join(root, 'engines'))).sort()).toEqual(
      [a.dir, b.dir].map((d) => d.split('/').at(-1)).sort(),
    );
  });

  it("a record copied into another engine's directory is not trusted there", async () => {
    // Expected: the copied record names the other engine: get() ignores it, find() finds nothing.
    const root = await mkdtemp(join(work, 'state-'));
    const idA = await load(shared);
    const a = await imageStateFor(shared, root);
    const b = await imageStateFor(other.docker, root);
    await a.put(record(idA));
    // Even with the very image present on the other engine.
    const saved = (await shared.getImage(idA).get()) as unknown as Readable;
    await followJsonStream((await other.docker.loadImage(saved, { quiet: true })) as unknown as Readable);
    await mkdir(b.dir, { recursive: true });
    const name = (await readdir(a.dir))[0]!;
    await copyFile(join(a.dir, name), join(b.dir, name));
    expect(await b.get(key)).toBeUndefined();
    expect(await b.find(other.docker, key)).toBeUndefined();
  });

  it('an old shared record naming an image this engine lacks is not adopted; its tag there is refused', async () => {
    // Attack: the old record (made on the shared engine) names idA; on the private engine the same
    // tag names an image built from something else, carrying copied labels.
    // Expected: the private engine adopts nothing, finds nothing, lists nothing, and refuses to keep
    // the foreign image under rebuild's content tag; the shared engine adopts the record (it holds idA).
    const idA = await load(shared);
    const root = await legacyRoot(record(idA));
    const impostor = await load(other.docker, { note: 'built from something else' });
    const colon = tag.lastIndexOf(':');
    await other.docker.getImage(impostor).tag({ repo: tag.slice(0, colon), tag: tag.slice(colon + 1) });

    const b = await imageStateFor(other.docker, root);
    expect(await b.all()).toEqual([]);
    expect(await b.find(other.docker, key)).toBeUndefined();
    expect((await listImages(other.docker, b)).map((i) => i.id)).not.toContain(impostor);
    const rebuilt = await load(other.docker);
    await b.put(record(rebuilt));
    await expect(claimTags(other.docker, b, rebuilt, [tag])).rejects.toThrow(
      /an image rebuild did not build/,
    );
    expect((await other.docker.getImage(tag).inspect()).Id).toBe(impostor);

    const a = await imageStateFor(shared, root);
    const adopted = await a.get(key);
    expect(adopted?.id).toBe(idA);
    expect(adopted?.adopted).toMatch(/verified on this engine/);
    expect((await a.find(shared, key))?.id).toBe(idA);
    // The old file stays for the engine that made it.
    expect(
      JSON.parse(await readFile(join(root, `builder-${builder}-x86_64-${inputsHash}.json`), 'utf8')).id,
    ).toBe(idA);
  });

  it('an old record whose image this engine holds with other labels is not adopted', async () => {
    // Attack: the old record claims inputs hash H for an image whose labels say another hash.
    // Expected: not adopted (the labels must match the record), nothing found.
    const other_hash = randomBytes(32).toString('hex');
    const id = await load(other.docker, { [LABELS.inputsHash]: other_hash });
    const root = await legacyRoot(record(id));
    const b = await imageStateFor(other.docker, root);
    expect(await b.all()).toEqual([]);
    expect(await b.find(other.docker, key)).toBeUndefined();
  });

  it('an old record whose very image (same content ID) this engine holds is adopted', async () => {
    // Expected: adopted: the ID is the digest of the config, which names the layers the engine
    // checked on load, so the same ID is the same bytes.
    const idA = await load(shared);
    const saved = (await shared.getImage(idA).get()) as unknown as Readable;
    await followJsonStream((await other.docker.loadImage(saved, { quiet: true })) as unknown as Readable);
    const root = await legacyRoot(record(idA));
    const b = await imageStateFor(other.docker, root);
    expect((await b.find(other.docker, key))?.id).toBe(idA);
    expect((await b.get(key))?.engine).toEqual(await engineIdentity(other.docker));
  });
});
