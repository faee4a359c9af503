// A small JSON client of the Kubernetes REST API for the harness (admin client certificate): the pod
// runner speaks to the API server as a kubelet would, without a client library in between.
import https from 'node:https';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export class Rest {
  private readonly agent: https.Agent;

  constructor(
    private readonly server: string,
    certDir: string,
  ) {
    this.agent = new https.Agent({
      ca: readFileSync(join(certDir, 'ca.crt')),
      cert: readFileSync(join(certDir, 'admin.crt')),
      key: readFileSync(join(certDir, 'admin.key')),
      keepAlive: true,
    });
  }

  request<T>(method: string, path: string, body?: unknown, contentType = 'application/json'): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const data = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
      const req = https.request(
        `${this.server}${path}`,
        { method, agent: this.agent, headers: { accept: 'application/json', ...(data ? { 'content-type': contentType, 'content-length': data.length } : {}) }, timeout: 10_000 },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString();
            const status = res.statusCode ?? 0;
            if (status >= 200 && status < 300) resolve((text ? JSON.parse(text) : {}) as T);
            else reject(new ApiError(status, `${method} ${path}: ${status} ${text.slice(0, 500)}`));
          });
        },
      );
      req.on('error', reject);
      req.on('timeout', () => req.destroy(new Error(`${method} ${path}: timed out`)));
      req.end(data);
    });
  }

  get<T>(path: string): Promise<T> {
    return this.request<T>('GET', path);
  }

  close(): void {
    this.agent.destroy();
  }
}
