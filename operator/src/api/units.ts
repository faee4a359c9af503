// The units specs are written in: Go's duration syntax (10s, 1m30s, 500ms, 2h, as CEL's duration()
// reads them) and Kubernetes' byte quantities (8Mi, 1G, 1048576).
const DURATION_UNITS: Record<string, number> = { ns: 1e-6, us: 1e-3, 'µs': 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Milliseconds of a duration such as `1m30s`; throws on anything else. */
export function parseDuration(s: string): number {
  const re = /([0-9]+(?:\.[0-9]+)?)(ns|us|µs|ms|s|m|h)/gy;
  let ms = 0;
  let at = 0;
  for (let m = re.exec(s); m; m = re.exec(s)) {
    ms += Number(m[1]) * DURATION_UNITS[m[2]!]!;
    at = re.lastIndex;
  }
  if (s.length === 0 || at !== s.length) throw new Error(`"${s}" is not a duration (e.g. 10s, 1m30s, 2h)`);
  return ms;
}

const QUANTITY_UNITS: Record<string, number> = { '': 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18, Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3, Ti: 1024 ** 4, Pi: 1024 ** 5, Ei: 1024 ** 6 };

/** Bytes of a quantity such as `8Mi` (or `1e9`); throws on anything else. */
export function parseBytes(s: string): number {
  const m = /^([0-9]+(?:\.[0-9]+)?)(?:(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E)|e([0-9]+))?$/.exec(s);
  if (!m) throw new Error(`"${s}" is not a quantity of bytes (e.g. 8Mi)`);
  const scale = m[3] !== undefined ? 10 ** Number(m[3]) : QUANTITY_UNITS[m[2] ?? '']!;
  return Math.round(Number(m[1]) * scale);
}
