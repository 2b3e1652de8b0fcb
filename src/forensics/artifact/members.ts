/**
 * Members matched by path, each with its own verdict. Content is compared
 * by the file comparator (ELF accounting, text diff, bytes) or, for an
 * archive inside the archive, by descending (bounded depth). Metadata that
 * can change behaviour (type, mode, link target) makes the member differ;
 * the rest (mtime, owners) is an archive-level difference, named per member.
 */
import { join } from 'node:path';
import type { Comparison, Verdict } from '../types.js';
import { readHead } from './kind.js';
import type { ListedMember } from './listing.js';
import { renamedIcon } from './rules/icon-rename.js';
import type { ArchiveDifference, MemberComparison, RepackRuleName } from './types.js';
import { worst } from './verdict.js';

export interface SideTree {
  members: Map<string, ListedMember>;
  /** Where the safe extraction wrote the members. */
  root: string;
  /** Paths the extraction refused to write (links out, devices). */
  refused: Map<string, string>;
}

/** Compares two member files; supplied by the artifact comparator (it recurses). */
export type FileComparer = (
  aFile: string,
  bFile: string,
  path: string,
) => Promise<{
  verdict: Verdict;
  detail: string;
  comparison?: Comparison;
  nested?: MemberComparison['nested'];
  explainedBy?: RepackRuleName[];
}>;

export interface MemberRules {
  /** Owners on the published side are explained by mksquashfs -root-owned (sbuild repack). */
  rootOwned: boolean;
}

const octal = (m: number) => `0${m.toString(8).padStart(3, '0')}`;

export async function compareMembers(
  a: SideTree,
  b: SideTree,
  compareFile: FileComparer,
  rules: MemberRules,
): Promise<{ members: MemberComparison[]; archive: ArchiveDifference[] }> {
  const members: MemberComparison[] = [];
  const archive: ArchiveDifference[] = [];
  const paths = [...new Set([...a.members.keys(), ...b.members.keys()])].sort();
  const onlyA = new Set(paths.filter((p) => !b.members.has(p)));
  const paired = new Set<string>();

  for (const path of paths) {
    const ma = a.members.get(path);
    const mb = b.members.get(path);
    if (ma && mb) {
      members.push(await compareBoth(path, ma, mb, a, b, compareFile, rules, archive));
      continue;
    }
    if (paired.has(path)) continue;
    if (mb && mb.type === 'file') {
      // sbuild's rename_icon: <cmd>.DirIcon on the rebuilt side, <cmd>.png/.svg published.
      const renamed = renamedIcon(
        path,
        (await readHead(join(b.root, path), 16).catch(() => ({ head: Buffer.alloc(0) }))).head,
      );
      const pa = renamed ? a.members.get(renamed) : undefined;
      if (renamed && pa && onlyA.has(renamed) && pa.type === 'file' && pa.sha256 === mb.sha256) {
        paired.add(renamed);
        members.push({
          path,
          pathA: renamed,
          verdict: 'equivalent',
          presence: 'both',
          detail: `published as ${renamed}: same bytes, renamed by sbuild's rename_icon`,
          a: pa,
          b: mb,
          explainedBy: ['icon-rename'],
        });
        continue;
      }
    }
    const side = ma ? 'a' : 'b';
    const m = (ma ?? mb) as ListedMember;
    members.push({
      path,
      verdict: 'different',
      presence: side,
      detail: `${m.type} only in the ${side === 'a' ? 'published' : 'rebuilt'} artifact${m.type === 'file' ? ` (${m.size} bytes)` : ''}`,
      ...(ma ? { a: ma } : { b: mb as ListedMember }),
    });
  }
  // Paired renames were pushed as "only in a" before their partner was seen: drop those.
  const result = members.filter((m) => !(m.presence === 'a' && paired.has(m.path)));

  // Order: the common members, in each archive's own order.
  const common = result.filter((m) => m.presence === 'both' && m.a && m.b);
  const byA = [...common].sort((x, y) => (x.a?.index ?? 0) - (y.a?.index ?? 0)).map((m) => m.path);
  const byB = [...common].sort((x, y) => (x.b?.index ?? 0) - (y.b?.index ?? 0)).map((m) => m.path);
  const firstOut = byA.findIndex((p, i) => p !== byB[i]);
  if (firstOut >= 0) {
    archive.push({
      aspect: 'order',
      detail: `members are in another order, first at position ${firstOut}`,
      a: byA[firstOut] ?? '',
      b: byB[firstOut] ?? '',
    });
  }
  return { members: result, archive };
}

async function compareBoth(
  path: string,
  ma: ListedMember,
  mb: ListedMember,
  a: SideTree,
  b: SideTree,
  compareFile: FileComparer,
  rules: MemberRules,
  archive: ArchiveDifference[],
): Promise<MemberComparison> {
  const reasons: string[] = [];
  let verdict: Verdict = 'identical';
  const differ = (why: string) => {
    verdict = 'different';
    reasons.push(why);
  };
  if (ma.type !== mb.type) differ(`type ${ma.type} vs ${mb.type}`);
  if (ma.mode !== mb.mode) differ(`mode ${octal(ma.mode)} vs ${octal(mb.mode)}`);
  if ((ma.linkname ?? '') !== (mb.linkname ?? ''))
    differ(`link target "${ma.linkname ?? ''}" vs "${mb.linkname ?? ''}"`);
  for (const r of [a.refused.get(path), b.refused.get(path)]) if (r) reasons.push(`not extracted: ${r}`);

  const owner = (m: ListedMember) =>
    `${m.uid}:${m.gid}${m.uname || m.gname ? ` (${m.uname ?? ''}:${m.gname ?? ''})` : ''}`;
  if (owner(ma) !== owner(mb)) {
    const d: ArchiveDifference = {
      aspect: 'owner',
      member: path,
      detail: 'owner differs',
      a: owner(ma),
      b: owner(mb),
    };
    if (rules.rootOwned && ma.uid === 0 && ma.gid === 0 && !ma.uname && !ma.gname)
      d.explainedBy = 'sbuild-appimage-repack';
    archive.push(d);
    reasons.push(`owner ${owner(ma)} vs ${owner(mb)} (${d.explainedBy ?? 'archive-level'})`);
  }
  if (ma.mtime !== mb.mtime) {
    reasons.push(`mtime ${ma.mtime} vs ${mb.mtime} (archive-level)`);
    archive.push({
      aspect: 'mtime',
      member: path,
      detail: 'mtime differs',
      a: String(ma.mtime),
      b: String(mb.mtime),
    });
  }

  const out: MemberComparison = { path, verdict, presence: 'both', detail: '', a: ma, b: mb };
  if (ma.type === 'file' && mb.type === 'file') {
    if (ma.sha256 === mb.sha256) {
      reasons.unshift(reasons.length ? 'same contents' : 'same contents and metadata');
    } else {
      const aFile = join(a.root, path);
      const bFile = join(b.root, path);
      const r = await compareFile(aFile, bFile, path);
      out.verdict = worst(verdict, r.verdict);
      reasons.unshift(r.detail);
      if (r.comparison) out.comparison = r.comparison;
      if (r.nested) out.nested = r.nested;
      if (r.explainedBy) out.explainedBy = r.explainedBy;
    }
  } else if (reasons.length === 0) {
    reasons.push('same metadata');
  }
  out.detail = reasons.join('; ');
  return out;
}
