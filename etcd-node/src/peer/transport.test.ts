// The peer transport between two members on loopback: Raft messages arrive whole, requests carry any
// 64-bit argument (member ids past 2^63, negative lease ids) and their answers come back, a peer from
// another cluster is refused, and a member that was removed is told so.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { createLogger } from '../util/logger.js';
import { MessageType, newMessage, type Message } from '../raft/messages.js';
import { PeerOp, PeerTransport, type TransportHandlers } from './transport.js';

const log = createLogger('error');

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

function handlers(over: Partial<TransportHandlers> = {}): TransportHandlers & { got: Message[]; removed: number } {
  const h = {
    got: [] as Message[],
    removed: 0,
    onMessage(m: Message) {
      h.got.push(m);
    },
    onUnreachable() {},
    onRequest: (op: PeerOp, arg: bigint) => Promise.resolve(op === PeerOp.Renew ? BigInt.asIntN(64, arg) : arg === 2n ** 64n - 1n ? 1n : 0n),
    isRemoved: () => false,
    onRemoved() {
      h.removed++;
    },
    clusterInfo: () => new Uint8Array(0),
    ...over,
  };
  return h;
}

const until = async (cond: () => boolean): Promise<void> => {
  for (let i = 0; i < 200 && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
};

describe('PeerTransport', () => {
  const open: PeerTransport[] = [];
  after(async () => {
    await Promise.all(open.map((t) => t.close()));
  });

  it('carries raft messages and 64-bit requests both ways', async () => {
    const [pa, pb] = [await freePort(), await freePort()];
    const ha = handlers();
    const hb = handlers();
    const a = new PeerTransport(1n, 7n, [new URL(`http://127.0.0.1:${pa}`)], { clientCertAuth: false }, ha, log);
    const b = new PeerTransport(2n, 7n, [new URL(`http://127.0.0.1:${pb}`)], { clientCertAuth: false }, hb, log);
    open.push(a, b);
    await a.listen();
    await b.listen();
    const peers = new Map([
      [1n, [new URL(`http://127.0.0.1:${pa}`)]],
      [2n, [new URL(`http://127.0.0.1:${pb}`)]],
    ]);
    a.setPeers(peers);
    b.setPeers(peers);
    await until(() => a.isConnected(2n) && b.isConnected(1n));
    const big = new Uint8Array(3 * 1024 * 1024).fill(7);
    a.send([newMessage({ type: MessageType.MsgApp, from: 1n, to: 2n, term: 3, entries: [{ term: 3, index: 1, type: 0, data: big }] })]);
    await until(() => hb.got.length === 1);
    assert.equal(hb.got[0]!.entries[0]!.data.length, big.length);
    assert.equal(await a.request(2n, PeerOp.LearnerReady, 2n ** 64n - 1n), 1n, 'a member id past 2^63 arrives intact');
    assert.equal(await a.request(2n, PeerOp.Renew, -5n), -5n, 'a negative lease id arrives intact');
  });

  it('refuses a peer of another cluster, and tells a removed member it was removed', async () => {
    const [pa, pb] = [await freePort(), await freePort()];
    const hb = handlers({ isRemoved: (id) => id === 1n });
    const ha = handlers();
    const a = new PeerTransport(1n, 7n, [new URL(`http://127.0.0.1:${pa}`)], { clientCertAuth: false }, ha, log);
    const b = new PeerTransport(2n, 7n, [new URL(`http://127.0.0.1:${pb}`)], { clientCertAuth: false }, hb, log);
    const stranger = new PeerTransport(9n, 8n, [new URL(`http://127.0.0.1:${await freePort()}`)], { clientCertAuth: false }, handlers(), log);
    open.push(a, b, stranger);
    await b.listen();
    a.setPeers(new Map([[2n, [new URL(`http://127.0.0.1:${pb}`)]]]));
    await until(() => ha.removed > 0);
    assert.ok(ha.removed > 0, 'the removed member heard it');
    stranger.setPeers(new Map([[2n, [new URL(`http://127.0.0.1:${pb}`)]]]));
    await new Promise((r) => setTimeout(r, 200));
    stranger.send([newMessage({ type: MessageType.MsgHeartbeat, from: 9n, to: 2n, term: 1 })]);
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(hb.got.length, 0, 'nothing from another cluster reaches Raft');
  });
});
