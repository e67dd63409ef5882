// Unit specs for the strict TOML parser: Kata's file loads unchanged, unknown keys and bad values are keyed errors.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { Code, HakoError } from "../common/errors.js";
import { defaultConfig } from "./defaults.js";
import { parseConfig } from "./parse.js";

const kataFile = new URL("./testdata/configuration-qemu.toml", import.meta.url).pathname;

function rejects(text: string, pattern: RegExp) {
  assert.throws(
    () => parseConfig(text, "/etc/hako/test.toml"),
    (err: unknown) => {
      assert.ok(err instanceof HakoError);
      assert.equal(err.code, Code.InvalidArgument);
      assert.match(err.message, pattern);
      assert.match(err.message, /\/etc\/hako\/test\.toml/);
      return true;
    },
  );
}

describe("parseConfig", () => {
  it("loads Kata's full configuration-qemu.toml unchanged", () => {
    const c = parseConfig(readFileSync(kataFile, "utf8"), kataFile);
    assert.equal(c.source, kataFile);
    assert.equal(c.hypervisor.qemu.path, "/usr/bin/qemu-system-x86_64");
    assert.equal(c.hypervisor.qemu.kernel, "/var/lib/hako/vmlinux");
    assert.equal(c.hypervisor.qemu.image, "/var/lib/hako/hako-rootfs.img");
    assert.equal(c.hypervisor.qemu.rootfsMode, "pmem");
    assert.equal(c.hypervisor.qemu.blockDeviceDriver, "virtio-scsi");
    assert.deepEqual(c.hypervisor.qemu.virtioFsExtraArgs, ["--thread-pool-size=1", "-o", "announce_submounts"]);
    assert.equal(c.runtime.staticSandboxResourceMgmt, false);
    assert.equal(c.agent.dialTimeoutS, 45);
    assert.ok(c.ignoredKeys.includes("hypervisor.qemu.firmware"));
    assert.ok(c.ignoredKeys.includes("factory.vm_cache_endpoint"));
    assert.ok(!c.ignoredKeys.includes("factory.enable_template"));
    assert.ok(c.ignoredKeys.includes("runtime.dan_conf"));
    assert.ok(!c.ignoredKeys.includes("hypervisor.qemu.kernel"));
    assert.ok(!c.ignoredKeys.includes("runtime.internetworking_model"));
    assert.ok(!c.ignoredKeys.includes("runtime.disable_guest_seccomp"));
  });

  it("reports keys that are parsed but not acted on yet as ignored, keeping their checked values", () => {
    const c = parseConfig(readFileSync(kataFile, "utf8"), kataFile);
    for (const key of [
      "hypervisor.qemu.block_device_driver",
      "runtime.disable_new_netns",
      "runtime.enable_debug",
      "runtime.experimental",
      "agent.kata.enable_tracing",
      "factory.vm_cache_number",
    ]) {
      assert.ok(c.ignoredKeys.includes(key), `${key} is reported as ignored`);
    }
    assert.ok(!c.ignoredKeys.includes("runtime.static_sandbox_resource_mgmt"), "an acted-on key is not ignored");
    assert.ok(!c.ignoredKeys.includes("runtime.sandbox_cgroup_only"));
    assert.ok(!c.ignoredKeys.includes("hypervisor.qemu.disable_vhost_net"));
    rejects('[hypervisor.qemu]\nblock_device_driver = "floppy"\n', /block_device_driver.*"virtio-blk"/);
  });

  it("an empty file gives the built-in defaults", () => {
    const c = parseConfig("", "/x.toml");
    assert.deepEqual({ ...c, source: null }, defaultConfig());
    assert.equal(c.hypervisor.kind, "qemu");
    assert.deepEqual(c.ignoredKeys, []);
    assert.equal(c.hypervisor.qemu.defaultVcpus, 1);
    assert.equal(c.hypervisor.qemu.defaultMemoryMiB, 512);
    assert.equal(c.hypervisor.qemu.sharedFs, "virtio-fs");
    assert.equal(c.runtime.internetworkingModel, "tcfilter");
  });

  it("reads hako's own keys", () => {
    const c = parseConfig(
      '[hypervisor.qemu]\naccel = "tcg"\nagent_channel = "serial"\nrootfs_mode = "initrd"\nmachine_type = "microvm"\n',
      "/x.toml",
    );
    assert.equal(c.hypervisor.qemu.accel, "tcg");
    assert.equal(c.hypervisor.qemu.agentChannel, "serial");
    assert.equal(c.hypervisor.qemu.rootfsMode, "initrd");
    assert.equal(c.hypervisor.qemu.machineType, "microvm");
  });

  it("an initrd without an image means initrd-only boot, as in Kata", () => {
    const c = parseConfig('[hypervisor.qemu]\ninitrd = "/var/lib/hako/hako-initrd-full.img"\n', "/x.toml");
    assert.equal(c.hypervisor.qemu.rootfsMode, "initrd");
  });

  it("rounds Kata's fractional default_vcpus up to whole vCPUs", () => {
    assert.equal(parseConfig("[hypervisor.qemu]\ndefault_vcpus = 1.5\n", "/x.toml").hypervisor.qemu.defaultVcpus, 2);
    assert.equal(parseConfig("[hypervisor.qemu]\ndefault_vcpus = 0\n", "/x.toml").hypervisor.qemu.defaultVcpus, 1);
  });

  it("splits kernel_params on whitespace", () => {
    const c = parseConfig('[hypervisor.qemu]\nkernel_params = " a=1  b "\n', "/x.toml");
    assert.deepEqual(c.hypervisor.qemu.kernelParams, ["a=1", "b"]);
  });

  it("rejects an unknown key, naming it and the file", () => {
    rejects("[hypervisor.qemu]\nno_such_key = 1\n", /unknown key "hypervisor\.qemu\.no_such_key"/);
    rejects("[runtime]\nbogus = true\n", /unknown key "runtime\.bogus"/);
    rejects("[agent.kata]\nfoo = 1\n", /unknown key "agent\.kata\.foo"/);
  });

  it("names the key a misspelled one was probably meant to be, and only a close one", () => {
    rejects(
      "[hypervisor.qemu]\ndefault_vcpu = 2\n",
      /unknown key "hypervisor\.qemu\.default_vcpu" in .*; did you mean "default_vcpus"\?/,
    );
    rejects("[runtime]\nstatic_sandbox_resource_mgnt = true\n", /did you mean "static_sandbox_resource_mgmt"\?/);
    assert.throws(
      () => parseConfig("[hypervisor.qemu]\nno_such_key = 1\n", "f.toml"),
      (err: Error) => !/did you mean/.test(err.message),
    );
  });

  it("rejects unknown sections and other hypervisors", () => {
    rejects('[hypervisor.clh]\npath = "/x"\n', /\[hypervisor\.clh\].*QEMU only/);
    rejects("[nonsense]\na = 1\n", /unknown section \[nonsense\] in [^;]*$/);
    rejects("[factroy]\nenable_template = true\n", /unknown section \[factroy\] in .*; did you mean \[factory\]\?$/);
    rejects('top = "x"\n', /unknown key "top"/);
  });

  it("rejects values of the wrong type or outside the allowed set", () => {
    rejects('[hypervisor.qemu]\ndefault_vcpus = "2"\n', /hypervisor\.qemu\.default_vcpus.*a number/);
    rejects('[hypervisor.qemu]\nmemory_slots = "2"\n', /hypervisor\.qemu\.memory_slots.*a non-negative integer/);
    rejects("[hypervisor.qemu]\ndefault_memory = -5\n", /default_memory.*non-negative/);
    rejects("[hypervisor.qemu]\ndefault_memory = 1.5\n", /default_memory/);
    rejects('[hypervisor.qemu]\nshared_fs = "nfs"\n', /shared_fs.*"virtio-fs", "virtio-9p", "none"/);
    rejects('[hypervisor.qemu]\nvirtio_fs_cache = "sometimes"\n', /virtio_fs_cache/);
    rejects('[hypervisor.qemu]\naccel = "hvf"\n', /accel/);
    rejects("[hypervisor.qemu]\nenable_debug = 1\n", /enable_debug.*boolean/);
    rejects("[hypervisor.qemu]\nvirtio_fs_extra_args = [1, 2]\n", /virtio_fs_extra_args.*array of strings/);
    rejects('[hypervisor.qemu]\nenable_annotations = ["("]\n', /enable_annotations.*regular expression/);
    rejects('[runtime]\ninternetworking_model = "bridged"\n', /internetworking_model/);
  });

  it("rejects bad combinations", () => {
    rejects("[hypervisor.qemu]\ndefault_vcpus = 4\ndefault_maxvcpus = 2\n", /default_vcpus \(4\) exceeds/);
    rejects('[hypervisor.qemu]\nkernel = "vmlinux"\n', /kernel.*absolute/);
    rejects("[runtime]\ndisable_new_netns = true\n", /disable_new_netns/);
  });

  it("rejects a template_path that is empty, relative, or under /proc or /sys, naming the key and the file", () => {
    rejects('[factory]\ntemplate_path = ""\n', /factory\.template_path in .* must not be empty/);
    rejects(
      '[factory]\ntemplate_path = "templates"\n',
      /factory\.template_path in .* must be an absolute path, got "templates"/,
    );
    rejects('[factory]\ntemplate_path = "/proc/nope"\n', /factory\.template_path .* must not be under \/proc/);
    rejects('[factory]\ntemplate_path = "/sys/../sys/x"\n', /must not be under \/sys/);
    rejects('[factory]\ntemplate_path = "/"\n', /must not be \//);
    assert.equal(
      parseConfig('[factory]\ntemplate_path = "/var/tmp/hako-t"\n', "t.toml").factory.templatePath,
      "/var/tmp/hako-t",
    );
  });

  it("reports TOML syntax errors with the position", () => {
    rejects("[hypervisor.qemu\n", /not valid TOML \(line 1/);
  });
});
