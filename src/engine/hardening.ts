import type Docker from 'dockerode';
import { KEPT_CAPS } from './container.js';
import { type EngineInfo, engineInfo } from './docker.js';

/** Which defences in depth held for a build's containers, as recorded in its result. */
export interface ContainerHardening {
  privileged: false;
  capabilities: { dropped: 'ALL'; kept: string[] };
  noNewPrivileges: true;
  /**
   * `held` is true only when every container's root is read-only (never
   * today: the build container's is writable); `heldFor` names rebuild's containers whose root is read-only (they write
   * only their work directory and tmpfs scratch: /tmp, /var/tmp, $HOME, /run);
   * `notFor` the ones whose root stays writable, each with the reason.
   */
  readOnlyRootFs: { held: boolean; heldFor: string[]; notFor: { what: string; why: string }[] };
  /**
   * `remapped` (dockerd --userns-remap: container root is an unprivileged
   * host uid), `rootless`, `none` (container root is host root), or
   * `host-for-network`: the engine remaps, but `--network host` needs the
   * host's user namespace, so these containers run without remapping.
   */
  userNamespace: 'remapped' | 'rootless' | 'none' | 'host-for-network';
  /** The engine's seccomp profile (`default`, a custom name) or `none`. */
  seccomp: string;
  apparmor: boolean;
}

type SecurityOptions = Record<string, string>[];

async function securityOptions(docker: Docker): Promise<SecurityOptions> {
  const info = await engineInfo(docker).catch(() => ({}) as EngineInfo);
  return (info.SecurityOptions ?? []).map((o) => Object.fromEntries(o.split(',').map((kv) => kv.split('='))));
}

/** The engine's user-namespace mode, from `docker info`'s security options. */
export function userNamespaceOf(options: SecurityOptions): 'remapped' | 'rootless' | 'none' {
  const has = (name: string) => options.some((o) => o.name === name);
  return has('userns') ? 'remapped' : has('rootless') ? 'rootless' : 'none';
}

/** Reads from the engine what it enforces; the rest is rebuild's fixed container policy (container.ts). */
export async function describeHardening(
  docker: Docker,
  opts: { network?: 'none' | 'host' } = {},
): Promise<ContainerHardening> {
  const options = await securityOptions(docker);
  const engineUserns = userNamespaceOf(options);
  return {
    privileged: false,
    capabilities: { dropped: 'ALL', kept: [...KEPT_CAPS] },
    noNewPrivileges: true,
    readOnlyRootFs: {
      // Not for every container: the build container's root is writable (notFor says why).
      held: false,
      heldFor: ['x_exec.pkgver', 'the docker cp helper', 'archive unpacking (artifact comparison)'],
      notFor: [
        {
          what: 'the build container (builder, host-runner or pkgforge/builds)',
          why: "pkgforge's `docker run` gave it a writable root and real recipes install packages there; what it writes is its own, discarded with it",
        },
        {
          what: "the recipe's inner containers (docker run through the shim)",
          why: 'they stand for `docker run`, whose root is writable: recipes install packages in them',
        },
      ],
    },
    userNamespace: engineUserns === 'remapped' && opts.network === 'host' ? 'host-for-network' : engineUserns,
    seccomp: options.find((o) => o.name === 'seccomp')?.profile ?? 'none',
    apparmor: options.some((o) => o.name === 'apparmor'),
  };
}

/**
 * The host uid and gid a remapping engine gives a container's root (its data
 * root ends in `/<uid>.<gid>`), or undefined when the engine does not remap.
 */
export async function remappedRoot(docker: Docker): Promise<{ uid: number; gid: number } | undefined> {
  const info = await engineInfo(docker).catch(() => ({}) as EngineInfo);
  if (!(info.SecurityOptions ?? []).some((o) => /(^|,)name=userns(,|$)/.test(o))) return undefined;
  const m = /\/(\d+)\.(\d+)$/.exec(info.DockerRootDir ?? '');
  return m ? { uid: Number(m[1]), gid: Number(m[2]) } : undefined;
}
