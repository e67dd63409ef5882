// Unit specs for hako's kernel recipe: reading config lines and catching options Kconfig dropped.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { findProjectDir } from "./build.js";
import { configHz, configSettings, droppedSettings, KERNEL_FRAGMENT } from "./kernel-source.js";

test("configSettings reads CONFIG_ lines and skips comments and 'is not set' lines", () => {
  const s = configSettings('# comment\nCONFIG_A=y\n# CONFIG_B is not set\n  CONFIG_C="x y"\nCONFIG_D=64\n');
  assert.deepEqual(
    [...s],
    [
      ["CONFIG_A", "y"],
      ["CONFIG_C", '"x y"'],
      ["CONFIG_D", "64"],
    ],
  );
});

test("droppedSettings names every fragment option the final .config lacks or changed", () => {
  const fragment = "CONFIG_A=y\nCONFIG_B=y\nCONFIG_C=64\n";
  assert.deepEqual(droppedSettings(fragment, "CONFIG_A=y\nCONFIG_B=y\nCONFIG_C=64\nCONFIG_X=y\n"), []);
  assert.deepEqual(droppedSettings(fragment, "CONFIG_A=y\n# CONFIG_B is not set\nCONFIG_C=32\n"), [
    "CONFIG_B=y (got unset)",
    "CONFIG_C=64 (got 32)",
  ]);
});

test("the fragment builds in what the guest relies on (containers, virtio-fs, DAX root, networking)", () => {
  const s = configSettings(readFileSync(join(findProjectDir(), KERNEL_FRAGMENT), "utf8"));
  for (const key of [
    "PVH",
    "VIRTIO_PCI",
    "VIRTIO_CONSOLE",
    "VIRTIO_FS",
    "VIRTIO_PMEM",
    "FS_DAX",
    "HOTPLUG_PCI_PCIE",
    "USER_NS",
    "CGROUPS",
    "MEMCG",
    "VIRTIO_NET",
    "NET_SCH_INGRESS",
    "NET_ACT_MIRRED",
    "SECCOMP_FILTER",
  ]) {
    assert.equal(s.get(`CONFIG_${key}`), "y", `CONFIG_${key}`);
  }
  // No modules at all: the initrd has no modprobe step with this kernel.
  assert.equal(s.get("CONFIG_MODULES"), undefined);
});

test("configHz reads the tick rate a .config sets", () => {
  assert.equal(configHz("CONFIG_HZ_100=y\nCONFIG_HZ=100\n"), 100);
  assert.equal(configHz("CONFIG_HZ_250=y\nCONFIG_HZ=250\n"), 250);
  assert.equal(configHz("CONFIG_HZ_100=y\n"), undefined, "a fragment names the choice, not the number");
});
