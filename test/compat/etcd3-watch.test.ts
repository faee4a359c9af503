// The `etcd3` npm client over TLS (https client URL, server certificate from our test CA): KV and
// watch, against etcd-node and a real etcd side by side. The same script must give the same
// transcript: values read, events seen (type, key, value, revisions, previous value), errors.
//
//   node --import tsx --test test/compat/etcd3-watch.test.ts
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Etcd3, type IKeyValue, type Watcher } from 'etcd3';
import { makePki } from '../support/pki.js';
import { startServer, skipUnless, type RunningServer } from '../support/servers.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Records a watcher's events as text lines into `out`. */
function record(w: Watcher, name: string, out: string[]): void {
  const kv = (x: IKeyValue): string => `${x.key.toString()}=${x.value.toString()} c${x.create_revision} m${x.mod_revision} v${x.version}`;
  w.on('put', (x: IKeyValue, prev?: IKeyValue) => out.push(`${name}: put ${kv(x)}${prev ? ` prev ${kv(prev)}` : ''}`));
  w.on('delete', (x: IKeyValue, prev?: IKeyValue) => out.push(`${name}: delete ${x.key.toString()} m${x.mod_revision}${prev ? ` prev ${kv(prev)}` : ''}`));
}

/** Waits until `out` has at least n lines (or 5 s). */
async function until(out: string[], n: number): Promise<void> {
  const end = Date.now() + 5000;
  while (out.length < n && Date.now() < end) await sleep(20);
  await sleep(100); // and nothing more arrives
}

async function script(url: string, ca: Buffer): Promise<string[]> {
  const out: string[] = [];
  const client = new Etcd3({ hosts: url, credentials: { rootCertificate: ca } });
  try {
    await client.put('cfg/a').value('1');
    await client.put('cfg/b').value('2');
    out.push(`get: ${await client.get('cfg/a').string()}`);
    out.push(`prefix: ${JSON.stringify(await client.getAll().prefix('cfg/').strings())}`);

    const ev: string[] = [];
    const one = await client.watch().key('cfg/a').withPreviousKV().create();
    record(one, 'key', ev);
    const pre = await client.watch().prefix('cfg/').create();
    record(pre, 'prefix', ev);
    await client.put('cfg/a').value('3');
    await client.put('cfg/c').value('4');
    await client.delete().key('cfg/a');
    await until(ev, 5);
    // watchers of one stream get a revision's events in no fixed order (etcd iterates a Go map)
    out.push(...ev.splice(0).sort());

    // a watcher from an old revision replays history, then goes on live
    const rev = Number((await client.get('cfg/c').exec()).header.revision);
    const hist = await client
      .watch()
      .prefix('cfg/')
      .startRevision(String(rev - 4))
      .create();
    record(hist, 'history', ev);
    await until(ev, 5);
    await client.put('cfg/d').value('5');
    await until(ev, 8);
    out.push(...ev.splice(0).sort());

    await one.cancel();
    await pre.cancel();
    await hist.cancel();
    await client.put('cfg/e').value('after cancel');
    await sleep(200);
    out.push(`after cancel: ${ev.length} events`);

    await client.delete().prefix('cfg/');
    out.push(`left: ${JSON.stringify(await client.getAll().prefix('cfg/').keys())}`);
    return out;
  } finally {
    client.close();
  }
}

describe('the etcd3 client over TLS: KV and watch, etcd-node as etcd', skipUnless('etcd', 'etcdctl', 'openssl'), () => {
  const pki = mkdtempSync(join(tmpdir(), 'etcd-ts-pki-'));
  const p = (f: string): string => join(pki, f);
  let node: RunningServer | undefined;
  let etcd: RunningServer | undefined;
  before(async () => {
    makePki(pki, []);
    const tls = { serverArgs: ['--cert-file', p('server.crt'), '--key-file', p('server.key')], etcdctlArgs: ['--cacert', p('ca.crt')] };
    [node, etcd] = await Promise.all([startServer({ kind: 'node', tls }), startServer({ kind: 'etcd', tls })]);
  });
  after(async () => {
    await Promise.all([node?.stop(), etcd?.stop()]);
    rmSync(pki, { recursive: true, force: true });
  });

  it('the same script gives the same transcript', async () => {
    const ca = readFileSync(p('ca.crt'));
    assert.match(node!.clientUrl, /^https:/);
    const [got, want] = await Promise.all([script(node!.clientUrl, ca), script(etcd!.clientUrl, ca)]);
    assert.ok(want.some((l) => l.startsWith('history: put cfg/d=5')), `the reference saw the live event after history:\n${want.join('\n')}`);
    if (process.env['SHOW']) console.log(want.join('\n'));
    assert.deepEqual(got, want);
  });
});
