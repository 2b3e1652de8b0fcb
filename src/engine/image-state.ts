import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type Docker from 'dockerode';
import { writeJsonAtomic } from '../util/atomic.js';
import { messageOf, RebuildError } from '../util/errors.js';
import { ENGINE_FIX, type EngineInfo, engineInfo } from './docker.js';
import { userNamespaceOf } from './hardening.js';
import { LABELS } from './labels.js';
import { type Arch, type BuiltImage, type ImageRole, PLATFORM } from './types.js';

/**
 * rebuild's own record of the images it made: one file per image under
 * `${XDG_STATE_HOME:-~/.local/state}/rebuild/images/engines/<engine>/`, keyed by
 * role, builder, arch and inputs hash, holding the image ID (the content digest
 * of its config, which names its layers). Labels are no proof (`docker commit`
 * copies them, anyone can set them); an image is rebuild's only when this
 * record names its ID. Each engine (a userns-remapped dockerd and a plain one on
 * the same host, another DOCKER_HOST) keeps its own records: a record made on
 * one engine says nothing about what another holds under the same tag.
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
  /** The engine the image was made on (or verified on, for a record adopted from before records were per engine). */
  engine?: EngineIdentity;
  /** Set when this record was adopted from a record of before engines were told apart, after verifying the image. */
  adopted?: string;
}

/**
 * Which engine a record belongs to: `docker info`'s ID, its data root and its
 * user-namespace mode. The ID alone is not enough: dockerd 20.10 derives it
 * from the host's /etc/docker/key.json, which every daemon on the host shares,
 * and a remapped daemon keeps it while its images live under another root.
 */
export interface EngineIdentity {
  id: string;
  rootDir: string;
  userns: 'remapped' | 'rootless' | 'none';
}

const ID = /^sha256:[0-9a-f]{64}$/;

type RecordKey = { role: ImageRole; builder: string; arch: Arch; inputsHash: string };

function keyOf(r: RecordKey): string {
  return `${r.role}-${r.builder}-${r.arch}-${r.inputsHash}`.replace(/[^A-Za-z0-9_.-]/g, '_');
}

/** A directory name for an engine: the same ID with another data root or remapping is another engine. */
export function engineKey(e: EngineIdentity): string {
  return createHash('sha256')
    .update(JSON.stringify([e.id, e.rootDir, e.userns]))
    .digest('hex')
    .slice(0, 24);
}

function sameEngine(a: EngineIdentity | undefined, b: EngineIdentity): boolean {
  return a !== undefined && a.id === b.id && a.rootDir === b.rootDir && a.userns === b.userns;
}

const identities = new WeakMap<Docker, Promise<EngineIdentity>>();

/** The engine's identity, asked once per connection. */
export function engineIdentity(docker: Docker): Promise<EngineIdentity> {
  let p = identities.get(docker);
  if (!p) {
    p = (async () => {
      let info: EngineInfo;
      try {
        info = await engineInfo(docker);
      } catch (err) {
        throw new RebuildError('environment', `the Docker engine does not say who it is: ${messageOf(err)}`, {
          subject: 'engine',
          fix: ENGINE_FIX,
          cause: err,
        });
      }
      if (!info.ID || !info.DockerRootDir) {
        throw new RebuildError(
          'environment',
          "the Docker engine reports no ID or data root: rebuild cannot tell its images from another engine's",
          { subject: 'engine', fix: 'use a Docker engine (dockerd 20.10 or newer)' },
        );
      }
      const options = (info.SecurityOptions ?? []).map((o) =>
        Object.fromEntries(o.split(',').map((kv) => kv.split('='))),
      );
      return { id: info.ID, rootDir: info.DockerRootDir, userns: userNamespaceOf(options) };
    })();
    identities.set(docker, p);
    p.catch(() => identities.delete(docker));
  }
  return p;
}

function parseRecord(text: string): ImageRecord | undefined {
  try {
    const r = JSON.parse(text) as ImageRecord;
    return r && typeof r.id === 'string' && ID.test(r.id) ? r : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Whether the engine holds exactly the image a record describes: the same ID
 * (the SHA-256 of the image config, which names every layer by the digest the
 * engine checked when it stored it, so the same ID is the same bytes on any
 * engine), the record's role, arch, builder and inputs hash in its labels, and
 * the record's architecture. A record that fails any of these is not trusted.
 */
async function verifiedOn(docker: Docker, r: ImageRecord): Promise<boolean> {
  const info = await docker
    .getImage(r.id)
    .inspect()
    .catch(() => undefined);
  if (!info || info.Id !== r.id) return false;
  const l = info.Config?.Labels ?? {};
  return (
    l[LABELS.role] === r.role &&
    l[LABELS.arch] === r.arch &&
    l[LABELS.builder] === r.builder &&
    l[LABELS.inputsHash] === r.inputsHash &&
    (r.specHash === undefined || l[LABELS.specHash] === r.specHash) &&
    info.Architecture === PLATFORM[r.arch].architecture
  );
}

/** Engine directories whose old records this process has looked at (once is enough: none are written any more). */
const adoptedOnce = new Set<string>();

/** rebuild's records for the engine behind `docker`, under `root` (default: the engine state's `images/`). */
export async function imageStateFor(docker: Docker, root: string): Promise<ImageState> {
  const state = new ImageState(root, await engineIdentity(docker));
  if (!adoptedOnce.has(state.dir)) {
    await state.adoptLegacy(docker);
    adoptedOnce.add(state.dir);
  }
  return state;
}

export class ImageState {
  /** This engine's records. */
  readonly dir: string;

  /** `root` holds one directory per engine and, directly, the records of before engines were told apart. */
  constructor(
    readonly root: string,
    readonly engine: EngineIdentity,
  ) {
    this.dir = join(root, 'engines', engineKey(engine));
  }

  private path(key: string): string {
    return join(this.dir, `${key}.json`);
  }

  async get(key: RecordKey): Promise<ImageRecord | undefined> {
    const text = await readFile(this.path(keyOf(key)), 'utf8').catch(() => undefined);
    const r = text === undefined ? undefined : parseRecord(text);
    // A record copied in from another engine's directory is not this engine's.
    return r && sameEngine(r.engine, this.engine) ? r : undefined;
  }

  async put(record: ImageRecord): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    await writeJsonAtomic(this.path(keyOf(record)), { ...record, engine: this.engine });
  }

  async all(): Promise<ImageRecord[]> {
    const names = await readdir(this.dir).catch(() => [] as string[]);
    const out: ImageRecord[] = [];
    for (const n of names.filter((x) => x.endsWith('.json'))) {
      const r = parseRecord(await readFile(join(this.dir, n), 'utf8').catch(() => ''));
      if (r && sameEngine(r.engine, this.engine)) out.push(r);
    }
    return out;
  }

  /**
   * Records written before engines were told apart (flat in `root`) may have
   * been made on any engine that shared this state. One becomes this engine's
   * only when this engine holds exactly the image it names (`verifiedOn`);
   * otherwise it is left alone, and the image is built again when needed.
   * The old file stays: the engine that made it adopts it in its turn.
   */
  async adoptLegacy(docker: Docker): Promise<string[]> {
    const names = (await readdir(this.root).catch(() => [] as string[])).filter((n) => n.endsWith('.json'));
    if (names.length === 0) return [];
    const mine = new Set(await readdir(this.dir).catch(() => [] as string[]));
    // Read and checked against the engine at once (one round trip per old record, every run, otherwise).
    const checked = await Promise.all(
      names
        .filter((n) => !mine.has(n))
        .map(async (n) => {
          const r = parseRecord(await readFile(join(this.root, n), 'utf8').catch(() => ''));
          return r && `${keyOf(r)}.json` === n && (await verifiedOn(docker, r)) ? { n, r } : undefined;
        }),
    );
    const adopted: string[] = [];
    for (const c of checked) {
      if (!c) continue;
      const { n, r } = c;
      await this.put({
        ...r,
        adopted: `${new Date().toISOString()} from ${n}, image verified on this engine`,
      });
      adopted.push(n);
    }
    return adopted;
  }

  /**
   * The recorded image for `key` when the engine still has it (by ID, so a
   * retagged or relabelled image is never taken for it).
   */
  async find(docker: Docker, key: RecordKey): Promise<BuiltImage | undefined> {
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
    // Asked of the engine at once (records of removed images can be many): the newest still there.
    const found = await Promise.all(candidates.map((r) => this.find(docker, r)));
    return found.find((f) => f !== undefined);
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
