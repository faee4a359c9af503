// JSON log lines on stderr, with the resource's key on every line of a reconcile (`log.with({...})`).
// ETCD_TS_OPERATOR_TRACE=1 adds debug lines.
export interface Logger {
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  debug(msg: string, fields?: Record<string, unknown>): void;
  with(fields: Record<string, unknown>): Logger;
}

export function createLogger(base: Record<string, unknown> = {}): Logger {
  const trace = process.env['ETCD_TS_OPERATOR_TRACE'] === '1';
  const line = (level: string, msg: string, fields: Record<string, unknown> = {}): void => {
    process.stderr.write(`${JSON.stringify({ level, ts: new Date().toISOString(), msg, ...base, ...fields }, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))}\n`);
  };
  return {
    info: (m, f) => line('info', m, f),
    warn: (m, f) => line('warn', m, f),
    error: (m, f) => line('error', m, f),
    debug: (m, f) => {
      if (trace) line('debug', m, f);
    },
    with: (f) => createLogger({ ...base, ...f }),
  };
}
