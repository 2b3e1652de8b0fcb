/** The farm's pure decisions: tags and needs, the needs file, queue names, priorities, native-first routing, redaction. */
import { describe, expect, it } from 'vitest';
import { redactText, redactUrl } from '../../src/audit/db/sql.js';
import {
  needsOf,
  parseNeedsFile,
  parseTags,
  priorityOf,
  queueName,
  routable,
  satisfies,
  shouldTake,
  type WorkerCaps,
} from '../../src/audit/farm/routing.js';
import { RebuildError } from '../../src/util/errors.js';
import { newResult, unit } from './fixtures.js';

const w = (name: string, over: Partial<WorkerCaps> = {}): WorkerCaps => ({
  name,
  arches: [{ arch: 'x86_64', mode: 'native' }],
  tags: {},
  jobs: 1,
  busy: 0,
  alive: true,
  ...over,
});

describe('needs and tags', () => {
  it('quantities compare by size, other values must match, a missing tag fails', () => {
    expect(satisfies({ memory: '64G' }, { memory: '16G' })).toBe(true);
    expect(satisfies({ memory: '16384M' }, { memory: '16G' })).toBe(true);
    expect(satisfies({ memory: '8G' }, { memory: '16G' })).toBe(false);
    expect(satisfies({ kvm: 'yes' }, { kvm: 'yes' })).toBe(true);
    expect(satisfies({ kvm: 'no' }, { kvm: 'yes' })).toBe(false);
    expect(satisfies({}, { cpus: '4' })).toBe(false);
    expect(satisfies({ cpus: '4' }, {})).toBe(true);
  });

  it('reads tags and the needs file, and names the line it cannot read', () => {
    expect(parseTags(['memory=16G,cpus=8', 'kvm=yes'])).toEqual({ memory: '16G', cpus: '8', kvm: 'yes' });
    expect(() => parseTags(['memory'])).toThrow(RebuildError);
    const needs = parseNeedsFile(
      '# c\nchromium memory=32G cpus=8\n\nexample.invalid.x memory=4G # why\n',
      'needs.txt',
    );
    expect(needs.get('chromium')).toEqual({ memory: '32G', cpus: '8' });
    expect(needs.get('example.invalid.x')).toEqual({ memory: '4G' });
    expect(() => parseNeedsFile('ok memory=1G\nbad memory\n', 'needs.txt')).toThrow(/needs\.txt line 2/);
    const u = unit('hello');
    expect(needsOf(u, new Map([['hello', { memory: '1G' }]]))).toEqual({ memory: '1G' });
    expect(
      needsOf(
        u,
        new Map<string, Record<string, string>>([
          [u.record.pkgId, { cpus: '2' }],
          ['hello', { memory: '1G' }],
        ]),
      ),
    ).toEqual({ cpus: '2' });
    expect(needsOf(u, new Map())).toEqual({});
  });

  it('one queue per arch and needs, the same for the same needs in any order', () => {
    expect(queueName('x86_64', {})).toBe('rebuild.x86_64');
    expect(queueName('aarch64', { memory: '16G', cpus: '8' })).toBe(
      queueName('aarch64', { cpus: '8', memory: '16G' }),
    );
  });
});

describe('priorities', () => {
  it('new versions first, then units that could regress, then first audits, then the rest', () => {
    const u = unit('p', { version: '2.0' });
    const old = { ...newResult(unit('p', { version: '1.0' }), 'reproducible'), id: 1, auditId: 1 } as never;
    const same = { ...newResult(u, 'reproducible'), id: 1, auditId: 1 } as never;
    const failed = { ...newResult(u, 'build-failed'), id: 1, auditId: 1 } as never;
    expect(priorityOf(u, old)).toBe(3);
    expect(priorityOf(u, same)).toBe(2);
    expect(priorityOf(u, undefined)).toBe(1);
    expect(priorityOf(u, failed)).toBe(0);
  });
});

describe('routing', () => {
  const q = { arch: 'aarch64' as const, needs: {} };
  const emu = w('emu', { arches: [{ arch: 'aarch64', mode: 'emulated' }] });
  const native = w('arm', { arches: [{ arch: 'aarch64', mode: 'native' }] });

  it('an emulated worker leaves a foreign-arch job to a free native one', () => {
    expect(shouldTake(native, q, [emu, native])).toBe(true);
    expect(shouldTake(emu, q, [emu, native])).toBe(false);
  });

  it('takes it when the native one is busy, gone, or cannot meet the needs', () => {
    expect(shouldTake(emu, q, [emu, { ...native, busy: 1 }])).toBe(true);
    expect(shouldTake(emu, q, [emu, { ...native, alive: false }])).toBe(true);
    const big = { arch: 'aarch64' as const, needs: { memory: '32G' } };
    expect(
      shouldTake({ ...emu, tags: { memory: '64G' } }, big, [{ ...emu, tags: { memory: '64G' } }, native]),
    ).toBe(true);
  });

  it('never takes an arch it does not build or needs it does not meet; such a job is not routable', () => {
    expect(shouldTake(w('x'), q, [])).toBe(false);
    const big = { arch: 'x86_64' as const, needs: { memory: '64G' } };
    expect(shouldTake(w('x', { tags: { memory: '16G' } }), big, [])).toBe(false);
    expect(routable(big, [w('x', { tags: { memory: '16G' } })])).toBe(false);
    expect(routable(big, [w('x', { tags: { memory: '64G' } })])).toBe(true);
    expect(routable(big, [w('x', { tags: { memory: '64G' }, alive: false })])).toBe(false);
  });
});

describe('passwords', () => {
  it('are replaced in connection strings and in messages that quote one', () => {
    expect(redactUrl('postgresql://rebuild:s3cret@db.example:5432/audit')).toBe(
      'postgresql://rebuild:***@db.example:5432/audit',
    );
    expect(redactUrl('postgres://u@h/d?password=s3cret')).not.toContain('s3cret');
    expect(redactUrl('/var/lib/audit.db')).toBe('/var/lib/audit.db');
    expect(redactText('failed: postgresql://a:b%40c@h/d and more')).toBe(
      'failed: postgresql://a:***@h/d and more',
    );
  });
});
