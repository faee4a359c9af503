// Which etcd-node release a member runs, as the member itself reports it: the `version` label of its
// etcd_node_build_info metric on its client port's /metrics (etcd serves /metrics there too). The etcd
// API version (Status.version, /version) is the same for every etcd-node release, so it cannot tell
// builds apart. A member that is not etcd-node (no such metric) reports undefined.
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { AdminTls } from './admin.js';

const TIMEOUT_MS = 3000;
const MAX_BYTES = 4 * 1024 * 1024;

/** The `version` label of etcd_node_build_info in a Prometheus text exposition, or undefined. */
export function buildVersionIn(metrics: string): string | undefined {
  const line = /^etcd_node_build_info\{([^}]*)\}\s+1\s*$/m.exec(metrics);
  return line ? /(?:^|,)version="([^"]*)"/.exec(line[1]!)?.[1] : undefined;
}

/** Asks the member at `endpoint` (host:port) for its release; rejects when it does not answer. */
export function fetchBuildVersion(endpoint: string, tls: AdminTls | undefined): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const [host, port] = [endpoint.slice(0, endpoint.lastIndexOf(':')), Number(endpoint.slice(endpoint.lastIndexOf(':') + 1))];
    const opts = { host, port, path: '/metrics', method: 'GET', timeout: TIMEOUT_MS };
    const req = tls ? httpsRequest({ ...opts, ca: tls.ca, ...(tls.cert ? { cert: tls.cert } : {}), ...(tls.key ? { key: tls.key } : {}) }) : httpRequest(opts);
    req.on('timeout', () => req.destroy(new Error(`GET ${endpoint}/metrics: no answer in ${TIMEOUT_MS} ms`)));
    req.on('error', reject);
    req.on('response', (res) => {
      if (res.statusCode !== 200) {
        res.resume();
        reject(new Error(`GET ${endpoint}/metrics: HTTP ${res.statusCode}`));
        return;
      }
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        body += chunk;
        if (body.length > MAX_BYTES) req.destroy(new Error(`GET ${endpoint}/metrics: more than ${MAX_BYTES} bytes`));
      });
      res.on('end', () => resolve(buildVersionIn(body)));
      res.on('error', reject);
    });
    req.end();
  });
}
