import { constants } from 'node:fs';
import { open, rm } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import type { Command } from 'commander';
import { generateKeyPair } from '../../evidence/keys.js';
import { isNoSpace, messageOf, noSpaceError, RebuildError } from '../../util/errors.js';
import { action } from '../action.js';
import { ExitCode } from '../exit-codes.js';
import { describe } from '../registry.js';

/** Creates a file that must not exist yet (never overwrites a key). */
async function createExclusive(path: string, text: string, mode: number): Promise<void> {
  let fh: Awaited<ReturnType<typeof open>>;
  try {
    fh = await open(
      path,
      constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW,
      mode,
    );
  } catch (err) {
    const exists = (err as NodeJS.ErrnoException).code === 'EEXIST';
    throw new RebuildError('input', exists ? 'already exists: keys are never overwritten' : messageOf(err), {
      subject: path,
      fix: exists
        ? 'choose another name with -o NAME, or remove the old key yourself'
        : 'choose a writable place with -o NAME',
    });
  }
  try {
    await fh.writeFile(text);
  } catch (err) {
    await fh.close();
    await rm(path, { force: true });
    throw isNoSpace(err) ? noSpaceError(dirname(resolve(path)), err, path) : err;
  }
  await fh.close();
}

export function register(program: Command): void {
  program
    .command('keygen')
    .description(describe('keygen'))
    .option('-o, --out <name>', 'file name without extension', 'rebuild-attestation')
    .option('--comment <text>', 'comment in the OpenSSH form of the public key', 'rebuild attestation key')
    .addHelpText(
      'after',
      '\nWrites NAME.key (PKCS#8 PEM, mode 0600) and NAME.pub (SPKI PEM), and prints the public key in\n' +
        'OpenSSH form. Existing files are never overwritten. Exit codes: 0 written, 3 cannot write there, 5 the file system is full.',
    )
    .action(
      action(async (flags: { out: string; comment: string }) => {
        const pair = generateKeyPair(flags.comment);
        const keyPath = `${flags.out}.key`;
        const pubPath = `${flags.out}.pub`;
        await createExclusive(keyPath, pair.privatePem, 0o600);
        try {
          await createExclusive(pubPath, pair.publicPem, 0o644);
        } catch (err) {
          await rm(keyPath, { force: true });
          throw err;
        }
        process.stdout.write(
          `private key  ${keyPath} (keep it secret)\npublic key   ${pubPath}\nkey id       ${pair.keyid}\nopenssh      ${pair.publicSsh}`,
        );
        return ExitCode.ok;
      }),
    );
}
