// Reads served from the informers' stores (controller-runtime's cache-backed client, in small), so a
// reconcile does not GET and LIST against the API server each time. Rules that keep it honest:
// - only a synced informer answers (listed, and watching since); anything else goes to the API server;
// - a GET the store cannot answer (not there) goes to the API server: an object created a moment ago,
//   or one without the informer's labels, is found, never taken as absent;
// - read-your-writes: after this process writes an object (create, patch, delete), reads of it — and
//   lists of its kind in its namespace — go to the API server until the informer has seen that write
//   (the resourceVersion the write returned, or the deletion), at most EXPECTATION_MS;
// - a list is answered only for an equality selector that includes every label the informer selects.
import type { Obj, ReadCache } from './kube.js';
import type { Informer, InformerEvent } from './informer.js';

/** How long a write's expectation holds reads to the API server when its event never arrives. */
const EXPECTATION_MS = 10_000;

interface Route {
  readonly informer: Informer;
  /** the labels the informer's own selector requires */
  readonly labels: ReadonlyMap<string, string>;
}

interface Parsed {
  /** e.g. /api/v1/pods, /apis/apps/v1/statefulsets */
  readonly resource: string;
  readonly namespace: string;
  readonly name?: string;
  readonly subresource?: string;
}

const PATH = /^(\/api\/v1|\/apis\/[^/]+\/[^/]+)\/namespaces\/([^/?]+)\/([^/?]+)(?:\/([^/?]+))?(?:\/([^/?]+))?$/;

function parse(path: string): Parsed | undefined {
  const m = PATH.exec(path);
  if (!m) return undefined;
  return { resource: `${m[1]}/${m[3]}`, namespace: m[2]!, ...(m[4] ? { name: m[4] } : {}), ...(m[5] ? { subresource: m[5] } : {}) };
}

/** `a=b,c=d` → map; undefined for anything but equality terms. */
export function parseSelector(selector: string | undefined): Map<string, string> | undefined {
  const out = new Map<string, string>();
  if (!selector) return out;
  for (const term of selector.split(',')) {
    const m = /^([^=!,\s]+)==?([^=!,\s]*)$/.exec(term.trim());
    if (!m) return undefined;
    out.set(m[1]!, m[2]!);
  }
  return out;
}

interface Meta {
  name?: string;
  namespace?: string;
  resourceVersion?: string;
  deletionTimestamp?: string;
  labels?: Record<string, string>;
}

function metaOf(o: Obj): Meta {
  const m: Meta = o.metadata ?? {};
  return m;
}

export class InformerCache implements ReadCache {
  private readonly routes = new Map<string, Route>();
  /** resource + namespace/name → the write the informer has not shown yet */
  private readonly expected = new Map<string, { resourceVersion?: string; deleted: boolean; until: number }>();

  /** `onRead`: told of each read, answered here ('cache') or left to the API server ('api') */
  constructor(private readonly onRead?: (answered: 'cache' | 'api') => void) {}

  /** Serves reads of `resource` (e.g. `/api/v1/pods`) from `informer`, whose list is filtered by `selector`. */
  register(resource: string, informer: Informer, selector?: string): void {
    const labels = parseSelector(selector);
    if (!labels) throw new Error(`cache: only equality selectors are supported, got ${selector}`);
    this.routes.set(resource, { informer, labels });
    informer.onObserved = (type, o) => this.observed(resource, type, o);
  }

  get<T>(path: string): T | undefined {
    const r = this.lookup<T>(path);
    this.onRead?.(r === undefined ? 'api' : 'cache');
    return r;
  }

  list<T>(path: string, selector: string | undefined): T[] | undefined {
    const r = this.select<T>(path, selector);
    this.onRead?.(r === undefined ? 'api' : 'cache');
    return r;
  }

  private lookup<T>(path: string): T | undefined {
    const p = parse(path);
    if (!p?.name || p.subresource) return undefined;
    const route = this.routes.get(p.resource);
    if (!route?.informer.synced || this.waiting(`${p.resource} ${p.namespace}/${p.name}`)) return undefined;
    const o = route.informer.store.get(`${p.namespace}/${p.name}`);
    return o === undefined ? undefined : (structuredClone(o) as T);
  }

  private select<T>(path: string, selector: string | undefined): T[] | undefined {
    const p = parse(path);
    if (!p || p.name) return undefined;
    const route = this.routes.get(p.resource);
    const want = parseSelector(selector);
    if (!route?.informer.synced || !want) return undefined;
    for (const [k, v] of route.labels) if (want.get(k) !== v) return undefined;
    const prefix = `${p.resource} ${p.namespace}/`;
    for (const k of [...this.expected.keys()]) if (k.startsWith(prefix) && this.waiting(k)) return undefined;
    const out: T[] = [];
    for (const [key, o] of route.informer.store) {
      if (!key.startsWith(`${p.namespace}/`)) continue;
      const labels = metaOf(o).labels ?? {};
      if ([...want].every(([k, v]) => labels[k] === v)) out.push(structuredClone(o) as T);
    }
    return out;
  }

  wrote(method: string, path: string, response: Obj | undefined): void {
    const p = parse(path);
    if (!p || !this.routes.has(p.resource)) return;
    const name = p.name ?? (response ? metaOf(response).name : undefined);
    if (!name) return;
    const key = `${p.resource} ${p.namespace}/${name}`;
    const stored = this.routes.get(p.resource)!.informer.store.get(`${p.namespace}/${name}`);
    if (method === 'DELETE') {
      // already shown gone or going: nothing to wait for
      if (stored === undefined || metaOf(stored).deletionTimestamp) return;
      this.expected.set(key, { deleted: true, until: Date.now() + EXPECTATION_MS });
      return;
    }
    const rv = response ? metaOf(response).resourceVersion : undefined;
    if (rv === undefined || (stored && metaOf(stored).resourceVersion === rv)) return;
    this.expected.set(key, { resourceVersion: rv, deleted: false, until: Date.now() + EXPECTATION_MS });
  }

  private waiting(key: string): boolean {
    const e = this.expected.get(key);
    if (!e) return false;
    if (Date.now() > e.until) {
      this.expected.delete(key);
      return false;
    }
    return true;
  }

  private observed(resource: string, type: InformerEvent, o: Obj): void {
    const m = metaOf(o);
    const key = `${resource} ${m.namespace ?? ''}/${m.name ?? ''}`;
    const e = this.expected.get(key);
    if (!e) return;
    if (type === 'DELETED' || (e.deleted && m.deletionTimestamp) || (!e.deleted && m.resourceVersion === e.resourceVersion)) this.expected.delete(key);
  }
}
