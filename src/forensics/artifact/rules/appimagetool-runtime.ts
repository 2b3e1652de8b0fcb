/**
 * appimagetool's runtime, checked against a runtime the user trusts. The
 * published runtime may differ from it only inside `.digest_md5` (located in
 * the trusted file's section table), and those bytes must be the MD5 that
 * appimagetool computes: over the whole AppImage with .digest_md5,
 * .sha256_sig and .sig_key read as zeros.
 */
import { createHash } from 'node:crypto';
import { elfHeaderFacts, type Reader, type SectionRange, sectionRanges, withReader } from '../appimage.js';

export type RuntimeCheck = { ok: true; evidence: string[] } | { ok: false; reason: string };

const SKIPPED = ['.digest_md5', '.sha256_sig', '.sig_key'];

async function md5WithZeroedRanges(r: Reader, ranges: SectionRange[]): Promise<string> {
  const md5 = createHash('md5');
  const chunk = 1 << 20;
  for (let at = 0; at < r.size; at += chunk) {
    const buf = await r.read(at, chunk);
    for (const s of ranges) {
      const from = Math.max(s.offset, at);
      const to = Math.min(s.offset + s.size, at + buf.length);
      if (from < to) buf.fill(0, from - at, to - at);
    }
    md5.update(buf);
  }
  return md5.digest('hex');
}

export async function checkAppimagetoolRuntime(
  publishedAppImage: string,
  publishedRuntimeSize: number,
  trustedRuntime: string,
): Promise<RuntimeCheck> {
  return withReader(trustedRuntime, (trusted) =>
    withReader(publishedAppImage, async (pub) => {
      const e = elfHeaderFacts(await trusted.read(0, 64));
      if (!e) return { ok: false, reason: `the trusted runtime ${trustedRuntime} is not an ELF file` };
      if (trusted.size !== publishedRuntimeSize) {
        return {
          ok: false,
          reason: `the published runtime is ${publishedRuntimeSize} bytes, the trusted runtime ${trusted.size}`,
        };
      }
      const sections = await sectionRanges(trusted, e);
      const digest = sections.find((s) => s.name === '.digest_md5');
      const skipped = sections.filter((s) => SKIPPED.includes(s.name));
      if (!digest || digest.size < 16 || skipped.length !== SKIPPED.length) {
        return { ok: false, reason: 'the trusted runtime has no .digest_md5/.sha256_sig/.sig_key sections' };
      }
      const [t, p] = await Promise.all([trusted.read(0, trusted.size), pub.read(0, publishedRuntimeSize)]);
      for (let i = 0; i < t.length; i++) {
        if (t[i] !== p[i] && (i < digest.offset || i >= digest.offset + 16)) {
          return {
            ok: false,
            reason: `the published runtime differs from the trusted one at offset 0x${i.toString(16)}, outside .digest_md5`,
          };
        }
      }
      const embedded = p.subarray(digest.offset, digest.offset + 16).toString('hex');
      const computed = await md5WithZeroedRanges(pub, skipped);
      if (embedded !== computed) {
        return {
          ok: false,
          reason: `.digest_md5 holds ${embedded}, but the AppImage's digest is ${computed}`,
        };
      }
      const sha = createHash('sha256').update(t).digest('hex');
      return {
        ok: true,
        evidence: [
          `published runtime = trusted runtime (sha256 ${sha}) outside .digest_md5 (0x${digest.offset.toString(16)}, 16 bytes)`,
          `.digest_md5 = ${embedded} = MD5 of the AppImage with .digest_md5, .sha256_sig and .sig_key zeroed`,
        ],
      };
    }),
  );
}
