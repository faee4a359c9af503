// RFC 3339 date-times (section 5.6): a full date, "T" (or "t", or a space, as its note allows), a time
// with optional fractional seconds, and "Z" or a numeric offset. Any offset is accepted and the result is
// the instant (unix ms). Anything else — a date alone, no offset, an impossible day — is refused, since a
// time without an offset names no instant.
export const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

export function parseRfc3339(s: string): number | undefined {
  const m = RFC3339.exec(s);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, sec, frac, off] = m;
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  const hour = Number(h);
  const minute = Number(mi);
  const second = Number(sec);
  if (month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 60) return undefined;
  const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate();
  if (day > daysInMonth) return undefined;
  let offsetMin = 0;
  if (off !== 'Z' && off !== 'z') {
    const oh = Number(off!.slice(1, 3));
    const om = Number(off!.slice(4, 6));
    if (oh > 23 || om > 59) return undefined;
    offsetMin = (off![0] === '-' ? -1 : 1) * (oh * 60 + om);
  }
  const ms = frac ? Math.floor(Number(`0${frac}`) * 1000) : 0;
  // a leap second (:60) is the instant after :59.999
  return Date.UTC(year, month - 1, day, hour, minute, Math.min(second, 59), ms) + (second === 60 ? 1000 : 0) - offsetMin * 60_000;
}
