// Task Update end to end: ctr 1.6 has no `task update`, so the test calls the running shim's Task service itself
// (over its real socket, as containerd would) and checks the guest: the VM grew by hot-plug (not statically sized)
// and the container's cgroup carries the new limits.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { Task } from "../../src/proto/gen/containerd/task/v2/shim_pb.js";
import { shimSocketPath } from "../../src/shim/address.js";
import { createClient, TtrpcClient } from "../../src/ttrpc/index.js";
import { type Containerd, HAKO_RUNTIME, startContainerdWithBusybox } from "../helpers/containerd.js";

const id = "shim-update";
const MiB = 1024 * 1024;

describe("Task Update through the shim", () => {
  let containerd: Containerd;
  let image: string;
  let dir: string;

  before(async () => {
    ({ containerd, image } = await startContainerdWithBusybox());
    dir = mkdtempSync(join(tmpdir(), "hako-update-"));
  });

  after(async () => {
    const { leaked } = await containerd.stop();
    rmSync(dir, { recursive: true, force: true });
    assert.deepEqual(leaked, []);
  });

  const exec = async (n: number, script: string) => {
    const r = await containerd.ctr(["task", "exec", "--exec-id", `u${n}`, id, "sh", "-c", script]);
    assert.equal(r.code, 0, r.stderr);
    return r.stdout.trim();
  };

  test("resources reach the guest cgroup and the VM grows by vCPU and memory hot-plug, vCPUs up to maxcpus", async () => {
    const config = join(dir, "configuration.toml");
    // maxcpus 2 whatever the host has: the VM boots with 1 and has room for one more.
    writeFileSync(config, "[hypervisor.qemu]\ndefault_maxvcpus = 2\n[runtime]\nstatic_sandbox_resource_mgmt = false\n");
    const started = await containerd.runDetached(HAKO_RUNTIME, image, id, ["sleep", "1000"], {
      extra: [
        "--runtime-config-path",
        config,
        "--mount",
        "type=cgroup,src=cgroup,dst=/sys/fs/cgroup,options=ro:nosuid:noexec:nodev",
      ],
      timeoutMs: 120_000,
    });
    assert.equal(started.code, 0, started.stderr);
    const cpusBefore = Number(await exec(1, "nproc"));
    const memBefore = Number(await exec(2, "awk '/MemTotal/ {print $2}' /proc/meminfo"));

    const socket = connect(shimSocketPath(containerd.address, containerd.namespace, id));
    await new Promise((resolve, reject) => socket.once("connect", resolve).once("error", reject));
    const ttrpc = new TtrpcClient(socket);
    const update = async (resources: object) => {
      const task = createClient(Task, ttrpc);
      await task.update(
        {
          id,
          resources: {
            typeUrl: "types.containerd.io/opencontainers/runtime-spec/1/LinuxResources",
            value: new TextEncoder().encode(JSON.stringify(resources)),
          },
        },
        { timeoutMs: 60_000, metadata: { "containerd-namespace-ttrpc": containerd.namespace } },
      );
    };
    const cgroup = "/sys/fs/cgroup$(cut -d: -f3 /proc/self/cgroup)";
    try {
      // CPU alone, on a VM idle since its start: the guest lists the new vCPU only after its ACPI worker ran, and
      // the update must not answer before the agent has brought it online.
      await update({ cpu: { quota: 100000, period: 100000 } });
      assert.equal(Number(await exec(3, "nproc")), cpusBefore + 1, "one vCPU hot-plugged and online at once");
      assert.equal(await exec(4, `cat ${cgroup}/cpu.max`), "100000 100000");
      // Three CPUs' worth of quota on a VM that is at its maxcpus: capped there (as Kata), the cgroup still gets it.
      await update({ cpu: { quota: 300000, period: 100000 }, memory: { limit: 256 * MiB } });
    } finally {
      ttrpc.close();
    }
    assert.equal(Number(await exec(5, "nproc")), cpusBefore + 1, "capped at maxcpus");
    assert.equal(await exec(6, `cat ${cgroup}/cpu.max`), "300000 100000");
    assert.equal(await exec(7, `cat ${cgroup}/memory.max`), String(256 * MiB));
    // The guest registers a hot-plugged DIMM asynchronously (an ACPI event), then brings it online.
    let memAfter = memBefore;
    for (let n = 8; n < 40 && memAfter - memBefore < 250 * 1024; n++) {
      memAfter = Number(await exec(n, "awk '/MemTotal/ {print $2}' /proc/meminfo"));
      if (memAfter - memBefore < 250 * 1024) await new Promise((r) => setTimeout(r, 500));
    }
    assert.ok(memAfter - memBefore >= 250 * 1024, `guest memory grew by ${(memAfter - memBefore) / 1024} MiB`);
  });
});
