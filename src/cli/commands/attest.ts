import type { Command } from 'commander';
import { attestResult, checkAttestation } from '../../evidence/attest.js';
import { outDirOf } from '../../evidence/bundle.js';
import { loadSigningKey, loadVerifyingKey } from '../../evidence/keys.js';
import { action } from '../action.js';
import { ExitCode } from '../exit-codes.js';
import { describe } from '../registry.js';

export const ATTEST_VERIFY_EXIT_HELP =
  '\nExit codes: 0 the signature holds and every digest given matches, 9 the signature does not\n' +
  'verify with this key (the statement was edited, or another key signed it), 12 validly signed\n' +
  "but about another file, or the bundle's result.json is not the one signed, 3 unreadable or\n" +
  'malformed input.';

export function register(program: Command): void {
  const attest = program.command('attest').description(describe('attest'));
  attest
    .command('sign', { isDefault: true, hidden: true })
    .description('sign result.json: writes attestation.intoto.jsonl beside it')
    .argument('<result>', 'result.json or the output directory of `rebuild <pkg>`')
    .requiredOption('--key <file>', 'Ed25519 private key (rebuild keygen, OpenSSH or PKCS#8 PEM)')
    .option('--json', 'print the envelope to stdout')
    .action(
      action(async (result: string, flags: { key: string; json?: boolean }) => {
        const key = await loadSigningKey(flags.key);
        const att = await attestResult(outDirOf(result), key);
        if (flags.json) process.stdout.write(`${JSON.stringify(att.envelope)}\n`);
        else {
          const v = att.statement.predicate.verification;
          const s = att.statement.subject[0]!;
          process.stdout.write(
            `signed ${v.verdict} for ${s.name} (sha256 ${(s.digest as { sha256: string }).sha256})\n` +
              `  statement  ${att.path}\n  key id     ${key.keyid}\n`,
          );
        }
        return ExitCode.ok;
      }),
    );
  attest
    .command('verify')
    .description('check a signed statement or an evidence bundle against a public key')
    .argument('<file>', 'attestation.intoto.jsonl, or an evidence bundle (.tar.gz)')
    .requiredOption(
      '--key <file>',
      "the auditor's public key (NAME.pub, an OpenSSH ssh-ed25519 line, or SPKI PEM)",
    )
    .option('--subject <file>', 'also check that the statement is about this file (by sha256)')
    .option('--json', 'print the check as JSON')
    .addHelpText('after', ATTEST_VERIFY_EXIT_HELP)
    .action(
      action(async (file: string, flags: { key: string; subject?: string; json?: boolean }) => {
        const key = await loadVerifyingKey(flags.key);
        const report = await checkAttestation(file, key, { subjectFile: flags.subject });
        if (flags.json) {
          process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
        } else if (report.ok) {
          process.stdout.write(`attestation ok: ${report.message}\n`);
          for (const c of report.checks) process.stdout.write(`  ✓ ${c.what}: ${c.detail}\n`);
        } else {
          process.stderr.write(`rebuild: ${file}: ${report.message}\n`);
          process.stderr.write(
            report.failure === 'signature'
              ? '  fix: check with the public key of whoever signed it; a statement changed after signing never verifies\n'
              : '  fix: this statement is not about that file (or the bundle was edited): do not trust the verdict it carries\n',
          );
        }
        if (report.ok) return ExitCode.ok;
        return report.failure === 'signature' ? ExitCode.attestationInvalid : ExitCode.attestationMismatch;
      }),
    );
}
