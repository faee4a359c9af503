// CPU time and resident memory of server processes, read from /proc. The figures are summed over all
// members of a cluster, so a 3-member server is charged for all the work it does, not only the member
// the load reaches.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

// Clock ticks per second for utime/stime in /proc/<pid>/stat; almost always 100, but asked once so a
// kernel configured otherwise is not misread.
let ticksPerSecond: number | undefined;
function clockTicks(): number {
  if (ticksPerSecond === undefined) {
    try {
      ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

/** User + system CPU seconds a process has used so far (0 once it is gone). */
export function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // the command name (field 2) may contain spaces: the fixed fields start after its closing parenthesis
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // fields[0] is field 3 (state); utime and stime are fields 14 and 15
    return (Number(fields[11]) + Number(fields[12])) / clockTicks();
  } catch {
    return 0;
  }
}

/** Resident set size in MiB (0 once the process is gone). */
export function rssMiB(pid: number): number {
  try {
    const kb = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return Number(kb ?? 0) / 1024;
  } catch {
    return 0;
  }
}

/** A CPU reading over several processes; `stop()` gives the cores used on average since `start`. */
export function cpuMeter(pids: readonly number[]): { stop(): number } {
  const cpu0 = pids.reduce((s, p) => s + cpuSeconds(p), 0);
  const t0 = performance.now();
  return {
    stop(): number {
      const wall = (performance.now() - t0) / 1000;
      const used = pids.reduce((s, p) => s + cpuSeconds(p), 0) - cpu0;
      return wall > 0 ? used / wall : 0;
    },
  };
}

export const totalRssMiB = (pids: readonly number[]): number => pids.reduce((s, p) => s + rssMiB(p), 0);
