// A worker thread of apk.ts's pool: reads the APK at each path it is sent and answers with its reply.
import { parentPort } from 'node:worker_threads';
import { ApkParseError, parseApk, type ApkInfo } from './apk-parse.ts';

/** What the file holds, why it is not an APK, or (a fault of ours, not of the file) what went wrong. */
export type ApkReply = { info: ApkInfo } | { invalid: string } | { failed: string };

parentPort!.on('message', (file: string) => {
  parseApk(file).then(
    (info) => answer({ info }),
    (err: Error) => answer(err instanceof ApkParseError ? { invalid: err.message } : { failed: err.stack ?? err.message }),
  );
});

function answer(reply: ApkReply): void {
  parentPort!.postMessage(reply);
}
