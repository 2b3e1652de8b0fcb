/**
 * Whether someone other than this process's user may change a file's bytes
 * while it is compared. A streamed file is read more than once (the hash
 * pass, then the analysis), and the change-time check cannot see every
 * writer: bytes written through a shared mapping leave the change time
 * alone once the page is dirty, and a network or FUSE file system may
 * answer each read with other bytes. Such a file is compared from a private
 * copy (see snapshotSource), so that the verdict and the digests are of the
 * same bytes. This process's own user, and root, can change rebuild itself
 * and its reports: they are not guarded against. Pure.
 */

/** statfs f_type of local file systems whose bytes only a writer on this machine changes. */
const LOCAL_FILE_SYSTEMS: ReadonlyMap<bigint, string> = new Map([
  [0xef53n, 'ext4'],
  [0x58465342n, 'xfs'],
  [0x9123683en, 'btrfs'],
  [0x01021994n, 'tmpfs'],
  [0x858458f6n, 'ramfs'],
  [0x794c7630n, 'overlayfs'],
  [0x2fc12fc1n, 'zfs'],
  [0xf2f52010n, 'f2fs'],
  [0xca451a4en, 'bcachefs'],
  [0x73717368n, 'squashfs'],
  [0x9660n, 'iso9660'],
]);

export interface FileOwnership {
  uid: bigint;
  mode: bigint;
  /** statfs f_type of the file system that holds it. */
  fsType: bigint;
}

/** Why another party may change the file while it is read, or undefined when none can. */
export function othersMayWrite(f: FileOwnership, myUid: number): string | undefined {
  if (f.uid !== BigInt(myUid) && f.uid !== 0n) {
    return `it is owned by user ${f.uid}, who can change it while it is read`;
  }
  if ((f.mode & 0o022n) !== 0n) return 'its group or others may write to it';
  if (!LOCAL_FILE_SYSTEMS.has(f.fsType)) {
    return `it is on a file system of type 0x${f.fsType.toString(16)} (not a local disk or memory file system), whose server may answer each read with other bytes`;
  }
  return undefined;
}
