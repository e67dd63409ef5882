// Unit specs for what a clone of a VM template hot-plugs: the exact QMP sequence for the share and each NIC (tap by
// name, macvtap by inherited fd, the endpoint's MAC and MTU, one root port each), the wait for DRIVER_OK, the
// undo of a netdev whose device QEMU refused, and the clear error when the guest never takes a device.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { SHARE_TAG } from "../../agent/api/guest-contract.js";
import { Code, HakoError } from "../../common/errors.js";
import { silentLogger } from "../../common/log.js";
import { clonePorts, plugCloneDevices } from "./clone-devices.js";
import type { TapNic } from "./cmdline/netdev.js";
import type { QmpExec } from "./hotplug.js";

interface Call {
  command: string;
  args: Record<string, unknown> | undefined;
}

/** Records every command; x-query-virtio-status answers DRIVER_OK after `probes` polls unless `never` names it. */
function fakeQmp(opts: { probes?: number; never?: string; refuse?: string } = {}) {
  const calls: Call[] = [];
  const polls = new Map<string, number>();
  const qmp: QmpExec = {
    execute: async <T>(command: string, args?: Record<string, unknown>): Promise<T> => {
      calls.push({ command, args });
      if (command === "device_add" && args?.driver === opts.refuse) {
        throw new HakoError(Code.Internal, `qmp device_add: ${opts.refuse} refused`);
      }
      if (command !== "x-query-virtio-status") return {} as T;
      const path = String(args?.path);
      const n = (polls.get(path) ?? 0) + 1;
      polls.set(path, n);
      const ready = !path.includes(`/${opts.never}/`) && n > (opts.probes ?? 0);
      return { status: { statuses: ready ? ["VIRTIO_CONFIG_S_DRIVER_OK: Driver ready"] : ["ACKNOWLEDGE"] } } as T;
    },
  };
  return { qmp, calls };
}

const tap: TapNic = { id: "net0", tapName: "tap0_hako", mac: "02:aa:bb:cc:dd:01", mtu: 1450, vhost: false };
const macvtap: TapNic = { id: "net1", tapName: "mvtap1_hako", mac: "02:aa:bb:cc:dd:02", mtu: 1500, vhost: true, fd: 3 };
const share = { kind: "virtio-fs", socketPath: "/run/vfs.sock" } as const;

function ports() {
  const claimed: string[] = [];
  return {
    claimed,
    claim: (what: string) => {
      claimed.push(what);
      return `rp${claimed.length - 1}`;
    },
  };
}

describe("clone device hot-plug", () => {
  it("plugs the share, then each NIC on its own root port with its MAC, then waits for every DRIVER_OK", async () => {
    const { qmp, calls } = fakeQmp({ probes: 2 });
    const p = ports();
    const plugged = await plugCloneDevices(qmp, p.claim, { share, nics: [tap, macvtap] }, silentLogger);
    assert.deepEqual(
      plugged.map((d) => d.id),
      ["vfs0", "net0-pci", "net1-pci"],
    );
    assert.deepEqual(p.claimed, ["the share", "NIC 02:aa:bb:cc:dd:01", "NIC 02:aa:bb:cc:dd:02"]);
    const adds = calls.filter((c) => c.command !== "x-query-virtio-status");
    assert.deepEqual(adds, [
      { command: "chardev-add", args: adds[0]?.args },
      {
        command: "device_add",
        args: {
          driver: "vhost-user-fs-pci",
          id: "vfs0",
          chardev: "charvfs0",
          tag: SHARE_TAG,
          bus: "rp0",
          "queue-size": 1024,
        },
      },
      {
        command: "netdev_add",
        args: { type: "tap", id: "net0", ifname: "tap0_hako", script: "no", downscript: "no", vhost: false },
      },
      {
        command: "device_add",
        args: {
          driver: "virtio-net-pci",
          id: "net0-pci",
          netdev: "net0",
          mac: "02:aa:bb:cc:dd:01",
          bus: "rp1",
          host_mtu: 1450,
        },
      },
      { command: "netdev_add", args: { type: "tap", id: "net1", fd: "3", vhost: true } },
      {
        command: "device_add",
        args: {
          driver: "virtio-net-pci",
          id: "net1-pci",
          netdev: "net1",
          mac: "02:aa:bb:cc:dd:02",
          bus: "rp2",
          host_mtu: 1500,
        },
      },
    ]);
    // Every device is added before the first wait, and every one is waited for.
    const firstPoll = calls.findIndex((c) => c.command === "x-query-virtio-status");
    assert.equal(firstPoll, adds.length);
    const polled = new Set(calls.slice(firstPoll).map((c) => String(c.args?.path)));
    assert.deepEqual(
      [...polled],
      ["vfs0", "net0-pci", "net1-pci"].map((id) => `/machine/peripheral/${id}/virtio-backend`),
    );
  });

  it("without a share or NICs it plugs nothing; ports counted: share 1, one per NIC", async () => {
    const { qmp, calls } = fakeQmp();
    assert.deepEqual(
      await plugCloneDevices(qmp, ports().claim, { share: { kind: "none" }, nics: [] }, silentLogger),
      [],
    );
    assert.deepEqual(calls, []);
    assert.equal(clonePorts({ share, nics: [tap, macvtap] }), 3);
    assert.equal(clonePorts({ share: { kind: "none" }, nics: [tap] }), 1);
  });

  it("a refused virtio-net device removes its netdev again and fails", async () => {
    const { qmp, calls } = fakeQmp({ refuse: "virtio-net-pci" });
    await assert.rejects(
      plugCloneDevices(qmp, ports().claim, { share: { kind: "none" }, nics: [tap] }, silentLogger),
      /virtio-net-pci refused/,
    );
    assert.deepEqual(calls.at(-1), { command: "netdev_del", args: { id: "net0" } });
  });

  it("a NIC the guest never takes fails with DeadlineExceeded naming its MAC and tap", async () => {
    const { qmp } = fakeQmp({ never: "net0-pci" });
    const err = await plugCloneDevices(qmp, ports().claim, { share, nics: [tap] }, silentLogger, 50).then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(err instanceof HakoError);
    assert.equal(err.code, Code.DeadlineExceeded);
    assert.match(err.message, /hot-plugged NIC net0 \(MAC 02:aa:bb:cc:dd:01, tap0_hako\) within \d+ ms/);
  });

  it("a root port that cannot be claimed stops the sequence before anything of that NIC is added", async () => {
    const { qmp, calls } = fakeQmp();
    const none = () => {
      throw new HakoError(Code.ResourceExhausted, "no free PCIe root port");
    };
    await assert.rejects(
      plugCloneDevices(qmp, none, { share: { kind: "none" }, nics: [tap] }, silentLogger),
      /no free PCIe root port/,
    );
    assert.deepEqual(calls, []);
  });
});
