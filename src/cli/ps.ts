// `hako ps`: the sandboxes running on this host, from the runtime's state files, with their VM and containers.
import { Command } from "@commander-js/extra-typings";
import { procStats } from "../metrics/proc-stats.js";
import { type SandboxEntry, scanSandboxes, type UnreadableSandbox } from "./sandboxes.js";

export interface PsRow {
  id: string;
  namespace: string;
  /** unreadable: the state file could not be read (`error` says why); the other fields are then unknown. */
  status: "running" | "stale" | "unreadable";
  created: string;
  vmPid: number | null;
  accelerator: string | null;
  vcpus: number | null;
  memoryMiB: number | null;
  /** `boot`, or `template` when the VM was restored from a VM template (`hako factory`); null when not recorded. */
  start: "boot" | "template" | null;
  /** The template's key when restored from one. */
  template: string | null;
  /** Host memory the VM process uses now (RSS, MiB). */
  vmRssMiB: number | null;
  containers: { id: string; status: string }[];
  error?: string;
}

export function psRow(e: SandboxEntry): PsRow {
  const s = e.state;
  const vm = s.vm;
  const stats = vm && !e.stale ? procStats(vm.pid) : undefined;
  return {
    id: s.id,
    namespace: s.namespace,
    status: e.stale ? "stale" : "running",
    created: s.createdAt,
    vmPid: vm?.pid ?? null,
    accelerator: vm?.accelerator ?? null,
    vcpus: vm?.vcpus ?? null,
    memoryMiB: vm?.memoryMiB ?? null,
    start: vm?.start?.kind ?? null,
    template: vm?.start?.kind === "template" ? vm.start.template : null,
    vmRssMiB: stats ? Math.round(stats.residentBytes / 1048576) : null,
    containers: s.containers.map((c) => ({ id: c.id, status: c.status })),
  };
}

export function unreadableRow(u: UnreadableSandbox): PsRow {
  return {
    id: u.id,
    namespace: "-",
    status: "unreadable",
    created: "-",
    vmPid: null,
    accelerator: null,
    vcpus: null,
    memoryMiB: null,
    start: null,
    template: null,
    vmRssMiB: null,
    containers: [],
    error: u.err.message,
  };
}

export function renderPs(rows: PsRow[]): string {
  const table: string[][] = [
    ["SANDBOX", "NAMESPACE", "STATUS", "VM PID", "START", "ACCEL", "VCPUS", "MEMORY", "HOST RSS", "CONTAINERS"],
  ];
  for (const r of rows) {
    table.push([
      r.id.length > 24 ? `${r.id.slice(0, 24)}…` : r.id,
      r.namespace,
      r.status,
      r.vmPid === null ? "-" : String(r.vmPid),
      r.start ?? "-",
      r.accelerator ?? "-",
      r.vcpus === null ? "-" : String(r.vcpus),
      r.memoryMiB === null ? "-" : `${r.memoryMiB} MiB`,
      r.vmRssMiB === null ? "-" : `${r.vmRssMiB} MiB`,
      r.containers.map((c) => `${c.id}(${c.status})`).join(",") || "-",
    ]);
  }
  const widths = table[0]?.map((_, i) => Math.max(...table.map((row) => row[i]?.length ?? 0))) ?? [];
  return `${table
    .map((row) =>
      row
        .map((c, i) => c.padEnd(widths[i] ?? 0))
        .join("  ")
        .trimEnd(),
    )
    .join("\n")}\n`;
}

export function psCommand() {
  return new Command("ps")
    .description("list the sandboxes on this host with their VM and containers")
    .option("--json", "print as JSON", false)
    .option("-q, --quiet", "print sandbox ids only", false)
    .action(async (opts) => {
      const { sandboxes, unreadable } = await scanSandboxes();
      const rows = [...sandboxes.map(psRow), ...unreadable.map(unreadableRow)];
      if (opts.json) process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
      else if (opts.quiet) process.stdout.write(rows.map((r) => `${r.id}\n`).join(""));
      else process.stdout.write(renderPs(rows));
    });
}
