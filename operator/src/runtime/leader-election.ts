// Leader election on a coordination.k8s.io/v1 Lease, as client-go's: the holder renews every renewSeconds;
// another candidate takes the lease once it has not been renewed for leaseDurationSeconds. Only the
// leader reconciles. Losing the lease stops this operator's work (it exits so that it starts clean).
import { KubeError, type Kube } from './kube.js';
import type { Logger } from './log.js';

interface Lease {
  metadata: { name: string; namespace: string; resourceVersion?: string };
  spec: { holderIdentity?: string; leaseDurationSeconds?: number; renewTime?: string; acquireTime?: string; leaseTransitions?: number };
}

const micro = (d: Date): string => d.toISOString().replace('Z', '000Z');

export class LeaderElector {
  private leading = false;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    private readonly kube: Kube,
    private readonly namespace: string,
    private readonly name: string,
    readonly identity: string,
    private readonly log: Logger,
    private readonly leaseSeconds = 15,
    private readonly renewSeconds = 5,
  ) {}

  get isLeader(): boolean {
    return this.leading;
  }

  /** Resolves once this candidate leads; calls onLost if it loses the lease later. */
  async run(onLost: () => void): Promise<void> {
    for (;;) {
      if (this.stopped) throw new Error('leader election stopped');
      if (await this.tryAcquireOrRenew()) break;
      await new Promise((r) => setTimeout(r, 1000));
    }
    this.leading = true;
    this.log.info('became leader', { lease: `${this.namespace}/${this.name}`, identity: this.identity });
    this.timer = setInterval(() => {
      this.tryAcquireOrRenew().then(
        (ok) => {
          if (!ok && this.leading) {
            this.leading = false;
            this.log.warn('lost the leader election lease', { lease: `${this.namespace}/${this.name}` });
            onLost();
          }
        },
        (err: unknown) => this.log.warn('renewing the leader election lease failed', { error: String(err) }),
      );
    }, this.renewSeconds * 1000);
  }

  private async tryAcquireOrRenew(): Promise<boolean> {
    const path = `/apis/coordination.k8s.io/v1/namespaces/${this.namespace}/leases`;
    const now = new Date();
    const current = await this.kube.get<Lease>(`${path}/${this.name}`);
    if (!current) {
      try {
        await this.kube.request('POST', path, {
          apiVersion: 'coordination.k8s.io/v1',
          kind: 'Lease',
          metadata: { name: this.name, namespace: this.namespace },
          spec: { holderIdentity: this.identity, leaseDurationSeconds: this.leaseSeconds, acquireTime: micro(now), renewTime: micro(now), leaseTransitions: 0 },
        });
        return true;
      } catch (err) {
        if (err instanceof KubeError && err.conflict) return false;
        throw err;
      }
    }
    const holder = current.spec.holderIdentity;
    const renewed = current.spec.renewTime ? Date.parse(current.spec.renewTime) : 0;
    const expired = now.getTime() - renewed > (current.spec.leaseDurationSeconds ?? this.leaseSeconds) * 1000;
    if (holder !== this.identity && holder && !expired) return false;
    const spec = {
      ...current.spec,
      holderIdentity: this.identity,
      leaseDurationSeconds: this.leaseSeconds,
      renewTime: micro(now),
      ...(holder !== this.identity ? { acquireTime: micro(now), leaseTransitions: (current.spec.leaseTransitions ?? 0) + 1 } : {}),
    };
    try {
      // the resourceVersion makes this a compare-and-swap: two candidates cannot both take it
      await this.kube.request('PUT', `${path}/${this.name}`, { ...current, spec });
      return true;
    } catch (err) {
      if (err instanceof KubeError && err.conflict) return false;
      throw err;
    }
  }

  /** Gives the lease up (so another candidate takes over at once) and stops renewing. */
  async release(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    if (!this.leading) return;
    this.leading = false;
    const path = `/apis/coordination.k8s.io/v1/namespaces/${this.namespace}/leases/${this.name}`;
    const current = await this.kube.get<Lease>(path).catch(() => undefined);
    if (current?.spec.holderIdentity !== this.identity) return;
    await this.kube.request('PUT', path, { ...current, spec: { ...current.spec, holderIdentity: '', renewTime: micro(new Date(0)) } }).catch(() => undefined);
  }
}
