// The cache answers only what it can answer truthfully: synced stores, covered selectors, and never an
// object this process wrote before the informer has shown that write.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { InformerCache, parseSelector } from './cache.js';
import { Informer, type InformerEvent } from './informer.js';
import type { Kube, Obj } from './kube.js';
import { createLogger } from './log.js';

const MANAGED = 'app.kubernetes.io/managed-by=etcd-ts-operator';

function pod(ns: string, name: string, rv: string, labels: Record<string, string> = { 'app.kubernetes.io/managed-by': 'etcd-ts-operator', 'app.kubernetes.io/instance': 'main' }, extra: Record<string, unknown> = {}): Obj {
  return { metadata: { namespace: ns, name, resourceVersion: rv, labels, ...extra } };
}

/** An informer that is never started: the test plays its list and watch. */
function fakeInformer(): { informer: Informer; see: (type: InformerEvent, o: Obj) => void } {
  const informer = new Informer({} as Kube, '/api/v1/pods', () => undefined, () => undefined, createLogger());
  const see = (type: InformerEvent, o: Obj): void => {
    const m = o.metadata as { namespace: string; name: string };
    if (type === 'DELETED') informer.store.delete(`${m.namespace}/${m.name}`);
    else informer.store.set(`${m.namespace}/${m.name}`, o);
    informer.onObserved?.(type, o);
  };
  return { informer, see };
}

describe('InformerCache', () => {
  it('answers from a synced store; before the list, and for objects it does not hold, it leaves the read to the API server', () => {
    const { informer, see } = fakeInformer();
    const cache = new InformerCache();
    cache.register('/api/v1/pods', informer, MANAGED);
    see('ADDED', pod('db', 'main-0', '10'));
    assert.equal(cache.get('/api/v1/namespaces/db/pods/main-0'), undefined, 'not synced yet');
    informer.synced = true;
    assert.deepEqual(cache.get('/api/v1/namespaces/db/pods/main-0'), pod('db', 'main-0', '10'));
    assert.equal(cache.get('/api/v1/namespaces/db/pods/main-9'), undefined, 'a miss is asked of the API server');
    assert.equal(cache.get('/api/v1/namespaces/db/pods/main-0/status'), undefined, 'subresources are not cached');
    assert.equal(cache.get('/api/v1/namespaces/db/services/main'), undefined, 'no informer for services here');
    const copy = cache.get<Obj>('/api/v1/namespaces/db/pods/main-0')!;
    (copy.metadata as Record<string, unknown>)['name'] = 'changed';
    assert.equal((informer.store.get('db/main-0')!.metadata as { name: string }).name, 'main-0', 'callers get copies');
  });

  it('lists by namespace and equality selector, only when the selector includes what the informer selects', () => {
    const { informer, see } = fakeInformer();
    informer.synced = true;
    const cache = new InformerCache();
    cache.register('/api/v1/pods', informer, MANAGED);
    see('ADDED', pod('db', 'main-0', '1'));
    see('ADDED', pod('db', 'other-0', '2', { 'app.kubernetes.io/managed-by': 'etcd-ts-operator', 'app.kubernetes.io/instance': 'other' }));
    see('ADDED', pod('ns2', 'main-0', '3'));
    const names = (l: Obj[] | undefined): string[] | undefined => l?.map((o) => (o.metadata as { name: string }).name);
    assert.deepEqual(names(cache.list('/api/v1/namespaces/db/pods', `${MANAGED},app.kubernetes.io/instance=main`)), ['main-0']);
    assert.equal(cache.list('/api/v1/namespaces/db/pods', 'app.kubernetes.io/instance=main'), undefined, 'a selector wider than the informer\'s');
    assert.equal(cache.list('/api/v1/namespaces/db/pods', `${MANAGED},tier!=x`), undefined, 'not an equality selector');
    assert.deepEqual(parseSelector('a=b,c==d'), new Map([['a', 'b'], ['c', 'd']]));
  });

  it('after a write, reads of that object (and lists of its kind there) go to the API server until the informer shows it', () => {
    const { informer, see } = fakeInformer();
    informer.synced = true;
    const cache = new InformerCache();
    cache.register('/api/v1/pods', informer, MANAGED);
    see('ADDED', pod('db', 'main-0', '10'));
    see('ADDED', pod('db', 'main-1', '11'));
    const selector = `${MANAGED},app.kubernetes.io/instance=main`;
    cache.wrote('PATCH', '/api/v1/namespaces/db/pods/main-0', pod('db', 'main-0', '12'));
    assert.equal(cache.get('/api/v1/namespaces/db/pods/main-0'), undefined, 'the store still holds rv 10');
    assert.equal(cache.list('/api/v1/namespaces/db/pods', selector), undefined);
    assert.ok(cache.get('/api/v1/namespaces/db/pods/main-1'), 'other objects still come from the store');
    see('MODIFIED', pod('db', 'main-0', '12'));
    assert.equal((cache.get<Obj>('/api/v1/namespaces/db/pods/main-0')!.metadata as { resourceVersion: string }).resourceVersion, '12');
    assert.equal(cache.list('/api/v1/namespaces/db/pods', selector)?.length, 2);
    // a delete: until the informer shows the pod going or gone
    cache.wrote('DELETE', '/api/v1/namespaces/db/pods/main-1', { kind: 'Status' });
    assert.equal(cache.get('/api/v1/namespaces/db/pods/main-1'), undefined);
    see('MODIFIED', pod('db', 'main-1', '13', undefined, { deletionTimestamp: '2026-12-04T00:00:00Z' }));
    assert.equal(cache.list('/api/v1/namespaces/db/pods', selector)?.length, 2, 'the terminating pod is shown, as the API server would');
    // a create whose event came before the answer: nothing to wait for
    see('ADDED', pod('db', 'main-2', '14'));
    cache.wrote('POST', '/api/v1/namespaces/db/pods', pod('db', 'main-2', '14'));
    assert.ok(cache.get('/api/v1/namespaces/db/pods/main-2'));
  });
});
