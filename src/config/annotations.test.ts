// Unit specs for annotation overrides: gated by enable_annotations (Kata's unanchored regexps), paths by globs.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Code, HakoError } from "../common/errors.js";
import { applyAnnotations } from "./annotations.js";
import { defaultConfig } from "./defaults.js";
import { globToRegExp } from "./glob.js";
import type { HakoConfig } from "./types.js";

const H = "io.katacontainers.config.hypervisor.";
function config(enable: string[]): HakoConfig {
  const c = defaultConfig();
  c.hypervisor.qemu.enableAnnotations = enable;
  c.hypervisor.qemu.validHypervisorPaths = ["/usr/bin/qemu-*", "/opt/hako/bin/qemu"];
  return c;
}
function rejects(c: HakoConfig, annotations: Record<string, string>, pattern: RegExp) {
  assert.throws(
    () => applyAnnotations(c, annotations),
    (e: unknown) => e instanceof HakoError && e.code === Code.InvalidArgument && pattern.test(e.message),
  );
}

describe("applyAnnotations", () => {
  it("applies enabled keys and leaves the input alone", () => {
    const base = config(["default_vcpus", "default_memory", "kernel_modules", "enable_debug"]);
    const c = applyAnnotations(base, {
      [`${H}default_vcpus`]: "3",
      [`${H}default_memory`]: "4096",
      "io.katacontainers.config.agent.kernel_modules": "e1000e EEE=1; i915",
      "io.katacontainers.config.runtime.enable_debug": "true",
      "io.kubernetes.cri.container-type": "sandbox",
    });
    assert.equal(c.hypervisor.qemu.defaultVcpus, 3);
    assert.equal(c.hypervisor.qemu.defaultMemoryMiB, 4096);
    assert.deepEqual(c.agent.kernelModules, ["e1000e EEE=1", "i915"]);
    assert.equal(c.runtime.enableDebug, true);
    assert.equal(base.hypervisor.qemu.defaultVcpus, 1);
  });

  it("rejects a key not matched by enable_annotations, saying how to allow it", () => {
    rejects(config([]), { [`${H}default_vcpus`]: "2" }, /not enabled.*enable_annotations/);
    rejects(config(["default_memory"]), { [`${H}default_vcpus`]: "2" }, /default_vcpus.*not enabled/);
  });

  it("matches enable_annotations as unanchored regular expressions, like Kata", () => {
    const c = applyAnnotations(config(["vcpus"]), { [`${H}default_maxvcpus`]: "8" });
    assert.equal(c.hypervisor.qemu.defaultMaxVcpus, 8);
    const d = applyAnnotations(config([".*"]), { [`${H}virtio_fs_extra_args`]: '["-o","xattr"]' });
    assert.deepEqual(d.hypervisor.qemu.virtioFsExtraArgs, ["-o", "xattr"]);
  });

  it("checks paths against valid_*_paths globs", () => {
    const c = applyAnnotations(config(["path"]), { [`${H}path`]: "/usr/bin/qemu-system-x86_64" });
    assert.equal(c.hypervisor.qemu.path, "/usr/bin/qemu-system-x86_64");
    rejects(config(["path"]), { [`${H}path`]: "/tmp/evil" }, /\/tmp\/evil does not match/);
    rejects(config(["path"]), { [`${H}path`]: "/usr/bin/qemu-x/../../evil" }, /does not match/);
    rejects(config(["virtio_fs_daemon"]), { [`${H}virtio_fs_daemon`]: "/tmp/vfsd" }, /does not match/);
  });

  it("never lets an annotation widen the policy", () => {
    rejects(config([".*"]), { [`${H}enable_annotations`]: '[".*"]' }, /only be set in the config file/);
    rejects(config([".*"]), { [`${H}valid_hypervisor_paths`]: '["/*"]' }, /only be set in the config file/);
  });

  it("rejects unknown annotation keys and bad values", () => {
    rejects(config([".*"]), { [`${H}no_such`]: "1" }, /unknown annotation/);
    rejects(config([".*"]), { "io.katacontainers.config.bogus.x": "1" }, /unknown annotation/);
    rejects(config([".*"]), { [`${H}default_vcpus`]: "two" }, /expected a number/);
    rejects(config([".*"]), { [`${H}default_memory`]: "lots" }, /expected a non-negative integer/);
    rejects(config([".*"]), { [`${H}enable_debug`]: "yes" }, /expected a boolean/);
    rejects(config([".*"]), { [`${H}shared_fs`]: "nfs" }, /expected one of/);
  });
});

describe("globToRegExp", () => {
  it("follows glob(3): * and ? stay within one path element", () => {
    assert.ok(globToRegExp("/usr/bin/qemu-*").test("/usr/bin/qemu-system-x86_64"));
    assert.ok(!globToRegExp("/usr/bin/*").test("/usr/bin/a/b"));
    assert.ok(globToRegExp("/a/?.img").test("/a/x.img"));
    assert.ok(globToRegExp("/a/[xy].img").test("/a/y.img"));
    assert.ok(!globToRegExp("/a/[!xy].img").test("/a/x.img"));
    assert.ok(!globToRegExp("/a.b").test("/aXb"));
  });
});
