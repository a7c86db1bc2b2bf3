/**
 * Reads a process tree's CPU time, memory and open descriptors from /proc, as a hub under test
 * sees them: the root and every descendant (nginx's workers, a hub's workers).
 */
import { readdirSync, readFileSync } from "node:fs";

/** Clock ticks per second of /proc/<pid>/stat (USER_HZ, 100 on Linux). */
const TICKS_PER_SECOND = 100;

export interface ProcSample {
  /**
   * CPU time of the tree's live threads so far (µs), from the scheduler's own clock
   * (/proc/<pid>/task/<tid>/schedstat, in nanoseconds) rather than the 10 ms ticks of
   * /proc/<pid>/stat, which are too coarse for a phase of a few seconds at a few hundred events
   * a second. Includes the kernel's work on the hub's behalf (its write(2) calls) and V8's
   * compiler and collector threads.
   */
  readonly cpuMicros: number;
  /**
   * Time the main thread of each process of the tree was ready to run but waited for a core (µs),
   * from the same schedstat: other processes on its core, or its own helper threads (V8's
   * collector and compiler, pinned with it). Well above what a quiet machine shows, it says other
   * work lowered the figures.
   */
  readonly waitMicros: number;
  /** The same from utime + stime (tick-sampled), kept as a cross-check. */
  readonly tickCpuMicros: number;
  /** Resident memory of the tree (bytes). */
  readonly rssBytes: number;
  readonly fds: number;
  /** write(2)-family system calls of the tree so far, from /proc/<pid>/io. */
  readonly writeCalls: number;
}

/** The pid and its descendants, read from /proc/<pid>/task/<tid>/children. */
export function processTree(root: number): number[] {
  const pids = [root];
  for (let i = 0; i < pids.length; i++) {
    for (const task of safe(() => readdirSync(`/proc/${pids[i]}/task`), [])) {
      const children = safe(() => readFileSync(`/proc/${pids[i]}/task/${task}/children`, "utf8"), "");
      for (const child of children.split(" ")) if (child.trim() !== "") pids.push(Number(child));
    }
  }
  return pids;
}

export function sample(root: number): ProcSample {
  let cpuTicks = 0;
  let runNanos = 0;
  let waitNanos = 0;
  let rssKiB = 0;
  let fds = 0;
  let writeCalls = 0;
  for (const pid of processTree(root)) {
    const stat = safe(() => readFileSync(`/proc/${pid}/stat`, "utf8"), "");
    // Fields after the command name (which may hold spaces), from field 3 on.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    cpuTicks += Number(fields[11] ?? 0) + Number(fields[12] ?? 0);
    for (const task of safe(() => readdirSync(`/proc/${pid}/task`), [])) {
      const schedstat = safe(() => readFileSync(`/proc/${pid}/task/${task}/schedstat`, "utf8"), "0");
      const [run, wait] = schedstat.split(" ");
      runNanos += Number(run);
      // The main thread only: V8's helper threads share its core and wait for it too.
      if (task === String(pid)) waitNanos += Number(wait ?? 0);
    }
    const status = safe(() => readFileSync(`/proc/${pid}/status`, "utf8"), "");
    rssKiB += Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
    fds += safe(() => readdirSync(`/proc/${pid}/fd`).length, 0);
    const io = safe(() => readFileSync(`/proc/${pid}/io`, "utf8"), "");
    writeCalls += Number(/syscw:\s+(\d+)/.exec(io)?.[1] ?? 0);
  }
  return {
    cpuMicros: runNanos / 1000,
    waitMicros: waitNanos / 1000,
    tickCpuMicros: (cpuTicks * 1e6) / TICKS_PER_SECOND,
    rssBytes: rssKiB * 1024,
    fds,
    writeCalls,
  };
}

/** The sum of several process trees' samples (a cluster's nodes and its Redis), and how many processes. */
export function sampleAll(roots: readonly number[]): ProcSample & { readonly processes: number } {
  const samples = roots.map(sample);
  const total = (field: keyof ProcSample) => samples.reduce((sum, each) => sum + each[field], 0);
  return {
    cpuMicros: total("cpuMicros"),
    waitMicros: total("waitMicros"),
    tickCpuMicros: total("tickCpuMicros"),
    rssBytes: total("rssBytes"),
    fds: total("fds"),
    writeCalls: total("writeCalls"),
    processes: roots.reduce((sum, root) => sum + processTree(root).length, 0),
  };
}

/** Samples once a second until stopped; `peakRssBytes` is the highest RSS seen. */
export function sampleEverySecond(root: number): { stop(): { samples: ProcSample[]; peakRssBytes: number } } {
  const samples = [sample(root)];
  const timer = setInterval(() => samples.push(sample(root)), 1000);
  return {
    stop() {
      clearInterval(timer);
      samples.push(sample(root));
      return { samples, peakRssBytes: Math.max(...samples.map((s) => s.rssBytes)) };
    },
  };
}

function safe<T>(read: () => T, fallback: T): T {
  try {
    return read();
  } catch {
    return fallback; // the process (or thread) ended between listing and reading
  }
}
