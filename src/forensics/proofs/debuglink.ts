/**
 * `.gnu_debuglink` and `.gnu_debugaltlink`, as objcopy and dwz write them.
 *
 * .gnu_debuglink is exactly: a file name (text, no `/`, NUL-terminated),
 * zero padding to a 4-byte boundary, and a 4-byte CRC32 of the debug file,
 * and nothing more. .gnu_debugaltlink is a path (text, NUL-terminated)
 * followed by a build-id of 8 to 64 bytes, and nothing more.
 *
 * Why nothing hides here: neither is read by a loader (outside every program
 * header); the only free bytes are a name that must be text of at most 255
 * bytes and a 4-byte checksum (or a build-id of at most 64 bytes): no room
 * for code and none for a payload beyond those few bytes.
 */
import { Cursor, isText, need, quote } from './cursor.js';
import type { Proof } from './types.js';

const NAME_LIMIT = 255;
const PATH_LIMIT = 4096;

export const proveDebuglink: Proof = ({ bytes, elf }) => {
  const c = new Cursor(bytes, elf.header.endian === 'little');
  const name = c.cstr();
  need(
    name.length > 0 && name.length <= NAME_LIMIT,
    `its file name is ${name.length} bytes (1 to ${NAME_LIMIT} expected)`,
  );
  need(isText(name) && !name.includes(0x2f), `its file name ${quote(name)} is not a plain file name`);
  const padded = (c.pos + 3) & ~3;
  need(padded + 4 <= bytes.length, 'it ends before its CRC32');
  need(
    bytes.subarray(c.pos, padded).every((x) => x === 0),
    'the padding after its file name is not zero',
  );
  need(
    bytes.length === padded + 4,
    `it has ${bytes.length - padded - 4} byte(s) after the file name and CRC32 that objcopy never writes`,
  );
  return undefined;
};

export const proveDebugaltlink: Proof = ({ bytes, elf }) => {
  const c = new Cursor(bytes, elf.header.endian === 'little');
  const path = c.cstr();
  need(path.length > 0 && path.length <= PATH_LIMIT && isText(path), `its path ${quote(path)} is not a path`);
  need(
    c.left >= 8 && c.left <= 64,
    `it has ${c.left} byte(s) after the path, not a build-id (8 to 64 bytes)`,
  );
  return undefined;
};
