import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { join } from 'node:path';
import { Transform, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { INSTALL_JOB } from '../../core/koophone/apps.ts';
import type { InstallParams } from '../../core/job-types.ts';
import { PHONE_STATUS } from '../../core/model.ts';
import { ApkParseError, readApk } from '../../android/apk.ts';
import { PhoneOperationError } from '../../devices/driver.ts';
import type { DownloadRequest, HttpDownloads } from '../../objects/http-download.ts';
import { parseObsUrl, type ObjectStore } from '../../objects/store.ts';
import type { Job } from '../../store/schema.ts';
import type { CommandDeps } from '../commands.ts';
import type { JobResult } from '../engine.ts';
import { phoneSpec } from '../../core/phone-spec.ts';
import type { JobHandlers } from '../handlers.ts';
import type { KooPhoneCode } from '../../core/errors.ts';

/** The largest package InstallApp takes (spec §5.2, 62015). */
const MAX_PACKAGE_BYTES = 2 * 1024 ** 3;
const MB = 1024 * 1024;
/** object_size is a whole number of MB in the documents: a download within 1 MB of it matches. */
const SIZE_SLACK_MB = 1;
/**
 * What the tenant learns when an HTTP(S) download fails, whatever the reason: the status, size, content or
 * error of what a URL reached would tell what the server can reach (the operator's log has the details).
 */
const DOWNLOAD_FAILED = 'the package could not be downloaded from install_package_url';

export function koophoneJobHandlers(deps: CommandDeps): Pick<JobHandlers, typeof INSTALL_JOB> {
  return {
    [INSTALL_JOB]: {
      run: (job, params) => install(job, params, deps),
      // An install may have happened before the worker died: never run it twice.
      retryable: false,
      abandoned: () => failed('KOOPHONE.API.62019', 'the install stopped before it finished'),
    },
  };
}

class InstallFailure extends Error {
  constructor(
    readonly code: KooPhoneCode,
    message: string,
  ) {
    super(message);
  }
}

function failed(code: KooPhoneCode, detail: string): JobResult {
  return { ok: false, errorCode: code, executeMsg: detail };
}

/**
 * InstallApp on one instance: download the package (HTTP(S) or obs://), check it against the request
 * (size, MD5 when given, package name = object_name), then install it with `adb install -r`.
 * Failures end the job with the documented code and say what went wrong in `execute_msg`.
 */
async function install(job: Job, params: InstallParams, deps: CommandDeps): Promise<JobResult> {
  const phone = await deps.phones.load(job.phone_id!);
  if (!phone || phone.status !== PHONE_STATUS.running) return failed('KOOPHONE.API.62010', 'the instance is not running');
  return deps.scratch.using('install-', async (dir) => {
    try {
      const file = join(dir, 'package.apk');
      const web = { downloads: deps.downloads, tenant: job.project_id, maxBytes: Math.ceil((params.object_size + SIZE_SLACK_MB) * MB) };
      // obs:// names a bucket of the tenant's own account: another account's object is as missing as none.
      check(params, await download(params.url, file, await deps.objects.forProject(job.project_id), web));
      let apk;
      try {
        apk = await readApk(file);
      } catch (error) {
        if (error instanceof ApkParseError) throw new InstallFailure('KOOPHONE.API.62019', `${params.file_name} is not a valid APK: ${error.message.replace(`${file}: `, '')}`);
        throw error;
      }
      if (apk.packageName !== params.object_name) {
        throw new InstallFailure('KOOPHONE.API.62019', `the APK's package is ${apk.packageName}, not object_name ${params.object_name}`);
      }
      const result = await deps.driver.install(await phoneSpec(phone, deps), [file], ['-r']);
      if (result.exitCode === 0) return { ok: true, executeMsg: result.output.trim() };
      return failed(installFailureCode(result.output), result.output.trim());
    } catch (error) {
      if (error instanceof InstallFailure) return failed(error.code, error.message);
      if (error instanceof PhoneOperationError) return failed('KOOPHONE.API.62010', error.message);
      throw error;
    }
  });
}

/** Download results: byte count and MD5 of what arrived. */
interface Downloaded {
  bytes: number;
  md5: string;
}

/** Fetches `url` into `file` (62017 on any failure), at most 2 GB; HTTP(S) at most `web.maxBytes`, under the destination policy. */
async function download(url: string, file: string, objects: ObjectStore, web: DownloadRequest & { downloads: HttpDownloads }): Promise<Downloaded> {
  const counter = counting();
  try {
    const object = parseObsUrl(url);
    if (object) {
      const stat = await objects.stat(object.bucket, object.key);
      if (!stat) throw new InstallFailure('KOOPHONE.API.62017', `${url} does not exist`);
      if (stat.size > MAX_PACKAGE_BYTES) throw new InstallFailure('KOOPHONE.API.62017', `${url} is larger than 2 GB`);
      await objects.download(object.bucket, object.key, file);
      await pipeline(createReadStream(file), counter.stream, new Writable({ write: (_chunk, _encoding, done) => done() }));
    } else {
      await web.downloads.fetch(url, web, (body) => pipeline(body, counter.stream, createWriteStream(file))).catch(() => {
        throw new InstallFailure('KOOPHONE.API.62017', DOWNLOAD_FAILED);
      });
    }
  } catch (error) {
    if (error instanceof InstallFailure) throw error;
    throw new InstallFailure('KOOPHONE.API.62017', `could not download ${redact(url)}: ${(error as Error).message}`);
  }
  return counter.result();
}

/** A pass-through stream that counts and hashes, and stops past the size limit. */
function counting() {
  const hash = createHash('md5');
  let bytes = 0;
  const stream = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      bytes += chunk.length;
      if (bytes > MAX_PACKAGE_BYTES) return done(new Error('the package is larger than 2 GB'));
      hash.update(chunk);
      done(null, chunk);
    },
  });
  return { stream, result: (): Downloaded => ({ bytes, md5: hash.digest('hex') }) };
}

/** The download must be the package the request describes: its MD5 when given, and its size in MB. */
function check(params: InstallParams, got: Downloaded): void {
  if (params.content_md5 !== '' && params.content_md5.toLowerCase() !== got.md5) {
    throw new InstallFailure('KOOPHONE.API.62017', `the download does not match content_md5 ${params.content_md5}`);
  }
  if (Math.abs(got.bytes / MB - params.object_size) >= SIZE_SLACK_MB) {
    throw new InstallFailure('KOOPHONE.API.62017', `the download's size is not within ${SIZE_SLACK_MB} MB of object_size ${params.object_size} MB`);
  }
}

/** The documented code of an `adb install` failure (spec §2.20: 62019, 62020, 62021). */
function installFailureCode(output: string): KooPhoneCode {
  if (/INSTALL_FAILED_(VERSION_DOWNGRADE|UPDATE_INCOMPATIBLE|DUPLICATE_PERMISSION|CONFLICTING_PROVIDER)/.test(output)) return 'KOOPHONE.API.62020';
  if (/INSTALL_FAILED_INSUFFICIENT_STORAGE/.test(output)) return 'KOOPHONE.API.62021';
  return 'KOOPHONE.API.62019';
}

/** The URL without its query: signed OBS URLs carry credentials there. */
function redact(url: string): string {
  return url.replace(/\?.*$/s, '');
}
