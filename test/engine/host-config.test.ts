import { describe, expect, it } from 'vitest';
import { DEFAULT_LIMITS, hostConfigFor } from '../../src/engine/container.js';
import { userNamespaceOf } from '../../src/engine/hardening.js';

describe('the HostConfig every container gets', () => {
  it('keeps the host user namespace only where --network host needs it', () => {
    const none = hostConfigFor({ image: 'x', arch: 'x86_64', cmd: [] }, DEFAULT_LIMITS);
    expect(none.NetworkMode).toBe('none');
    expect(none.UsernsMode).toBeUndefined();
    const host = hostConfigFor({ image: 'x', arch: 'x86_64', cmd: [], network: 'host' }, DEFAULT_LIMITS);
    expect(host.NetworkMode).toBe('host');
    expect(host.UsernsMode).toBe('host');
  });

  it('gives a read-only root a small /tmp, and leaves builders writable', () => {
    const ro = hostConfigFor(
      { image: 'x', arch: 'x86_64', cmd: [], readOnlyRoot: true, tmpfs: { '/work': 'size=1m' } },
      DEFAULT_LIMITS,
    );
    expect(ro.ReadonlyRootfs).toBe(true);
    expect(Object.keys(ro.Tmpfs ?? {}).sort()).toEqual(['/tmp', '/work']);
    const rw = hostConfigFor({ image: 'x', arch: 'x86_64', cmd: [] }, DEFAULT_LIMITS);
    expect(rw.ReadonlyRootfs).toBeUndefined();
    expect(rw.CapDrop).toEqual(['ALL']);
    expect(rw.SecurityOpt).toEqual(['no-new-privileges']);
  });

  it("reads the engine's user-namespace mode from docker info's security options", () => {
    expect(userNamespaceOf([{ name: 'seccomp', profile: 'default' }, { name: 'userns' }])).toBe('remapped');
    expect(userNamespaceOf([{ name: 'rootless' }])).toBe('rootless');
    expect(userNamespaceOf([{ name: 'seccomp', profile: 'default' }])).toBe('none');
  });
});
