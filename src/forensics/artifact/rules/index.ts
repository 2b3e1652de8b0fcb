/**
 * The benign-repackaging rules: each is a step pkgforge really took, read in
 * its code, and each explains only the exact change that step makes. Adding
 * one is adding a file here and a name to RepackRuleName (the record below
 * keeps the list complete). Nothing else pkgforge did not do is explained.
 */
import type { RepackRuleName } from '../types.js';

export interface RepackRule {
  /** What pkgforge did. */
  what: string;
  /** Where it is written. */
  source: string;
  /** What the rule lets through, and why that cannot hide a changed member. */
  safety: string;
}

export const REPACK_RULES: Readonly<Record<RepackRuleName, RepackRule>> = {
  'sbuild-appimage-repack': {
    what: 'sbuild (2026) unpacks a dynamic SquashFS AppImage with `unsquashfs -offset` and repacks it with `appimagetool --comp zstd --mksquashfs-opt -root-owned -no-xattrs -noappend -b 1M -mkfs-time 0 -Xcompression-level 22 --no-appstream`',
    source: 'pkgforge/sbuilder sbuild/src/builder.rs handle_provides, sbuild/src/utils.rs pack_appimage',
    safety:
      'explains only the SquashFS superblock and table layout, and owners becoming 0:0, and only when the published image carries every mark of those options (zstd, level 22, 1 MiB blocks, mkfs time 0, no xattr table, every member 0:0) and the rebuilt runtime is dynamic (sbuild repacks nothing else); every member is still compared by content, mode, type, link target and mtime, and a member on one side only stays a difference',
  },
  'appimagetool-runtime': {
    what: "appimagetool writes its own runtime in front of the image and embeds the MD5 digest of the AppImage in the runtime's `.digest_md5` section",
    source:
      'AppImage/appimagetool (`continuous`, the one pkgforge installs): "Embedding MD5 digest"; digest over the file with .digest_md5, .sha256_sig and .sig_key zeroed',
    safety:
      'applies only with a runtime the user trusts (--appimage-runtime): the published runtime must equal it byte for byte outside its .digest_md5 section (located in the trusted file, not the published one), and those 16 bytes must be the MD5 recomputed here, so no byte is left free',
  },
  'desktop-exec-rewrite': {
    what: "bincache CI rewrites every top-level `.desktop` file with `sed -E 's/^[[:space:]]*[Ee]xec[[:space:]]*=[[:space:]]*[^[:space:]]+/Exec={{pkg_path}}/'`",
    source: 'pkgforge/bincache scripts/runner/functions.sh (2025 CI)',
    safety:
      'the rewrite is applied to the rebuilt file and the result must equal the published file byte for byte: only the program word of Exec= lines can differ, and only into the literal {{pkg_path}} soar substitutes at install',
  },
  'icon-rename': {
    what: 'sbuild renames an extracted `<cmd>.DirIcon` to `<cmd>.png` (PNG magic) or `<cmd>.svg` (`<svg`/`<?xml` magic) in the same directory',
    source: 'pkgforge/sbuilder sbuild/src/builder.rs rename_icon',
    safety:
      'pairs a member present on one side only with one on the other only when the name is exactly what rename_icon makes from it and the contents are byte-identical',
  },
};
