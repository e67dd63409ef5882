// Unit specs for the accelerator probe, over fake /dev, /sys and /proc trees.
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { createLogger, memorySink } from "../common/log.js";
import { chooseAccelerator, probeAccelerator } from "./accel.js";

const base = mkdtempSync(join(tmpdir(), "hako-accel-"));
after(() => rmSync(base, { recursive: true, force: true }));

function host(name: string, opts: { kvm?: boolean; modules?: string[]; flags?: string }) {
  const root = join(base, name);
  mkdirSync(join(root, "dev"), { recursive: true });
  mkdirSync(join(root, "proc"), { recursive: true });
  if (opts.kvm) writeFileSync(join(root, "dev/kvm"), "");
  for (const m of opts.modules ?? []) mkdirSync(join(root, "sys/module", m), { recursive: true });
  writeFileSync(join(root, "proc/cpuinfo"), `processor\t: 0\nflags\t\t: fpu ${opts.flags ?? ""} sse2\n`);
  return root;
}

describe("probeAccelerator", () => {
  it("no /dev/kvm means TCG", () => {
    const p = probeAccelerator(host("none", {}));
    assert.equal(p.usable, "tcg");
    assert.match(p.reason, /does not exist/);
  });
  it("a PVM /dev/kvm means TCG, with the reason", () => {
    const p = probeAccelerator(host("pvm", { kvm: true, modules: ["kvm", "kvm_pvm"], flags: "hypervisor" }));
    assert.equal(p.usable, "tcg");
    assert.match(p.reason, /kvm_pvm/);
  });
  it("kvm_intel with vmx means KVM", () => {
    const p = probeAccelerator(host("intel", { kvm: true, modules: ["kvm", "kvm_intel"], flags: "vmx" }));
    assert.deepEqual(p.usable, "kvm");
  });
  it("kvm_amd without svm means TCG", () => {
    assert.equal(probeAccelerator(host("amd", { kvm: true, modules: ["kvm", "kvm_amd"] })).usable, "tcg");
  });
  it("this host: PVM is recognised when kvm_pvm is loaded", () => {
    const p = probeAccelerator();
    assert.ok(p.reason.length > 0);
  });
});

describe("chooseAccelerator", () => {
  const kvmProbe = () => ({ usable: "kvm" as const, reason: "test" });
  const tcgProbe = () => ({ usable: "tcg" as const, reason: "no kvm here" });
  it("follows the probe under auto and warns on fallback", () => {
    const sink = memorySink();
    const logger = createLogger({ level: "debug", sink });
    assert.equal(chooseAccelerator("auto", logger, kvmProbe), "kvm");
    assert.equal(chooseAccelerator("auto", logger, tcgProbe), "tcg");
    const warn = sink.entries().find((e) => e.level === "warning");
    assert.equal(warn?.reason, "no kvm here");
  });
  it("forced values win", () => {
    const logger = createLogger({ sink: memorySink() });
    assert.equal(chooseAccelerator("tcg", logger, kvmProbe), "tcg");
    assert.equal(chooseAccelerator("kvm", logger, tcgProbe), "kvm");
  });
});
