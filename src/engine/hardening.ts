import type Docker from 'dockerode';
import { KEPT_CAPS } from './container.js';

/** Which defences in depth held for a build's containers, as recorded in its result. */
export interface ContainerHardening {
  privileged: false;
  capabilities: { dropped: 'ALL'; kept: string[] };
  noNewPrivileges: true;
  /** Builders install packages into their root, so it stays writable; the reason is recorded. */
  readOnlyRootFs: { held: false; why: string };
  /** `remapped` (dockerd --userns-remap), `rootless`, or `none` (container root is host root). */
  userNamespace: 'remapped' | 'rootless' | 'none';
  /** The engine's seccomp profile (`default`, a custom name) or `none`. */
  seccomp: string;
  apparmor: boolean;
}

/** Reads from the engine what it enforces; the rest is rebuild's fixed container policy (container.ts). */
export async function describeHardening(docker: Docker): Promise<ContainerHardening> {
  const info = (await docker.info().catch(() => ({}))) as { SecurityOptions?: string[] };
  const options = (info.SecurityOptions ?? []).map((o) =>
    Object.fromEntries(o.split(',').map((kv) => kv.split('='))),
  );
  const has = (name: string) => options.find((o) => o.name === name) as Record<string, string> | undefined;
  return {
    privileged: false,
    capabilities: { dropped: 'ALL', kept: [...KEPT_CAPS] },
    noNewPrivileges: true,
    readOnlyRootFs: { held: false, why: 'builders install packages into their root file system' },
    userNamespace: has('userns') ? 'remapped' : has('rootless') ? 'rootless' : 'none',
    seccomp: has('seccomp')?.profile ?? 'none',
    apparmor: has('apparmor') !== undefined,
  };
}
