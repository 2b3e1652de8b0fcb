import { describe, expect, it } from 'vitest';
import { builderReference, unreachableBecause } from '../../src/verify/builder-of-record.js';

describe('builder of record: names and reachability', () => {
  it("reads a builder name as pkgforge's builders did: $(uname -m) is the arch, no tag is :<arch>, Docker Hub names get library/", () => {
    expect(
      builderReference('ghcr.io/pkgforge/devscripts/debian-builder-unstable:$(uname -m)', 'aarch64'),
    ).toEqual({ host: 'ghcr.io', name: 'pkgforge/devscripts/debian-builder-unstable', tag: 'aarch64' });
    expect(builderReference('ghcr.io/pkgforge/devscripts/alpine-builder', 'x86_64')).toMatchObject({
      tag: 'x86_64',
    });
    expect(builderReference('debian:stable', 'x86_64')).toEqual({
      host: 'docker.io',
      name: 'library/debian',
      tag: 'stable',
    });
    const digest = `sha256:${'a'.repeat(64)}`;
    expect(builderReference(`pkgforge/alpine-builder@${digest}`, 'x86_64')).toMatchObject({
      host: 'docker.io',
      name: 'pkgforge/alpine-builder',
      digest,
    });
    expect(builderReference('ghcr.io/x/y:$ARCH', 'x86_64')).toHaveProperty('error');
  });

  it('asks a registry only through its mirror, or when no mirror at all points the run elsewhere', () => {
    expect(unreachableBecause('ghcr.io', {})).toBeUndefined();
    expect(
      unreachableBecause('ghcr.io', { mirrors: { 'ghcr.io': 'http://127.0.0.1:5000' } }),
    ).toBeUndefined();
    expect(unreachableBecause('docker.io', { mirrors: { 'ghcr.io': 'http://127.0.0.1:5000' } })).toMatch(
      /^offline for docker\.io/,
    );
  });
});
