/**
 * The container half of compareArtifact: both sides archives or AppImages,
 * unpacked in a container and compared member by member. Loaded only when
 * a pair is two containers (a plain pair needs none of it).
 */
import { mkdir, mkdtemp, open, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Unpacker, UnpackKind } from '../../engine/unpack.js';
import { isRebuildError, messageOf, RebuildError } from '../../util/errors.js';
import { type ArtifactLimits, type ArtifactOptions, compareArtifact, compareFile } from '../artifact.js';
import { compare } from '../compare.js';
import type { Comparison, Verdict } from '../types.js';
import { type AppImageLayout, appImageLayout } from './appimage.js';
import { type Facts, gzipFacts, xzFacts, zstdFacts } from './compression.js';
import { detectFileKind, isContainerKind, readHead } from './kind.js';
import { extractMembers, type ListedMember, listMembers } from './listing.js';
import { compareMembers, type FileComparer, type SideTree } from './members.js';
import { checkAppimagetoolRuntime } from './rules/appimagetool-runtime.js';
import { REPACK_RULES } from './rules/index.js';
import { superblockFacts } from './squashfs.js';
import type {
  ArchiveDifference,
  ArtifactComparison,
  ContainerKind,
  MemberComparison,
  RepackExplanation,
} from './types.js';
import { worst } from './verdict.js';

interface UnpackedSide {
  tree: SideTree;
  streamSha256: string;
  streamBytes: number;
  duplicates: string[];
  container: Facts;
  layout?: AppImageLayout;
  runtime?: string;
}

/** Unpacked archives above this size must also stay under the ratio limit (below it, any ratio). */
const RATIO_FLOOR = 64 * 1024 ** 2;

export async function descend(
  doc: ArtifactComparison,
  ka: ContainerKind,
  kb: ContainerKind,
  opts: ArtifactOptions,
  limits: ArtifactLimits,
): Promise<void> {
  const work = await mkdtemp(join(tmpdir(), 'rebuild-artifact-'));
  try {
    const unpacker = opts.unpacker ?? (await defaultUnpacker(opts));
    const sides = await Promise.all([
      unpackSide(doc.a.path, ka, join(work, 'a'), unpacker, limits).catch((err: unknown) => err),
      unpackSide(doc.b.path, kb, join(work, 'b'), unpacker, limits).catch((err: unknown) => err),
    ]);
    let refused = false;
    sides.forEach((s, i) => {
      if (s instanceof Error || !s) {
        if (!isRebuildError(s)) throw s;
        refused = true;
        doc.archive.push({
          aspect: 'refused',
          detail: `${i === 0 ? 'published' : 'rebuilt'} artifact not unpacked: ${messageOf(s)}`,
        });
      }
    });
    if (refused) {
      doc.verdict = 'different';
      doc.notes.push('an artifact that cannot be unpacked safely is never equivalent to anything');
      return;
    }
    const [a, b] = sides as [UnpackedSide, UnpackedSide];
    doc.a.container = a.container;
    doc.b.container = b.container;
    if (ka !== kb) doc.archive.push({ aspect: 'kind', detail: 'different kinds of archive', a: ka, b: kb });

    const repack = ka === 'appimage' && kb === 'appimage' ? sbuildRepack(a, b) : undefined;
    if (repack && 'rule' in repack) doc.explanations.push(repack);
    else if (repack) doc.notes.push(`not sbuild's AppImage repack: ${repack.reasons.join('; ')}`);
    const rootOwned = !!repack && 'rule' in repack;

    const depth = opts.depth ?? 0;
    const fileComparer: FileComparer = async (aFile, bFile, path) => {
      const [fa, fb] = await Promise.all([detectFileKind(aFile), detectFileKind(bFile)]);
      if (isContainerKind(fa.kind) && isContainerKind(fb.kind)) {
        if (depth + 1 < limits.maxDepth) {
          const nested = await compareArtifact(aFile, bFile, { ...opts, unpacker, depth: depth + 1 });
          return { verdict: nested.verdict, detail: `archive inside the archive: ${nested.verdict}`, nested };
        }
        doc.notes.push(`archives nested deeper than ${limits.maxDepth} levels are compared as bytes`);
      }
      const r = await compareFile(aFile, bFile, opts);
      relabel(r.comparison, aFile, `${doc.a.path}!/${path}`, bFile, `${doc.b.path}!/${path}`);
      if (r.explanation && !doc.explanations.some((e) => e.rule === r.explanation?.rule))
        doc.explanations.push(r.explanation);
      const first = r.comparison.differences[0];
      const detail =
        r.verdict === 'equivalent'
          ? `equivalent: ${r.explanation?.rule ?? r.comparison.explanations.map((e) => e.kind).join(', ')}`
          : `${r.comparison.route} comparison: ${r.verdict}${first ? ` (${first.region}: ${first.detail})` : ''}`;
      return {
        verdict: r.verdict,
        detail,
        comparison: r.comparison,
        ...(r.explanation ? { explainedBy: [r.explanation.rule] } : {}),
      };
    };

    const { members, archive } = await compareMembers(a.tree, b.tree, fileComparer, { rootOwned });
    doc.members = members;
    doc.archive.push(...archive);
    if (ka === 'appimage' && kb === 'appimage')
      doc.members.unshift(await compareRuntimes(a, b, repack, opts, doc));
    containerDifferences(doc, a, b, ka, rootOwned);
    for (const [side, s] of [
      ['published', a],
      ['rebuilt', b],
    ] as const) {
      for (const p of s.duplicates)
        doc.archive.push({
          aspect: 'container',
          member: p,
          detail: `"${p}" occurs more than once in the ${side} archive`,
        });
      for (const [p, why] of s.tree.refused)
        doc.notes.push(`${side}: "${p}" not extracted (${why}); compared by its header only`);
    }
    settle(doc);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** Members are compared from a temporary tree: name them by archive and path instead. */
function relabel(c: Comparison, aFile: string, aName: string, bFile: string, bName: string): void {
  const fix = (t: string) => t.split(aFile).join(aName).split(bFile).join(bName);
  c.a.path = aName;
  c.b.path = bName;
  if (c.textDiff) c.textDiff = fix(c.textDiff);
  for (const d of c.differences) if (d.context?.unified) d.context.unified = fix(d.context.unified);
}

let sharedUnpacker: Promise<Unpacker> | undefined;
async function defaultUnpacker(opts: ArtifactOptions): Promise<Unpacker> {
  sharedUnpacker ??= import('../../engine/unpack.js').then(
    (m) => new m.ContainerUnpacker(undefined, opts.onProgress),
  );
  return sharedUnpacker;
}

function compressionFacts(kind: ContainerKind, headBytes: Buffer): Facts {
  switch (kind) {
    case 'tar.gz':
      return gzipFacts(headBytes);
    case 'tar.xz':
      return xzFacts(headBytes);
    case 'tar.zst':
      return zstdFacts(headBytes);
    default:
      return {};
  }
}

async function unpackSide(
  file: string,
  kind: ContainerKind,
  work: string,
  unpacker: Unpacker,
  limits: ArtifactLimits,
): Promise<UnpackedSide> {
  await mkdir(work, { recursive: true });
  const container: Facts = compressionFacts(kind, (await readHead(file, 512)).head);
  let layout: AppImageLayout | undefined;
  let runtime: string | undefined;
  if (kind === 'appimage') {
    const l = await appImageLayout(file);
    if ('error' in l) {
      throw new RebuildError('input', `not an AppImage rebuild can descend into: ${l.error}`, {
        subject: file,
      });
    }
    layout = l;
    Object.assign(container, superblockFacts(l.superblock), {
      'appimage.runtime-bytes': l.offset,
      'appimage.runtime': l.dynamicRuntime ? 'dynamic' : 'static',
      'appimage.trailing-bytes': l.trailing,
    });
    runtime = join(work, 'runtime');
    await copyPrefix(file, runtime, l.offset);
  }
  const out = await unpacker.unpack({
    file,
    kind: kind as UnpackKind,
    offset: layout?.offset ?? 0,
    workDir: work,
    bounds: { maxBytes: limits.maxBytes, timeoutMs: limits.timeoutMs },
  });
  const packed = Math.max(1, (await stat(file)).size - (layout?.offset ?? 0));
  if (out.bytes > RATIO_FLOOR && out.bytes / packed > limits.maxRatio) {
    throw new RebuildError(
      'input',
      `refused: ${packed} bytes unpack to ${out.bytes} (ratio over ${limits.maxRatio}, a decompression bomb?)`,
      { subject: file },
    );
  }
  const bounds = { maxEntries: limits.maxEntries, maxBytes: limits.maxBytes };
  const listing = await listMembers(out.stream, bounds, file);
  const root = join(work, 'tree');
  const extracted = await extractMembers(out.stream, root, bounds, file);
  const members = new Map<string, ListedMember>();
  for (const m of listing.members) members.set(m.path, m);
  return {
    tree: { members, root, refused: new Map(extracted.refused.map((r) => [r.name, r.reason])) },
    streamSha256: listing.streamSha256,
    streamBytes: out.bytes,
    duplicates: listing.duplicates,
    container,
    ...(layout ? { layout } : {}),
    ...(runtime ? { runtime } : {}),
  };
}

async function copyPrefix(from: string, to: string, bytes: number): Promise<void> {
  const src = await open(from, 'r');
  try {
    const dst = await open(to, 'wx', 0o600);
    try {
      const buf = Buffer.alloc(1 << 20);
      for (let at = 0; at < bytes; ) {
        const { bytesRead } = await src.read(buf, 0, Math.min(buf.length, bytes - at), at);
        if (bytesRead === 0) break;
        await dst.write(buf.subarray(0, bytesRead));
        at += bytesRead;
      }
    } finally {
      await dst.close();
    }
  } finally {
    await src.close();
  }
}

type RepackVerdict = RepackExplanation | { reasons: string[] };

/** sbuild's 2026 repack: the published image carries every mark of pack_appimage's options. */
function sbuildRepack(a: UnpackedSide, b: UnpackedSide): RepackVerdict {
  const sb = a.layout?.superblock;
  const reasons: string[] = [];
  if (!sb || !b.layout) return { reasons: ['not two AppImages'] };
  if (!b.layout.dynamicRuntime)
    reasons.push('the rebuilt runtime is static (sbuild repacks only dynamic AppImages)');
  if (sb.compression !== 'zstd') reasons.push(`published compression is ${sb.compression}, not zstd`);
  if (sb.compressionLevel !== 22)
    reasons.push(`published zstd level is ${sb.compressionLevel ?? 'default'}, not 22`);
  if (sb.blockSize !== 1024 * 1024) reasons.push(`published block size is ${sb.blockSize}, not 1 MiB`);
  if (sb.mkfsTime !== 0) reasons.push(`published mkfs time is ${sb.mkfsTime}, not 0`);
  if (!sb.noXattrTable) reasons.push('the published image has an xattr table (-no-xattrs leaves none)');
  const owned = [...a.tree.members.values()].filter((m) => m.uid !== 0 || m.gid !== 0);
  if (owned.length) reasons.push(`${owned.length} published member(s) not owned by 0:0 (-root-owned)`);
  if (reasons.length) return { reasons };
  const rule = REPACK_RULES['sbuild-appimage-repack'];
  return {
    rule: 'sbuild-appimage-repack',
    detail: `${rule.what} (${rule.source})`,
    evidence: [
      'published SquashFS: zstd level 22, 1 MiB blocks, mkfs time 0, no xattr table, every member 0:0',
      'rebuilt runtime asks for an interpreter (a dynamic AppImage, which sbuild converts)',
    ],
  };
}

async function compareRuntimes(
  a: UnpackedSide,
  b: UnpackedSide,
  repack: RepackVerdict | undefined,
  opts: ArtifactOptions,
  doc: ArtifactComparison,
): Promise<MemberComparison> {
  const path = '<runtime>';
  const ra = a.runtime as string;
  const rb = b.runtime as string;
  const comparison = await compare(ra, rb, { ...opts, postProcessing: false });
  relabel(comparison, ra, `${doc.a.path}!/${path}`, rb, `${doc.b.path}!/${path}`);
  const base: MemberComparison = {
    path,
    verdict: comparison.verdict,
    presence: 'both',
    detail: `ELF runtime (${a.layout?.offset} and ${b.layout?.offset} bytes): ${comparison.verdict}`,
    comparison,
  };
  if (comparison.verdict !== 'different' || !repack || !('rule' in repack)) return base;
  if (!opts.appimageRuntime) {
    base.detail +=
      "; sbuild's repack replaces the runtime with appimagetool's, which rebuild can prove only against a runtime you trust: pass --appimage-runtime <file>";
    return base;
  }
  const check = await checkAppimagetoolRuntime(doc.a.path, a.layout?.offset ?? 0, opts.appimageRuntime);
  if (!check.ok) {
    base.detail += `; not the trusted appimagetool runtime: ${check.reason}`;
    return base;
  }
  const rule = REPACK_RULES['appimagetool-runtime'];
  doc.explanations.push({
    rule: 'appimagetool-runtime',
    detail: `${rule.what} (${rule.source})`,
    evidence: check.evidence,
  });
  return {
    ...base,
    verdict: 'equivalent',
    detail: "appimagetool's runtime (proven against the trusted runtime), written by sbuild's repack",
    explainedBy: ['appimagetool-runtime'],
  };
}

/** Container-level differences: compression headers, SquashFS superblock, trailing bytes, the rest. */
function containerDifferences(
  doc: ArtifactComparison,
  a: UnpackedSide,
  b: UnpackedSide,
  kind: ContainerKind,
  repacked: boolean,
): void {
  const explainedBy = repacked ? ({ explainedBy: 'sbuild-appimage-repack' } as const) : {};
  const keys = [...new Set([...Object.keys(a.container), ...Object.keys(b.container)])];
  const skip = new Set(['appimage.runtime-bytes', 'appimage.runtime', 'appimage.trailing-bytes']);
  for (const k of keys) {
    if (skip.has(k)) continue;
    const va = a.container[k];
    const vb = b.container[k];
    if (va === vb) continue;
    doc.archive.push({
      aspect: 'compression',
      detail: `${k} differs`,
      a: String(va ?? '(none)'),
      b: String(vb ?? '(none)'),
      ...(k.startsWith('squashfs.') ? explainedBy : {}),
    });
  }
  for (const [side, s] of [
    ['published', a],
    ['rebuilt', b],
  ] as const) {
    const l = s.layout;
    // mksquashfs pads the image with zeros to a multiple of 4 KiB; anything else after it is unexplained.
    if (l && l.trailing > 0 && !(l.trailingZero && l.trailing < 4096)) {
      doc.archive.push({
        aspect: 'trailing',
        detail: `${l.trailing} byte(s) after the ${side} SquashFS image${l.trailingZero ? '' : ', not all zero'}`,
      });
    }
  }
  if (doc.archive.length === 0 && doc.members.every((m) => m.verdict === 'identical')) {
    // The bytes differ, yet every member and every listed header is the same: name where.
    const d: ArchiveDifference =
      kind === 'appimage'
        ? {
            aspect: 'container',
            detail: 'the SquashFS images differ outside the members (table layout, fragments, padding)',
          }
        : kind === 'zip'
          ? {
              aspect: 'container',
              detail:
                'the zip files differ outside member contents and metadata (compression method or level, extra fields, comments, gaps)',
            }
          : a.streamSha256 === b.streamSha256
            ? {
                aspect: 'compression',
                detail:
                  'the compressed streams differ (level, encoder or block layout); the uncompressed tars are identical',
              }
            : {
                aspect: 'container',
                detail:
                  'the tars differ outside member contents and listed metadata (header format, pax records, padding)',
              };
    if (kind === 'appimage' && repacked) d.explainedBy = 'sbuild-appimage-repack';
    doc.archive.push(d);
  }
}

/** One verdict, never better than the worst member or any unexplained archive-level difference. */
function settle(doc: ArtifactComparison): void {
  const memberVerdict = worst(...doc.members.map((m) => m.verdict));
  const unexplained = doc.archive.some((d) => !d.explainedBy);
  const archiveVerdict: Verdict = unexplained ? 'different' : 'equivalent'; // the bytes differ: never identical
  doc.verdict = worst(memberVerdict, archiveVerdict);
  doc.metadataOnly = doc.verdict === 'different' && memberVerdict !== 'different';
  doc.members.sort((x, y) =>
    x.path === '<runtime>' ? -1 : y.path === '<runtime>' ? 1 : x.path.localeCompare(y.path),
  );
}
