// The spec rewrite for the guest: what is dropped, what is replaced, what is refused.
import assert from "node:assert/strict";
import { test } from "node:test";
import { Code, HakoError } from "../../common/errors.js";
import type { OciSpec } from "../../oci/spec.js";
import { cgroup2Mounts, checkContainerId, guestSpec, netSysctls } from "./guest-spec.js";

const base = (): OciSpec => ({
  ociVersion: "1.0.2",
  process: { user: { uid: 0, gid: 0 }, args: ["sh"], cwd: "/", apparmorProfile: "docker-default" },
  root: { path: "/run/kata-containers/shared/containers/c1/rootfs" },
  hooks: { prestart: [{ path: "/usr/bin/host-hook" }] },
  linux: {
    cgroupsPath: "/kubepods/besteffort/pod1/c1",
    namespaces: [
      { type: "pid" },
      { type: "network", path: "/var/run/netns/cni-1" },
      { type: "ipc", path: "/proc/9/ns/ipc" },
    ],
    devices: [{ path: "/dev/fuse", type: "c" }],
  },
});

test("host-only parts are replaced with guest ones", () => {
  const out = guestSpec("c1", base());
  assert.equal(out.linux?.cgroupsPath, "/hako/c1");
  assert.deepEqual(out.linux?.namespaces, [{ type: "pid" }, { type: "ipc" }, { type: "mount" }, { type: "cgroup" }]);
  assert.equal(out.hooks, undefined);
  assert.equal(out.process?.apparmorProfile, undefined);
  assert.equal(out.linux?.devices, undefined);
  assert.equal(out.root?.path, "/run/kata-containers/shared/containers/c1/rootfs");
});

test("a pod's container joins the sandbox container's ipc, uts and pid namespaces where its host spec names them", () => {
  const spec = base();
  spec.hostname = "pod-a";
  spec.linux?.namespaces?.push({ type: "uts", path: "/proc/9/ns/uts" }, { type: "cgroup" });
  const out = guestSpec("c1", spec, { sandboxInitPid: 42 });
  assert.deepEqual(out.linux?.namespaces, [
    { type: "pid" },
    { type: "ipc", path: "/proc/42/ns/ipc" },
    { type: "uts", path: "/proc/42/ns/uts" },
    { type: "cgroup" },
    { type: "mount" },
  ]);
  assert.equal(out.hostname, undefined, "the joined UTS namespace already has the pod's hostname");
  const shared = base();
  shared.linux?.namespaces?.splice(0, 1, { type: "pid", path: "/proc/9/ns/pid" });
  assert.deepEqual(guestSpec("c1", shared, { sandboxInitPid: 42 }).linux?.namespaces?.[0], {
    type: "pid",
    path: "/proc/42/ns/pid",
  });
});

test("without a pod, namespace paths give fresh namespaces and the hostname stays", () => {
  const spec = base();
  spec.hostname = "solo";
  const out = guestSpec("c1", spec);
  assert.equal(out.hostname, "solo");
  assert.ok(out.linux?.namespaces?.every((ns) => ns.path === undefined));
});

test("the input spec is left untouched", () => {
  const spec = base();
  guestSpec("c1", spec);
  assert.equal(spec.linux?.cgroupsPath, "/kubepods/besteffort/pod1/c1");
  assert.ok(spec.hooks);
});

test("a spec without root, args or cwd is an InvalidArgument naming the container", () => {
  for (const broken of [
    { ...base(), root: undefined },
    { ...base(), process: { user: { uid: 0, gid: 0 }, args: [], cwd: "/" } },
    { ...base(), process: { user: { uid: 0, gid: 0 }, args: ["sh"], cwd: "" } },
  ]) {
    assert.throws(
      () => guestSpec("c9", broken as OciSpec),
      (err) => err instanceof HakoError && err.code === Code.InvalidArgument && err.message.includes("c9"),
    );
  }
});

test("container ids cannot escape the bundle directory", () => {
  for (const id of ["", "../x", "a/b", ".hidden", "x".repeat(200)]) {
    assert.throws(
      () => checkContainerId(id),
      (err) => err instanceof HakoError && err.code === Code.InvalidArgument,
    );
  }
  checkContainerId("0123abc_def-1.2");
});

test("a cgroup2 mount at /sys/fs/cgroup, read-only, right after /sys, when the spec has none", () => {
  const out = cgroup2Mounts([
    { destination: "/proc", type: "proc", source: "proc" },
    { destination: "/sys", type: "sysfs", source: "sysfs", options: ["ro"] },
    { destination: "/run", type: "tmpfs", source: "tmpfs" },
  ]);
  assert.deepEqual(
    out.map((m) => m.destination),
    ["/proc", "/sys", "/sys/fs/cgroup", "/run"],
  );
  assert.deepEqual(out[2], {
    destination: "/sys/fs/cgroup",
    type: "cgroup2",
    source: "cgroup",
    options: ["nosuid", "noexec", "nodev", "relatime", "ro"],
  });
});

test("a cgroup-v1 host's mounts (one cgroup mount, per-controller binds) become the one cgroup2 mount", () => {
  const out = cgroup2Mounts([
    { destination: "/sys", type: "sysfs", source: "sysfs" },
    { destination: "/sys/fs/cgroup", type: "cgroup", source: "cgroup", options: ["ro", "nosuid"] },
    { destination: "/sys/fs/cgroup/memory", type: "bind", source: "/sys/fs/cgroup/memory/kubepods/x" },
  ]);
  assert.deepEqual(
    out.map((m) => [m.destination, m.type]),
    [
      ["/sys", "sysfs"],
      ["/sys/fs/cgroup", "cgroup2"],
    ],
  );
  assert.ok(out[1]?.options?.includes("ro"));
});

test("a privileged container's rw cgroup mount stays writable", () => {
  const out = cgroup2Mounts([{ destination: "/sys/fs/cgroup", type: "cgroup", options: ["rw", "nosuid"] }]);
  assert.ok(out[0]?.options?.includes("rw"));
  assert.ok(!out[0]?.options?.includes("ro"));
});

test("net.* sysctls leave the spec (crun refuses them without a netns) and are returned for the VM", () => {
  const spec = base();
  spec.linux = { ...spec.linux, sysctl: { "net.ipv4.ip_unprivileged_port_start": "0", "kernel.msgmax": "8192" } };
  assert.deepEqual(guestSpec("c1", spec).linux?.sysctl, { "kernel.msgmax": "8192" });
  assert.deepEqual(netSysctls(spec), [["net.ipv4.ip_unprivileged_port_start", "0"]]);
});

test("blockIO's host device lists go; an empty blockIO or a weight of 0 goes; a group weight stays", () => {
  const spec = base();
  const lists = { weightDevice: [], throttleReadBpsDevice: [{ major: 8, minor: 0, rate: 1 }] };
  spec.linux = { ...spec.linux, resources: { blockIO: { ...lists, weight: 0 } } };
  assert.equal(guestSpec("c1", spec).linux?.resources?.blockIO, undefined, "docker's {weight: 0} asks for nothing");
  spec.linux.resources = { blockIO: { ...lists, weight: 300 } };
  assert.deepEqual(guestSpec("c1", spec).linux?.resources?.blockIO, { weight: 300 });
});
