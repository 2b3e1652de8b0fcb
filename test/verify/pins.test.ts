import { describe, expect, it } from 'vitest';
import { commandSuggestion, editDistance } from '../../src/cli/commands/verify.js';
import { verifyExitCode } from '../../src/cli/exit-codes.js';
import {
  builderNamesOf,
  chooseDatedImage,
  dayOf,
  parseHeadVersion,
  recipeRunsGit,
  sourcePin,
} from '../../src/verify/pins.js';
import { replayChanges } from '../../src/verify/replay.js';
import type { VerifyResult } from '../../src/verify/types.js';

describe('version pins', () => {
  it('parses HEAD-<sha>-<date> versions and nothing else', () => {
    expect(parseHeadVersion('HEAD-1a2b3c4-250122T095137')).toEqual({ sha: '1a2b3c4', date: '250122T095137' });
    expect(parseHeadVersion('HEAD-DEADBEEF')).toEqual({ sha: 'deadbeef' });
    expect(parseHeadVersion('24.09')).toBeUndefined();
    expect(parseHeadVersion('HEAD-xyz-250122T095137')).toBeUndefined();
    expect(parseHeadVersion('v1.2.3-HEAD-1a2b3c4')).toBeUndefined();
  });

  it('sees git in recipes that clone and not in those that do not', () => {
    expect(recipeRunsGit({ run: 'git clone --depth 1 https://x/y.git && cd y' })).toBe(true);
    expect(recipeRunsGit({ run: 'cd src\n  git -C foo checkout main' })).toBe(true);
    expect(recipeRunsGit({ run: "bash -c 'git clone https://a/b'" })).toBe(true);
    expect(recipeRunsGit({ run: 'echo legit clone\ncurl -o x https://a/git' })).toBe(false);
  });

  it('pins the source commit through the environment and says when the recipe cannot honour it', () => {
    const clone = sourcePin(
      { version: 'HEAD-abc1234-250122T095137' },
      { run: 'git clone https://x/y', mode: 'container' },
    );
    expect(clone?.env).toEqual({ REBUILD_SOURCE_COMMIT: 'abc1234', REBUILD_SOURCE_DATE: '250122T095137' });
    expect(clone?.recipeUsesGit).toBe(true);
    const dockerRun = sourcePin(
      { version: 'HEAD-abc1234' },
      { run: 'docker run x bash -c "git clone u"', mode: 'docker-run' },
    );
    expect(dockerRun?.notes.join(' ')).toMatch(/only if the recipe passes it with -e/);
    const noGit = sourcePin({ version: 'HEAD-abc1234' }, { run: 'make', mode: 'host' });
    expect(noGit?.notes[0]).toMatch(/runs no git command/);
    expect(sourcePin({ version: '1.0' }, { run: 'git clone u', mode: 'host' })).toBeUndefined();
    // the record's parsed commit wins over parsing the version again
    expect(
      sourcePin({ version: 'x', sourceCommit: { sha: 'ABCDEF0', date: 'd' } }, { run: '', mode: 'host' })
        ?.sha,
    ).toBe('abcdef0');
  });
});

describe('builder image by build date', () => {
  const tags = [
    'ghcr.io/pkgforge/devscripts/debian-builder-unstable:x86_64-v2025.01.01',
    'ghcr.io/pkgforge/devscripts/debian-builder-unstable:x86_64-v2025.02.26',
    'ghcr.io/pkgforge/devscripts/debian-builder-unstable:x86_64-v2025.03.05',
    'ghcr.io/pkgforge/devscripts/debian-builder-unstable:aarch64-v2025.03.01',
    'ghcr.io/pkgforge/devscripts/debian-builder-unstable:x86_64',
    'ghcr.io/pkgforge/devscripts/alpine-builder:x86_64-v2025.03.01',
    'rebuild/debian-builder:x86_64-57069358ca3d',
  ];
  it('picks the newest dated tag on or before the build date, for the right arch and builder', () => {
    const name = 'ghcr.io/pkgforge/devscripts/debian-builder-unstable:$(uname -m)';
    const r = chooseDatedImage(name, 'x86_64', '2025-03-04T05:06:07Z', tags);
    expect(r.chosen?.tag).toBe('ghcr.io/pkgforge/devscripts/debian-builder-unstable:x86_64-v2025.02.26');
    expect(r.candidates).toHaveLength(3);
    expect(chooseDatedImage(name, 'x86_64', '2025-03-05T00:00:00Z', tags).chosen?.date).toBe('2025-03-05');
    expect(chooseDatedImage(name, 'aarch64', '2025-03-04', tags).chosen?.date).toBe('2025-03-01');
    expect(chooseDatedImage(name, 'x86_64', '2024-12-31T00:00:00Z', tags).chosen).toBeUndefined();
    expect(chooseDatedImage('debian-builder-unstable', 'x86_64', 'garbage', tags).chosen).toBeUndefined();
    expect(chooseDatedImage('ubuntu-builder', 'x86_64', '2025-03-04', tags).candidates).toEqual([]);
  });
  it('knows which builders a recipe names', () => {
    expect(builderNamesOf({ mode: 'container', container: 'a/b:c', images: ['a/b:c'] })).toEqual(['a/b:c']);
    expect(builderNamesOf({ mode: 'docker-run', images: ['x:$(uname -m)'] })).toEqual(['x:$(uname -m)']);
    expect(builderNamesOf({ mode: 'host', images: [] })).toEqual([]);
    expect(dayOf('2025-01-22T09:51:37Z')).toBe('2025-01-22');
    expect(dayOf('yesterday')).toBeUndefined();
  });
});

describe('exit codes and CLI helpers', () => {
  it('keeps verdicts apart', () => {
    expect(verifyExitCode({ verdict: 'reproducible' })).toBe(0);
    expect(verifyExitCode({ verdict: 'equivalent' })).toBe(1);
    expect(verifyExitCode({ verdict: 'different' })).toBe(2);
    expect(verifyExitCode({ verdict: 'build-failed' })).toBe(4);
    expect(verifyExitCode({ verdict: 'upstream-integrity' })).toBe(6);
    expect(verifyExitCode({ verdict: 'error', error: { message: '', category: 'environment' } })).toBe(5);
    expect(verifyExitCode({ verdict: 'error', error: { message: '', category: 'network' } })).toBe(7);
    expect(verifyExitCode({ verdict: 'error', error: { message: '', category: 'input' } })).toBe(3);
  });
  it('suggests the command a typo meant', () => {
    const cmds = ['build', 'compare', 'recipe', 'runner', 'replay'];
    expect(editDistance('biuld', 'build')).toBe(2);
    expect(commandSuggestion('biuld', cmds)).toBe('build');
    expect(commandSuggestion('comapre', cmds)).toBe('compare');
    expect(commandSuggestion('age', cmds)).toBeUndefined();
    expect(commandSuggestion('build', cmds)).toBeUndefined();
  });
  it('lists what changed between a result and its replay', () => {
    const base = {
      verdict: 'reproducible',
      published: { sha256: 'p' },
      rebuilt: { sha256: 'r' },
      inputs: { manifestDigest: 'm', recipe: { digest: 'd' }, pins: { pkgver: '1', image: { id: 'i1' } } },
    } as unknown as VerifyResult;
    const changed = {
      ...base,
      verdict: 'different',
      rebuilt: { sha256: 'r2' },
      inputs: { ...base.inputs, pins: { pkgver: '1', image: { id: 'i2' } } },
    } as unknown as VerifyResult;
    expect(replayChanges(base, base)).toEqual([]);
    expect(replayChanges(base, changed)).toEqual([
      'verdict: reproducible → different',
      'builder image id: i1 → i2',
      'rebuilt sha256: r → r2',
    ]);
  });
});
