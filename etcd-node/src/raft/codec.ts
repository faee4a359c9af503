// The binary form of a Message for the peer transport (protobuf-free). Layout, all integers unsigned:
//   version u8 (=1) | type u8 | flags u8 (bit0 reject, bit1 snapshot present) | from u64be | to u64be |
//   term, logTerm, index, commit, rejectHint: varint | context: varint length + bytes |
//   entries: varint count, each { term varint, index varint, type u8, data: varint length + bytes } |
//   snapshot (if flagged): index varint, term varint, voters: varint count + u64be each,
//                          learners: varint count + u64be each, data: varint length + bytes
// decodeMessage checks every length and enum and throws MalformedError on anything it cannot read.
import { isLocalMessage, maxMessageType, type Message, type MessageType, type Snapshot } from './messages.js';
import { EntryType, type Entry } from './types.js';
import { MalformedError, Reader, Writer } from './wire.js';

export { encodeConfChange, decodeConfChange } from './confchange.js';
export { MalformedError } from './wire.js';

const messageFormat = 1;
const flagReject = 1;
const flagSnapshot = 2;

function writeEntry(w: Writer, e: Entry): void {
  w.uvarint(e.term).uvarint(e.index).u8(e.type).bytes(e.data);
}

const entryTypes = new Map<number, EntryType>([
  [0, EntryType.Normal],
  [1, EntryType.ConfChange],
]);

/** every message type that may cross the wire, by its code */
const wireTypes = new Map<number, MessageType>();
for (let code = 0; code <= maxMessageType; code++) {
  const t = code as MessageType;
  if (!isLocalMessage(t)) wireTypes.set(code, t);
}

function readEntry(r: Reader): Entry {
  const term = r.uvarint();
  const index = r.uvarint();
  const code = r.u8();
  const type = entryTypes.get(code);
  if (type === undefined) throw new MalformedError(`raft: malformed message: unknown entry type ${code}`);
  return { term, index, type, data: r.bytes() };
}

function writeSnapshot(w: Writer, s: Snapshot): void {
  w.uvarint(s.meta.index).uvarint(s.meta.term);
  w.uvarint(s.meta.confState.voters.length);
  for (const id of s.meta.confState.voters) w.u64(id);
  w.uvarint(s.meta.confState.learners.length);
  for (const id of s.meta.confState.learners) w.u64(id);
  w.bytes(s.data);
}

function readSnapshot(r: Reader): Snapshot {
  const index = r.uvarint();
  const term = r.uvarint();
  const voters: bigint[] = [];
  for (let n = r.count(8); n > 0; n--) voters.push(r.u64());
  const learners: bigint[] = [];
  for (let n = r.count(8); n > 0; n--) learners.push(r.u64());
  return { meta: { index, term, confState: { voters, learners } }, data: r.bytes() };
}

export function encodeMessage(m: Message): Uint8Array {
  if (isLocalMessage(m.type)) throw new Error(`raft: local message ${m.type} is never sent`);
  const w = new Writer();
  w.u8(messageFormat).u8(m.type);
  w.u8((m.reject ? flagReject : 0) | (m.snapshot !== undefined ? flagSnapshot : 0));
  w.u64(m.from).u64(m.to);
  w.uvarint(m.term).uvarint(m.logTerm).uvarint(m.index).uvarint(m.commit).uvarint(m.rejectHint);
  w.bytes(m.context);
  w.uvarint(m.entries.length);
  for (const e of m.entries) writeEntry(w, e);
  if (m.snapshot !== undefined) writeSnapshot(w, m.snapshot);
  return w.finish();
}

export function decodeMessage(data: Uint8Array): Message {
  const r = new Reader(data, 'message');
  const version = r.u8();
  if (version !== messageFormat) throw new MalformedError(`raft: malformed message: unknown format ${version}`);
  const code = r.u8();
  const type = wireTypes.get(code);
  if (type === undefined) throw new MalformedError(`raft: malformed message: type ${code} is not a wire message`);
  const flags = r.u8();
  if ((flags & ~(flagReject | flagSnapshot)) !== 0) throw new MalformedError(`raft: malformed message: unknown flags ${flags}`);
  const from = r.u64();
  const to = r.u64();
  const term = r.uvarint();
  const logTerm = r.uvarint();
  const index = r.uvarint();
  const commit = r.uvarint();
  const rejectHint = r.uvarint();
  const context = r.bytes();
  const entries: Entry[] = [];
  for (let n = r.count(4); n > 0; n--) entries.push(readEntry(r));
  const snapshot = (flags & flagSnapshot) !== 0 ? readSnapshot(r) : undefined;
  r.end();
  return { type, from, to, term, logTerm, index, entries, commit, reject: (flags & flagReject) !== 0, rejectHint, snapshot, context };
}
