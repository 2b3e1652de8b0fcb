/**
 * Why a build failed, in words a person can act on: a download under
 * network `none`, a write outside the work directory, an out-of-memory kill. Pure: from the exit status, the
 * log tail and the limits the build ran with.
 */

const DOWNLOAD_FAILED =
  /could not resolve host|temporary failure in name resolution|name or service not known|network is unreachable|unable to access 'https?:|failed to connect to|dial tcp|getaddrinfo|no address associated with hostname|connection refused|could not read from remote repository/i;

const OUT_OF_MEMORY =
  /out of memory|cannot allocate memory|oom-kill|killed signal terminated program|virtual memory exhausted|std::bad_alloc/i;

const READ_ONLY_ROOT = /read-only file system/i;

export interface FailureFacts {
  exitCode: number;
  logTail: readonly string[];
  network: 'none' | 'host';
  /** The memory limit in bytes, when known. */
  memoryBytes?: number;
}

/** A fix line for a failed build, or undefined when nothing specific is known. */
export function failureHint(f: FailureFacts): string | undefined {
  const tail = f.logTail.join('\n');
  if (f.network === 'none' && DOWNLOAD_FAILED.test(tail)) {
    return 'a download failed with the network off: run again with --network host (the recipe fetches its sources)';
  }
  if (READ_ONLY_ROOT.test(tail)) {
    return "the recipe wrote outside its work directory: the build container's root file system is read-only (writable: $SBUILD_OUTDIR, $SBUILD_TMPDIR, /tmp, /var/tmp, $HOME and /run); write there, or run the step in an inner `docker run` container";
  }
  if (f.exitCode === 137 || OUT_OF_MEMORY.test(tail)) {
    const gib = f.memoryBytes ? ` (it had ${Math.round((f.memoryBytes / 1024 ** 3) * 10) / 10} GiB)` : '';
    return `the build was killed${f.exitCode === 137 ? ' (status 137)' : ''}, most likely out of memory${gib}: raise the limit with --memory <GiB>`;
  }
  return undefined;
}
