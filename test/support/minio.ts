// A real MinIO server for the backup suites: the binary scripts/build-tools.sh builds into
// .tools/minio-<MINIO_VERSION>/ (ETCD_TS_MINIO_BIN overrides), on 127.0.0.1 with free ports, its own temp
// folder (data, certificates, HOME), root credentials of its own and nothing from our environment;
// optionally over TLS with a test CA (test/support/pki.ts). Stopped by PID, its folder removed.
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { toolVersions } from '../k8s/tools.js';
import { makePki } from './pki.js';
import { freePorts, repoRoot } from './servers.js';

export const MINIO_VERSION: string = toolVersions()['MINIO_VERSION'] ?? 'unknown';

const minioDir = join(repoRoot, '.tools', `minio-${MINIO_VERSION}`);

/** The MinIO binary (ETCD_TS_MINIO_BIN overrides the built one). */
export const minioBinary: string = process.env['ETCD_TS_MINIO_BIN'] ?? join(minioDir, 'minio');

export const MISSING_MINIO_MESSAGE = 'skipped: MinIO is not built (bash scripts/build-tools.sh minio)';

/** Built and complete: build-tools.sh writes .stamp after `go install` finished. */
function minioBuilt(): boolean {
  return process.env['ETCD_TS_MINIO_BIN'] !== undefined ? existsSync(minioBinary) : existsSync(join(minioDir, '.stamp')) && existsSync(minioBinary);
}

/**
 * Options for `describe` that skip a suite when MinIO is not built, except under CI (CI=true), where
 * the suite runs and its `before` hook fails in `startMinio`.
 */
export function skipUnlessMinio(): { skip?: string } {
  if (minioBuilt() || process.env['CI'] === 'true') return {};
  return { skip: MISSING_MINIO_MESSAGE };
}

export interface TempCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
}

export interface MinioServer {
  /** `http://127.0.0.1:<port>` or `https://…` */
  readonly endpoint: string;
  readonly port: number;
  readonly region: string;
  readonly rootUser: string;
  readonly rootPassword: string;
  /** The CA that signed the server's certificate (TLS only). */
  readonly ca: Buffer | undefined;
  readonly pid: number;
  /** A client with the root credentials, for setting up and looking behind a store's back. */
  readonly client: S3Client;
  createBucket(name: string): Promise<void>;
  /** Temporary credentials (STS AssumeRole) limited to `policy` (an IAM policy document). */
  assumeRole(policy: object): Promise<TempCredentials>;
  logs(): string;
  /** SIGTERM (SIGKILL after 5 s), wait for the exit, remove the folder. */
  stop(): Promise<void>;
}

// every MinIO still running, so that none outlives the test process
const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const c of live) {
    if (c.pid !== undefined && c.exitCode === null && c.signalCode === null) {
      try {
        process.kill(c.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
});

const sleep = (ms: number): Promise<void> => new Promise((res) => setTimeout(res, ms));

interface HttpAnswer {
  status: number;
  body: string;
}

function send(url: URL, opts: { method: string; headers?: Record<string, string>; body?: string; ca?: Buffer }): Promise<HttpAnswer> {
  const req = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((res, rej) => {
    const r = req(url, { method: opts.method, headers: opts.headers, ca: opts.ca, timeout: 2_000 }, (answer) => {
      let body = '';
      answer.setEncoding('utf8');
      answer.on('data', (c: string) => (body += c));
      answer.on('end', () => res({ status: answer.statusCode ?? 0, body }));
      answer.on('error', rej);
    });
    r.on('timeout', () => r.destroy(new Error('timeout')));
    r.on('error', rej);
    r.end(opts.body);
  });
}

const sha256hex = (s: string): string => createHash('sha256').update(s).digest('hex');
const hmac = (key: Buffer | string, s: string): Buffer => createHmac('sha256', key).update(s).digest();

/** A Signature V4 POST of a form to MinIO's STS API (the SDK has no STS client here; this is all it takes). */
async function stsPost(server: { endpoint: string; region: string; rootUser: string; rootPassword: string; ca: Buffer | undefined }, form: Record<string, string>): Promise<string> {
  const url = new URL('/', server.endpoint);
  const body = new URLSearchParams(form).toString();
  const amzDate = new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  const day = amzDate.slice(0, 8);
  const headers: Record<string, string> = {
    'content-type': 'application/x-www-form-urlencoded; charset=utf-8',
    host: url.host,
    'x-amz-content-sha256': sha256hex(body),
    'x-amz-date': amzDate,
  };
  const names = Object.keys(headers).sort();
  const canonical = ['POST', '/', '', ...names.map((n) => `${n}:${headers[n]}`), '', names.join(';'), headers['x-amz-content-sha256']].join('\n');
  const scope = `${day}/${server.region}/sts/aws4_request`;
  const toSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256hex(canonical)].join('\n');
  const key = hmac(hmac(hmac(hmac(`AWS4${server.rootPassword}`, day), server.region), 'sts'), 'aws4_request');
  const signature = createHmac('sha256', key).update(toSign).digest('hex');
  headers['authorization'] = `AWS4-HMAC-SHA256 Credential=${server.rootUser}/${scope}, SignedHeaders=${names.join(';')}, Signature=${signature}`;
  const answer = await send(url, { method: 'POST', headers, body, ca: server.ca });
  if (answer.status !== 200) throw new Error(`STS ${form['Action'] ?? '?'}: HTTP ${answer.status}: ${answer.body}`);
  return answer.body;
}

const xmlField = (xml: string, field: string): string => {
  const m = new RegExp(`<${field}>([^<]*)</${field}>`).exec(xml);
  if (m?.[1] === undefined) throw new Error(`no ${field} in ${xml}`);
  return m[1];
};

/** Starts MinIO and waits until /minio/health/ready answers 200 (default 60 s). */
export async function startMinio(opts: { tls?: boolean; readyTimeoutMs?: number } = {}): Promise<MinioServer> {
  if (!minioBuilt()) {
    throw new Error(`${minioBinary} is missing${process.env['CI'] === 'true' ? ' (CI=true: CI must build it)' : ''}; ${MISSING_MINIO_MESSAGE.replace(/^skipped: /, '')}`);
  }
  const dir = mkdtempSync(join(tmpdir(), 'etcd-ts-minio-'));
  try {
    const dataDir = join(dir, 'data');
    const certsDir = join(dir, 'certs');
    mkdirSync(dataDir);
    mkdirSync(certsDir);
    let ca: Buffer | undefined;
    if (opts.tls === true) {
      const pki = join(dir, 'pki');
      mkdirSync(pki);
      makePki(pki, []);
      copyFileSync(join(pki, 'server.crt'), join(certsDir, 'public.crt'));
      copyFileSync(join(pki, 'server.key'), join(certsDir, 'private.key'));
      ca = readFileSync(join(pki, 'ca.crt'));
    }
    const [port, consolePort] = await freePorts(2);
    if (port === undefined || consolePort === undefined) throw new Error('no free ports');
    const endpoint = `${opts.tls === true ? 'https' : 'http'}://127.0.0.1:${port}`;
    const rootUser = `root-${randomBytes(4).toString('hex')}`;
    const rootPassword = randomBytes(18).toString('base64url');
    const region = 'us-east-1';

    // nothing of ours (AWS_*, MINIO_*, HOME) reaches the server
    const env: NodeJS.ProcessEnv = {
      PATH: process.env['PATH'] ?? '/usr/bin:/bin',
      HOME: dir,
      MINIO_ROOT_USER: rootUser,
      MINIO_ROOT_PASSWORD: rootPassword,
      MINIO_BROWSER: 'off',
      MINIO_UPDATE: 'off',
      MINIO_REGION: region,
    };
    const args = ['server', '--address', `127.0.0.1:${port}`, '--console-address', `127.0.0.1:${consolePort}`, '--certs-dir', certsDir, dataDir];
    const child = spawn(minioBinary, args, { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
    live.add(child);
    let log = '';
    const append = (b: Buffer): void => {
      log += b.toString();
      if (log.length > 1024 * 1024) log = log.slice(-1024 * 1024);
    };
    child.stdout.on('data', append);
    child.stderr.on('data', append);
    let exitInfo: string | undefined;
    const exited = new Promise<void>((res) => {
      child.once('exit', (code, signal) => {
        live.delete(child);
        exitInfo = signal !== null ? `signal ${signal}` : `exit code ${String(code)}`;
        res();
      });
      child.once('error', (err) => {
        live.delete(child);
        exitInfo = `spawn error: ${err.message}`;
        res();
      });
    });

    const stopProcess = async (): Promise<void> => {
      if (exitInfo === undefined && child.pid !== undefined) {
        const pid = child.pid;
        const kill = (signal: NodeJS.Signals): void => {
          try {
            process.kill(pid, signal);
          } catch {
            // already gone
          }
        };
        kill('SIGTERM');
        const timer = setTimeout(() => kill('SIGKILL'), 5_000);
        await exited;
        clearTimeout(timer);
      }
    };

    const deadline = Date.now() + (opts.readyTimeoutMs ?? 60_000);
    for (;;) {
      if (exitInfo !== undefined) throw new Error(`minio exited before it was ready (${exitInfo}); its output:\n${log}`);
      const answer = await send(new URL('/minio/health/ready', endpoint), { method: 'GET', ca }).catch(() => undefined);
      if (answer?.status === 200) break;
      if (Date.now() > deadline) {
        await stopProcess();
        throw new Error(`minio on ${endpoint} not ready after ${opts.readyTimeoutMs ?? 60_000} ms; its output:\n${log}`);
      }
      await sleep(100);
    }

    const client = new S3Client({
      endpoint,
      region,
      forcePathStyle: true,
      credentials: { accessKeyId: rootUser, secretAccessKey: rootPassword },
      maxAttempts: 2,
      ...(ca !== undefined ? { requestHandler: { httpsAgent: { ca } } } : {}),
    });
    const self = { endpoint, region, rootUser, rootPassword, ca };
    return {
      endpoint,
      port,
      region,
      rootUser,
      rootPassword,
      ca,
      pid: child.pid ?? -1,
      client,
      createBucket: async (name) => {
        await client.send(new CreateBucketCommand({ Bucket: name }));
      },
      assumeRole: async (policy) => {
        const xml = await stsPost(self, { Action: 'AssumeRole', Version: '2011-06-15', DurationSeconds: '900', Policy: JSON.stringify(policy) });
        return {
          accessKeyId: xmlField(xml, 'AccessKeyId'),
          secretAccessKey: xmlField(xml, 'SecretAccessKey'),
          sessionToken: xmlField(xml, 'SessionToken'),
        };
      },
      logs: () => log,
      stop: async () => {
        client.destroy();
        await stopProcess();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}
