// Cluster alarms (NOSPACE, CORRUPT), raised and cleared through the log so every member agrees, and kept
// in the backend's meta database so they survive restarts (an etcd member restarts with its alarms on).
import { AlarmType, type AlarmMember } from '../gen/etcdserverpb/rpc.js';
import type { Backend } from '../storage/backend/backend.js';

const PREFIX = Buffer.from('alarm/');

function alarmKey(memberId: bigint, type: AlarmType): Buffer {
  const k = Buffer.alloc(PREFIX.length + 9);
  PREFIX.copy(k);
  k.writeBigUInt64BE(memberId, PREFIX.length);
  k.writeUInt8(type, PREFIX.length + 8);
  return k;
}

export class AlarmStore {
  private alarms: AlarmMember[] = [];

  constructor(private readonly backend: Backend) {
    this.reload();
  }

  /** Reads the alarms from the backend (again, after a snapshot from the leader replaced it). */
  reload(): void {
    this.alarms = [];
    for (const { key } of this.backend.meta.getRange({ start: PREFIX })) {
      const k = key;
      if (!k.subarray(0, PREFIX.length).equals(PREFIX)) break;
      this.alarms.push({ memberID: k.readBigUInt64BE(PREFIX.length), alarm: k.readUInt8(PREFIX.length + 8) });
    }
  }

  list(type: AlarmType = AlarmType.NONE): AlarmMember[] {
    return this.alarms.filter((a) => type === AlarmType.NONE || a.alarm === type);
  }

  has(type: AlarmType): boolean {
    return this.alarms.some((a) => a.alarm === type);
  }

  /** Inside a backend batch. Returns the alarm if it was newly raised. */
  activate(memberId: bigint, type: AlarmType): AlarmMember | undefined {
    if (this.alarms.some((a) => a.memberID === memberId && a.alarm === type)) return undefined;
    const a = { memberID: memberId, alarm: type };
    this.alarms.push(a);
    this.backend.meta.putSync(alarmKey(memberId, type), Buffer.from([1]));
    return a;
  }

  /** Inside a backend batch. Returns the alarm if it was on. */
  deactivate(memberId: bigint, type: AlarmType): AlarmMember | undefined {
    const i = this.alarms.findIndex((a) => a.memberID === memberId && a.alarm === type);
    if (i < 0) return undefined;
    const [a] = this.alarms.splice(i, 1);
    this.backend.meta.removeSync(alarmKey(memberId, type));
    return a;
  }
}
