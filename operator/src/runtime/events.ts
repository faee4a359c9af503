// Kubernetes Events on the resources the operator acts for (core/v1), so `kubectl describe` shows what
// it did and why. Recording never fails a reconcile.
import type { Kube } from './kube.js';
import type { Logger } from './log.js';

export interface InvolvedObject {
  apiVersion: string;
  kind: string;
  name: string;
  namespace: string;
  uid?: string;
}

export class EventRecorder {
  constructor(
    private readonly kube: Kube,
    private readonly component: string,
    private readonly log: Logger,
  ) {}

  async record(obj: InvolvedObject, type: 'Normal' | 'Warning', reason: string, message: string): Promise<void> {
    const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    try {
      await this.kube.request('POST', `/api/v1/namespaces/${obj.namespace}/events`, {
        apiVersion: 'v1',
        kind: 'Event',
        metadata: { generateName: `${obj.name}.`, namespace: obj.namespace },
        involvedObject: obj,
        reason,
        message,
        type,
        source: { component: this.component },
        reportingComponent: this.component,
        firstTimestamp: now,
        lastTimestamp: now,
        count: 1,
      });
    } catch (err) {
      this.log.warn('could not record an event', { reason, error: err instanceof Error ? err.message : String(err) });
    }
  }
}
