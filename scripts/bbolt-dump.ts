// Prints every bucket of a bbolt file (an etcd snapshot or db) with its keys and values: printable
// bytes as text, others as hex. A development aid for learning etcd's bucket layout:
//   node --import tsx scripts/bbolt-dump.ts <file> [bucket…]
import { BboltReader, type BboltBucket } from '../etcd-node/src/storage/bbolt/reader.js';

function show(b: Buffer): string {
  const printable = b.length > 0 && [...b].every((c) => c >= 0x20 && c < 0x7f);
  const shown = b.length > 256 ? b.subarray(0, 256) : b;
  const more = b.length > 256 ? `… (${b.length} bytes)` : '';
  return (printable ? JSON.stringify(shown.toString('latin1')) : `0x${shown.toString('hex')}`) + more;
}

function dump(bucket: BboltBucket, indent: string, limit: number): void {
  let n = 0;
  for (const e of bucket.elements()) {
    if (e.isBucket) {
      const sub = bucket.bucket(e.key);
      console.log(`${indent}[bucket ${show(e.key)}] root=${sub?.header.root ?? '?'} seq=${sub?.header.sequence ?? '?'}`);
      if (sub) dump(sub, `${indent}  `, limit);
    } else if (n++ < limit) {
      console.log(`${indent}${show(e.key)} = ${show(e.value)}`);
    }
  }
  if (n > limit) console.log(`${indent}… ${n - limit} more`);
}

const [file, ...only] = process.argv.slice(2);
if (file === undefined) {
  console.error('usage: bbolt-dump <file> [bucket…]');
  process.exit(2);
}
const db = BboltReader.open(file);
const m = db.meta;
console.log(`meta page ${db.metaPage}: pageSize=${m.pageSize} root=${m.root.root} freelist=${m.freelist ?? 'none'} pgid=${m.pgid} txid=${m.txid} file=${db.fileSize}`);
const limit = Number(process.env['DUMP_LIMIT'] ?? 50);
for (const name of db.bucketNames()) {
  if (only.length > 0 && !only.includes(name.toString())) continue;
  const b = db.bucket(name);
  console.log(`[bucket ${show(name)}] root=${b?.header.root ?? '?'} seq=${b?.header.sequence ?? '?'}`);
  if (b) dump(b, '  ', limit);
}
db.close();
