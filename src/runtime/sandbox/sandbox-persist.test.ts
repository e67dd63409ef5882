// Unit spec for the sandbox state's record of how its VM started (booted, or restored from a VM template), which
// `hako ps` shows.
import assert from "node:assert/strict";
import { test } from "node:test";
import type { PersistedVm, Vm } from "../../hypervisor/hypervisor.js";
import { sandboxPaths } from "../layout.js";
import { type SandboxFacts, sandboxState } from "./sandbox-persist.js";

function facts(fromTemplate: string | undefined): SandboxFacts {
  const vm = {
    pid: 42,
    accelerator: "tcg",
    consoleLogPath: "/run/hako/s1/console.log",
    fromTemplate,
    persistable: () => ({}) as PersistedVm,
  } as unknown as Vm;
  const size = { vcpus: 1, memoryMiB: 512 };
  return {
    id: "s1",
    namespace: "default",
    startedAt: new Date(0),
    paths: sandboxPaths("s1", "/run/hako"),
    vm,
    size,
    bootSize: size,
    hotplug: false,
    metricsSocket: undefined,
    containers: [],
    limitsOf: () => undefined,
    leftoverMounts: [],
    phases: {},
  };
}

test("a booted VM is recorded as booted, a clone with its template's key", () => {
  assert.deepEqual(sandboxState(facts(undefined)).vm?.start, { kind: "boot" });
  assert.deepEqual(sandboxState(facts("ab12")).vm?.start, { kind: "template", template: "ab12" });
});
