// Unit specs for spec-rewrite.ts: moving a container's paths under the guest share, leaving the host spec alone.
import assert from "node:assert/strict";
import { test } from "node:test";
import type { OciSpec } from "../oci/spec.js";
import { mapMountsIntoShare } from "./spec-rewrite.js";

const hostSpec = (): OciSpec => ({
  ociVersion: "1.0.2",
  process: { user: { uid: 0, gid: 0 }, args: ["sh"], cwd: "/", apparmorProfile: "cri-default" },
  root: { path: "rootfs", readonly: true },
  mounts: [
    { destination: "/proc", type: "proc", source: "proc" },
    { destination: "/data", type: "bind", source: "/srv/data", options: ["rbind", "ro"] },
    { destination: "/dev/shm", type: "bind", source: "/run/containerd/sandbox/shm", options: ["rbind"] },
  ],
  linux: {
    namespaces: [{ type: "pid" }, { type: "network", path: "/var/run/netns/cni-1" }],
    cgroupsPath: "kubepods-besteffort.slice:cri-containerd:c1",
  },
  hooks: { prestart: [] },
});

test("rootfs and bind sources move under the guest share; the rest is left for the agent's guest rules", () => {
  const { spec, binds, dropped } = mapMountsIntoShare("c1", hostSpec());
  assert.deepEqual(spec.root, { path: "/run/kata-containers/shared/containers/c1/rootfs", readonly: true });
  assert.deepEqual(binds, [{ source: "/srv/data", sharedPath: "c1/mounts/1-data", readonly: true }]);
  assert.equal(spec.mounts?.[1]?.source, "/run/kata-containers/shared/containers/c1/mounts/1-data");
  assert.equal(spec.mounts?.[0]?.source, "proc");
  assert.deepEqual(spec.mounts?.[2], {
    destination: "/dev/shm",
    type: "bind",
    source: "/run/kata-containers/sandbox/shm",
    options: ["rbind"],
  });
  assert.deepEqual(spec.linux?.namespaces, [{ type: "pid" }, { type: "network", path: "/var/run/netns/cni-1" }]);
  assert.equal(spec.linux?.cgroupsPath, "kubepods-besteffort.slice:cri-containerd:c1");
  assert.equal(spec.process?.apparmorProfile, "cri-default");
  assert.deepEqual(spec.hooks, { prestart: [] });
  assert.deepEqual(dropped, ["mount /dev/shm (host shm bind replaced by the guest's pod shm)"]);
});

test("the host spec is left untouched", () => {
  const host = hostSpec();
  const before = structuredClone(host);
  mapMountsIntoShare("c1", host);
  assert.deepEqual(host, before);
});

test("a spec without a process is refused with a clear error", () => {
  const spec = hostSpec();
  delete spec.process;
  assert.throws(() => mapMountsIntoShare("c9", spec), /container c9: the OCI spec has no process/);
});
