import { describe, expect, it } from 'vitest';
import { parseImageName, resolveBuilderName } from '../../src/engine/image-names.js';
import { RebuildError } from '../../src/util/errors.js';

function thrown(fn: () => unknown): RebuildError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(RebuildError);
    return err as RebuildError;
  }
  throw new Error('expected a RebuildError, nothing was thrown');
}

describe('parseImageName', () => {
  it('splits registry, repository, tag and digest', () => {
    expect(parseImageName('ghcr.io/pkgforge/devscripts/debian-builder-unstable:aarch64')).toEqual({
      written: 'ghcr.io/pkgforge/devscripts/debian-builder-unstable:aarch64',
      registry: 'ghcr.io',
      repository: 'pkgforge/devscripts/debian-builder-unstable',
      short: 'debian-builder-unstable',
      tag: 'aarch64',
    });
    expect(parseImageName('localhost:5000/x/alpine-builder@sha256:abcd')).toEqual({
      written: 'localhost:5000/x/alpine-builder@sha256:abcd',
      registry: 'localhost:5000',
      repository: 'x/alpine-builder',
      short: 'alpine-builder',
      digest: 'sha256:abcd',
    });
    expect(parseImageName('  pkgforge/debian-builder ')).toEqual({
      written: 'pkgforge/debian-builder',
      repository: 'pkgforge/debian-builder',
      short: 'debian-builder',
    });
  });
});

describe('resolveBuilderName', () => {
  it.each([
    ['ghcr.io/pkgforge/devscripts/debian-builder-unstable:aarch64', 'aarch64', undefined],
    ['ghcr.io/pkgforge/devscripts/debian-builder-unstable:x86_64', 'x86_64', undefined],
    ['docker.io/pkgforge/debian-builder-unstable:x86_64-v2025.01.15', 'x86_64', '2025-01-15'],
    ['pkgforge/debian-builder', undefined, undefined],
    ['debian-builder-unstable', undefined, undefined],
    ['debian-builder-unstable:latest', undefined, undefined],
    ['DEBIAN-BUILDER-UNSTABLE:aarch64', 'aarch64', undefined],
  ] as const)('%s → debian-builder', (name, tagArch, tagDate) => {
    const r = resolveBuilderName(name, 'aarch64');
    expect(r.builder).toBe('debian-builder');
    expect(r.image).toBeUndefined();
    expect(r.tagArch).toBe(tagArch);
    expect(r.tagDate).toBe(tagDate);
  });

  it('refuses a builder pinned by digest instead of mapping it to its own builder', () => {
    const name = `ghcr.io/pkgforge/devscripts/debian-builder-unstable@sha256:${'ab'.repeat(32)}`;
    const e = thrown(() => resolveBuilderName(name, 'x86_64'));
    expect(e.category).toBe('environment');
    expect(e.subject).toBe(name);
    expect(e.message).toContain('pinned by digest');
    expect(e.fix).toContain('--image-map debian-builder-unstable=<its local tag>');
    // The user's map is the user's explicit choice of the image to use in its place.
    const mapped = resolveBuilderName(name, 'x86_64', { 'debian-builder-unstable': 'mine:1' });
    expect(mapped.image).toBe('mine:1');
    // verify, which records the builder of record as differing, may let rebuild's builder stand in (noted).
    const standIn = resolveBuilderName(name, 'x86_64', undefined, { digestStandIn: true });
    expect(standIn).toMatchObject({ builder: 'debian-builder', pinnedDigest: `sha256:${'ab'.repeat(32)}` });
  });

  it('refuses alpine-builder with the offline fix', () => {
    const e = thrown(() =>
      resolveBuilderName('ghcr.io/pkgforge/devscripts/alpine-builder:aarch64', 'aarch64'),
    );
    expect(e.category).toBe('environment');
    expect(e.subject).toBe('ghcr.io/pkgforge/devscripts/alpine-builder:aarch64');
    expect(e.message).toContain('alpine-builder cannot be built offline');
    expect(e.fix).toContain('dockerfiles/alpine-builder.Dockerfile');
    expect(e.fix).toContain('--image-map alpine-builder=<local tag>');
  });

  it.each([
    'ghcr.io/pkgforge/devscripts/ubuntu-builder:x86_64',
    'pkgforge/archlinux-builder:aarch64',
    'ubuntu-systemd-base',
  ])('refuses %s, naming the image and the map option', (name) => {
    const e = thrown(() => resolveBuilderName(name, 'x86_64'));
    expect(e.category).toBe('environment');
    expect(e.subject).toBe(name);
    expect(e.fix).toMatch(/--image-map [a-z-]+=<local tag>/);
  });

  it('refuses unknown images', () => {
    const e = thrown(() => resolveBuilderName('ghcr.io/someone/my-builder:v1', 'x86_64'));
    expect(e.category).toBe('environment');
    expect(e.message).toContain('unknown builder image my-builder');
    expect(e.fix).toContain('--image-map my-builder=<local tag>');
  });

  it('refuses empty names and unexpanded variables', () => {
    expect(thrown(() => resolveBuilderName('  ', 'x86_64')).category).toBe('environment');
    const e = thrown(() =>
      resolveBuilderName('ghcr.io/pkgforge/devscripts/alpine-builder:$(uname -m)', 'x86_64'),
    );
    expect(e.message).toContain('unexpanded shell variable');
  });

  it('uses the user map by full name, repository or short name', () => {
    const map = {
      'alpine-builder': 'local/alpine:aarch64',
      'ghcr.io/x/ubuntu-builder:aarch64': 'local/ubuntu:1',
    };
    expect(resolveBuilderName('ghcr.io/pkgforge/devscripts/alpine-builder:aarch64', 'aarch64', map)).toEqual({
      builder: 'alpine-builder',
      image: 'local/alpine:aarch64',
      tagArch: 'aarch64',
    });
    expect(resolveBuilderName('ghcr.io/x/ubuntu-builder:aarch64', 'aarch64', map).image).toBe(
      'local/ubuntu:1',
    );
    // a map entry for a buildable name wins over the offline builder
    expect(
      resolveBuilderName('debian-builder-unstable', 'x86_64', { 'debian-builder-unstable': 'mine:1' }),
    ).toEqual({
      builder: 'debian-builder-unstable',
      image: 'mine:1',
    });
    // an unrelated map does not hide the error
    expect(() => resolveBuilderName('archlinux-builder', 'x86_64', map)).toThrow(RebuildError);
  });

  it('refuses an empty local tag in the map', () => {
    const e = thrown(() => resolveBuilderName('alpine-builder', 'x86_64', { 'alpine-builder': ' ' }));
    expect(e.category).toBe('usage');
  });
});
