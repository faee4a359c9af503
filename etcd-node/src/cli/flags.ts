// etcd's command-line flags and their ETCD_* environment variables, turned into a validated ServerConfig,
// with the semantics of etcd 3.6 (Go's flag package): `-flag`, `--flag`, `-flag=value`, `--flag=value`,
// `-flag value` (not for bools); a repeated flag takes its last value; `--` ends the flags; an ETCD_*
// variable sets a flag not given on the command line, and one shadowed by a flag is an error.
// Errors are FlagErrors naming the flag, with etcd's exit code: 2 for what Go's flag package refuses while
// parsing (unknown flag, bad syntax, a value of the wrong type), 1 for what etcd refuses when it verifies
// the configuration. The table of flags is in flag-table.ts.
import { DEFAULT_QUOTA_BYTES, type ServerConfig } from '../server/config.js';
import type { LogLevel } from '../util/logger.js';
import { FEATURE_GATES, FLAGS, GATE_STATES, type FlagSpec } from './flag-table.js';

export { FLAGS } from './flag-table.js';

export class FlagError extends Error {
  readonly code = 'FLAG_INVALID';
  constructor(
    readonly flag: string,
    message: string,
    /** etcd's exit code: 2 when Go's flag package refuses the value, 1 when etcd's checks do */
    readonly exitCode: 1 | 2 = 1,
  ) {
    super(message);
  }
}

export interface ParsedArgs {
  readonly config: ServerConfig;
  readonly logLevel: LogLevel;
  /** --log-outputs: 'stderr', 'stdout' or file paths */
  readonly logOutputs: readonly string[];
  /** warnings to log once the logger exists */
  readonly warnings: string[];
}

export type Command = { kind: 'run'; args: ParsedArgs } | { kind: 'help' } | { kind: 'version' };

export function envName(flag: string): string {
  return `ETCD_${flag.toUpperCase().replace(/-/g, '_')}`;
}

/** ETCD_* variables that are not flags and are not warned about (etcd's own list). */
const NOT_FLAGS = new Set(['ETCD_UNSUPPORTED_ARCH']);

// ---- values, checked as they are set (Go's flag.Value.Set): errors here are exit code 2 on the command
// line; for an ETCD_* variable etcd reports them when it verifies the flags (exit code 1)

type Setter = (flag: string, spec: FlagSpec, v: string) => string | undefined;

const GO_BOOL_TRUE = new Set(['1', 't', 'T', 'TRUE', 'true', 'True']);
const GO_BOOL_FALSE = new Set(['0', 'f', 'F', 'FALSE', 'false', 'False']);

export function goBool(v: string): boolean | undefined {
  if (GO_BOOL_TRUE.has(v)) return true;
  if (GO_BOOL_FALSE.has(v)) return false;
  return undefined;
}

/** strconv.ParseInt/ParseUint with base 0 (0x, 0o, 0b, a leading 0 for octal, _ between digits). */
export function goInt(v: string, signed: boolean, bits = 64): { value?: bigint; error?: 'syntax' | 'range' } {
  let s = v;
  let neg = false;
  if (signed && (s.startsWith('-') || s.startsWith('+'))) {
    neg = s.startsWith('-');
    s = s.slice(1);
  }
  let base = 10;
  let digits = s;
  if (/^0[xX]/.test(s)) [base, digits] = [16, s.slice(2)];
  else if (/^0[oO]/.test(s)) [base, digits] = [8, s.slice(2)];
  else if (/^0[bB]/.test(s)) [base, digits] = [2, s.slice(2)];
  else if (/^0./.test(s)) [base, digits] = [8, s.slice(1)];
  const alphabet = '0123456789abcdef'.slice(0, base);
  const clean = digits.replace(/_/g, '');
  if (digits === '' || /^_|_$|__/.test(digits)) return { error: 'syntax' };
  if (base === 10 && digits.includes('_')) return { error: 'syntax' }; // underscores need a base prefix
  if (![...clean.toLowerCase()].every((c) => alphabet.includes(c))) return { error: 'syntax' };
  let n = 0n;
  for (const c of clean.toLowerCase()) n = n * BigInt(base) + BigInt(alphabet.indexOf(c));
  if (neg) n = -n;
  const max = signed ? (1n << BigInt(bits - 1)) - 1n : (1n << BigInt(bits)) - 1n;
  const min = signed ? -(1n << BigInt(bits - 1)) : 0n;
  if (n > max || n < min) return { error: 'range' };
  return { value: n };
}

const DURATION_UNITS: Record<string, number> = { ns: 1e-6, us: 1e-3, 'µs': 1e-3, 'μs': 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** time.ParseDuration, in milliseconds (fractions kept), or undefined. */
export function goDuration(v: string): number | undefined {
  let s = v;
  let sign = 1;
  if (s.startsWith('-') || s.startsWith('+')) {
    sign = s.startsWith('-') ? -1 : 1;
    s = s.slice(1);
  }
  if (s === '0') return 0;
  if (s === '') return undefined;
  let total = 0;
  const re = /^(\d+\.?\d*|\.\d+)(ns|us|µs|μs|ms|s|m|h)/;
  while (s.length > 0) {
    const m = re.exec(s);
    if (!m) return undefined;
    total += Number(m[1]) * DURATION_UNITS[m[2]!]!;
    s = s.slice(m[0].length);
  }
  return sign * total;
}

export function parseUrl(flag: string, s: string): URL {
  let u: URL;
  try {
    u = new URL(s);
  } catch {
    throw new FlagError(flag, `invalid value "${s}" for flag --${flag}: not a URL`, 2);
  }
  if (u.protocol === 'unix:' || u.protocol === 'unixs:') {
    throw new FlagError(flag, `invalid value "${s}" for flag --${flag}: unix sockets (${u.protocol}//) are not supported yet by etcd-node`, 2);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') {
    throw new FlagError(flag, `invalid value "${s}" for flag --${flag}: URL scheme must be http, https, unix, or unixs: ${s}`, 2);
  }
  // (new URL() drops a default port, as in http://x:80, so the text is what is looked at)
  if (!/^[a-z]+:\/\/(\[[^\]]*\]|[^/:@]*):\d+(\/.*)?$/i.test(s)) {
    throw new FlagError(flag, `invalid value "${s}" for flag --${flag}: URL address does not have the form "host:port": ${s}`, 2);
  }
  if (u.pathname !== '/' || u.search !== '' || u.hash !== '') {
    throw new FlagError(flag, `invalid value "${s}" for flag --${flag}: URL must not contain a path: ${s}`, 2);
  }
  return u;
}

function urlList(flag: string, v: string): URL[] {
  return v
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
    .map((s) => parseUrl(flag, s));
}

/** A value's problem (Go's flag message tail), or undefined when it is good for its kind. */
const checkValue: Setter = (flag, spec, v) => {
  switch (spec.kind) {
    case 'bool':
      return goBool(v) === undefined ? 'parse error' : undefined;
    case 'int':
    case 'uint': {
      const r = goInt(v, spec.kind === 'int');
      return r.error === 'syntax' ? 'parse error' : r.error === 'range' ? 'value out of range' : undefined;
    }
    case 'uint32': {
      const r = goInt(v, false, 32);
      return r.error ? `strconv.ParseUint: parsing ${JSON.stringify(v)}: ${r.error === 'syntax' ? 'invalid syntax' : 'value out of range'}` : undefined;
    }
    case 'duration':
      return v === '' && spec.def === undefined ? undefined : goDuration(v) === undefined ? 'parse error' : undefined;
    case 'urls':
    case 'origins':
      try {
        urlList(flag, spec.kind === 'origins' ? v.split(',').filter((o) => o.trim() !== '*').join(',') : v);
        return undefined;
      } catch (err) {
        return (err as Error).message.replace(/^invalid value ".*?" for flag --[a-z0-9-]+: /, '');
      }
    case 'enum':
      return spec.values?.includes(v) ? undefined : 'invalid value';
    case 'gates':
      return parseGates(v).error;
    case 'string':
      return undefined;
  }
};

function parseGates(v: string): { gates: Map<string, boolean>; error?: string } {
  const gates = new Map<string, boolean>();
  for (const part of v.split(',').map((s) => s.trim()).filter((s) => s !== '')) {
    const eq = part.indexOf('=');
    if (eq < 0) return { gates, error: `missing bool value for ${part}` };
    const k = part.slice(0, eq).trim();
    const val = part.slice(eq + 1).trim();
    if (!(k in FEATURE_GATES)) return { gates, error: `unrecognized feature gate: ${k}` };
    const b = goBool(val);
    if (b === undefined) return { gates, error: `invalid value of ${k}=${val}, err: strconv.ParseBool: parsing ${JSON.stringify(val)}: invalid syntax` };
    gates.set(k, b);
  }
  return { gates };
}

// ---- the command line and the environment

interface Given {
  /** flag → its last value */
  readonly values: Map<string, string>;
  /** flags set on the command line or from the environment */
  readonly set: Set<string>;
  /** --feature-gates merged over every occurrence, in order */
  readonly gates: Map<string, boolean>;
}

/** Parses argv (without node and script) and the environment; throws FlagError. */
export function parseCommand(argv: readonly string[], env: NodeJS.ProcessEnv): Command {
  const given: Given = { values: new Map(), set: new Set(), gates: new Map() };
  const setValue = (name: string, spec: FlagSpec, value: string, source: string): void => {
    const problem = checkValue(name, spec, value);
    if (problem !== undefined) {
      if (source === 'flag') {
        const msg = spec.kind === 'bool' ? `invalid boolean value ${JSON.stringify(value)} for --${name}: ${problem}` : `invalid value ${JSON.stringify(value)} for flag --${name}: ${problem}`;
        throw new FlagError(name, msg, 2);
      }
      throw new FlagError(name, `invalid value ${JSON.stringify(value)} for ${source} (--${name}): ${problem}`, 1);
    }
    if (spec.kind === 'gates') for (const [k, b] of parseGates(value).gates) given.gates.set(k, b);
    given.values.set(name, value);
    given.set.add(name);
  };

  let positional: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      positional = argv[i + 1];
      break;
    }
    if (!arg.startsWith('-') || arg === '-') {
      positional = arg;
      break;
    }
    const m = /^--?([^-=][^=]*)(?:=(.*))?$/s.exec(arg);
    if (!m) throw new FlagError(arg, `bad flag syntax: ${arg}`, 2);
    const name = m[1]!;
    if (name === 'help' || name === 'h') return { kind: 'help' };
    if (name === 'version') return { kind: 'version' };
    const spec = FLAGS[name];
    if (!spec) throw new FlagError(name, `flag provided but not defined: --${name}`, 2);
    let value = m[2];
    if (value === undefined) {
      if (spec.kind === 'bool') value = 'true';
      else {
        const next = argv[i + 1];
        if (next === undefined) throw new FlagError(name, `flag needs an argument: --${name}`, 2);
        value = next;
        i++;
      }
    }
    setValue(name, spec, value, 'flag'); // a repeat replaces the value (the last one wins), as in Go
  }
  if (positional !== undefined) throw new FlagError(positional, `${JSON.stringify(positional)} is not a valid flag`, 1);

  const warnings: string[] = [];
  const fromCommandLine = new Set(given.set);
  const flagByEnv = new Map(Object.keys(FLAGS).map((f) => [envName(f), f]));
  for (const [k, v] of Object.entries(env).sort(([a], [b]) => (a < b ? -1 : 1))) {
    if (!k.startsWith('ETCD_') || v === undefined) continue;
    const flag = flagByEnv.get(k);
    if (flag === undefined) {
      if (!NOT_FLAGS.has(k)) warnings.push(`unrecognized environment variable ${k}=${v}`);
      continue;
    }
    if (fromCommandLine.has(flag)) {
      throw new FlagError(
        flag,
        `conflicting environment variable ${JSON.stringify(k)} is shadowed by corresponding command-line flag (either unset environment variable or disable flag)`,
        1,
      );
    }
    setValue(flag, FLAGS[flag]!, v, k);
  }
  return { kind: 'run', args: buildConfig(given, warnings) };
}

// ---- reading values (after parsing: they are known to be good for their kind)

function isSet(g: Given, flag: string): boolean {
  return g.set.has(flag);
}

function raw(g: Given, flag: string): string | undefined {
  return g.values.get(flag) ?? FLAGS[flag]?.def;
}

function str(g: Given, flag: string): string {
  return raw(g, flag) ?? '';
}

function num(g: Given, flag: string): number {
  const v = str(g, flag);
  const r = goInt(v, FLAGS[flag]?.kind === 'int');
  const n = Number(r.value ?? 0n);
  if (!Number.isSafeInteger(n)) throw new FlagError(flag, `invalid value "${v}" for flag --${flag}: value out of range`, 2);
  return n;
}

function atLeast1(g: Given, flag: string): number {
  const n = num(g, flag);
  if (n < 1) throw new FlagError(flag, `invalid value "${str(g, flag)}" for flag --${flag}: must be at least 1`);
  return n;
}

function bool(g: Given, flag: string): boolean {
  return goBool(str(g, flag)) ?? false;
}

function dur(g: Given, flag: string): number {
  return goDuration(str(g, flag)) ?? 0;
}

function list(g: Given, flag: string): string[] {
  return str(g, flag)
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

function urls(g: Given, flag: string): URL[] {
  return urlList(flag, str(g, flag));
}

/** The value of a 3.6 flag or of its deprecated experimental name (both at once: etcd's error). */
function resolveExperimental(g: Given, warnings: string[]): void {
  for (const [old, spec] of Object.entries(FLAGS)) {
    if (!isSet(g, old)) continue;
    if (spec.replacedBy !== undefined) {
      const name = spec.replacedBy;
      if (isSet(g, name)) throw new FlagError(old, `cannot set --${old} and --${name} at the same time, please use --${name} only`);
      warnings.push(`--${old} is deprecated in v3.6 and will be decommissioned in v3.7. Use '--${name}' instead.`);
      g.values.set(name, g.values.get(old)!);
      g.set.add(name);
    } else if (spec.gate !== undefined) {
      const gate = spec.gate;
      const v = bool(g, old);
      if (g.gates.has(gate) && g.gates.get(gate) !== v) {
        throw new FlagError(
          old,
          `cannot specify both flags: --${old}=${v} and --feature-gates=${gate}=${g.gates.get(gate)} at the same time, please just use --feature-gates=${gate}=${g.gates.get(gate)}`,
        );
      }
      warnings.push(`--${old} is deprecated in v3.6 and will be decommissioned in v3.7. Use '--feature-gates=${gate}=true' instead.`);
      g.gates.set(gate, v);
    }
  }
}

/** Same value as the default? (parsed by kind, so "0x10" and "16" are the same number) */
function isDefault(spec: FlagSpec, v: string): boolean {
  const d = spec.def ?? '';
  switch (spec.kind) {
    case 'bool':
      return goBool(v) === goBool(d);
    case 'int':
    case 'uint':
    case 'uint32':
      return goInt(v, spec.kind === 'int').value === goInt(d, spec.kind === 'int').value;
    case 'duration':
      return (goDuration(v) ?? 0) === (goDuration(d) ?? 0);
    default:
      return v === d;
  }
}

/** Warnings for accepted-but-not-honoured flags, errors for refused ones (values other than the default). */
function checkStates(g: Given, warnings: string[]): void {
  for (const flag of g.set) {
    const spec = FLAGS[flag]!;
    const v = g.values.get(flag)!;
    if (spec.replacedBy !== undefined || isDefault(spec, v)) continue; // (judged under its 3.6 name)
    if (spec.gate !== undefined && spec.state !== 'refused') continue; // judged as its gate
    if (spec.state === 'refused') throw new FlagError(flag, `--${flag}=${v} is not supported yet by etcd-node: ${spec.note ?? ''}`);
    if (spec.state === 'warn') warnings.push(`--${flag}=${v} is accepted but has no effect in etcd-node: ${spec.note ?? ''}`);
  }
  for (const [gate, on] of g.gates) {
    if (on === FEATURE_GATES[gate]) continue;
    const s = GATE_STATES[gate]!;
    if (s.state === 'refused') throw new FlagError('feature-gates', `--feature-gates=${gate}=${on} is not supported yet by etcd-node: ${s.note}`);
    if (s.state === 'warn') warnings.push(`--feature-gates=${gate}=${on} is accepted but has no effect in etcd-node: ${s.note}`);
  }
  if (g.gates.get('AllAlpha') === true || g.gates.get('AllBeta') === true) {
    // AllAlpha/AllBeta turn on the gates of their stage that are not set explicitly
    for (const gate of ['LeaseCheckpoint', 'LeaseCheckpointPersist']) {
      if (!g.gates.has(gate) && g.gates.get('AllAlpha') === true) {
        throw new FlagError('feature-gates', `--feature-gates=AllAlpha=true turns on ${gate}, which is not supported yet by etcd-node: ${GATE_STATES[gate]!.note}`);
      }
    }
  }
}

export function parseInitialCluster(flag: string, v: string): Map<string, URL[]> {
  const out = new Map<string, URL[]>();
  for (const part of v.split(',').map((s) => s.trim()).filter((s) => s.length > 0)) {
    const eq = part.indexOf('=');
    if (eq <= 0) throw new FlagError(flag, `invalid value "${v}" for flag --${flag}: "${part}" is not name=URL`);
    const name = part.slice(0, eq);
    const u = parseUrl(flag, part.slice(eq + 1));
    out.set(name, [...(out.get(name) ?? []), u]);
  }
  if (out.size === 0) throw new FlagError(flag, `invalid value "${v}" for flag --${flag}: empty`);
  return out;
}

/** periodic retention: a bare number is hours (etcd's rule); otherwise a Go duration like 30m or 1h30m. */
function parseRetention(mode: 'periodic' | 'revision', v: string): number {
  const flag = 'auto-compaction-retention';
  if (/^\d+$/.test(v)) return mode === 'periodic' ? Number(v) * 3_600_000 : Number(v);
  if (mode === 'revision') throw new FlagError(flag, `invalid value "${v}" for flag --${flag}: revision mode needs a number of revisions`);
  const ms = goDuration(v);
  if (ms === undefined || ms < 0) throw new FlagError(flag, `invalid value "${v}" for flag --${flag}: not a duration`);
  return Math.round(ms);
}

/** Go's TLS cipher suite names → OpenSSL's (TLS 1.2 and below; TLS 1.3 suites are not configurable). */
const CIPHER_SUITES: Readonly<Record<string, string>> = {
  TLS_RSA_WITH_AES_128_CBC_SHA: 'AES128-SHA',
  TLS_RSA_WITH_AES_256_CBC_SHA: 'AES256-SHA',
  TLS_RSA_WITH_AES_128_CBC_SHA256: 'AES128-SHA256',
  TLS_RSA_WITH_AES_128_GCM_SHA256: 'AES128-GCM-SHA256',
  TLS_RSA_WITH_AES_256_GCM_SHA384: 'AES256-GCM-SHA384',
  TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA: 'ECDHE-ECDSA-AES128-SHA',
  TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA: 'ECDHE-ECDSA-AES256-SHA',
  TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA: 'ECDHE-RSA-AES128-SHA',
  TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA: 'ECDHE-RSA-AES256-SHA',
  TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256: 'ECDHE-ECDSA-AES128-SHA256',
  TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256: 'ECDHE-RSA-AES128-SHA256',
  TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256: 'ECDHE-RSA-AES128-GCM-SHA256',
  TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256: 'ECDHE-ECDSA-AES128-GCM-SHA256',
  TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384: 'ECDHE-RSA-AES256-GCM-SHA384',
  TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384: 'ECDHE-ECDSA-AES256-GCM-SHA384',
  TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256: 'ECDHE-RSA-CHACHA20-POLY1305',
  TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256: 'ECDHE-ECDSA-CHACHA20-POLY1305',
  TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305: 'ECDHE-RSA-CHACHA20-POLY1305',
  TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305: 'ECDHE-ECDSA-CHACHA20-POLY1305',
};
const GO_ONLY_SUITES = new Set([
  'TLS_RSA_WITH_RC4_128_SHA',
  'TLS_RSA_WITH_3DES_EDE_CBC_SHA',
  'TLS_ECDHE_ECDSA_WITH_RC4_128_SHA',
  'TLS_ECDHE_RSA_WITH_RC4_128_SHA',
  'TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA',
]);
/** Node's (OpenSSL's) TLS 1.3 suites, kept when --cipher-suites limits the TLS 1.2 ones (as Go does). */
const TLS13_SUITES = 'TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256';

function tlsVersion(g: Given, flag: string): 'TLSv1.2' | 'TLSv1.3' | undefined {
  const v = str(g, flag);
  if (v === '') return undefined;
  if (v === 'TLS1.2') return 'TLSv1.2';
  if (v === 'TLS1.3') return 'TLSv1.3';
  throw new FlagError(flag, `unexpected TLS version ${JSON.stringify(v)} (must be one of: TLS1.2, TLS1.3)`);
}

const LOG_LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error', 'panic', 'fatal'];

function buildConfig(g: Given, warnings: string[]): ParsedArgs {
  resolveExperimental(g, warnings);

  const name = str(g, 'name');
  const dataDir = g.values.get('data-dir') ?? `${name}.etcd`;
  if (dataDir.trim() === '') throw new FlagError('data-dir', '--data-dir must not be empty');
  const walDir = str(g, 'wal-dir');
  if (walDir !== '' && walDir === dataDir) throw new FlagError('wal-dir', '--wal-dir must not be the same as --data-dir');

  const heartbeat = num(g, 'heartbeat-interval');
  const election = num(g, 'election-timeout');
  if (heartbeat <= 0) throw new FlagError('heartbeat-interval', `--heartbeat-interval must be >0 (set to ${heartbeat}ms)`);
  if (election <= 0) throw new FlagError('election-timeout', `--election-timeout must be >0 (set to ${election}ms)`);
  if (election < 5 * heartbeat) {
    throw new FlagError('election-timeout', `--election-timeout[${election}ms] should be at least as 5 times as --heartbeat-interval[${heartbeat}ms]`);
  }
  if (election > 50000) {
    throw new FlagError('election-timeout', `--election-timeout[${election}ms] is too long, and should be set less than 50000ms`);
  }

  const state = str(g, 'initial-cluster-state') as 'new' | 'existing';
  const mode = str(g, 'auto-compaction-mode');
  if (mode !== 'periodic' && mode !== 'revision') {
    throw new FlagError('auto-compaction-mode', `unknown auto-compaction-mode ${JSON.stringify(mode)}`);
  }
  const logLevel = str(g, 'log-level') as LogLevel;
  if (!LOG_LEVELS.includes(logLevel)) {
    throw new FlagError('log-level', `invalid value "${logLevel}" for flag --log-level: valid values are ${LOG_LEVELS.join(', ')}`);
  }
  const logger = str(g, 'logger');
  if (logger === 'capnslog') throw new FlagError('logger', '--logger=capnslog is removed in v3.5');
  if (logger !== 'zap') throw new FlagError('logger', `unknown logger option ${JSON.stringify(logger)}`);
  const logFormat = str(g, 'log-format');
  if (logFormat !== 'json' && logFormat !== 'console') throw new FlagError('log-format', `unknown log format: ${logFormat}, supported values json, console`);
  const outputs = list(g, 'log-outputs');
  if (outputs.length === 0) throw new FlagError('log-outputs', '--log-outputs must not be empty');
  if (bool(g, 'enable-log-rotation') && (outputs.length !== 1 || ['stdout', 'stderr', 'default'].includes(outputs[0]!))) {
    throw new FlagError('enable-log-rotation', '--log-outputs requires a single file path when --log-rotate-config-json is defined');
  }
  if (isSet(g, 'log-rotation-config-json')) {
    try {
      JSON.parse(str(g, 'log-rotation-config-json'));
    } catch (err) {
      throw new FlagError('log-rotation-config-json', `improperly formatted log rotation config: ${(err as Error).message}`);
    }
  }
  const logOutputs = outputs.map((o) => (o === 'default' ? 'stderr' : o));

  // bootstrap: one of --initial-cluster, --discovery, --discovery-endpoints, --discovery-srv
  const discoveryEndpoints = str(g, 'discovery-endpoints');
  // (etcd counts --discovery-endpoints when it is given at all, even empty)
  const bootstraps = [isSet(g, 'initial-cluster'), str(g, 'discovery') !== '', isSet(g, 'discovery-endpoints'), str(g, 'discovery-srv') !== ''].filter(Boolean).length;
  if (bootstraps > 1) {
    throw new FlagError('initial-cluster', 'multiple discovery or bootstrap flags are set. Choose one of "initial-cluster", "discovery", "discovery-endpoints" or "discovery-srv"');
  }
  if ((discoveryEndpoints === '') !== (str(g, 'discovery-token') === '')) {
    throw new FlagError('discovery-token', 'both --discovery-token and --discovery-endpoints must be set');
  }
  if (str(g, 'discovery-fallback') === 'proxy') {
    throw new FlagError('discovery-fallback', 'v2 proxy is deprecated, and --discovery-fallback can\'t be configured as "proxy"');
  }

  const listenClientUrls = urls(g, 'listen-client-urls');
  if (isSet(g, 'listen-client-urls') && !isSet(g, 'advertise-client-urls')) {
    throw new FlagError('advertise-client-urls', '--advertise-client-urls is required when --listen-client-urls is set explicitly');
  }
  if (listenClientUrls.length === 0) throw new FlagError('listen-client-urls', 'invalid value "" for flag --listen-client-urls: no URL given', 2);
  const advertiseClientUrls = urls(g, 'advertise-client-urls');
  if (advertiseClientUrls.length === 0) throw new FlagError('advertise-client-urls', '--advertise-client-urls must not be empty');
  const listenPeerUrls = urls(g, 'listen-peer-urls');
  if (listenPeerUrls.length === 0) throw new FlagError('listen-peer-urls', 'invalid value "" for flag --listen-peer-urls: no URL given', 2);
  const peerUrls = urls(g, 'initial-advertise-peer-urls');
  if (peerUrls.length === 0) throw new FlagError('initial-advertise-peer-urls', '--initial-advertise-peer-urls must not be empty');
  const initialCluster = isSet(g, 'initial-cluster')
    ? parseInitialCluster('initial-cluster', str(g, 'initial-cluster'))
    : new Map([[name, peerUrls]]);
  const own = initialCluster.get(name);
  if (state === 'new' && !own) {
    throw new FlagError('initial-cluster', `couldn't find local name "${name}" in the initial cluster configuration`);
  }
  if (own) {
    const a = own.map((u) => u.host).sort().join(',');
    const b = peerUrls.map((u) => u.host).sort().join(',');
    if (a !== b) {
      throw new FlagError(
        'initial-advertise-peer-urls',
        `--initial-cluster has ${name}=${own.map((u) => u.origin).join(',')} but missing from --initial-advertise-peer-urls=${peerUrls.map((u) => u.origin).join(',')}`,
      );
    }
  }

  const authToken = str(g, 'auth-token');
  const tokenType = authToken.split(',')[0];
  if (tokenType === 'jwt') {
    throw new FlagError('auth-token', `--auth-token=${authToken}: jwt tokens are not supported yet by etcd-node; use --auth-token=simple`);
  }
  if (authToken !== 'simple') {
    throw new FlagError('auth-token', `invalid value "${authToken}" for flag --auth-token: unknown token type (valid: simple)`);
  }
  const authTokenTtl = num(g, 'auth-token-ttl');
  if (authTokenTtl < 1) throw new FlagError('auth-token-ttl', `invalid value "${authTokenTtl}" for flag --auth-token-ttl: must be at least 1`);
  const bcryptCost = num(g, 'bcrypt-cost');
  if (bcryptCost < 4 || bcryptCost > 31) throw new FlagError('bcrypt-cost', `invalid bcrypt-cost ${bcryptCost}: valid values are between 4 and 31`);

  // TLS
  const file = (flag: string): string | undefined => (str(g, flag) === '' ? undefined : str(g, flag));
  const minVersion = tlsVersion(g, 'tls-min-version');
  const maxVersion = tlsVersion(g, 'tls-max-version');
  if (minVersion === 'TLSv1.3' && maxVersion === 'TLSv1.2') throw new FlagError('tls-min-version', 'min version (TLS1.3) is greater than max version (TLS1.2)');
  const suites = list(g, 'cipher-suites');
  if (suites.length > 0 && minVersion === 'TLSv1.3') throw new FlagError('cipher-suites', 'cipher suites cannot be configured when only TLS1.3 is enabled');
  for (const s of suites) {
    if (GO_ONLY_SUITES.has(s)) throw new FlagError('cipher-suites', `TLS cipher suite ${JSON.stringify(s)} is not supported yet by etcd-node (Node.js's OpenSSL does not offer RC4 or 3DES)`);
    if (CIPHER_SUITES[s] === undefined) throw new FlagError('cipher-suites', `unexpected TLS cipher suite ${JSON.stringify(s)}`);
  }
  const ciphers = suites.length > 0 ? `${TLS13_SUITES}:${suites.map((s) => CIPHER_SUITES[s]!).join(':')}` : undefined;
  const validityYears = num(g, 'self-signed-cert-validity');
  if (validityYears <= 0 && (bool(g, 'auto-tls') || bool(g, 'peer-auto-tls'))) {
    throw new FlagError('self-signed-cert-validity', 'selfSignedCertValidity is invalid,it should be greater than 0');
  }
  const tls = {
    certFile: file('cert-file'),
    keyFile: file('key-file'),
    trustedCaFile: file('trusted-ca-file'),
    clientCertAuth: bool(g, 'client-cert-auth'),
    crlFile: file('client-crl-file'),
    allowedHostnames: list(g, 'client-cert-allowed-hostname'),
    peerCertFile: file('peer-cert-file'),
    peerKeyFile: file('peer-key-file'),
    peerClientCertFile: file('peer-client-cert-file'),
    peerClientKeyFile: file('peer-client-key-file'),
    peerTrustedCaFile: file('peer-trusted-ca-file'),
    peerClientCertAuth: bool(g, 'peer-client-cert-auth'),
    peerCrlFile: file('peer-crl-file'),
    peerAllowedCn: list(g, 'peer-cert-allowed-cn'),
    peerAllowedHostnames: list(g, 'peer-cert-allowed-hostname'),
    ciphers,
    minVersion,
    maxVersion,
    autoTls: bool(g, 'auto-tls'),
    peerAutoTls: bool(g, 'peer-auto-tls'),
    selfSignedCertValidity: validityYears,
  };
  const pair = (a: string, b: string): void => {
    if ((file(a) === undefined) !== (file(b) === undefined)) throw new FlagError(file(a) === undefined ? a : b, `--${a} and --${b} must be given together`);
  };
  pair('cert-file', 'key-file');
  pair('peer-cert-file', 'peer-key-file');
  pair('peer-client-cert-file', 'peer-client-key-file');
  pair('client-cert-file', 'client-key-file');
  if (tls.clientCertAuth && !tls.trustedCaFile) throw new FlagError('client-cert-auth', '--client-cert-auth needs --trusted-ca-file');
  if (tls.peerClientCertAuth && !tls.peerTrustedCaFile) throw new FlagError('peer-client-cert-auth', '--peer-client-cert-auth needs --peer-trusted-ca-file');
  if (tls.peerAllowedCn.length > 0 && tls.peerAllowedHostnames.length > 0) {
    throw new FlagError('peer-cert-allowed-cn', 'cannot set both --peer-cert-allowed-cn and --peer-cert-allowed-hostname');
  }
  const listenClientHttpUrls = urls(g, 'listen-client-http-urls');
  const listenMetricsUrls = urls(g, 'listen-metrics-urls');
  for (const [flag, list_] of [['listen-client-urls', listenClientUrls], ['listen-client-http-urls', listenClientHttpUrls], ['listen-metrics-urls', listenMetricsUrls]] as const) {
    for (const u of list_) {
      if (u.protocol === 'https:' && !tls.certFile && !tls.autoTls) throw new FlagError(flag, `--${flag} ${u.origin} is https but --cert-file and --key-file are not set`);
    }
  }
  for (const u of listenPeerUrls) {
    if (u.protocol === 'https:' && !tls.peerCertFile && !tls.peerAutoTls) throw new FlagError('listen-peer-urls', `--listen-peer-urls ${u.origin} is https but --peer-cert-file and --peer-key-file are not set`);
  }

  const quota = num(g, 'quota-backend-bytes');
  if (quota < 0) warnings.push(`disabled backend quota (--quota-backend-bytes=${quota})`);
  const maxLearners = num(g, 'max-learners');
  if (maxLearners < 0) throw new FlagError('max-learners', `invalid value "${maxLearners}" for flag --max-learners: must not be negative`);
  const snapshotCount = num(g, 'snapshot-count');
  const watchProgress = dur(g, 'watch-progress-notify-interval');
  if (watchProgress <= 0) throw new FlagError('watch-progress-notify-interval', `--watch-progress-notify-interval must be >0 (set to ${str(g, 'watch-progress-notify-interval')})`);
  const maxStreams = num(g, 'max-concurrent-streams');

  const config: ServerConfig = {
    name,
    dataDir,
    ...(walDir !== '' ? { walDir } : {}),
    listenClientUrls,
    listenClientHttpUrls,
    listenMetricsUrls,
    advertiseClientUrls,
    listenPeerUrls,
    initialAdvertisePeerUrls: peerUrls,
    initialCluster,
    initialClusterState: state,
    initialClusterToken: str(g, 'initial-cluster-token'),
    snapshotCount: snapshotCount === 0 ? 10000 : snapshotCount,
    snapshotCatchUpEntries: Math.max(1, num(g, 'snapshot-catchup-entries')),
    heartbeatInterval: heartbeat,
    electionTimeout: election,
    // etcd: 0 is the default quota, a negative one disables the quota
    quotaBackendBytes: quota === 0 ? DEFAULT_QUOTA_BYTES : quota < 0 ? Number.MAX_SAFE_INTEGER : quota,
    maxRequestBytes: atLeast1(g, 'max-request-bytes'),
    maxTxnOps: atLeast1(g, 'max-txn-ops'),
    maxConcurrentStreams: maxStreams,
    grpcKeepalive: {
      minTimeMs: dur(g, 'grpc-keepalive-min-time'),
      intervalMs: dur(g, 'grpc-keepalive-interval'),
      timeoutMs: dur(g, 'grpc-keepalive-timeout'),
    },
    autoCompactionMode: mode,
    autoCompactionRetention: parseRetention(mode, str(g, 'auto-compaction-retention')),
    maxLearners,
    authTokenTtl,
    watchProgressNotifyInterval: Math.round(watchProgress),
    preVote: bool(g, 'pre-vote'),
    strictReconfigCheck: bool(g, 'strict-reconfig-check'),
    forceNewCluster: bool(g, 'force-new-cluster'),
    enableGrpcGateway: bool(g, 'enable-grpc-gateway'),
    cors: list(g, 'cors'),
    hostWhitelist: list(g, 'host-whitelist'),
    tls,
  };
  // last: etcd's own checks of these values come first (above), then what etcd-node cannot do
  checkStates(g, warnings);
  return { config, logLevel, logOutputs, warnings };
}

export function usage(): string {
  const lines = ['Usage: etcd-node [flags]', '       etcd-node --version', '', 'Flags (each also read from ETCD_<FLAG> in the environment; a repeated flag takes its last value):'];
  let group = '';
  for (const [name, spec] of Object.entries(FLAGS)) {
    if (spec.group !== group) {
      group = spec.group;
      lines.push('', `${group}:`);
    }
    const state = spec.state === 'honoured' ? '' : spec.state === 'noop' ? ` [no effect: ${spec.note}]` : spec.state === 'warn' ? ` [accepted with a warning: ${spec.note}]` : ` [not supported yet: ${spec.note}]`;
    lines.push(`  --${name}${spec.kind === 'bool' ? '' : ` '${spec.def ?? ''}'`}`);
    lines.push(`      ${spec.help}${state}`);
  }
  return lines.join('\n');
}
