import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyOutputs } from '../../src/build/verify.js';
import { hashFile } from '../../src/hash/digest.js';
import {
  applyPostProcessing,
  profileById,
  requestForRecord,
  resolvePostProcessRequest,
} from '../../src/postprocess/index.js';

let root: string;
let relocs: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'rebuild-alt-'));
  await writeFile(join(root, 'a.c'), 'int main(void){return 3;}\n');
  relocs = join(root, 'prog');
  await execa('gcc', ['-O2', '-Wl,--emit-relocs', '-o', relocs, join(root, 'a.c')]);
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('a build near a profile boundary', () => {
  it('reports which plausible profile reproduces the published bytes', async () => {
    // published: made with the strip-unneeded era's commands
    const published = join(root, 'published');
    await mkdir(published);
    await copyFile(relocs, join(published, 'prog'));
    await applyPostProcessing(published, {
      profile: profileById('bincache-2025-03-20'),
      reason: 'published',
    });
    const expected = await hashFile(join(published, 'prog'));
    // the rebuild: built 2025-04-10 10:00, so the strip-all era is chosen and the strip-unneeded one plausible
    const req = requestForRecord('bincache', '2025-04-10T10:00:00Z');
    expect(req.alternatives).toEqual(['bincache-2025-03-20']);
    const out = join(root, 'out');
    await mkdir(out);
    await copyFile(relocs, join(out, 'prog'));
    const pp = await applyPostProcessing(out, resolvePostProcessRequest(req));
    expect((await hashFile(join(out, 'prog'))).sha256).not.toBe(expected.sha256);
    const notes: string[] = [];
    const v = await verifyOutputs({
      dir: out,
      files: ['prog'],
      postProcessing: pp,
      expectations: new Map([['prog', { sha256: expected.sha256, blake3: expected.blake3, source: 'test' }]]),
      mainProgram: 'prog',
      note: (l) => notes.push(l),
    });
    expect(v.status).toBe('reproducible');
    expect(v.outputs[0]?.reproducedBy?.profile).toBe('bincache-2025-03-20');
    expect(v.outputs[0]?.reproducedBy?.steps.join(' ')).toContain('--strip-unneeded');
    expect(notes.some((n) => n.includes('profile bincache-2025-03-20 makes'))).toBe(true);
  });

  it('an output no plausible profile explains stays a mismatch', async () => {
    const out = join(root, 'out2');
    await mkdir(out);
    await copyFile(relocs, join(out, 'prog'));
    const pp = await applyPostProcessing(
      out,
      resolvePostProcessRequest(requestForRecord('bincache', '2025-04-10T10:00:00Z')),
    );
    const v = await verifyOutputs({
      dir: out,
      files: ['prog'],
      postProcessing: pp,
      expectations: new Map([['prog', { sha256: 'a'.repeat(64), source: 'test' }]]),
      mainProgram: 'prog',
      note: () => {},
    });
    expect(v.status).toBe('mismatch');
    expect(v.outputs[0]?.reproducedBy).toBeUndefined();
  });
});
