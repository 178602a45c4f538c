import { readFile, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { Command } from 'commander';
import { loadConfig } from '../config.ts';
import type { Credentials } from '../core/bootstrap.ts';
import { LocalObjectStore } from '../objects/local.ts';
import { createObjectStore } from '../objects/factory.ts';
import { BUCKET_RULE, isValidBucketName, KEY_RULE, obsUrl, parseObsUrl, type ObjectStore } from '../objects/store.ts';

interface AccountOption {
  account?: string;
}

const ACCOUNT_OPTION = ['--account <name>', 'the account (tenant) whose buckets these are (default: the account of <data dir>/credentials.json)'] as const;

/**
 * `opencph objects …`: the object store the server reads `obs://` URLs from (data dir or S3, as configured),
 * one account's buckets at a time, as that account's requests see them.
 */
export function objectsCommands(program: Command): void {
  const objects = program.command('objects').description("upload, list and download an account's obs://bucket/key objects");
  objects
    .command('put <file> <url>')
    .description('upload a local file as obs://bucket/key')
    .option(...ACCOUNT_OPTION)
    .action((file: string, url: string, options: AccountOption) =>
      withStore(options, async (store) => {
        const { bucket, key } = objectUrl(url);
        const info = await stat(file).catch(() => undefined);
        if (!info?.isFile()) throw new Error(`${file}: ${info ? 'not a file' : 'no such file'}`);
        await store.upload(bucket, key, file);
        return `uploaded ${file} to ${obsUrl(bucket, key)} (${info.size} bytes)`;
      }),
    );
  objects
    .command('ls [url]')
    .description('list objects: of every bucket, of obs://bucket, or under obs://bucket/prefix')
    .option(...ACCOUNT_OPTION)
    .action((url: string | undefined, options: AccountOption) =>
      withStore(options, async (store) => {
        const { bucket, prefix } = url === undefined ? {} : listUrl(url);
        const found = await store.list(bucket, prefix);
        return found.map((o) => `${String(o.size).padStart(12)}  ${obsUrl(o.bucket, o.key)}`).join('\n');
      }),
    );
  objects
    .command('get <url> <file>')
    .description('download obs://bucket/key to a file (or into a directory, under the key\'s last name)')
    .option(...ACCOUNT_OPTION)
    .action((url: string, file: string, options: AccountOption) =>
      withStore(options, async (store) => {
        const { bucket, key } = objectUrl(url);
        const target = (await stat(file).catch(() => undefined))?.isDirectory() ? join(file, basename(key)) : file;
        await store.download(bucket, key, target);
        return `downloaded ${obsUrl(bucket, key)} to ${target} (${(await stat(target)).size} bytes)`;
      }),
    );
}

/** Every failure here comes from input or the environment (a URL, a file, the store): a message, no stack. */
async function withStore(options: AccountOption, action: (store: ObjectStore) => Promise<string>): Promise<void> {
  try {
    const config = loadConfig(process.env, { dataDir: process.env.OPENCPH_DATA_DIR });
    const root = createObjectStore(config);
    if (root instanceof LocalObjectStore && (await root.hasFormerLayout())) {
      throw new Error(`${root.root} holds objects of the former layout (one namespace for every account): start "opencph serve" once, which moves them under the first account`);
    }
    const output = await action(root.forAccount(options.account ?? (await defaultAccount(config.dataDir))));
    if (output) process.stdout.write(output + '\n');
  } catch (error) {
    process.stderr.write(`opencph: ${(error as Error).message}\n`);
    process.exitCode = 1;
  }
}

/** The account a first API call uses: the one the server created at its first start. */
async function defaultAccount(dataDir: string): Promise<string> {
  const file = join(dataDir, 'credentials.json');
  const text = await readFile(file, 'utf8').catch(() => undefined);
  if (text === undefined) throw new Error(`no --account given, and no ${file} names a default account`);
  return (JSON.parse(text) as Credentials).domain_name;
}

function objectUrl(url: string): { bucket: string; key: string } {
  const parts = parseObsUrl(url);
  if (!parts) throw new Error(`malformed object URL "${url}": expected obs://bucket/key (bucket: ${BUCKET_RULE}; key: ${KEY_RULE})`);
  return parts;
}

/** `obs://bucket`, `obs://bucket/` or `obs://bucket/prefix`, where a prefix may end anywhere, even mid-name. */
function listUrl(url: string): { bucket: string; prefix?: string } {
  const match = /^obs:\/\/([^/]*)(?:\/(.*))?$/s.exec(url);
  if (!match || !isValidBucketName(match[1])) {
    throw new Error(`malformed URL "${url}": expected obs://bucket or obs://bucket/prefix (bucket: ${BUCKET_RULE})`);
  }
  return { bucket: match[1], prefix: match[2] || undefined };
}
