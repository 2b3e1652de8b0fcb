import type { Command } from 'commander';
import { hashFile } from '../../hash/digest.js';
import { action } from '../action.js';
import { ExitCode } from '../exit-codes.js';
import { describe } from '../registry.js';

export function register(program: Command): void {
  program
    .command('hash')
    .description(describe('hash'))
    .argument('<file...>', 'files to hash')
    .option('--json', 'one JSON object per file and line (JSON Lines): path, size, sha256, blake3')
    .action(
      action(async (files: string[], flags: { json?: boolean }) => {
        for (const path of files) {
          const d = await hashFile(path);
          process.stdout.write(
            flags.json
              ? `${JSON.stringify({ path, size: d.size, sha256: d.sha256, blake3: d.blake3 })}\n`
              : `${d.sha256}  ${d.blake3}  ${path}\n`,
          );
        }
        return ExitCode.ok;
      }),
    );
}
