// A full snapshot before a version change. When the cluster has EtcdBackups, each is asked (through its
// etcdts.dev/snapshot-now annotation, the same on-demand request a user makes) for a full snapshot before
// the new template is applied, and the roll-out waits until each says it took it: a user whose upgrade
// goes wrong restores from a snapshot of the moment before it, not from the last scheduled one.
// Pure: the planner calls it with what the controller observed.

export interface ObservedBackup {
  readonly name: string;
  /** the value of its etcdts.dev/snapshot-now annotation */
  readonly requested?: string;
  /** status.lastOnDemandSnapshot.request: the last request the agent answered with a full */
  readonly done?: string;
  /** why it cannot take a full now (its Degraded condition, when the reason stops fulls) */
  readonly blocked?: string;
}

/** Degraded reasons of an EtcdBackup that do not stop it from taking a full (a hole in the tail is closed by one). */
const FULLS_STILL_WORK = new Set(['TailCompacted']);

export function blockedBy(conditions: ReadonlyArray<{ type: string; status: string; reason?: string; message?: string }> | undefined): string | undefined {
  const d = conditions?.find((c) => c.type === 'Degraded' && c.status === 'True');
  if (!d || FULLS_STILL_WORK.has(d.reason ?? '')) return undefined;
  return `${d.reason ?? 'Degraded'}: ${d.message ?? ''}`.replace(/: $/, '');
}

export type BackupGate =
  | { kind: 'RequestBackup'; backup: string; request: string }
  | { kind: 'Wait'; reason: 'BackupBeforeUpgrade'; message: string }
  | { kind: 'Degraded'; reason: 'BackupBeforeUpgradeFailed'; message: string };

/**
 * What stands between a version change and its roll-out: undefined when nothing does (the version is one
 * a member runs already, the cluster has no pods yet, it has no EtcdBackup, or every one took the full).
 * The request names the target and the spec's generation, so each upgrade asks once and an upgrade made
 * again later asks again.
 */
export function backupBeforeVersionChange(running: readonly string[], target: string | undefined, generation: number, backups: readonly ObservedBackup[]): BackupGate | undefined {
  if (target === undefined || running.length === 0 || running.includes(target)) return undefined;
  const request = `before-${target}-g${generation}`;
  for (const b of [...backups].sort((x, y) => x.name.localeCompare(y.name))) {
    if (b.done === request) continue;
    if (b.requested !== request) return { kind: 'RequestBackup', backup: b.name, request };
    if (b.blocked) {
      return {
        kind: 'Degraded',
        reason: 'BackupBeforeUpgradeFailed',
        message: `EtcdBackup ${b.name} cannot take the full snapshot asked before the change to ${target} (${b.blocked}); nothing is rolled out until it does: fix the backup, or set its spec.suspend: true to upgrade without one`,
      };
    }
    return { kind: 'Wait', reason: 'BackupBeforeUpgrade', message: `waiting for EtcdBackup ${b.name} to take the full snapshot asked before the change to ${target} (etcdts.dev/snapshot-now=${request})` };
  }
  return undefined;
}
