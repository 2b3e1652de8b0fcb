/**
 * The member list of an unpacked archive: tar headers read with tar-stream
 * from the member stream the unpack container wrote (the host never
 * decompresses or unpacks the artifact itself), then the members written by
 * the safe extraction. Both passes are bounded by the same limits.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import tar from 'tar-stream';
import {
  type ExtractResult,
  entryTarget,
  extractTarSafely,
  MAX_NAME_BYTES,
  shownName,
} from '../../engine/safe-extract.js';
import { RebuildError } from '../../util/errors.js';
import type { MemberSide, MemberType } from './types.js';

export interface ListedMember extends MemberSide {
  path: string;
}

export interface Listing {
  members: ListedMember[];
  /** Paths that occur more than once (extraction keeps the last: a difference by itself). */
  duplicates: string[];
  /** SHA-256 of the whole member stream. */
  streamSha256: string;
}

export interface ListingLimits {
  maxEntries: number;
  maxBytes: number;
}

function typeOf(t: tar.Header['type']): MemberType {
  switch (t) {
    case 'file':
    case 'contiguous-file':
    case undefined:
    case null:
      return 'file';
    case 'directory':
      return 'directory';
    case 'symlink':
      return 'symlink';
    case 'link':
      return 'hardlink';
    default:
      return 'other';
  }
}

/** Member path as compared: the safe extraction's normalisation, `.` for the root. */
export function memberPath(name: string): string | { escape: string } {
  const t = entryTarget(name);
  if (typeof t !== 'string') return t;
  return t === '' ? '.' : t;
}

/** Reads every header of a member stream (and hashes file contents) without writing anything. */
export async function listMembers(stream: string, limits: ListingLimits, subject: string): Promise<Listing> {
  const extract = tar.extract();
  const whole = createHash('sha256');
  const source = createReadStream(stream);
  source.on('data', (c) => whole.update(c));
  source.on('error', (err) => extract.destroy(err));
  source.pipe(extract);
  const members: ListedMember[] = [];
  const seen = new Set<string>();
  const duplicates: string[] = [];
  let bytes = 0;
  const refuse = (why: string) =>
    new RebuildError('input', `refused a hostile archive: ${why}`, {
      subject,
      fix: 'inspect the artifact: rebuild does not descend into archives that could write outside their own tree',
    });
  try {
    for await (const entry of extract) {
      const h = entry.header;
      if (members.length >= limits.maxEntries) throw refuse(`more than ${limits.maxEntries} entries`);
      const path = memberPath(h.name);
      if (typeof path !== 'string') throw refuse(`entry "${shownName(h.name)}": ${path.escape}`);
      // Kept for every member: bounded like the names (a pax header may carry megabytes).
      for (const [what, value, max] of [
        ['link name', h.linkname, MAX_NAME_BYTES],
        ['user name', h.uname, 256],
        ['group name', h.gname, 256],
      ] as const) {
        if (value && Buffer.byteLength(value) > max)
          throw refuse(`entry "${path}": ${what} longer than ${max} bytes`);
      }
      const type = typeOf(h.type);
      const digest = createHash('sha256');
      let size = 0;
      for await (const chunk of entry as AsyncIterable<Buffer>) {
        size += chunk.length;
        bytes += chunk.length;
        if (bytes > limits.maxBytes) throw refuse(`members exceed ${limits.maxBytes} bytes`);
        digest.update(chunk);
      }
      if (seen.has(path)) duplicates.push(path);
      seen.add(path);
      const m: ListedMember = {
        path,
        type,
        size,
        mode: (h.mode ?? 0) & 0o7777,
        uid: h.uid ?? 0,
        gid: h.gid ?? 0,
        mtime: h.mtime ? Math.floor(h.mtime.getTime() / 1000) : 0,
        index: members.length,
      };
      if (h.uname) m.uname = h.uname;
      if (h.gname) m.gname = h.gname;
      if (h.linkname) m.linkname = h.linkname;
      if (type === 'file') m.sha256 = digest.digest('hex');
      members.push(m);
    }
  } catch (err) {
    source.destroy();
    if (err instanceof RebuildError) throw err;
    throw new RebuildError('input', `cannot read the unpacked members: ${(err as Error).message}`, {
      subject,
      fix: 'the archive is corrupt or not the kind its first bytes claim',
      cause: err,
    });
  }
  return { members, duplicates, streamSha256: whole.digest('hex') };
}

/** Writes the members into `dest` through the safe extraction (refusals are returned, not written). */
export function extractMembers(
  stream: string,
  dest: string,
  limits: ListingLimits,
  subject: string,
): Promise<ExtractResult> {
  return extractTarSafely(createReadStream(stream), dest, {
    subject,
    limits: { maxEntries: limits.maxEntries, maxBytes: limits.maxBytes, maxFileBytes: limits.maxBytes },
  });
}
