import assert from "node:assert/strict";
import { test } from "node:test";
import { Code, HakoError } from "../common/errors.js";
import { cgroupRelPath } from "./cgroups-path.js";

test("cgroupfs paths are taken relative to the hierarchy root", () => {
  assert.equal(cgroupRelPath("/k8s.io/abc"), "k8s.io/abc");
  assert.equal(cgroupRelPath("/kubepods/besteffort/pod1/abc"), "kubepods/besteffort/pod1/abc");
  assert.equal(cgroupRelPath("hako/abc/"), "hako/abc");
});

test("systemd paths nest the parent slice by its dashes and name a scope", () => {
  assert.equal(
    cgroupRelPath("kubepods-besteffort-pod1.slice:cri-containerd:abc"),
    "kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod1.slice/cri-containerd-abc.scope",
  );
  assert.equal(cgroupRelPath("-.slice:hako:abc"), "hako-abc.scope");
  assert.equal(cgroupRelPath(":hako:abc"), "system.slice/hako-abc.scope");
});

test("paths that name no cgroup, climb out, or hold a bad slice are refused", () => {
  for (const bad of ["", "/", "/a/../b", "bad-.slice:p:abc", "notaslice:p:abc"]) {
    assert.throws(
      () => cgroupRelPath(bad),
      (err: unknown) => err instanceof HakoError && err.code === Code.InvalidArgument,
      bad,
    );
  }
});
