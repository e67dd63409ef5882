// Unit specs for bench/report.ts: table padding, and a section that could not run.
import assert from "node:assert/strict";
import { test } from "node:test";
import type { BenchResult } from "./main.js";
import { DAEMON_COLUMNS, MEMORY_COLUMNS, renderMarkdown, table } from "./report.js";

test("tables are padded the way the formatter prints them", () => {
  assert.deepEqual(table(["", "PSS"], [["hako", "12 MiB"]]), [
    "|      | PSS    |",
    "| ---- | ------ |",
    "| hako | 12 MiB |",
  ]);
});

test("a section that could not run says why; the others still render", () => {
  const r: BenchResult = {
    startedAt: "2026-01-01T00:00:00.000Z",
    runs: 1,
    host: { kernel: "6.1", cpus: 2, accelerator: "tcg", accelReason: "no /dev/kvm", guestKernel: "/k", qemu: "/q" },
    startLatency: {
      available: true,
      value: {
        hako: { samplesMs: [2000], medianMs: 2000, minMs: 2000, failures: [] },
        hakoTemplate: null,
        runc: { samplesMs: [100], medianMs: 100, minMs: 100, failures: [] },
        rawVm: { samplesMs: [1600], medianMs: 1600, minMs: 1600, failures: [] },
        rawVmDebian: { samplesMs: [1800], medianMs: 1800, minMs: 1800, failures: [] },
        ratios: {
          hakoOverRawVm: 1.25,
          hakoOverRunc: 20,
          rawVmOverRunc: 16,
          hakoOverRawDebian: 1.11,
          templateOverRawDebian: null,
          rawVmOverRawDebian: 0.89,
        },
        phasesMs: { "vm-started": 100, "agent-ready": 1500 },
        templatePhasesMs: null,
      },
    },
    memory: { available: false, reason: "hako could not start a detached sandbox: boom" },
    virtiofs: { available: false, reason: "skipped (--skip)" },
    network: {
      available: true,
      value: {
        payloadMiB: 64,
        hako: { throughputMBps: 40, rttMs: 1.2 },
        runc: { throughputMBps: 2000, rttMs: 0.05 },
        ratios: { throughputHakoOverRunc: 0.02, rttHakoOverRunc: 24 },
        start: {
          withNetworkMs: 4600,
          withoutNetworkMs: 4400,
          addedMs: 200,
          wireMs: 60,
          guestConfigMs: 90,
          withNetworkTemplateMs: 1700,
          templateClones: 3,
          templateRuns: 3,
        },
      },
    },
  };
  const md = renderMarkdown(r);
  assert.match(md, /^\| hako, booting its VM \(cold\) +\| 2\.00 s \| 2\.00 s \| 1\/1 +\|$/m);
  assert.match(md, /hako cold \*\*1\.11×\*\* \(target ≤ 2\.0×\)/);
  assert.match(md, /not available: hako could not start a detached sandbox: boom/);
  assert.match(md, /not available: skipped \(--skip\)/);
  assert.match(
    md,
    /^\| agent-ready +\| 1500 +\|$/m,
    "phases from the shim's log; the columns no run filled are left out",
  );
  assert.match(md, /^\| phase +\| cold, `ctr run --rm` \(shim log\) +\|$/m);
  assert.match(md, /^\| TCP, container → host \(HTTP GETs of 64 MiB\) +\| 40 MB\/s +\| 2000 MB\/s +\| 0\.02× +\|$/m);
  assert.match(md, /^\| added by networking +\| 200 ms +\|$/m);
  assert.match(
    md,
    /^\| in a CNI pod netns, VM restored from the template \(NIC hot-plugged; clones: 3 of 3\) +\| 1\.70 s +\|$/m,
  );
  assert.ok(md.endsWith("\n") && !md.endsWith("\n\n"), "one final newline");
});

test("memory per pod is shown with and without TCG's translation cache, booted and from the template", () => {
  const memory: BenchResult["memory"] = {
    available: true,
    value: {
      single: {
        hakoMiB: 250,
        runcMiB: 13,
        detail: {
          id: "a",
          totalMiB: 250,
          tcgMiB: 64,
          shimMiB: 21,
          processes: [{ pid: 1, command: "qemu", pssMiB: 215 }],
        },
      },
      byCount: {
        cold: [{ pods: 10, perPodMiB: 168, totalMiB: 1680, tcgPerPodMiB: 63.9, shimPerPodMiB: 20.4, startMs: 1912 }],
        template: [{ pods: 10, perPodMiB: 145.5, totalMiB: 1455, tcgPerPodMiB: 50.2, shimPerPodMiB: 19.8 }],
      },
      phasesMs: null,
      ctrRunDetachedMs: null,
    },
  };
  const skipped = { available: false as const, reason: "skipped (--skip)" };
  const md = renderMarkdown({
    startedAt: "2026-01-01T00:00:00.000Z",
    runs: 1,
    host: { kernel: "6.1", cpus: 2, accelerator: "tcg", accelReason: "", guestKernel: "/k", qemu: "/q" },
    startLatency: skipped,
    memory,
    virtiofs: skipped,
    network: skipped,
  });
  const cells = (line: string) => line.split("|").map((c) => c.trim());
  const header = md.split("\n").find((l) => l.startsWith("| idle pods"));
  const row = md.split("\n").find((l) => l.startsWith("| 10 "));
  assert.ok(header && row, md);
  assert.deepEqual(cells(header).slice(1, -1), [...MEMORY_COLUMNS]);
  assert.deepEqual(cells(row).slice(1, -1), [
    "10",
    "168 MiB",
    "63.9 MiB",
    "104.1 MiB",
    "145.5 MiB",
    "50.2 MiB",
    "95.3 MiB",
    "1680 MiB",
    "1455 MiB",
  ]);
  const daemonHeader = md.split("\n").findIndex((l) => l.startsWith("| idle pods | shim per pod"));
  assert.ok(daemonHeader > 0, md);
  assert.deepEqual(cells(md.split("\n")[daemonHeader] ?? "").slice(1, -1), [...DAEMON_COLUMNS]);
  assert.deepEqual(cells(md.split("\n")[daemonHeader + 2] ?? "").slice(1, -1), [
    "10",
    "20.4 MiB",
    "19.8 MiB",
    "1.91 s",
    "–",
  ]);
});
