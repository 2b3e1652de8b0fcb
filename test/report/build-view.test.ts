import { describe, expect, it } from 'vitest';
import {
  type BuildSummaryView,
  renderBuildHtml,
  renderBuildMarkdown,
  renderBuildSummary,
} from '../../src/report/index.js';

const SHA = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
const B3 = 'af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262';
const OTHER = '0000000000000000000000000000000000000000000000000000000000000bad';

function view(over: Partial<BuildSummaryView> = {}): BuildSummaryView {
  return {
    recipe: {
      file: 'examples/hello/hello.static.yaml',
      pkg: 'hello',
      pkgId: 'github.com.example.hello',
      pkgType: 'static',
    },
    arch: 'aarch64',
    outDir: '/tmp/rebuild-out/hello',
    status: 'reproducible',
    outputs: [
      {
        name: 'hello',
        size: 68_512,
        sha256: SHA,
        blake3: B3,
        expected: { sha256: SHA, blake3: B3 },
        match: true,
        stripped: true,
      },
    ],
    inputs: {
      image: 'ghcr.io/pkgforge/devscripts/debian-builder-unstable:aarch64',
      imageId: 'sha256:4f1c0e7a9d',
      emulator: 'qemu-aarch64 version 7.2.19 (binfmt flags: OCF)',
      pkgver: '1.0.0',
    },
    durationMs: 83_400,
    logPath: '/tmp/rebuild-out/hello/build.log',
    resultPath: '/tmp/rebuild-out/hello/result.json',
    ...over,
  };
}

describe('renderBuildSummary', () => {
  it('says reproducible first, then the inputs and the hashes', () => {
    const t = renderBuildSummary(view());
    expect(t.split('\n')[0]).toBe(
      'REPRODUCIBLE — hello for aarch64: the output matches the expected checksums',
    );
    for (const s of [
      SHA,
      B3,
      'qemu-aarch64 version 7.2.19',
      'sha256:4f1c0e7a9d',
      '1.0.0',
      'build.log',
      'result.json',
    ])
      expect(t).toContain(s);
    expect(t).toContain('✓ as expected');
    expect(t).toContain('stripped like pkgforge');
    expect(t).toContain('1 min 23 s');
  });

  it('shows what was expected when an output does not match, and the comparison verdict', () => {
    const t = renderBuildSummary(
      view({
        status: 'mismatch',
        outputs: [
          {
            name: 'hello',
            size: 68_512,
            sha256: SHA,
            blake3: B3,
            expected: { sha256: OTHER },
            match: false,
            stripped: true,
            unstrippedPath: '/tmp/rebuild-out/hello/unstripped/hello',
            comparison: {
              verdict: 'different',
              summary:
                'DIFFERENT — code or data differs: .rodata (20 bytes at +0x17, looks like a timestamp)',
              reportPath: '/tmp/rebuild-out/hello/compare-hello.html',
            },
          },
        ],
      }),
      { width: 120 },
    );
    expect(t.split('\n')[0]).toBe(
      'MISMATCH — hello for aarch64: 1 of 1 output does not match the expected checksums',
    );
    expect(t).toMatch(new RegExp(`sha256 +${SHA} ✗ differs\\n +sha256 expected +${OTHER}`));
    expect(t).toContain('DIFFERENT — code or data differs: .rodata');
    expect(t).toContain('compare-hello.html');
    expect(t).toContain('unstripped/hello');
  });

  it('shows the failure and the end of the log', () => {
    const t = renderBuildSummary(
      view({
        status: 'failed',
        outputs: [],
        failure: {
          message: 'the recipe exited with status 2',
          fix: 'read the log',
          logTail: [
            '+ make',
            "hello.c:3:1: error: expected ';' before '}' token",
            'make: *** [hello] Error 1',
          ],
        },
      }),
    );
    expect(t.split('\n')[0]).toBe('FAILED — hello for aarch64: the recipe exited with status 2');
    expect(t).toContain("hello.c:3:1: error: expected ';' before '}' token");
    expect(t).toContain('last 3 lines of the log');
    expect(t).toContain('No outputs.');
  });

  it('fits the terminal (a token longer than the width overflows whole) and colours only on request; data cannot inject escapes', () => {
    const v = view({
      outDir: `/tmp/\x1b]0;owned\x07/${'x'.repeat(150)}`,
      status: 'built',
      outputs: [{ name: 'a', size: 1, sha256: SHA, blake3: B3 }],
    });
    for (const width of [80, 120]) {
      const t = renderBuildSummary(v, { width });
      expect(t).not.toContain('\x1b');
      // the 150-character directory name is one token: never split, so it pastes whole
      const over = t.split('\n').filter((line) => [...line].length > width);
      expect(over.length).toBe(1);
      expect(over[0]).toMatch(/ \/tmp\/\S*owned\S*\/x{150}$/);
      const c = renderBuildSummary(v, { width, color: true });
      expect(c).toContain('\x1b[');
      expect(c.replace(/\x1b\[[0-9;]*m/g, '')).toBe(t);
    }
    expect(renderBuildSummary(v).split('\n')[0]).toBe(
      'BUILT — hello for aarch64: 1 output, no expected checksums to compare with',
    );
  });

  it('renders Markdown and HTML with the same facts, escaped', () => {
    const v = view({ recipe: { file: '<script>alert(1)</script>.yaml', pkg: 'hello|x' } });
    const md = renderBuildMarkdown(v);
    expect(md.startsWith('# REPRODUCIBLE — hello\\|x for aarch64')).toBe(true);
    expect(md).toContain(SHA);
    const html = renderBuildHtml(v);
    expect(html).not.toMatch(/<script/i);
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;.yaml');
    expect(html).toContain(SHA);
  });
});
