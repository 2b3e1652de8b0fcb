import { describe, expect, it } from 'vitest';
import { DockerArgvError, parseDockerArgv } from '../../src/engine/shim/docker-argv.js';

describe('parseDockerArgv: what 2025 recipes run', () => {
  it('parses the pkgforge alpine-builder invocation', () => {
    const cmd = parseDockerArgv([
      'run',
      '--privileged',
      '--net=host',
      '--name',
      'alpine-builder',
      '--pull=always',
      '-e',
      'PKGVER=1.2',
      '-e',
      'GITHUB_TOKEN',
      '-v',
      '/sbuild/SBUILD_TEMP/tmp:/tmp',
      '--platform=linux/arm64',
      'ghcr.io/pkgforge/devscripts/alpine-builder:aarch64',
      'bash',
      '-l',
      '-c',
      'echo hi',
    ]);
    expect(cmd).toMatchObject({
      kind: 'run',
      image: 'ghcr.io/pkgforge/devscripts/alpine-builder:aarch64',
      name: 'alpine-builder',
      network: 'host',
      platform: 'linux/arm64',
      args: ['bash', '-l', '-c', 'echo hi'],
      env: [{ name: 'PKGVER', value: '1.2' }, { name: 'GITHUB_TOKEN' }],
      volumes: [{ source: '/sbuild/SBUILD_TEMP/tmp', target: '/tmp', readOnly: false }],
      remove: false,
    });
    expect(cmd.kind === 'run' && cmd.ignored).toEqual(['--privileged', '--pull=always']);
  });

  it('takes combined short flags and --rm/-d', () => {
    const cmd = parseDockerArgv(['run', '--rm', '-dit', 'img', 'sh']);
    expect(cmd).toMatchObject({ kind: 'run', remove: true, detach: true, image: 'img', args: ['sh'] });
  });

  it('refuses flags that widen what a container can reach', () => {
    expect(() => parseDockerArgv(['run', '--device', '/dev/kvm', 'img'])).toThrow(
      /refused by rebuild's container policy/,
    );
    expect(() => parseDockerArgv(['run', '--pid=host', 'img'])).toThrow(DockerArgvError);
    expect(() => parseDockerArgv(['run', '--frobnicate', 'img'])).toThrow(/not supported/);
  });

  it('parses docker cp in both spellings and rejects local-to-local', () => {
    expect(parseDockerArgv(['cp', 'alpine-builder:/build-bins/.', '/sbuild/SBUILD_TEMP/'])).toEqual({
      kind: 'cp',
      source: { container: 'alpine-builder', path: '/build-bins/.' },
      dest: { path: '/sbuild/SBUILD_TEMP/' },
    });
    expect(parseDockerArgv(['container', 'cp', '-a', 'b:/x', 'y'])).toMatchObject({ kind: 'cp' });
    expect(() => parseDockerArgv(['cp', '/a', '/b'])).toThrow(/between a container/);
  });

  it('parses rm/stop with options and refuses other verbs by name', () => {
    expect(parseDockerArgv(['rm', '-f', 'a', 'b'])).toEqual({ kind: 'rm', names: ['a', 'b'], force: true });
    expect(parseDockerArgv(['stop', '-t', '5', 'a'])).toEqual({ kind: 'stop', names: ['a'], force: false });
    expect(() => parseDockerArgv(['exec', 'a', 'sh'])).toThrow(/`docker exec a` is not supported/);
    expect(() => parseDockerArgv([])).toThrow(DockerArgvError);
  });

  it('needs an image and flag values', () => {
    expect(() => parseDockerArgv(['run', '--name'])).toThrow(/needs a value/);
    expect(() => parseDockerArgv(['run', '--rm'])).toThrow(/needs an image/);
    expect(() => parseDockerArgv(['run', '-v', 'nocolon', 'img'])).toThrow(/SOURCE:TARGET/);
  });
});
