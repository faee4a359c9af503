// The backup agent's Prometheus metrics (served on its --metrics-address beside /healthz). The alerts a
// user should set on them are in the README ("Backups" → "Alerts").
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';

export class AgentMetrics {
  readonly registry = new Registry();
  readonly lastFull = new Gauge({
    name: 'etcd_backup_last_full_snapshot_timestamp_seconds',
    help: 'When the newest full snapshot in the store was taken (unix seconds).',
    registers: [this.registry],
  });
  readonly lastFullRevision = new Gauge({ name: 'etcd_backup_last_full_snapshot_revision', help: 'Revision of the newest full snapshot in the store.', registers: [this.registry] });
  readonly lastDelta = new Gauge({
    name: 'etcd_backup_last_delta_timestamp_seconds',
    help: 'When the last revision of the newest delta object was received (unix seconds).',
    registers: [this.registry],
  });
  readonly latestRecoverableRevision = new Gauge({ name: 'etcd_backup_latest_recoverable_revision', help: 'The newest revision a restore can reach.', registers: [this.registry] });
  readonly latestRecoverableTime = new Gauge({
    name: 'etcd_backup_latest_recoverable_timestamp_seconds',
    help: 'When the newest revision a restore can reach was received (unix seconds).',
    registers: [this.registry],
  });
  /** Where the lag gauges read from at each scrape (the tail's live numbers, not the last report's). */
  private lagSource: (() => { revisions: number; seconds: number }) | undefined;
  readonly tailLagRevisions = new Gauge({
    name: 'etcd_backup_tail_lag_revisions',
    help: 'Revisions of the cluster not yet in the store.',
    registers: [this.registry],
    collect: () => {
      if (this.lagSource) this.tailLagRevisions.set(this.lagSource().revisions);
    },
  });
  readonly tailLagSeconds = new Gauge({
    name: 'etcd_backup_tail_lag_seconds',
    help: 'Age of the oldest revision received but not yet in the store.',
    registers: [this.registry],
    collect: () => {
      if (this.lagSource) this.tailLagSeconds.set(this.lagSource().seconds);
    },
  });
  readonly uploadedBytes = new Counter({ name: 'etcd_backup_uploaded_bytes_total', help: 'Bytes written to the store, by kind (full, delta).', labelNames: ['kind'], registers: [this.registry] });
  readonly uploadedObjects = new Counter({ name: 'etcd_backup_uploaded_objects_total', help: 'Objects written to the store, by kind (full, delta).', labelNames: ['kind'], registers: [this.registry] });
  readonly deletedObjects = new Counter({ name: 'etcd_backup_deleted_objects_total', help: 'Objects retention deleted.', registers: [this.registry] });
  readonly failures = new Counter({
    name: 'etcd_backup_failures_total',
    help: 'Failed operations, by operation (full, delta, tail, retention, resume).',
    labelNames: ['operation'],
    registers: [this.registry],
  });
  readonly gaps = new Gauge({ name: 'etcd_backup_chain_gaps', help: 'Holes in the retained chain (revision ranges no restore reaches).', registers: [this.registry] });
  readonly objects = new Gauge({ name: 'etcd_backup_objects', help: 'Objects of the current chain in the store.', registers: [this.registry] });
  readonly bytes = new Gauge({ name: 'etcd_backup_bytes', help: 'Bytes of the current chain in the store.', registers: [this.registry] });

  readLagFrom(source: () => { revisions: number; seconds: number }): void {
    this.lagSource = source;
  }

  constructor() {
    collectDefaultMetrics({ register: this.registry });
  }
}
