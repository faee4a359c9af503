// The EtcdBackup planner: a pure function from what the controller observed to what it should make
// true. The agent itself judges what only running can tell (the store answers, the credentials work, the
// key decrypts) and reports it in status; the controller judges what can be known before: the spec (the
// schema and cron-parser), the cluster exists, the key's Secret exists (or is to be generated). When one
// of those fails no agent runs, and the controller reports why; otherwise one agent runs (none while
// suspended) and the conditions are the agent's.
export interface BackupObserved {
  /** why the spec cannot work (InvalidSpec, InvalidSchedule), from checkSpec */
  readonly specProblem?: { reason: string; message: string };
  readonly suspend: boolean;
  readonly clusterExists: boolean;
  readonly clusterName: string;
  readonly namespace: string;
  /** the Secret the key is in: named by the spec, or the generated one */
  readonly keySecret: string | undefined;
  readonly keySecretGenerated: boolean;
  readonly keySecretExists: boolean;
  /** the condition reasons now in status, as the agent or the controller wrote them */
  readonly currentReasons: readonly string[];
}

export interface BackupDecision {
  replicas: 0 | 1;
  /** generate the key into this Secret first */
  createKeySecret?: string;
  /** the controller writes these conditions (undefined: they are the agent's) */
  conditions?: Array<{ type: 'Ready' | 'Degraded'; status: 'True' | 'False'; reason: string; message: string }>;
}

/** reasons only the controller writes: when one of them is in status and the agent is to run, the controller clears it */
export const CONTROLLER_REASONS = ['InvalidSpec', 'InvalidSchedule', 'ClusterNotFound', 'Suspended', 'AgentStarting'];

export function decide(o: BackupObserved): BackupDecision {
  const blocked = (reason: string, message: string): BackupDecision => ({
    replicas: 0,
    conditions: [
      { type: 'Ready', status: 'False', reason, message },
      { type: 'Degraded', status: 'True', reason, message },
    ],
  });
  if (o.specProblem) return blocked(o.specProblem.reason, o.specProblem.message);
  if (o.suspend) {
    return {
      replicas: 0,
      conditions: [
        { type: 'Ready', status: 'False', reason: 'Suspended', message: 'spec.suspend is true: no agent runs; the chain goes on where it ended once resumed' },
        { type: 'Degraded', status: 'False', reason: 'Suspended', message: '' },
      ],
    };
  }
  if (!o.clusterExists) return blocked('ClusterNotFound', `EtcdCluster ${o.namespace}/${o.clusterName} not found`);
  if (o.keySecret !== undefined && !o.keySecretExists) {
    if (o.keySecretGenerated) return { replicas: 0, createKeySecret: o.keySecret };
    // the agent reports a named key Secret that is missing (it looks again every few seconds)
  }
  // the agent writes the conditions; a controller reason left from before is replaced by a neutral one
  const stale = o.currentReasons.some((r) => CONTROLLER_REASONS.includes(r) && r !== 'AgentStarting');
  return {
    replicas: 1,
    ...(stale || o.currentReasons.length === 0
      ? {
          conditions: [
            { type: 'Ready', status: 'False', reason: 'AgentStarting', message: 'the backup agent is starting' },
            { type: 'Degraded', status: 'False', reason: 'AgentStarting', message: '' },
          ],
        }
      : {}),
  };
}
