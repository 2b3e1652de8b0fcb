import { describe, expect, it } from 'vitest';
import { buildScratch, DEFAULT_LIMITS, hostConfigFor } from '../../src/engine/container.js';
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

  it('gives a read-only root a small /tmp, and leaves the root writable when not asked', () => {
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
    // Output is read by attach and capped in build.log; the engine keeps no copy of its own on disk.
    expect(rw.LogConfig).toEqual({ Type: 'none', Config: {} });
  });

  it('gives a read-only build its scratch (tmpfs within the memory limit) and the copy helper a private volume', () => {
    const scratch = buildScratch({ memoryBytes: 2 * 1024 ** 3 });
    expect(Object.keys(scratch).sort()).toEqual(['/home/runner', '/root', '/run', '/tmp', '/var/tmp']);
    expect(scratch['/tmp']).toMatch(/(^|,)exec(,|$)/);
    expect(scratch['/tmp']).toMatch(/size=1024m/);
    const build = hostConfigFor(
      { image: 'x', arch: 'x86_64', cmd: [], readOnlyRoot: true, tmpfs: scratch },
      DEFAULT_LIMITS,
    );
    expect(build.ReadonlyRootfs).toBe(true);
    expect(build.Tmpfs?.['/tmp']).toBe(scratch['/tmp']);
    const helper = hostConfigFor(
      { image: 'x', arch: 'x86_64', cmd: [], readOnlyRoot: true, scratch: ['/stage'] },
      DEFAULT_LIMITS,
    );
    expect(helper.Mounts).toEqual([{ Type: 'volume', Source: '', Target: '/stage' }]);
  });

  it("reads the engine's user-namespace mode from docker info's security options", () => {
    expect(userNamespaceOf([{ name: 'seccomp', profile: 'default' }, { name: 'userns' }])).toBe('remapped');
    expect(userNamespaceOf([{ name: 'rootless' }])).toBe('rootless');
    expect(userNamespaceOf([{ name: 'seccomp', profile: 'default' }])).toBe('none');
  });
});
