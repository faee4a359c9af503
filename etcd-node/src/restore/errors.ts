// What a restore (of a snapshot file or of a backup chain) can fail with. The commands print the message
// and exit 1 (2 for BadFlag); callers that decide something check the code, never the message.

export type RestoreErrorCode =
  /** a flag or its combination is wrong */
  | 'BadFlag'
  /** --data-dir already holds something: a restore never writes over data */
  | 'DataDirExists'
  /** the file is not a bbolt database (or not an etcd snapshot) */
  | 'NotASnapshot'
  /** the snapshot's SHA-256 trailer does not match, or is missing without --skip-hash-check */
  | 'HashMismatch'
  /** the target revision or time is outside what the source covers */
  | 'Unreachable'
  /** an object of the chain fails its checks, or the chain has a hole on the way to the target */
  | 'Corrupt'
  /** the object named (--object) is not in the store */
  | 'NotFound';

export class RestoreError extends Error {
  constructor(
    readonly code: RestoreErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'RestoreError';
  }
}
