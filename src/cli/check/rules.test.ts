// Unit specs for `hako check`'s pure rules: facts in, items out, with no host access, so each status is pinned
// whatever machine runs the spec.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { defaultConfig } from "../../config/defaults.js";
import { fakeKernelModules } from "../../sys/fake-kernel-modules.js";
import { deviceItems } from "./devices.js";
import { cgroupItem, containerdItems, ksmItem } from "./host.js";
import { toolItems } from "./tools.js";

/** A kernel that has every module the device rules may suggest. */
const allModules = fakeKernelModules(["vhost_vsock", "vhost_net", "tun"]);
const statuses = (items: { id: string; status: string }[]) => Object.fromEntries(items.map((i) => [i.id, i.status]));

describe("check rules", () => {
  it("devices: all present is ok; all missing warns and fails nothing, unless vsock is forced", () => {
    const config = defaultConfig();
    assert.deepEqual(
      statuses(deviceItems(config, { vhostVsock: true, vhostNet: true, tun: true, modules: allModules })),
      {
        "vhost-vsock": "ok",
        "vhost-net": "ok",
        tun: "ok",
      },
    );
    assert.deepEqual(
      statuses(deviceItems(config, { vhostVsock: false, vhostNet: false, tun: false, modules: allModules })),
      {
        "vhost-vsock": "warn",
        "vhost-net": "warn",
        tun: "warn",
      },
    );
    config.hypervisor.qemu.agentChannel = "vsock";
    assert.equal(
      statuses(deviceItems(config, { vhostVsock: false, vhostNet: true, tun: true, modules: allModules }))[
        "vhost-vsock"
      ],
      "fail",
    );
  });

  it("devices: modprobe is the fix only where the running kernel has the module; else the item says it lacks it", () => {
    const config = defaultConfig();
    const missing = { vhostVsock: false, vhostNet: false, tun: false };
    const byId = (modules: string[]) =>
      Object.fromEntries(
        deviceItems(config, { ...missing, modules: fakeKernelModules(modules, "6.18.0-nomods") }).map((i) => [i.id, i]),
      );
    const loadable = byId(["vhost-vsock", "vhost_net", "tun"]);
    assert.equal(loadable["vhost-vsock"]?.fix, "modprobe vhost_vsock");
    assert.equal(loadable["vhost-net"]?.fix, "modprobe vhost_net");
    assert.equal(loadable.tun?.fix, "modprobe tun");
    const none = byId([]);
    for (const i of Object.values(none)) assert.doesNotMatch(i.fix ?? "", /modprobe/, `${i.id}: ${i.fix}`);
    const vsock = none["vhost-vsock"];
    assert.equal(vsock?.status, "warn");
    assert.match(vsock?.detail ?? "", /kernel 6\.18\.0-nomods has no vhost_vsock module\).*virtio-serial/);
    assert.match(vsock?.fix ?? "", /^none needed: agent_channel = "auto" uses virtio-serial/);
    assert.match(none["vhost-net"]?.fix ?? "", /has no vhost_net module: a host kernel built with CONFIG_VHOST_NET/);
    config.hypervisor.qemu.agentChannel = "vsock";
    const forced = byId([])["vhost-vsock"];
    assert.equal(forced?.status, "fail");
    assert.equal(forced?.fix, 'set agent_channel = "auto"');
  });

  it("tools: a missing QEMU fails; virtiofsd is not needed under 9p", () => {
    const config = defaultConfig();
    assert.deepEqual(statuses(toolItems(config, { qemu: undefined, virtiofsd: "virtiofsd 7.2" })), {
      qemu: "fail",
      virtiofsd: "ok",
    });
    config.hypervisor.qemu.sharedFs = "virtio-9p";
    const items = toolItems(config, { qemu: "QEMU emulator version 7.2.0", virtiofsd: undefined });
    assert.deepEqual(statuses(items), { qemu: "ok", virtiofsd: "ok" });
    assert.match(items[1]?.detail ?? "", /not used \(shared_fs = virtio-9p\)/);
  });

  it("cgroups: no cgroup filesystem fails, any layout passes", () => {
    assert.equal(cgroupItem("none").status, "fail");
    assert.equal(cgroupItem("hybrid").status, "ok");
  });

  it("containerd: without a CRI handler using hako, the fix is the installer and the deploy/ manifests", () => {
    const facts = { configPath: "/etc/containerd/config.toml", configFound: true, criRuntimeConfigured: false };
    const cri = containerdItems(facts).find((i) => i.id === "containerd-cri");
    assert.equal(cri?.status, "warn");
    assert.match(cri?.fix ?? "", /`hako install`.*deploy\/containerd-runtime\.toml.*deploy\/runtimeclass\.yaml/);
    assert.equal(
      containerdItems({ ...facts, criRuntimeConfigured: true }).find((i) => i.id === "containerd-cri")?.status,
      "ok",
    );
  });

  it("ksm: says whether it runs, and that virtio-fs's shared guest RAM is not what it can merge", () => {
    const vfs = ksmItem({ present: true, running: false, pagesSharing: 0 }, "virtio-fs").detail;
    assert.match(vfs, /^off; QEMU marks only guest RAM mergeable .*shared memfd, which KSM cannot merge/);
    assert.doesNotMatch(vfs, /heap|TCG cache/, "QEMU does not mark its own memory mergeable");
    assert.match(
      ksmItem({ present: true, running: true, pagesSharing: 12 }, "none").detail,
      /^on \(12 pages shared now\); .*KSM can merge identical guest pages/,
    );
    assert.match(ksmItem({ present: false }, "virtio-fs").detail, /not built into the host kernel/);
  });
});
