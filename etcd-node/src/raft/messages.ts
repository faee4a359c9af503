// Messages between Raft members (and the local ones the core steps into itself), snapshots, and the small
// records a Ready hands to the server. Plain data: the binary codec for the wire is in codec.ts.
import type { ConfState, Entry, SnapshotMeta } from './types.js';

export enum MessageType {
  /** local: start an election (a tick that ran out the election timeout) */
  MsgHup = 0,
  /** local: leader sends heartbeats */
  MsgBeat = 1,
  /** a proposal: entries to append. Local on the leader; forwarded by a follower to its leader */
  MsgProp = 2,
  MsgApp = 3,
  MsgAppResp = 4,
  MsgVote = 5,
  MsgVoteResp = 6,
  MsgSnap = 7,
  MsgHeartbeat = 8,
  MsgHeartbeatResp = 9,
  /** local: the transport could not reach `from` */
  MsgUnreachable = 10,
  /** local: the transport reports whether the snapshot to `from` was delivered (reject = failed) */
  MsgSnapStatus = 11,
  /** local: the leader checks it heard from a quorum within the election timeout */
  MsgCheckQuorum = 12,
  /** ask the leader to hand leadership to `from`; forwarded by followers */
  MsgTransferLeader = 13,
  /** the leader tells a caught-up member to campaign at once */
  MsgTimeoutNow = 14,
  /** a linearizable read: context is the request id; forwarded by followers */
  MsgReadIndex = 15,
  MsgReadIndexResp = 16,
  MsgPreVote = 17,
  MsgPreVoteResp = 18,
}

export const maxMessageType: number = MessageType.MsgPreVoteResp;

export interface Snapshot {
  readonly meta: SnapshotMeta;
  /** the application's state machine image at meta.index; opaque to Raft */
  readonly data: Uint8Array;
}

export interface Message {
  readonly type: MessageType;
  /** sender; for the local MsgTransferLeader/MsgSnapStatus/MsgUnreachable, the peer concerned */
  readonly from: bigint;
  readonly to: bigint;
  /** sender's term; 0 for local messages and for proposals (which carry no term) */
  readonly term: number;
  /** MsgApp: term of the entry at `index`; reject responses: term of the follower's entry at `rejectHint`;
   *  votes: term of the candidate's last entry */
  readonly logTerm: number;
  /** MsgApp: index preceding `entries`; MsgAppResp: last index the follower matched (or the rejected index);
   *  votes: candidate's last index; MsgReadIndexResp: the read index */
  readonly index: number;
  readonly entries: readonly Entry[];
  readonly commit: number;
  readonly reject: boolean;
  readonly rejectHint: number;
  readonly snapshot: Snapshot | undefined;
  /** heartbeats: the read round being confirmed; votes: campaignTransfer; ReadIndex: the request id */
  readonly context: Uint8Array;
}

const emptyBytes = new Uint8Array(0);

/** a Message with every field not given set to its zero value */
export function newMessage(m: Partial<Message> & Pick<Message, 'type'>): Message {
  return {
    type: m.type,
    from: m.from ?? 0n,
    to: m.to ?? 0n,
    term: m.term ?? 0,
    logTerm: m.logTerm ?? 0,
    index: m.index ?? 0,
    entries: m.entries ?? [],
    commit: m.commit ?? 0,
    reject: m.reject ?? false,
    rejectHint: m.rejectHint ?? 0,
    snapshot: m.snapshot,
    context: m.context ?? emptyBytes,
  };
}

/** messages the core makes for itself; never sent on the wire, and refused by RawNode.step */
export function isLocalMessage(t: MessageType): boolean {
  return (
    t === MessageType.MsgHup ||
    t === MessageType.MsgBeat ||
    t === MessageType.MsgUnreachable ||
    t === MessageType.MsgSnapStatus ||
    t === MessageType.MsgCheckQuorum
  );
}

export function isResponseMessage(t: MessageType): boolean {
  return (
    t === MessageType.MsgAppResp ||
    t === MessageType.MsgVoteResp ||
    t === MessageType.MsgHeartbeatResp ||
    t === MessageType.MsgUnreachable ||
    t === MessageType.MsgPreVoteResp
  );
}

export function voteResponseType(t: MessageType): MessageType {
  if (t === MessageType.MsgVote) return MessageType.MsgVoteResp;
  if (t === MessageType.MsgPreVote) return MessageType.MsgPreVoteResp;
  throw new Error(`raft: not a vote message: ${MessageType[t]}`);
}

export enum StateRole {
  Follower = 0,
  PreCandidate = 1,
  Candidate = 2,
  Leader = 3,
}

/** volatile state the server may want to show or react to (leader changes); in a Ready when changed */
export interface SoftState {
  readonly lead: bigint;
  readonly role: StateRole;
}

/** the answer to one readIndex(ctx): reads may be served once the state machine has applied `index` */
export interface ReadState {
  readonly index: number;
  readonly requestCtx: Uint8Array;
}

export const emptyConfState: ConfState = { voters: [], learners: [] };

export const emptySnapshot: Snapshot = { meta: { index: 0, term: 0, confState: emptyConfState }, data: emptyBytes };

/** size of an entry for the per-message size limit */
export function entrySize(e: Entry): number {
  return e.data.length + 16;
}

/** the context a candidate puts on its votes when campaigning because of a leader transfer */
export const campaignTransferContext = new TextEncoder().encode('CampaignTransfer');

export function isCampaignTransfer(ctx: Uint8Array): boolean {
  if (ctx.length !== campaignTransferContext.length) return false;
  for (let i = 0; i < ctx.length; i++) if (ctx[i] !== campaignTransferContext[i]) return false;
  return true;
}
