// What each member says of itself, asked at its own address: the etcd-node release it runs (asked once
// per pod incarnation: a process does not change its build) and, while a roll-out runs, its applied
// revision and the leader's (the planner restarts the next member only when the last one caught up).
// Status reports these, never what the spec asked for.
import type { AdminTls, EtcdAdmin } from '../../etcd/admin.js';
import { fetchBuildVersion } from '../../etcd/member-version.js';

export interface PodToAsk {
  readonly ordinal: number;
  /** the pod's uid and its container's restart count: a new incarnation is asked again */
  readonly incarnation: string;
  readonly ready: boolean;
}

export interface MemberReport {
  /** the etcd-node release the member reports; undefined when it did not answer or is not etcd-node */
  readonly version?: string;
  /** its applied revision, when asked (roll-outs) and it answered */
  readonly revision?: number;
  /** why it did not answer, when it did not */
  readonly error?: string;
}

export class MemberReporter {
  /** incarnation → version: one /metrics read per pod process */
  private readonly versions = new Map<string, string | undefined>();

  async ask(admin: EtcdAdmin, tls: AdminTls | undefined, endpoints: readonly string[], pods: readonly PodToAsk[], revisions: boolean): Promise<Map<number, MemberReport>> {
    const out = new Map<number, MemberReport>();
    const live = new Set(pods.map((p) => p.incarnation));
    for (const k of [...this.versions.keys()]) if (!live.has(k)) this.versions.delete(k);
    await Promise.all(
      pods.map(async (p) => {
        const ep = endpoints[p.ordinal];
        if (!ep || !p.ready) return;
        const errors: string[] = [];
        let version = this.versions.get(p.incarnation);
        if (!this.versions.has(p.incarnation)) {
          try {
            version = await fetchBuildVersion(ep, tls);
            this.versions.set(p.incarnation, version);
          } catch (err) {
            errors.push(err instanceof Error ? err.message : String(err));
          }
        }
        let revision: number | undefined;
        if (revisions) {
          try {
            revision = (await admin.statusAt(ep)).revision;
          } catch (err) {
            errors.push(`Status at ${ep}: ${err instanceof Error ? err.message : String(err)}`);
          }
        }
        out.set(p.ordinal, { ...(version !== undefined ? { version } : {}), ...(revision !== undefined ? { revision } : {}), ...(errors.length > 0 ? { error: errors.join('; ') } : {}) });
      }),
    );
    return out;
  }
}

/** The versions the members report, sorted and distinct ("0.1.0, 0.2.0" while a roll-out runs); undefined when none reported. */
export function reportedVersions(reports: ReadonlyMap<number, MemberReport>): string | undefined {
  const vs = new Set([...reports.values()].flatMap((r) => (r.version !== undefined ? [r.version] : [])));
  return vs.size > 0 ? [...vs].sort().join(', ') : undefined;
}
