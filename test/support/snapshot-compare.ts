// Compares two etcd snapshot files bucket by bucket (read with etcd-node's bbolt reader): a real etcd's
// and etcd-node's, given the same history. Equal byte for byte except what honestly differs, and only
// in its format: member ids and URLs (ports), raft's consistent index and term, password hashes
// (etcd's bcrypt, etcd-node's scrypt). Each exception is written out below.
import { User } from '../../etcd-node/src/gen/authpb/auth.js';
import { BboltReader } from '../../etcd-node/src/storage/bbolt/reader.js';

export type Buckets = Map<string, Array<[Buffer, Buffer]>>;

export function readBuckets(file: string): Buckets {
  const db = BboltReader.open(file);
  try {
    const out: Buckets = new Map();
    for (const name of db.bucketNames()) {
      out.set(name.toString(), [...db.bucket(name)!.entries()].map(([k, v]) => [Buffer.from(k), Buffer.from(v)]));
    }
    return out;
  } finally {
    db.close();
  }
}

const show = (b: Buffer): string => (/^[\x20-\x7e]*$/.test(b.toString('latin1')) ? JSON.stringify(b.toString('latin1')) : `0x${b.toString('hex')}`);

/** The member JSON with its id and URLs replaced by placeholders (they differ by port). */
function memberShape(key: Buffer, value: Buffer): string {
  const s = value.toString();
  const id = /^\{"id":(\d+),/.exec(s)?.[1];
  const keyOk = id !== undefined && BigInt(id).toString(16) === key.toString();
  return `${keyOk ? '<hex id>' : `bad key ${show(key)}`}=${s.replace(/^\{"id":\d+,/, '{"id":<ID>,').replace(/http:\/\/127\.0\.0\.1:\d+/g, '<URL>')}`;
}

function userShape(v: Buffer): string {
  const u = User.decode(v);
  const pw = Buffer.from(u.password).toString();
  const kind = pw === '' ? 'none' : /^\$2[aby]\$\d\d\$/.test(pw) ? 'bcrypt' : pw.startsWith('scrypt$') ? 'scrypt' : `other: ${pw}`;
  return JSON.stringify({ name: Buffer.from(u.name).toString(), roles: u.roles, options: u.options ?? null, password: kind === 'none' ? 'none' : 'hashed' }) + ` (${kind})`;
}

/**
 * What differs between `etcd`'s buckets and `node`'s beyond the allowed exceptions; empty when the
 * snapshots agree.
 */
export function compareSnapshots(etcd: Buckets, node: Buckets): string[] {
  const problems: string[] = [];
  const names = (b: Buckets): string => [...b.keys()].join(',');
  if (names(etcd) !== names(node)) problems.push(`buckets: etcd has ${names(etcd)}, etcd-node ${names(node)}`);
  for (const [name, theirs] of etcd) {
    const ours = node.get(name) ?? [];
    const keys = (es: Array<[Buffer, Buffer]>): string => es.map(([k]) => show(k)).join(', ');
    if (name === 'members') {
      const a = theirs.map(([k, v]) => memberShape(k, v));
      const b = ours.map(([k, v]) => memberShape(k, v));
      if (a.join('\n') !== b.join('\n')) problems.push(`members: etcd ${a.join('; ')} / etcd-node ${b.join('; ')}`);
      continue;
    }
    if (keys(theirs) !== keys(ours)) {
      problems.push(`${name}: keys differ: etcd [${keys(theirs)}], etcd-node [${keys(ours)}]`);
      continue;
    }
    theirs.forEach(([k, v], i) => {
      const w = ours[i]![1];
      const key = k.toString('latin1');
      let same: boolean;
      if (name === 'meta' && (key === 'consistent_index' || key === 'term')) {
        same = v.length === 8 && w.length === 8; // raft's bookkeeping: both u64 BE
      } else if (name === 'meta' && key === 'confState') {
        // the voter is the member, whose id differs by port
        const shape = (b: Buffer): string => b.toString().replace(/\d+/g, '<ID>');
        same = shape(v) === shape(w) && /^\{"voters":\[<ID>\],"auto_leave":false\}$/.test(shape(v));
      } else if (name === 'authUsers') {
        const [a, b] = [userShape(v), userShape(w)];
        same = a.replace(/ \(\w+\)$/, '') === b.replace(/ \(\w+\)$/, '') && (a.endsWith('(none)') ? b.endsWith('(none)') : a.endsWith('(bcrypt)') && b.endsWith('(scrypt)'));
      } else {
        same = v.equals(w);
      }
      if (!same) problems.push(`${name}/${show(k)}: etcd ${show(v)}, etcd-node ${show(w)}`);
    });
  }
  return problems;
}
