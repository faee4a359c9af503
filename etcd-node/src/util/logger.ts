// Structured logs like etcd's zap output: one JSON object per line on stderr with `level`, `ts`, `caller`,
// `msg` and key-values. Level from --log-level (debug, info, warn, error, panic, fatal).
import winston from 'winston';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'panic' | 'fatal';
export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  child(fields: LogFields): Logger;
}

const levels = { fatal: 0, panic: 1, error: 2, warn: 3, info: 4, debug: 5 };

/** bigint is not JSON; ids print as hex like etcd's. */
function replacer(_key: string, value: unknown): unknown {
  return typeof value === 'bigint' ? value.toString(16) : value;
}

const lineFormat = winston.format.printf((info) => {
  const { level, message, caller, ...rest } = info as Record<string | symbol, unknown>;
  const out: Record<string, unknown> = { level, ts: new Date().toISOString(), caller: caller ?? 'etcd-node', msg: message };
  for (const [k, v] of Object.entries(rest)) out[k] = v;
  return JSON.stringify(out, replacer);
});

/** outputs: --log-outputs ('stderr', 'stdout' or file paths; default stderr). */
export function createLogger(level: LogLevel = 'info', outputs: readonly string[] = ['stderr']): Logger {
  const transports = [...new Set(outputs)].map((o) =>
    o === 'stderr'
      ? new winston.transports.Console({ stderrLevels: Object.keys(levels) })
      : o === 'stdout'
        ? new winston.transports.Console({ stderrLevels: [] })
        : new winston.transports.File({ filename: o }),
  );
  const w = winston.createLogger({ levels, level, format: lineFormat, transports });
  return wrap(w);
}

function wrap(w: winston.Logger): Logger {
  return {
    debug: (msg, fields) => void w.log('debug', msg, fields ?? {}),
    info: (msg, fields) => void w.log('info', msg, fields ?? {}),
    warn: (msg, fields) => void w.log('warn', msg, fields ?? {}),
    error: (msg, fields) => void w.log('error', msg, fields ?? {}),
    child: (fields) => wrap(w.child(fields)),
  };
}

/** A logger that drops everything (unit tests). */
export const silentLogger: Logger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
  child: () => silentLogger,
};
