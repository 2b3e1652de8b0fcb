/**
 * The artifact comparison document: what `rebuild compare --json` prints when
 * either file is an archive or an AppImage. It wraps the single-file
 * comparison (`rebuild.compare/1`) of each member. Field names are a public
 * contract: add fields, never rename them.
 */
import type { Comparison, Verdict } from '../types.js';

/** What a file was detected as, from its bytes (never its name). */
export type ArtifactKind =
  | 'elf'
  | 'appimage' // an ELF runtime with the type-2 magic, followed by a SquashFS image
  | 'tar'
  | 'tar.gz'
  | 'tar.xz'
  | 'tar.zst'
  | 'zip'
  | 'text'
  | 'binary';

/** Kinds rebuild descends into. */
export type ContainerKind = Extract<
  ArtifactKind,
  'appimage' | 'tar' | 'tar.gz' | 'tar.xz' | 'tar.zst' | 'zip'
>;

export interface ArtifactFacts {
  path: string;
  kind: ArtifactKind;
  size: number;
  sha256: string;
  blake3: string;
  /** Container facts (compression header, SquashFS superblock, …) as name → value. */
  container?: Record<string, string | number | boolean>;
}

/** Names of the benign-repackaging rules (src/forensics/artifact/rules/). */
export type RepackRuleName =
  | 'sbuild-appimage-repack' // 2026 sbuild: appimagetool --comp zstd, mksquashfs -root-owned -no-xattrs -b 1M -mkfs-time 0
  | 'appimagetool-runtime' // the runtime appimagetool wrote, equal to a trusted runtime but for its embedded MD5
  | 'desktop-exec-rewrite' // bincache CI: sed Exec=<prog> → Exec={{pkg_path}}
  | 'icon-rename'; // sbuild rename_icon: <cmd>.DirIcon → <cmd>.png / <cmd>.svg by magic

/** One archive-level aspect. */
export type ArchiveAspect =
  | 'order' // members appear in another order
  | 'mtime'
  | 'owner' // uid/gid/uname/gname
  | 'mode' // permission bits (setuid, exec) of a member: never benign by itself
  | 'type' // file vs symlink vs directory
  | 'link' // symlink or hard-link target
  | 'compression' // compression stream header / parameters
  | 'container' // container bytes outside the members (tar padding, pax records, SquashFS tables)
  | 'runtime' // an AppImage's ELF runtime
  | 'trailing' // bytes after the archive's end
  | 'refused' // an entry that unpacking refused (hostile name, device, bomb)
  | 'kind'; // the two files are different kinds of artifact

/** An archive-level difference: named, and either explained by a rule or not. */
export interface ArchiveDifference {
  aspect: ArchiveAspect;
  detail: string;
  /** The member concerned, when there is one. */
  member?: string;
  a?: string;
  b?: string;
  /** The pkgforge step that explains it; absent = unexplained (the verdict is `different`). */
  explainedBy?: RepackRuleName;
}

export type MemberType = 'file' | 'directory' | 'symlink' | 'hardlink' | 'other';

export interface MemberSide {
  type: MemberType;
  size: number;
  mode: number;
  uid: number;
  gid: number;
  uname?: string;
  gname?: string;
  /** Seconds since the epoch. */
  mtime: number;
  linkname?: string;
  /** Position in the archive (0-based). */
  index: number;
  sha256?: string;
}

/** One member, matched by path. */
export interface MemberComparison {
  /** Path inside the archive (for the runtime of an AppImage: `<runtime>`). */
  path: string;
  /** The published side's path when a rule matched it under another name. */
  pathA?: string;
  verdict: Verdict;
  /** `a`/`b` only: present on one side only (a difference unless a rule explains it). */
  presence: 'both' | 'a' | 'b';
  /** One line: why this verdict. */
  detail: string;
  a?: MemberSide;
  b?: MemberSide;
  /** Rules that explain this member's differences. */
  explainedBy?: RepackRuleName[];
  /** The member compared as a file (ELF comparator, text diff, bytes). */
  comparison?: Comparison;
  /** The member is itself an archive and was descended into. */
  nested?: ArtifactComparison;
}

export interface RepackExplanation {
  rule: RepackRuleName;
  /** What pkgforge did, with the source it was read from. */
  detail: string;
  /** What was checked to apply it. */
  evidence: string[];
}

export interface ArtifactComparison {
  schema: 'rebuild.artifact/1';
  verdict: Verdict;
  a: ArtifactFacts;
  b: ArtifactFacts;
  /** Both plain files: the single-file comparison (ELF, text or bytes). */
  file?: Comparison;
  /** Archives / AppImages: every member, matched by path, sorted by path. */
  members: MemberComparison[];
  /** Archive-level differences, explained or not. */
  archive: ArchiveDifference[];
  /** The benign-repackaging rules that were applied, with their evidence. */
  explanations: RepackExplanation[];
  /** `different` only because of archive-level differences: every member's content is the same. */
  metadataOnly: boolean;
  /** What was not compared, or limits that were hit. */
  notes: string[];
  durationMs: number;
}
