// A small typed client of the Kubernetes REST API over a kubeconfig (or the in-cluster config), with
// typed errors: code by HTTP status, never by message.
import https from 'node:https';
import { KubeConfig } from '@kubernetes/client-node';

export class KubeError extends Error {
  constructor(
    readonly status: number,
    message: string,
    /** the API server's own words (its Status object's message), when it sent one */
    readonly apiMessage?: string,
  ) {
    super(message);
    this.name = 'KubeError';
  }
  get notFound(): boolean {
    return this.status === 404;
  }
  get conflict(): boolean {
    return this.status === 409;
  }
}

export type Obj = Record<string, unknown> & { metadata?: Record<string, unknown> };

function statusMessage(text: string): string | undefined {
  try {
    const s = JSON.parse(text) as { kind?: string; message?: unknown };
    return s.kind === 'Status' && typeof s.message === 'string' ? s.message : undefined;
  } catch {
    return undefined;
  }
}

/** Where reads may be answered without a request (cache.ts); undefined: ask the API server. */
export interface ReadCache {
  get<T>(path: string): T | undefined;
  list<T>(path: string, labelSelector: string | undefined): T[] | undefined;
  /** this client wrote `path` (the API server's answer): reads of it wait until the cache shows it */
  wrote(method: string, path: string, response: Obj | undefined): void;
}

export class Kube {
  private constructor(
    private readonly server: string,
    private readonly options: https.RequestOptions,
    private readonly cache?: ReadCache,
  ) {}

  /** The same client, with get and list answered from `cache` where it can (the connections are shared). */
  withCache(cache: ReadCache): Kube {
    return new Kube(this.server, this.options, cache);
  }

  /** From a kubeconfig file, or the in-cluster service account when none is given. */
  static async load(kubeconfig?: string): Promise<Kube> {
    const kc = new KubeConfig();
    if (kubeconfig) kc.loadFromFile(kubeconfig);
    else kc.loadFromDefault();
    const cluster = kc.getCurrentCluster();
    if (!cluster) throw new Error('kubeconfig: no current cluster');
    const options: https.RequestOptions = {};
    await kc.applyToHTTPSOptions(options);
    options.agent = new https.Agent({ ca: options.ca, cert: options.cert, key: options.key, keepAlive: true });
    return new Kube(cluster.server, options);
  }

  request<T = Obj>(method: string, path: string, body?: unknown, contentType = 'application/json'): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const data = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
      const headers: Record<string, string | number> = { ...(this.options.headers as Record<string, string>), accept: 'application/json' };
      if (data) {
        headers['content-type'] = contentType;
        headers['content-length'] = data.length;
      }
      const req = https.request(`${this.server}${path}`, { ...this.options, method, headers, timeout: 15_000 }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString();
          const status = res.statusCode ?? 0;
          if (status >= 200 && status < 300) {
            const body = (text ? JSON.parse(text) : {}) as T;
            if (method !== 'GET') this.cache?.wrote(method, path, body as Obj);
            resolve(body);
          }
          else reject(new KubeError(status, `${method} ${path}: ${status} ${text.slice(0, 300)}`, statusMessage(text)));
        });
      });
      req.on('error', reject);
      req.on('timeout', () => req.destroy(new Error(`${method} ${path}: timed out`)));
      req.end(data);
    });
  }

  /** GET; undefined when it does not exist. */
  async get<T = Obj>(path: string): Promise<T | undefined> {
    const cached = this.cache?.get<T>(path);
    if (cached !== undefined) return cached;
    try {
      return await this.request<T>('GET', path);
    } catch (err) {
      if (err instanceof KubeError && err.notFound) return undefined;
      throw err;
    }
  }

  async list<T = Obj>(path: string, labelSelector?: string): Promise<T[]> {
    const cached = this.cache?.list<T>(path, labelSelector);
    if (cached !== undefined) return cached;
    const q = labelSelector ? `?labelSelector=${encodeURIComponent(labelSelector)}` : '';
    return (await this.request<{ items: T[] }>('GET', `${path}${q}`)).items;
  }

  /** POST; an object that already exists is left as it is. */
  async create(path: string, body: Obj): Promise<void> {
    try {
      await this.request('POST', path, body);
    } catch (err) {
      if (!(err instanceof KubeError && err.conflict)) throw err;
    }
  }

  /** RFC 6902 operations, applied atomically (e.g. a whole field replaced). */
  jsonPatch(path: string, ops: Array<{ op: 'add' | 'replace' | 'remove' | 'test'; path: string; value?: unknown }>): Promise<Obj> {
    return this.request('PATCH', path, ops, 'application/json-patch+json');
  }

  mergePatch(path: string, patch: Obj): Promise<Obj> {
    return this.request('PATCH', path, patch, 'application/merge-patch+json');
  }

  /**
   * Watches `path` (a collection) from `resourceVersion`: calls onEvent for each event until the server
   * ends the stream or `signal` aborts. Resolves with why it ended: 'gone' (410: the version is too old,
   * relist), 'closed', or 'aborted'.
   */
  watch(path: string, resourceVersion: string, onEvent: (type: string, obj: Obj) => void, signal: AbortSignal): Promise<'gone' | 'closed' | 'aborted'> {
    return new Promise((resolve, reject) => {
      const sep = path.includes('?') ? '&' : '?';
      const url = `${this.server}${path}${sep}watch=1&allowWatchBookmarks=true&resourceVersion=${encodeURIComponent(resourceVersion)}`;
      const req = https.request(url, { ...this.options, method: 'GET', headers: { ...(this.options.headers as Record<string, string>), accept: 'application/json' } }, (res) => {
        if (res.statusCode === 410) {
          res.resume();
          resolve('gone');
          return;
        }
        if ((res.statusCode ?? 0) >= 300) {
          res.resume();
          reject(new KubeError(res.statusCode ?? 0, `watch ${path}: ${res.statusCode}`));
          return;
        }
        let buf = '';
        let gone = false;
        res.on('data', (c: Buffer) => {
          buf += c.toString();
          for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
            const line = buf.slice(0, i);
            buf = buf.slice(i + 1);
            if (!line.trim()) continue;
            const ev = JSON.parse(line) as { type: string; object: Obj & { code?: number } };
            if (ev.type === 'ERROR') {
              if (ev.object.code === 410) gone = true;
              continue;
            }
            onEvent(ev.type, ev.object);
          }
        });
        res.on('end', () => resolve(gone ? 'gone' : 'closed'));
        res.on('error', () => resolve('closed'));
      });
      const abort = (): void => {
        req.destroy();
        resolve('aborted');
      };
      if (signal.aborted) abort();
      signal.addEventListener('abort', abort, { once: true });
      req.on('error', (err) => (signal.aborted ? resolve('aborted') : reject(err)));
      req.end();
    });
  }

  /** Closes the kept-alive connections. */
  close(): void {
    (this.options.agent as https.Agent | undefined)?.destroy();
  }

  async delete(path: string): Promise<void> {
    try {
      await this.request('DELETE', path);
    } catch (err) {
      if (!(err instanceof KubeError && err.notFound)) throw err;
    }
  }
}
