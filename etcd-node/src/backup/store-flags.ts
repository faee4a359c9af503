// The command-line form of a backup store, shared by the commands that run outside Kubernetes (the backup
// agent and the store checker by hand, the restore): `--store s3://bucket/prefix` with `--s3-endpoint`,
// `--s3-region`, `--s3-path-style`, `--s3-ca`, and the credentials from AWS_ACCESS_KEY_ID,
// AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN), read explicitly (no other AWS configuration is
// consulted); or `--store /a/folder` (or file:///a/folder). Keys: `--key-file` once per key, the first
// encrypts, the others only decrypt (a rotation); or `--no-encryption`.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { keyringFrom, parseKey, type BackupKeyring } from './keys.js';
import type { S3StoreConfig, VolumeStoreConfig } from './store/store.js';

export class StoreFlagError extends Error {
  readonly code = 'BadFlag';
  constructor(message: string) {
    super(message);
    this.name = 'StoreFlagError';
  }
}

export interface StoreFlags {
  store?: string;
  's3-endpoint'?: string;
  's3-region'?: string;
  's3-path-style'?: string;
  's3-ca'?: string;
}

export const STORE_USAGE = `  --store URL                     s3://BUCKET[/PREFIX] or a folder (/path, file:///path)
  --s3-endpoint URL               S3-compatible endpoint, e.g. https://minio:9000 (default: AWS S3)
  --s3-region REGION              (default us-east-1)
  --s3-path-style BOOL            path-style URLs (default true)
  --s3-ca FILE                    PEM CA bundle to trust for an https endpoint
                                  credentials: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY (, AWS_SESSION_TOKEN)
  --key-file FILE                 the AES-256 key (32 bytes, 64 hex digits or base64); repeat for older keys;
                                  a folder (a mounted key Secret): its "key" file, then its "key.<name>" files
  --no-encryption                 the objects are (to be) plaintext
`;

/** The parseArgs options of the flags STORE_USAGE describes (every command that opens a store takes them). */
export const STORE_OPTIONS = {
  store: { type: 'string' },
  's3-endpoint': { type: 'string' },
  's3-region': { type: 'string' },
  's3-path-style': { type: 'string' },
  's3-ca': { type: 'string' },
  'key-file': { type: 'string', multiple: true },
  'no-encryption': { type: 'boolean' },
} as const;

export function storeFromFlags(f: StoreFlags, env: NodeJS.ProcessEnv): { config: { s3: S3StoreConfig } | { volume: VolumeStoreConfig }; prefix: string } {
  const url = f.store;
  if (!url) throw new StoreFlagError('--store is required (s3://BUCKET/PREFIX or a folder)');
  if (url.startsWith('s3://')) {
    const rest = url.slice('s3://'.length);
    const slash = rest.indexOf('/');
    const bucket = slash < 0 ? rest : rest.slice(0, slash);
    const prefix = slash < 0 ? '' : rest.slice(slash + 1).replace(/\/+$/, '');
    if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket)) throw new StoreFlagError(`--store: "${bucket}" is not a bucket name`);
    const accessKeyId = env['AWS_ACCESS_KEY_ID'];
    const secretAccessKey = env['AWS_SECRET_ACCESS_KEY'];
    if (!accessKeyId || !secretAccessKey) throw new StoreFlagError('--store s3://…: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY');
    const endpoint = f['s3-endpoint'];
    if (endpoint !== undefined && !/^https?:\/\/[^\s/]+/.test(endpoint)) throw new StoreFlagError(`--s3-endpoint: "${endpoint}" is not an http:// or https:// URL`);
    const pathStyle = f['s3-path-style'] ?? 'true';
    if (pathStyle !== 'true' && pathStyle !== 'false') throw new StoreFlagError(`--s3-path-style: true or false, got "${pathStyle}"`);
    let ca: Buffer | undefined;
    if (f['s3-ca']) {
      try {
        ca = readFileSync(f['s3-ca']);
      } catch (err) {
        throw new StoreFlagError(`--s3-ca: cannot read ${f['s3-ca']}: ${(err as Error).message}`);
      }
    }
    const token = env['AWS_SESSION_TOKEN'];
    return {
      config: {
        s3: {
          ...(endpoint ? { endpoint } : {}),
          bucket,
          region: f['s3-region'] ?? 'us-east-1',
          forcePathStyle: pathStyle === 'true',
          accessKeyId,
          secretAccessKey,
          ...(token ? { sessionToken: token } : {}),
          ...(ca ? { ca } : {}),
        },
      },
      prefix,
    };
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//.test(url) && !url.startsWith('file://')) throw new StoreFlagError(`--store: "${url}": only s3:// and folders are stores`);
  const dir = url.startsWith('file://') ? url.slice('file://'.length) : url;
  return { config: { volume: { root: resolve(dir) } }, prefix: '' };
}

/** The keys of --key-file (the first encrypts); undefined with --no-encryption. Exactly one of them. */
function isDirectory(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

export function keysFromFlags(keyFiles: readonly string[] | undefined, noEncryption: boolean | undefined): BackupKeyring | undefined {
  const files = keyFiles ?? [];
  if (noEncryption && files.length > 0) throw new StoreFlagError('--key-file and --no-encryption exclude each other');
  if (noEncryption) return undefined;
  if (files.length === 0) throw new StoreFlagError('give --key-file (the backup key) or --no-encryption');
  const entries: Record<string, Buffer> = {};
  // a folder (a mounted key Secret) gives its "key" entry first, then its "key.<name>" entries
  const paths = files.flatMap((f) => {
    if (!isDirectory(f)) return [f];
    const names = readdirSync(f).filter((n) => n === 'key' || /^key\.[^.]/.test(n));
    if (names.length === 0) throw new StoreFlagError(`--key-file: the folder ${f} holds no "key" or "key.<name>" file`);
    return names.sort((a, b) => (a === 'key' ? -1 : b === 'key' ? 1 : a.localeCompare(b))).map((n) => join(f, n));
  });
  paths.forEach((f, i) => {
    let raw: Buffer;
    try {
      raw = readFileSync(f);
    } catch (err) {
      throw new StoreFlagError(`--key-file: cannot read ${f}: ${(err as Error).message}`);
    }
    parseKey(raw, `--key-file ${f}`);
    entries[i === 0 ? 'key' : `key.${i}`] = raw;
  });
  return keyringFrom(entries, '--key-file');
}
