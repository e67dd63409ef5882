// The Prometheus metrics of one sandbox: host CPU and memory of its shim, VMM and share daemon (from /proc), plus
// the figures the agent reports from inside the guest. Every sample carries `sandbox_id`, so the expositions of
// many sandboxes can be concatenated by `hako monitor`.
import { Counter, Gauge, Registry } from "prom-client";
import { Code, HakoError } from "../common/errors.js";
import { childrenOf, type ProcStats, procStats } from "./proc-stats.js";
import { addLabel, mergeExpositions } from "./prom-text.js";

export interface SandboxProcesses {
  shim?: number;
  vmm?: number;
  share?: number;
}

export interface SandboxMetricsOptions {
  sandboxId: string;
  /** Current pids; asked at every scrape, since the VM may restart or be gone. */
  processes: () => SandboxProcesses;
  /** The agent's Prometheus text (AgentApi.getMetrics); omitted where no agent is reachable. */
  guestMetrics?: () => Promise<string>;
  guestTimeoutMs?: number;
  /** Constant labels for hako_sandbox_info (accelerator, vcpus, memory…). */
  info?: Record<string, string>;
}

/** pid and its descendants: virtiofsd serves from a child it forks into its sandbox. */
function withChildren(pid: number): number[] {
  return [pid, ...childrenOf(pid).flatMap(withChildren)];
}

function componentStats(processes: SandboxProcesses): Map<string, ProcStats[]> {
  const out = new Map<string, ProcStats[]>();
  for (const [component, pid] of Object.entries(processes) as [string, number | undefined][]) {
    if (pid === undefined) continue;
    const pids = component === "share" ? withChildren(pid) : [pid];
    const stats = pids.map((p) => procStats(p)).filter((s): s is ProcStats => s !== undefined);
    if (stats.length > 0) out.set(component, stats);
  }
  return out;
}

const sum = (list: ProcStats[], f: (s: ProcStats) => number | null) => list.reduce((a, s) => a + (f(s) ?? 0), 0);

export class SandboxMetrics {
  readonly registry = new Registry();

  constructor(private readonly options: SandboxMetricsOptions) {
    const labelNames = ["component"] as const;
    const opts = options;
    let snapshot = new Map<string, ProcStats[]>();
    const refresh = () => {
      snapshot = componentStats(opts.processes());
    };
    const registers = [this.registry];
    // The first collector refreshes the snapshot; prom-client runs collectors in registration order.
    new Gauge({
      name: "hako_host_process_up",
      help: "1 when the sandbox's host process (shim, vmm, share daemon) is running",
      labelNames,
      registers,
      collect() {
        refresh();
        this.reset();
        for (const c of ["shim", "vmm", "share"]) {
          if (opts.processes()[c as keyof SandboxProcesses] !== undefined)
            this.set({ component: c }, snapshot.has(c) ? 1 : 0);
        }
      },
    });
    new Counter({
      name: "hako_host_process_cpu_seconds_total",
      help: "CPU time (user + system) the sandbox's host processes used",
      labelNames: ["component", "mode"] as const,
      registers,
      collect() {
        this.reset();
        for (const [c, list] of snapshot) {
          this.inc(
            { component: c, mode: "user" },
            sum(list, (s) => s.cpuUserSeconds),
          );
          this.inc(
            { component: c, mode: "system" },
            sum(list, (s) => s.cpuSystemSeconds),
          );
        }
      },
    });
    const gauge = (name: string, help: string, f: (s: ProcStats) => number | null) =>
      new Gauge({
        name,
        help,
        labelNames,
        registers,
        collect() {
          this.reset();
          for (const [c, list] of snapshot) this.set({ component: c }, sum(list, f));
        },
      });
    gauge(
      "hako_host_process_resident_memory_bytes",
      "resident set size of the sandbox's host processes",
      (s) => s.residentBytes,
    );
    gauge("hako_host_process_pss_bytes", "proportional set size (shared pages divided among users)", (s) => s.pssBytes);
    gauge("hako_host_process_threads", "threads of the sandbox's host processes", (s) => s.threads);
    gauge("hako_host_process_open_fds", "open file descriptors of the sandbox's host processes", (s) => s.openFds);
    if (options.info) {
      const info = options.info;
      new Gauge({
        name: "hako_sandbox_info",
        help: "constant 1, with the sandbox's settings as labels",
        labelNames: Object.keys(info),
        registers,
        collect() {
          this.set(info, 1);
        },
      });
    }
  }

  /** The full exposition: host figures from the registry, then the guest's, all labelled with sandbox_id. */
  async metrics(): Promise<string> {
    const host = await this.registry.metrics();
    const guest = await this.guest();
    return addLabel(mergeExpositions([host, guest]), "sandbox_id", this.options.sandboxId);
  }

  private async guest(): Promise<string> {
    const fetch = this.options.guestMetrics;
    if (!fetch) return "";
    const up = (v: 0 | 1) =>
      `# HELP hako_guest_metrics_up 1 when the agent answered GetMetrics\n# TYPE hako_guest_metrics_up gauge\nhako_guest_metrics_up ${v}\n`;
    let timer: NodeJS.Timeout | undefined;
    try {
      const ms = this.options.guestTimeoutMs ?? 3_000;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new HakoError(Code.DeadlineExceeded, `guest metrics: no answer within ${ms} ms`)),
          ms,
        );
      });
      const text = await Promise.race([fetch(), timeout]);
      return `${up(1)}${text}`;
    } catch {
      return up(0);
    } finally {
      if (timer) clearTimeout(timer);
    }
  }
}
