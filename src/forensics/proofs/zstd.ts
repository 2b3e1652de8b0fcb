/**
 * ELFCOMPRESS_ZSTD debug sections (binutils `--compress-debug-sections=zstd`,
 * `-gz=zstd`): one Zstandard frame, decoded by the reference library
 * (libzstd, through zstd-napi) into a buffer of exactly the size the
 * compression header states.
 *
 * Why nothing hides here: the bytes must be exactly one standard frame
 * (a skippable frame, whose contents no decoder reads, or a second frame
 * is refused; so is any byte after the frame), without a dictionary id
 * (four free bytes; toolchains use no dictionary), stating its content
 * size, which must equal ch_size; libzstd refuses a block whose literals
 * or sequence bit streams are not consumed to their last bit and verifies
 * the checksum when the frame has one. What decodes is then proven as
 * DWARF like any other section, and the compressed size is bounded by the
 * decoded one.
 */
import { need, ProofFailure } from './cursor.js';

const MAGIC = 0xfd2fb528;

interface ZstdBinding {
  decompress(dst: Uint8Array, src: Uint8Array): number;
  getFrameContentSize(frame: Uint8Array): number | null;
  findFrameCompressedSize(frame: Uint8Array): number;
}

let binding: Promise<ZstdBinding> | undefined;

/** libzstd, loaded on first use (a native module: a failed build fails only zstd sections). */
function zstd(): Promise<ZstdBinding> {
  binding ??= import('zstd-napi/binding.js').then(
    (m) => (m as { default?: ZstdBinding }).default ?? (m as unknown as ZstdBinding),
  );
  return binding;
}

/** Decodes exactly `size` bytes from the one zstd frame that must fill `data` to its last byte. */
export async function zstdExact(data: Buffer, size: bigint, limit: number): Promise<Buffer> {
  need(
    size <= BigInt(limit),
    `it claims ${size} bytes uncompressed, more than rebuild reads to prove (${limit})`,
  );
  need(
    BigInt(data.length) <= size + (size >> 8n) + 64n,
    `its ${data.length} compressed bytes are far more than ${size} bytes need`,
  );
  need(
    data.length >= 6 && data.readUInt32LE(0) === MAGIC,
    'its compressed contents do not start with a Zstandard frame (a skippable frame carries unread bytes)',
  );
  need((data[4]! & 0x03) === 0, 'its Zstandard frame names a dictionary, which no toolchain uses');
  let lib: ZstdBinding;
  try {
    lib = await zstd();
  } catch (err) {
    throw new ProofFailure(
      `rebuild cannot decode Zstandard here (the zstd-napi module did not load: ${(err as Error).message}); reinstall with \`npm ci\``,
    );
  }
  const out = Buffer.alloc(Number(size));
  const decoding = <T>(step: () => T): T => {
    try {
      return step();
    } catch (err) {
      throw new ProofFailure(`its compressed contents do not decode (${(err as Error).message})`);
    }
  };
  const stated = decoding(() => lib.getFrameContentSize(data));
  need(
    stated !== null && BigInt(stated) === size,
    `its Zstandard frame states ${stated ?? 'no'} content size, not the ${size} bytes its header claims`,
  );
  const frame = decoding(() => lib.findFrameCompressedSize(data));
  need(frame === data.length, `it has ${data.length - frame} byte(s) after its Zstandard frame`);
  const written = decoding(() => lib.decompress(out, data));
  need(BigInt(written) === size, `it decodes to ${written} bytes, not the ${size} its header claims`);
  return out;
}
