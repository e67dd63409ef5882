// Unit specs for bench/svg.ts: one dot per start sample, the medians labelled, memory points and the target drawn.
import assert from "node:assert/strict";
import { test } from "node:test";
import type { BenchResult } from "./main.js";
import { renderSvg } from "./svg.js";

const samples = (ms: number[]) => ({
  samplesMs: ms,
  medianMs: ms[Math.floor(ms.length / 2)] ?? null,
  minMs: null,
  failures: [],
});

test("the SVG has a dot per start sample, each median labelled, and memory per pod against the target", () => {
  const r = {
    startedAt: "2026-01-01T00:00:00.000Z",
    runs: 3,
    host: { kernel: "6.1", cpus: 2, accelerator: "tcg", accelReason: "", guestKernel: "/k", qemu: "/q" },
    startLatency: {
      available: true,
      value: {
        hako: samples([3600, 3700, 3800]),
        hakoTemplate: samples([1400, 1450, 1500]),
        runc: samples([80, 90, 100]),
        rawVm: samples([800, 840, 900]),
        rawVmDebian: samples([1100, 1150, 1200]),
      },
    },
    memory: {
      available: true,
      value: {
        byCount: {
          cold: [
            { pods: 1, perPodMiB: 268, totalMiB: 268 },
            { pods: 10, perPodMiB: 194, totalMiB: 1940 },
          ],
          template: [{ pods: 1, perPodMiB: 265, totalMiB: 265 }],
        },
      },
    },
  } as unknown as BenchResult;
  const svg = renderSvg(r);
  assert.ok(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"'));
  assert.equal((svg.match(/fill-opacity="0.6"/g) ?? []).length, 15, "one dot per start sample");
  for (const label of ["3.70 s", "1.45 s", "0.09 s", "0.84 s", "1.15 s", "target 100 MB", ">194<", ">265<"]) {
    assert.ok(svg.includes(label), `${label} drawn`);
  }
});

test("memory less TCG's translation cache is drawn dashed beside each kind of start, and not without the figure", () => {
  const withCache = (tcg: number | undefined) =>
    ({
      startedAt: "2026-01-01T00:00:00.000Z",
      runs: 1,
      host: { kernel: "6.1", cpus: 2, accelerator: "tcg", accelReason: "", guestKernel: "/k", qemu: "/q" },
      startLatency: { available: false, reason: "skipped" },
      memory: {
        available: true,
        value: {
          byCount: {
            cold: [{ pods: 10, perPodMiB: 168, totalMiB: 1680, ...(tcg ? { tcgPerPodMiB: tcg } : {}) }],
            template: [{ pods: 10, perPodMiB: 145, totalMiB: 1450, ...(tcg ? { tcgPerPodMiB: tcg - 14 } : {}) }],
          },
        },
      },
    }) as unknown as BenchResult;
  const svg = renderSvg(withCache(64));
  assert.equal((svg.match(/stroke-dasharray="6,3"/g) ?? []).length, 2);
  for (const label of ["cold, less TCG's cache", "template, less TCG's cache", ">104<", ">95<"]) {
    assert.ok(svg.includes(label), `${label} drawn`);
  }
  assert.ok(!renderSvg(withCache(undefined)).includes("less TCG"), "no dashed curve without the cache's figure");
});
