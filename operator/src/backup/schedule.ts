// Full-snapshot schedules: a standard cron expression (5 fields: minute hour day-of-month month
// day-of-week, or a macro such as @hourly), in a time zone (UTC unless given), parsed by cron-parser.
import { CronExpressionParser } from 'cron-parser';
import { SCHEDULE_PATTERN } from '../api/etcd-backup.js';


export class ScheduleError extends Error {
  readonly code = 'InvalidSchedule';
  constructor(message: string) {
    super(message);
    this.name = 'ScheduleError';
  }
}

export interface FullSchedule {
  readonly expression: string;
  readonly timeZone: string;
  /** the first time strictly after `after` (unix ms) */
  next(after: number): number;
}

export function parseSchedule(expression: string, timeZone = 'UTC'): FullSchedule {
  if (!new RegExp(SCHEDULE_PATTERN).test(expression.trim())) {
    throw new ScheduleError(`schedule "${expression}": expected 5 fields (minute hour day-of-month month day-of-week) or a macro such as @hourly`);
  }
  try {
    new Intl.DateTimeFormat('en-US', { timeZone });
  } catch {
    throw new ScheduleError(`timeZone "${timeZone}": not a time zone (e.g. UTC, Europe/Berlin)`);
  }
  const parse = (after: number): number => CronExpressionParser.parse(expression.trim(), { currentDate: new Date(after), tz: timeZone }).next().getTime();
  try {
    parse(Date.now());
  } catch (err) {
    throw new ScheduleError(`schedule "${expression}": ${err instanceof Error ? err.message : String(err)}`);
  }
  return { expression, timeZone, next: parse };
}
