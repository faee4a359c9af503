// The one error type of the bbolt reader and writer. `code` says what kind of problem it is so callers
// (the snapshot tools, tests) can tell "not a database at all" from "a database, but damaged"; the
// message names the file and the page and byte offset where the problem is.

export type BboltErrorCode =
  /** the file is not a bbolt database (no valid meta page: wrong magic or version) */
  | 'NOT_BBOLT'
  /** the file ends before the pages its meta says it has */
  | 'TRUNCATED'
  /** no meta page whose checksum matches */
  | 'BAD_CHECKSUM'
  /** a page or element that cannot be what the format says (bad id, flags, bounds, order) */
  | 'CORRUPT'
  /** the caller asked for something the format cannot hold (key order, sizes) */
  | 'INVALID_ARGUMENT'
  /** the reader or writer was used after close/finish */
  | 'CLOSED';

export class BboltError extends Error {
  override readonly name = 'BboltError';

  constructor(
    readonly code: BboltErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** "page 7 (offset 28672)": where a problem is, in the form every message uses. */
export function at(pgid: number, pageSize: number): string {
  return `page ${pgid} (offset ${pgid * pageSize})`;
}
