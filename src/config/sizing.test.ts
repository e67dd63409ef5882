// Unit specs for static sandbox sizing from CRI annotations or the container's own resources.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { OciSpec } from "../oci/spec.js";
import { DEFAULT_MEMORY_MIB, defaultConfig } from "./defaults.js";
import { sandboxSizing } from "./sizing.js";

const spec = (extra: Partial<OciSpec>): OciSpec => ({ ociVersion: "1.0.2", ...extra });
const MiB = 1024 * 1024;

describe("sandboxSizing", () => {
  it("uses the defaults when nothing is asked", () => {
    assert.deepEqual(sandboxSizing(defaultConfig(), spec({})), { vcpus: 1, memoryMiB: DEFAULT_MEMORY_MIB });
  });
  it("adds CRI sandbox annotations: ceil(quota/period) vCPUs and the memory limit", () => {
    const s = spec({
      annotations: {
        "io.kubernetes.cri.sandbox-cpu-quota": "150000",
        "io.kubernetes.cri.sandbox-cpu-period": "100000",
        "io.kubernetes.cri.sandbox-memory": String(256 * MiB),
      },
    });
    assert.deepEqual(sandboxSizing(defaultConfig(), s), { vcpus: 3, memoryMiB: DEFAULT_MEMORY_MIB + 256 });
  });
  it("falls back to linux.resources", () => {
    const s = spec({
      linux: { resources: { cpu: { quota: 50000, period: 100000 }, memory: { limit: 100 * MiB + 1 } } },
    });
    assert.deepEqual(sandboxSizing(defaultConfig(), s), { vcpus: 2, memoryMiB: DEFAULT_MEMORY_MIB + 101 });
  });
  it("ignores unlimited quotas (-1) and caps at default_maxvcpus", () => {
    const c = defaultConfig();
    c.hypervisor.qemu.defaultMaxVcpus = 2;
    const s = spec({ linux: { resources: { cpu: { quota: -1, period: 100000 } } } });
    assert.equal(sandboxSizing(c, s).vcpus, 1);
    const big = spec({ linux: { resources: { cpu: { quota: 800000, period: 100000 } } } });
    assert.equal(sandboxSizing(c, big).vcpus, 2);
  });
  it("does nothing when static_sandbox_resource_mgmt is off", () => {
    const c = defaultConfig();
    c.runtime.staticSandboxResourceMgmt = false;
    const s = spec({ annotations: { "io.kubernetes.cri.sandbox-memory": String(512 * MiB) } });
    assert.deepEqual(sandboxSizing(c, s), { vcpus: 1, memoryMiB: DEFAULT_MEMORY_MIB });
  });
});
