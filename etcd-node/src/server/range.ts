// Range with every RangeRequest option, with etcd's semantics: `count` is the number of keys in the range
// at the revision read (before revision filters and limit); `more` says the limit cut the answer short;
// sorting and min/max revision filters need the whole range, so the limit is applied after them.
import type { KeyValue } from '../gen/mvccpb/kv.js';
import {
  RangeRequest_SortOrder as SortOrder,
  RangeRequest_SortTarget as SortTarget,
  type RangeRequest,
  type RangeResponse,
} from '../gen/etcdserverpb/rpc.js';
import { rangeEndOf, type KvReader } from './kv-reader.js';

export function executeRange(reader: KvReader, r: RangeRequest): RangeResponse {
  const limit = Number(r.limit);
  const needsAll =
    r.sortOrder !== SortOrder.NONE ||
    r.minModRevision !== 0n ||
    r.maxModRevision !== 0n ||
    r.minCreateRevision !== 0n ||
    r.maxCreateRevision !== 0n;
  // One extra key tells whether there is more.
  const fetchLimit = needsAll || limit <= 0 ? 0 : limit + 1;
  const rr = reader.range(r.key, rangeEndOf(r.rangeEnd), {
    limit: fetchLimit,
    rev: Number(r.revision),
    countOnly: r.countOnly,
  });
  let kvs = rr.kvs;
  if (r.maxModRevision !== 0n) kvs = kvs.filter((kv) => kv.modRevision <= r.maxModRevision);
  if (r.minModRevision !== 0n) kvs = kvs.filter((kv) => kv.modRevision >= r.minModRevision);
  if (r.maxCreateRevision !== 0n) kvs = kvs.filter((kv) => kv.createRevision <= r.maxCreateRevision);
  if (r.minCreateRevision !== 0n) kvs = kvs.filter((kv) => kv.createRevision >= r.minCreateRevision);

  let order = r.sortOrder;
  // A target other than the key with no order asks for ascending order (etcd's rule).
  if (r.sortTarget !== SortTarget.KEY && order === SortOrder.NONE) order = SortOrder.ASCEND;
  if (order !== SortOrder.NONE && !(r.sortTarget === SortTarget.KEY && order === SortOrder.ASCEND)) {
    const cmp = comparator(r.sortTarget);
    kvs = kvs === rr.kvs ? kvs.slice() : kvs;
    kvs.sort(order === SortOrder.DESCEND ? (a, b) => cmp(b, a) : cmp);
  }
  let more = false;
  if (limit > 0 && kvs.length > limit) {
    kvs = kvs.slice(0, limit);
    more = true;
  }
  if (r.keysOnly) kvs = kvs.map((kv) => ({ ...kv, value: EMPTY }));
  return {
    header: { clusterId: 0n, memberId: 0n, revision: BigInt(rr.rev), raftTerm: 0n },
    kvs,
    more,
    count: BigInt(rr.count),
  };
}

const EMPTY = Buffer.alloc(0);

function comparator(target: SortTarget): (a: KeyValue, b: KeyValue) => number {
  switch (target) {
    case SortTarget.VERSION:
      return (a, b) => cmpBig(a.version, b.version);
    case SortTarget.CREATE:
      return (a, b) => cmpBig(a.createRevision, b.createRevision);
    case SortTarget.MOD:
      return (a, b) => cmpBig(a.modRevision, b.modRevision);
    case SortTarget.VALUE:
      return (a, b) => Buffer.compare(a.value, b.value);
    default:
      return (a, b) => Buffer.compare(a.key, b.key);
  }
}

function cmpBig(a: bigint, b: bigint): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
