/**
 * Signing a verification and checking a signed one.
 *
 * `attestResult` signs result.json's verdict as an in-toto statement in a
 * DSSE envelope and writes it beside it (`attestation.intoto.jsonl`, one
 * envelope per line as SLSA tooling expects). `checkAttestation` takes an
 * envelope file or an evidence bundle, checks the signature against a given
 * public key, the subject against a given file, and — for a bundle — that the
 * bundle's result.json is exactly the one signed, so an edited verdict shows.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { hashFile, sha256Hex } from '../hash/digest.js';
import { writeFileAtomic } from '../util/atomic.js';
import { messageOf, RebuildError } from '../util/errors.js';
import { ATTESTATION_FILE, isBundleFile, readBundle, readRegular, readResultOf } from './bundle.js';
import { asEnvelope, type DsseEnvelope, IN_TOTO_PAYLOAD_TYPE, signEnvelope, verifyEnvelope } from './dsse.js';
import type { SigningKey, VerifyingKey } from './keys.js';
import { asStatement, type Statement, statementFor } from './statement.js';

export interface Attested {
  path: string;
  envelope: DsseEnvelope;
  statement: Statement;
}

/** Signs the result.json of an output directory; writes the envelope beside it. */
export async function attestResult(outDir: string, key: SigningKey): Promise<Attested> {
  const { result, bytes, path: resultPath } = await readResultOf(outDir);
  if (!result.published?.sha256) {
    throw new RebuildError('input', 'not a verification result with a published file to attest', {
      subject: resultPath,
      fix: 'attest results of `rebuild <pkg>` that got as far as fetching the published file',
    });
  }
  const statement = statementFor(result, sha256Hex(bytes));
  const envelope = signEnvelope(Buffer.from(JSON.stringify(statement)), IN_TOTO_PAYLOAD_TYPE, key);
  const path = join(outDir, ATTESTATION_FILE);
  await writeFileAtomic(path, `${JSON.stringify(envelope)}\n`);
  return { path, envelope, statement };
}

/** Why a check failed; each maps to its own exit code (src/cli/exit-codes.ts). */
export type AttestationFailure =
  /** the signature does not verify with this key (edited statement, another key) */
  | 'signature'
  /** signed correctly, but about another file, or the bundle's result.json is not the one signed */
  | 'mismatch';

export interface AttestationReport {
  ok: boolean;
  failure?: AttestationFailure;
  /** One line for people. */
  message: string;
  keyid: string;
  statement?: Statement;
  checks: { what: string; ok: boolean; detail: string }[];
}

function parseEnvelopeText(text: string, subject: string): DsseEnvelope {
  const line = text.split('\n').find((l) => l.trim() !== '') ?? '';
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (err) {
    throw new RebuildError('input', `not a DSSE envelope (not JSON: ${messageOf(err)})`, {
      subject,
      fix: `give ${ATTESTATION_FILE} or an evidence bundle (.tar.gz)`,
    });
  }
  const envelope = asEnvelope(value);
  if (!envelope) {
    throw new RebuildError('input', 'not a DSSE envelope (payloadType, payload, signatures)', {
      subject,
      fix: `give ${ATTESTATION_FILE} or an evidence bundle (.tar.gz)`,
    });
  }
  return envelope;
}

/**
 * Checks an envelope file or an evidence bundle. Bad input (unreadable,
 * malformed) throws; a signature or a digest that does not hold is a report
 * with ok false and its failure.
 */
export async function checkAttestation(
  path: string,
  key: VerifyingKey,
  opts: { subjectFile?: string } = {},
): Promise<AttestationReport> {
  if (!(await readRegular(path, 0)))
    throw new RebuildError('input', 'no such file (or it is a link or not a regular file)', {
      subject: path,
    });
  const isBundle = await isBundleFile(path);
  let envelope: DsseEnvelope;
  let bundleResult: Buffer | undefined;
  if (isBundle) {
    const entries = await readBundle(path);
    const att = entries.get(ATTESTATION_FILE);
    if (!att) {
      return {
        ok: false,
        failure: 'signature',
        message: 'the bundle carries no signed statement (it was made without --key)',
        keyid: key.keyid,
        checks: [{ what: 'signature', ok: false, detail: `no ${ATTESTATION_FILE} in the bundle` }],
      };
    }
    envelope = parseEnvelopeText(att.toString('utf8'), `${path}:${ATTESTATION_FILE}`);
    bundleResult = entries.get('result.json');
  } else {
    const text = await readRegular(path, 64 * 1024 * 1024);
    envelope = parseEnvelopeText(text?.bytes.toString('utf8') ?? '', path);
  }
  const checks: AttestationReport['checks'] = [];
  const sig = verifyEnvelope(envelope, key);
  if (!sig.ok) {
    checks.push({ what: 'signature', ok: false, detail: sig.detail });
    return {
      ok: false,
      failure: 'signature',
      message: `signature invalid: ${sig.detail}`,
      keyid: key.keyid,
      checks,
    };
  }
  checks.push({ what: 'signature', ok: true, detail: `Ed25519, key ${key.keyid}` });
  if (envelope.payloadType !== IN_TOTO_PAYLOAD_TYPE) {
    throw new RebuildError(
      'input',
      `signed, but not an in-toto statement (payloadType ${envelope.payloadType})`,
      {
        subject: path,
      },
    );
  }
  let statement: Statement | undefined;
  try {
    statement = asStatement(JSON.parse(sig.payload.toString('utf8')));
  } catch {
    statement = undefined;
  }
  if (!statement) {
    throw new RebuildError('input', 'signed, but not a rebuild verification statement', { subject: path });
  }
  const subject = statement.subject[0]!;
  const subjectSha = (subject.digest as Record<string, string> | undefined)?.sha256 ?? '';
  const mismatch = (what: string, detail: string): AttestationReport => {
    checks.push({ what, ok: false, detail });
    return {
      ok: false,
      failure: 'mismatch',
      message: `${what}: ${detail}`,
      keyid: key.keyid,
      statement,
      checks,
    };
  };
  if (opts.subjectFile) {
    let got: string;
    try {
      got = (await hashFile(opts.subjectFile)).sha256;
    } catch (err) {
      throw new RebuildError('input', `cannot read the subject file: ${messageOf(err)}`, {
        subject: opts.subjectFile,
      });
    }
    if (got !== subjectSha)
      return mismatch(
        'subject',
        `${opts.subjectFile} has sha256 ${got}, the statement is about ${subject.name} ${subjectSha}`,
      );
    checks.push({
      what: 'subject',
      ok: true,
      detail: `${opts.subjectFile} = ${subject.name} (sha256 ${subjectSha})`,
    });
  }
  if (bundleResult) {
    const signedDigest = statement.predicate.verification.resultDigest.sha256;
    const got = sha256Hex(bundleResult);
    if (got !== signedDigest)
      return mismatch(
        'result.json',
        `the bundle's result.json (sha256 ${got}) is not the one signed (${signedDigest}): it was edited`,
      );
    checks.push({ what: 'result.json', ok: true, detail: `the one signed (sha256 ${got})` });
  }
  const v = statement.predicate.verification;
  return {
    ok: true,
    message: `${v.verdict.toUpperCase()} — ${v.summary}`,
    keyid: key.keyid,
    statement,
    checks,
  };
}

/** The envelope file in an output directory, read back (for reports and audits). */
export async function readAttestationOf(outDir: string): Promise<DsseEnvelope | undefined> {
  try {
    return asEnvelope(JSON.parse(await readFile(join(outDir, ATTESTATION_FILE), 'utf8')));
  } catch {
    return undefined;
  }
}
