/**
 * pkgforge's published builder images of record. pkgforge/devscripts
 * rebuilds its builders weekly (build_gh_builder_images.yaml, Wednesdays)
 * and tags each `:<arch>` and `:<arch>-vYYYY.MM.DD`; a recipe pulled the
 * floating tag, so the image of record is the dated tag nearest on or before
 * the build date. When the registry can be reached (a `--registry-mirror`
 * for its host, or pkgforge itself when no mirror is given) that tag is
 * resolved to a digest by the registry and pulled by the digest through the
 * engine; otherwise the result says the builder differs from the one of
 * record and rebuild's local stand-in runs the recipe.
 */
import type Docker from 'dockerode';
import { parseImageName } from '../engine/image-names.js';
import { pullPinnedImage } from '../engine/pull.js';
import type { Arch } from '../engine/types.js';
import { OciClient } from '../upstream/oci.js';
import type { RegistryOptions } from '../upstream/types.js';
import { messageOf } from '../util/errors.js';
import { chooseDatedImage, dayOf } from './pins.js';

/** What became of one builder image a recipe names. */
export interface BuilderOfRecord {
  /** As the recipe names it. */
  asWritten: string;
  /** `pulled`: the image of record runs the recipe; `differs`: rebuild's stand-in does. */
  status: 'pulled' | 'differs';
  /** `ghcr.io/pkgforge/devscripts/alpine-builder:x86_64-v2025.01.15@sha256:…`, once known. */
  reference?: string;
  /** How the image was chosen: the recipe's own digest, the dated tag, or the tag as written. */
  choice?: 'digest' | 'dated-tag' | 'tag-as-written';
  digest?: string;
  /** What the engine pulled (the mirror's host in place of the registry). */
  pulledAs?: string;
  /** Image ID in the engine. */
  id?: string;
  /** One sentence: which image and why, or why not. */
  reason: string;
}

/** Registry, repository and tag of a builder name as pkgforge's builder read it. Pure. */
export interface BuilderReference {
  host: string;
  name: string;
  tag: string;
  digest?: string;
}

/**
 * `ghcr.io/pkgforge/devscripts/debian-builder-unstable:$(uname -m)` →
 * ghcr.io, pkgforge/devscripts/debian-builder-unstable, `<arch>`. A name
 * without a tag gets `:<arch>` (sbuild appends it); one without a registry
 * is on docker.io (`library/` for one component). A name that still holds
 * shell text after `$(uname -m)` is not literal: there is no image to ask for.
 */
export function builderReference(nameAsWritten: string, arch: Arch): BuilderReference | { error: string } {
  const literal = nameAsWritten.trim().replace(/\$\(\s*uname\s+-m\s*\)/g, arch);
  if (!literal || /[$`\s"']/.test(literal))
    return { error: `the image name ${nameAsWritten} is not literal (it holds shell text)` };
  const p = parseImageName(literal);
  const host = p.registry ?? 'docker.io';
  const name = host === 'docker.io' && !p.repository.includes('/') ? `library/${p.repository}` : p.repository;
  if (!name) return { error: `${nameAsWritten} names no repository` };
  return { host, name, tag: p.tag ?? arch, ...(p.digest ? { digest: p.digest } : {}) };
}

/**
 * Whether rebuild may ask `host` for an image: yes with a mirror for it,
 * yes when no mirror at all is given (pkgforge's own registries), otherwise
 * not (the run is pointed at loopback mirrors and this host has none).
 * Returns why not, or undefined.
 */
export function unreachableBecause(host: string, registry: RegistryOptions): string | undefined {
  const mirrors = registry.mirrors ?? {};
  if (Object.hasOwn(mirrors, host)) return undefined;
  if (Object.keys(mirrors).length === 0) return undefined;
  return `offline for ${host}: the run is pointed at mirrors (${Object.keys(mirrors).join(', ')}) and none serves ${host}`;
}

function differs(asWritten: string, shown: string, why: string): BuilderOfRecord {
  return {
    asWritten,
    status: 'differs',
    reason: `the builder differs from the one of record (${shown}): ${why}; rebuild's local stand-in runs the recipe`,
  };
}

/**
 * Finds and pulls the builder of record for `nameAsWritten` (see the module
 * comment). Never throws for an image that cannot be had: the answer then
 * says why the builder differs.
 */
export async function pullBuilderOfRecord(
  docker: Docker,
  nameAsWritten: string,
  arch: Arch,
  buildDate: string,
  registry: RegistryOptions,
  onProgress?: (line: string) => void,
): Promise<BuilderOfRecord> {
  const ref = builderReference(nameAsWritten, arch);
  if ('error' in ref) return differs(nameAsWritten, nameAsWritten, ref.error);
  const shown = `${ref.host}/${ref.name}:${ref.tag}`;
  const offline = unreachableBecause(ref.host, registry);
  if (offline) return differs(nameAsWritten, shown, offline);
  const day = dayOf(buildDate) ?? (buildDate || 'an unknown date');
  // One attempt: a registry that does not answer is reported, not waited for.
  const client = new OciClient({ ...registry, retries: 0 });
  try {
    let tag = ref.tag;
    let choice: NonNullable<BuilderOfRecord['choice']>;
    let why: string;
    let digest = ref.digest;
    if (digest) {
      choice = 'digest';
      why = 'the digest the recipe names';
    } else {
      const tags = await client.listTags(ref);
      const { chosen, candidates } = chooseDatedImage(
        ref.name,
        arch,
        buildDate,
        tags.map((t) => `${ref.name}:${t}`),
      );
      if (chosen) {
        tag = parseImageName(chosen.tag).tag ?? tag;
        choice = 'dated-tag';
        why = `the newest of ${candidates.length} dated ${arch} tag(s) on or before the build date ${day}`;
      } else if (tags.includes(ref.tag)) {
        choice = 'tag-as-written';
        why = `no dated ${arch} tag on or before ${day}${candidates.length ? ` (the oldest is ${candidates.at(-1)?.tag})` : ''}: the tag as written, which may be newer than the build`;
      } else {
        return differs(
          nameAsWritten,
          shown,
          tags.length
            ? `the registry has no ${arch} tag on or before ${day} and no tag ${ref.tag}`
            : `the registry has no tags for ${ref.host}/${ref.name}`,
        );
      }
      digest = (await client.getManifest({ host: ref.host, name: ref.name, tag }, arch)).digest;
    }
    const reference = `${ref.host}/${ref.name}:${tag}@${digest}`;
    const pulled = await pullPinnedImage(
      docker,
      `${ref.host}/${ref.name}@${digest}`,
      arch,
      registry.mirrors,
      onProgress,
    );
    const via = pulled.pulledAs.startsWith(`${ref.host}/`) ? '' : ` through ${pulled.pulledAs}`;
    return {
      asWritten: nameAsWritten,
      status: 'pulled',
      reference,
      choice,
      digest,
      pulledAs: pulled.pulledAs,
      id: pulled.id,
      reason: `builder of record ${reference} (${why}), pulled by digest${via}`,
    };
  } catch (err) {
    return differs(nameAsWritten, shown, `it cannot be had: ${messageOf(err)}`);
  }
}
