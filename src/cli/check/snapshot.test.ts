// Unit specs for `hako check`'s rule on the agent's startup snapshot.
import assert from "node:assert/strict";
import { test } from "node:test";
import { snapshotItem } from "./snapshot.js";

const vm = { qemu: { path: "/usr/bin/qemu-system-x86_64", version: "QEMU 7.2" }, accel: "tcg", cpu: "max" } as const;
const made = { key: "ab".repeat(16), path: "/usr/lib/hako/snapshot/agent-x.blob", size: 5 };
const tcgHere = { accel: "tcg", cpu: "max", qemuVersion: "QEMU 7.2" } as const;

test("a snapshot made for this host's accelerator, -cpu and QEMU is reported as used", () => {
  const i = snapshotItem({ vm, made }, tcgHere);
  assert.equal(i?.status, "ok");
  assert.match(i?.detail ?? "", /made for this host's guest CPU \(tcg -cpu max, QEMU 7\.2\), key abab/);
});

test("a snapshot made for another CPU model or QEMU warns that the agent starts from its bundle", () => {
  for (const host of [
    { accel: "kvm", cpu: "host", qemuVersion: "QEMU 7.2" },
    { accel: "tcg", cpu: "max,pmu=off", qemuVersion: "QEMU 7.2" },
    { accel: "tcg", cpu: "max", qemuVersion: "QEMU 8.0" },
  ] as const) {
    const i = snapshotItem({ vm, made }, host);
    assert.equal(i?.status, "warn", JSON.stringify(host));
    assert.match(
      i?.detail ?? "",
      /made for tcg -cpu max, QEMU 7\.2, this host boots .*: the agent starts from its bundle/,
    );
    assert.match(i?.fix ?? "", /hako image build/);
    // The -cpu value alone differs: the configuration's cpu_features are named as the cause.
    assert.equal(
      /cpu_features/.test(i?.fix ?? ""),
      host.accel === "tcg" && host.cpu !== "max" && host.qemuVersion === "QEMU 7.2",
    );
  }
});

test("no snapshot asked for is fine, a failed snapshot boot warns, no manifest says nothing", () => {
  assert.equal(snapshotItem({ vm: false, made: undefined }, tcgHere)?.status, "ok");
  assert.equal(snapshotItem({ vm: undefined, made: undefined }, tcgHere)?.status, "ok");
  assert.equal(snapshotItem({ vm, made: undefined }, tcgHere)?.status, "warn");
  assert.equal(snapshotItem(undefined, tcgHere), undefined);
});
