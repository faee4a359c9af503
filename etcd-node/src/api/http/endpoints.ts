// The plain HTTP endpoints beside the gateway: /version, /health, /livez, /readyz, /metrics (etcd's
// paths and bodies), and the router that sends every HTTP/1.1 request of a client port to them or to
// the JSON gateway.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { AlarmType } from '../../gen/etcdserverpb/rpc.js';
import { CLUSTER_VERSION, SERVER_VERSION } from '../../server/config.js';
import type { EtcdServer } from '../../server/etcd-server.js';
import type { Logger } from '../../util/logger.js';
import { corsHeaders, type Gateway } from './gateway.js';
import type { Metrics } from './metrics.js';

/**
 * etcd's health check: a leader, no alarm (except those excluded), and a read that succeeds. With
 * `serializable` (etcd 3.6's `?serializable=true`) a member without a leader is healthy when its own
 * state answers: the question is "does this member serve serializable reads", not "is there a quorum".
 */
export function health(server: EtcdServer, exclude: readonly string[], serializable = false): { ok: boolean; reason: string } {
  if (server.isStopped) return { ok: false, reason: 'STOPPED' };
  let st;
  try {
    st = server.status();
  } catch (err) {
    return { ok: false, reason: `STATUS ERROR: ${err instanceof Error ? err.message : String(err)}` };
  }
  // etcd's order: alarms, then the leader, then a read
  for (const e of st.errors) {
    const m = /alarm:(\w+)/.exec(e);
    const name = m?.[1] ?? 'UNKNOWN';
    if (!exclude.includes(name)) return { ok: false, reason: `ALARM ${name}` };
  }
  if (st.leader === 0n && !serializable) return { ok: false, reason: 'RAFT NO LEADER' };
  try {
    server.range({ key: Buffer.from('health'), rangeEnd: Buffer.alloc(0), limit: 0n, revision: 0n, sortOrder: 0, sortTarget: 0, serializable: true, keysOnly: false, countOnly: false, minModRevision: 0n, maxModRevision: 0n, minCreateRevision: 0n, maxCreateRevision: 0n });
  } catch (err) {
    return { ok: false, reason: `RANGE ERROR: ${err instanceof Error ? err.message : String(err)}` };
  }
  return { ok: true, reason: '' };
}

export function httpHandler(server: EtcdServer, gateway: Gateway, metrics: Metrics, log: Logger): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const path = url.pathname;
    if (req.method === 'OPTIONS') {
      res.writeHead(200, corsHeaders()).end();
      return;
    }
    if (gateway.handles(path)) {
      gateway.serve(req, res, path);
      return;
    }
    const text = (code: number, body: string, type = 'text/plain; charset=utf-8'): void => {
      res.writeHead(code, { ...corsHeaders(), 'content-type': type }).end(body);
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      if (['/version', '/health', '/livez', '/readyz', '/metrics'].includes(path)) text(405, 'Method Not Allowed\n');
      else text(404, '404 page not found\n');
      return;
    }
    switch (path) {
      case '/version':
        text(200, JSON.stringify({ etcdserver: SERVER_VERSION, etcdcluster: CLUSTER_VERSION, storage: CLUSTER_VERSION }), 'application/json');
        return;
      case '/health': {
        const exclude = url.searchParams.getAll('exclude');
        const h = health(server, exclude, url.searchParams.get('serializable') === 'true');
        if (h.ok) server.stats.healthSuccesses++;
        else server.stats.healthFailures++;
        text(h.ok ? 200 : 503, JSON.stringify({ health: String(h.ok), reason: h.reason }), 'application/json');
        return;
      }
      case '/livez':
      case '/readyz': {
        // livez: the process serves; readyz: it could also answer a client (leader, no alarm, reads work)
        const checks = path === '/livez' ? [{ name: 'serializable_read', ...liveness(server) }] : readiness(server);
        const ok = checks.every((c) => c.ok);
        const verbose = url.searchParams.has('verbose');
        const lines = checks.map((c) => (c.ok ? `[+]${c.name} ok` : `[-]${c.name} failed: ${c.reason}`));
        if (verbose) text(ok ? 200 : 503, `${lines.join('\n')}\n${path.slice(1)} check ${ok ? 'passed' : 'failed'}\n`);
        else text(ok ? 200 : 503, ok ? 'ok' : `${lines.filter((l) => l.startsWith('[-]')).join('\n')}\n${path.slice(1)} check failed\n`);
        return;
      }
      case '/metrics':
        metrics.text().then(
          (body) => text(200, body, metrics.contentType),
          (err: unknown) => {
            log.error('metrics collection failed', { error: String(err) });
            text(500, 'metrics collection failed\n');
          },
        );
        return;
      default:
        text(404, '404 page not found\n');
    }
  };
}

function liveness(server: EtcdServer): { ok: boolean; reason: string } {
  return server.isStopped ? { ok: false, reason: 'server stopped' } : { ok: true, reason: '' };
}

function readiness(server: EtcdServer): Array<{ name: string; ok: boolean; reason: string }> {
  const alarms = server.isStopped ? [] : server.status().errors;
  const corrupt = alarms.some((e) => e.includes(`alarm:${AlarmType[AlarmType.CORRUPT]}`));
  const h = health(server, ['NOSPACE']);
  return [
    { name: 'data_corruption', ok: !corrupt, reason: 'alarm CORRUPT' },
    { name: 'serializable_read', ok: h.ok || h.reason.startsWith('ALARM'), reason: h.reason },
    { name: 'leader', ok: !server.isStopped && server.status().leader !== 0n, reason: 'no leader' },
  ];
}
