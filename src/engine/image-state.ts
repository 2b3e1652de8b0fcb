import { mkdir, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type Docker from 'dockerode';
import { writeJsonAtomic } from '../util/atomic.js';
import { RebuildError } from '../util/errors.js';
import type { Arch, BuiltImage, ImageRole } from './types.js';

/**
 * rebuild's own record of the images it made: one file per image under
 * `${XDG_STATE_HOME:-~/.local/state}/rebuild/images/`, keyed by role, builder, arch and inputs hash, holding
 * the image ID (the content digest of its config, which names its layers).
 * Labels are no proof (`docker commit` copies them, anyone can set them);
 * an image is rebuild's only when this record names its ID.
 */
export interface ImageRecord {
  id: string;
  tag: string;
  arch: Arch;
  role: ImageRole;
  builder: string;
  inputsHash: string;
  created: string;
  /** Base images: hash of the package spec without the mmdebstrap version. */
  specHash?: string;
}

const ID = /^sha256:[0-9a-f]{64}$/;

function keyOf(r: { role: ImageRole; builder: string; arch: Arch; inputsHash: string }): string {
  return `${r.role}-${r.builder}-${r.arch}-${r.inputsHash}`.replace(/[^A-Za-z0-9_.-]/g, '_');
}

export class ImageState {
  constructor(readonly dir: string) {}

  private path(key: string): string {
    return join(this.dir, `${key}.json`);
  }

  async get(key: {
    role: ImageRole;
    builder: string;
    arch: Arch;
    inputsHash: string;
  }): Promise<ImageRecord | undefined> {
    const text = await readFile(this.path(keyOf(key)), 'utf8').catch(() => undefined);
    if (!text) return undefined;
    try {
      const r = JSON.parse(text) as ImageRecord;
      return typeof r.id === 'string' && ID.test(r.id) ? r : undefined;
    } catch {
      return undefined;
    }
  }

  async put(record: ImageRecord): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    await writeJsonAtomic(this.path(keyOf(record)), record);
  }

  async all(): Promise<ImageRecord[]> {
    const names = await readdir(this.dir).catch(() => [] as string[]);
    const out: ImageRecord[] = [];
    for (const n of names.filter((x) => x.endsWith('.json'))) {
      try {
        const r = JSON.parse(await readFile(join(this.dir, n), 'utf8')) as ImageRecord;
        if (typeof r.id === 'string' && ID.test(r.id)) out.push(r);
      } catch {
        // a record being replaced, or not ours
      }
    }
    return out;
  }

  /**
   * The recorded image for `key` when the engine still has it (by ID, so a
   * retagged or relabelled image is never taken for it).
   */
  async find(
    docker: Docker,
    key: { role: ImageRole; builder: string; arch: Arch; inputsHash: string },
  ): Promise<BuiltImage | undefined> {
    const r = await this.get(key);
    if (!r) return undefined;
    const info = await docker
      .getImage(r.id)
      .inspect()
      .catch(() => undefined);
    if (!info || info.Id !== r.id) return undefined;
    return {
      tag: r.tag,
      id: r.id,
      arch: r.arch,
      role: r.role,
      builder: r.builder,
      inputsHash: r.inputsHash,
      created: r.created,
    };
  }

  /** A base image recorded for this package spec (any mmdebstrap version), newest first. */
  async findBySpec(docker: Docker, arch: Arch, specHash: string): Promise<BuiltImage | undefined> {
    const candidates = (await this.all())
      .filter((r) => r.role === 'base' && r.arch === arch && r.specHash === specHash)
      .sort((a, b) => b.created.localeCompare(a.created));
    for (const r of candidates) {
      const found = await this.find(docker, r);
      if (found) return found;
    }
    return undefined;
  }
}

/**
 * Points each tag at `id`. The content tag (`…:<arch>-<hash12>`, the first)
 * naming an image rebuild did not record is refused: someone (a `docker
 * commit` of a builder, say) put another image under rebuild's name, and
 * silently moving the tag back would hide that. The floating tag
 * (`…:<arch>`) is only a convenience for people (rebuild runs images by
 * ID), so it is moved, and a foreign image it named is reported.
 */
export async function claimTags(
  docker: Docker,
  state: ImageState,
  id: string,
  tags: string[],
  note?: (line: string) => void,
): Promise<void> {
  // Where each tag points now, asked at once; rebuild's records are read only when one points elsewhere.
  const currents = await Promise.all(
    tags.map((t) =>
      docker
        .getImage(t)
        .inspect()
        .then((info) => info.Id)
        .catch(() => undefined),
    ),
  );
  if (currents.every((c) => c === id)) return;
  const ours = new Set((await state.all()).map((r) => r.id));
  ours.add(id);
  for (const [i, t] of tags.entries()) {
    const current = currents[i];
    if (current === id) continue;
    if (current && !ours.has(current)) {
      if (i === 0) {
        throw new RebuildError(
          'environment',
          `the tag ${t} names ${current.slice(0, 19)}, an image rebuild did not build (rebuild's is ${id.slice(0, 19)})`,
          {
            subject: t,
            fix: `inspect it (docker image inspect ${t}); if it is not needed, remove the tag with \`docker rmi ${t}\` and run again`,
          },
        );
      }
      note?.(
        `the tag ${t} named ${current.slice(0, 19)}, an image rebuild did not build; it now names rebuild's ${id.slice(0, 19)}`,
      );
    }
    const colon = t.lastIndexOf(':');
    await docker.getImage(id).tag({ repo: t.slice(0, colon), tag: t.slice(colon + 1) });
  }
}
