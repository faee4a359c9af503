// The README's JSON-gateway examples, run with curl against etcd-node and a real etcd side by side: the
// same script must print the same, after hiding what the README lists as differing on purpose (ids,
// ports, versions, /health's `reason`; a malformed body's error is Go's text on both). Also checks that gRPC
// and HTTP share the port, and the plain endpoints etcd 3.4 has no equal for (/livez, /readyz,
// /metrics), on etcd-node alone.
//
//   node --import tsx --test test/compat/gateway.test.ts
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { etcdctl } from '../support/etcdctl.js';
import { repoRoot, skipUnless, startServer, tool, type RunningServer } from '../support/servers.js';

/** The first ```sh block of the README section about the gateway. */
function readmeExamples(): string {
  const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8');
  const at = readme.indexOf('## JSON gateway');
  assert.ok(at >= 0, 'README has a JSON gateway section');
  const m = /```sh\n([\s\S]*?)```/.exec(readme.slice(at));
  assert.ok(m?.[1], 'the JSON gateway section has a sh block');
  return m[1];
}

function runScript(script: string, clientUrl: string): Promise<string> {
  const body = script.replace(/^ETCD=.*$/m, `ETCD=${clientUrl}`);
  assert.notEqual(body, script, 'the examples set ETCD=');
  return new Promise((resolve, reject) => {
    execFile(tool('bash'), ['-c', body], { timeout: 60_000, env: { ...process.env, PATH: process.env['PATH'] ?? '/usr/bin:/bin' } }, (err, stdout, stderr) => {
      if (err && err.killed) reject(new Error(`examples timed out:\n${stdout}\n${stderr}`));
      else resolve(stdout + (stderr ? `\n[stderr]\n${stderr}` : ''));
    });
  });
}

/** Hides what differs on purpose (the README lists it). */
function normalize(out: string): string {
  return out
    .replace(/"(cluster_id|member_id|ID|leader)":"\d+"/g, '"$1":"<ID>"')
    .replace(/"leader":\d+/g, '"leader":"<ID>"')
    .replace(/127\.0\.0\.1:\d+/g, '127.0.0.1:<PORT>')
    .replace(/,"reason":""/g, '');
}

describe('the README gateway examples: etcd-node prints what etcd prints', skipUnless('etcd', 'etcdctl', 'curl', 'jq'), () => {
  let node: RunningServer | undefined;
  let etcd: RunningServer | undefined;
  before(async () => {
    [node, etcd] = await Promise.all([startServer({ kind: 'node' }), startServer({ kind: 'etcd' })]);
  });
  after(async () => {
    await Promise.all([node?.stop(), etcd?.stop()]);
  });

  it('the same curl script gives the same answers', async () => {
    const script = readmeExamples();
    const [got, want] = await Promise.all([runScript(script, node!.clientUrl), runScript(script, etcd!.clientUrl)]);
    // the reference shows what the examples are about
    assert.match(want, /"kvs":\[\{"key":"Zm9v"/);
    assert.match(want, /"result":\{.*"events"/);
    assert.match(want, /etcdserver: user name is empty/);
    assert.equal(normalize(got), normalize(want));
  });

  it('gRPC and HTTP share the client port, and the server survives bad bodies', async () => {
    for (const body of ['{', '[]', '"x"', '{"key":"%%%"}', '{"key":12}', 'x'.repeat(2 * 1024 * 1024)]) {
      const r = await fetch(`${node!.clientUrl}/v3/kv/range`, { method: 'POST', body });
      assert.ok(r.status === 400 || r.status === 429, `status ${r.status} for ${body.slice(0, 20)}`);
      const j = (await r.json()) as { code: number; error: string };
      assert.ok(j.code === 3 || j.code === 8, JSON.stringify(j));
      assert.ok(j.error.length > 0);
    }
    const unknown = await fetch(`${node!.clientUrl}/v3/kv/nope`, { method: 'POST', body: '{}' });
    assert.equal(unknown.status, 404);
    const get = await fetch(`${node!.clientUrl}/v3/kv/range`);
    assert.equal(get.status, 405);
    const ctl = await etcdctl(node!.endpoint, ['put', 'after-bad-bodies', 'ok']);
    assert.equal(ctl.code, 0, ctl.stderr);
  });

  it('/livez, /readyz and /metrics', async () => {
    const live = await fetch(`${node!.clientUrl}/livez`);
    assert.equal(live.status, 200);
    assert.equal(await live.text(), 'ok');
    const ready = await fetch(`${node!.clientUrl}/readyz?verbose`);
    assert.equal(ready.status, 200);
    assert.match(await ready.text(), /\[\+\]leader ok/);
    const metrics = await (await fetch(`${node!.clientUrl}/metrics`)).text();
    assert.match(metrics, /^etcd_server_has_leader 1$/m);
    assert.match(metrics, /^etcd_server_is_leader 1$/m);
    assert.match(metrics, /^etcd_mvcc_db_total_size_in_bytes \d+$/m);
    const fsyncs = Number(/^etcd_disk_wal_fsync_duration_seconds_count (\d+)$/m.exec(metrics)?.[1]);
    assert.ok(fsyncs > 0, 'WAL fsyncs are counted');
  });
});
