// --auto-compaction-mode/--auto-compaction-retention, as etcd documents them:
// - revision: every 5 minutes, compact to (current revision − retention).
// - periodic: sample the revision every retention/10 (at most hourly) and compact to the revision seen one
//   retention ago, so history covering at least `retention` of time is kept.
import type { EtcdServer } from '../server/etcd-server.js';
import type { ServerConfig } from '../server/config.js';
import { EtcdError, Errors } from '../server/errors.js';
import type { Logger } from '../util/logger.js';

const REVISION_INTERVAL_MS = 5 * 60 * 1000;

export function startAutoCompaction(server: EtcdServer, cfg: ServerConfig, log: Logger): () => void {
  const retention = cfg.autoCompactionRetention;
  if (retention <= 0) return () => undefined;
  let last = 0;
  const compactTo = (rev: number): void => {
    if (rev <= last || rev <= server.store.compactRevision) return;
    server.compact({ revision: BigInt(rev), physical: false }).then(
      () => {
        last = rev;
        log.info('completed auto compaction', { 'compact-revision': rev, mode: cfg.autoCompactionMode });
      },
      (err: unknown) => {
        if (err !== Errors.Compacted && !(err instanceof EtcdError)) log.warn('auto compaction failed', { error: String(err) });
      },
    );
  };
  let timer: NodeJS.Timeout;
  if (cfg.autoCompactionMode === 'revision') {
    timer = setInterval(() => compactTo(server.store.currentRevision - retention), REVISION_INTERVAL_MS);
  } else {
    const interval = Math.min(Math.max(Math.floor(retention / 10), 1000), 3_600_000);
    const samples: Array<{ at: number; rev: number }> = [];
    timer = setInterval(() => {
      const now = Date.now();
      samples.push({ at: now, rev: server.store.currentRevision });
      let target: number | undefined;
      while (samples.length > 0 && now - samples[0]!.at >= retention) target = samples.shift()!.rev;
      if (target !== undefined) compactTo(target);
    }, interval);
  }
  timer.unref();
  return () => clearInterval(timer);
}
