// Unit specs for the QEMU command line: exact argument lists for the shapes hako boots.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { HakoError } from "../../../common/errors.js";
import { nicFd } from "../qemu-plan.js";
import { buildQemuArgs, type QemuPlan } from "./build.js";
import { chooseFirmware, QBOOT_ROM } from "./firmware.js";
import { fastBootParams, hostTscKhz, kernelParams, leanGuestParams } from "./kernel.js";
import { tcgThreading } from "./machine.js";

const dir = "/run/hako/abc";
function plan(over: Partial<QemuPlan> = {}): QemuPlan {
  return {
    id: "abc",
    machine: "q35",
    machineOptions: "",
    accel: "tcg",
    tcgTbSizeMiB: 64,
    tcgThread: "single",
    cpuFeatures: "",
    vcpus: 1,
    maxVcpus: 2,
    memoryMiB: 2048,
    maxMemoryMiB: 4096,
    memorySlots: 10,
    kernel: "/var/lib/hako/vmlinux",
    initrd: "/var/lib/hako/hako-initrd.img",
    kernelParams: ["console=ttyS0"],
    pmem: { path: "/var/lib/hako/hako-rootfs.img", sizeBytes: 134217728 },
    agent: { kind: "serial", socketPath: `${dir}/agent.sock` },
    share: { kind: "virtio-fs", socketPath: `${dir}/virtiofsd.sock` },
    consoleLogPath: `${dir}/console.log`,
    qmpSocketPath: `${dir}/qmp.sock`,
    nics: [],
    pcieRootPorts: 1,
    ...over,
  };
}

/** Returns the value after the n-th occurrence of `flag`. */
function values(args: string[], flag: string): string[] {
  return args.flatMap((a, i) => (a === flag ? [args[i + 1] as string] : []));
}

describe("buildQemuArgs", () => {
  it("q35 under TCG with virtio-fs, pmem root and the serial agent channel", () => {
    assert.deepEqual(buildQemuArgs(plan()), [
      ...["-name", "sandbox-abc", "-nodefaults", "-nographic", "-no-user-config", "-no-reboot"],
      ...["-machine", "q35,sata=off,smbus=off", "-accel", "tcg,tb-size=64,thread=single"],
      ...["-cpu", "max,erms=off"],
      ...["-smp", "1,cores=1,threads=1,sockets=2,maxcpus=2"],
      ...["-m", "2048M,slots=10,maxmem=4096M"],
      ...["-object", "memory-backend-memfd,id=mem0,size=2048M,share=on", "-numa", "node,memdev=mem0"],
      ...["-kernel", "/var/lib/hako/vmlinux", "-initrd", "/var/lib/hako/hako-initrd.img", "-append", "console=ttyS0"],
      "-object",
      "memory-backend-file,id=pm0,mem-path=/var/lib/hako/hako-rootfs.img,size=134217728,share=off,readonly=on",
      ...["-device", "virtio-pmem-pci,memdev=pm0,id=pmem0"],
      ...["-device", "pcie-root-port,id=rp0,bus=pcie.0,chassis=1,slot=0"],
      ...["-device", "virtio-serial-pci,id=serial0"],
      ...["-chardev", `socket,id=charagent0,path=${dir}/agent.sock,server=on,wait=off`],
      ...["-device", "virtserialport,bus=serial0.0,chardev=charagent0,name=agent.channel.0"],
      ...["-chardev", `socket,id=charvfs0,path=${dir}/virtiofsd.sock`],
      ...["-device", "vhost-user-fs-pci,chardev=charvfs0,tag=kataShared,queue-size=1024"],
      ...["-chardev", `file,id=charconsole0,path=${dir}/console.log,append=on`, "-serial", "chardev:charconsole0"],
      ...[
        "-chardev",
        `socket,id=charqmp0,path=${dir}/qmp.sock,server=on,wait=off`,
        "-mon",
        "chardev=charqmp0,mode=control",
      ],
    ]);
  });

  it("KVM: accel in -machine, host CPU with features, no tb-size", () => {
    const args = buildQemuArgs(plan({ accel: "kvm", cpuFeatures: "pmu=off", machineOptions: "nosmm" }));
    assert.deepEqual(values(args, "-machine"), ["q35,sata=off,smbus=off,nosmm,accel=kvm"]);
    assert.deepEqual(values(args, "-accel"), []);
    assert.deepEqual(values(args, "-cpu"), ["host,pmu=off"]);
  });

  it("TCG: single-threaded only for a VM that may be given vCPUs after its start, with room under maxcpus", () => {
    assert.equal(tcgThreading(true, 1, 4), "single", "hot-plug sizing, room to grow");
    assert.equal(tcgThreading(true, 2, 2), "multi", "no room: maxcpus reached");
    assert.equal(tcgThreading(false, 1, 4), "multi", "static sizing: nothing is hot-plugged");
    assert.deepEqual(values(buildQemuArgs(plan({ tcgThread: "multi" })), "-accel"), ["tcg,tb-size=64,thread=multi"]);
  });

  it("TCG: max without ERMS (byte-wise rep string ops are slow to emulate); cpu_features come after and win", () => {
    assert.deepEqual(values(buildQemuArgs(plan({ accel: "tcg", cpuFeatures: "" })), "-cpu"), ["max,erms=off"]);
    assert.deepEqual(values(buildQemuArgs(plan({ accel: "tcg", cpuFeatures: "erms=on" })), "-cpu"), [
      "max,erms=off,erms=on",
    ]);
  });

  it("virtio-9p instead of virtio-fs: no memfd RAM, no vhost-user socket", () => {
    const args = buildQemuArgs(plan({ share: { kind: "virtio-9p", path: "/run/hako/shared/abc" } }));
    assert.deepEqual(values(args, "-fsdev"), [
      "local,id=fs9p0,path=/run/hako/shared/abc,security_model=none,multidevs=remap",
    ]);
    assert.ok(values(args, "-device").includes("virtio-9p-pci,fsdev=fs9p0,mount_tag=kataShared"));
    assert.deepEqual(values(args, "-numa"), []);
    assert.ok(!values(args, "-device").some((d) => d.startsWith("vhost-user-fs")));
    assert.deepEqual(values(args, "-m"), ["2048M,slots=10,maxmem=4096M"]);
  });

  it("initrd-only root: no pmem device", () => {
    const { pmem: _, ...rest } = plan({ initrd: "/var/lib/hako/hako-initrd-full.img" });
    const args = buildQemuArgs(rest);
    assert.deepEqual(values(args, "-initrd"), ["/var/lib/hako/hako-initrd-full.img"]);
    assert.ok(!args.some((a) => a.includes("pmem")));
  });

  it("microvm: virtio-mmio devices, no PCIe ports, no memory slots", () => {
    const { pmem: _, ...rest } = plan({ machine: "microvm", pcieRootPorts: 2 });
    const args = buildQemuArgs(rest);
    assert.deepEqual(values(args, "-machine"), ["microvm,x-option-roms=off,isa-serial=on,rtc=on"]);
    assert.deepEqual(values(args, "-global"), ["virtio-mmio.force-legacy=false"]);
    assert.deepEqual(values(args, "-m"), ["2048M"]);
    const devices = values(args, "-device");
    assert.ok(devices.includes("virtio-serial-device,id=serial0"));
    assert.ok(devices.includes("vhost-user-fs-device,chardev=charvfs0,tag=kataShared,queue-size=1024"));
    assert.ok(!devices.some((d) => d.includes("pci")));
  });

  it("microvm under KVM drops the legacy PIT and PIC", () => {
    const { pmem: _, ...rest } = plan({ machine: "microvm", accel: "kvm" });
    const args = buildQemuArgs(rest);
    assert.deepEqual(values(args, "-machine"), [
      "microvm,x-option-roms=off,isa-serial=on,rtc=on,pit=off,pic=off,accel=kvm",
    ]);
  });

  it("-bios only when the plan names a firmware", () => {
    assert.deepEqual(values(buildQemuArgs(plan({ firmware: QBOOT_ROM })), "-bios"), [QBOOT_ROM]);
    assert.deepEqual(values(buildQemuArgs(plan({})), "-bios"), []);
  });
  it("qboot for q35 when installed; microvm keeps its own firmware", () => {
    assert.equal(
      chooseFirmware("q35", () => true),
      QBOOT_ROM,
    );
    assert.equal(
      chooseFirmware("q35", () => false),
      undefined,
    );
    assert.equal(
      chooseFirmware("microvm", () => true),
      undefined,
    );
  });
  it("microvm cannot carry a pmem root", () => {
    assert.throws(() => buildQemuArgs(plan({ machine: "microvm" })), HakoError);
  });

  it("vsock agent channel, tap NIC and entropy", () => {
    const args = buildQemuArgs(
      plan({
        agent: { kind: "vsock", cid: 7 },
        nics: [{ id: "net0", tapName: "tap0_hako", mac: "02:00:00:00:00:01", vhost: true }],
        entropySource: "/dev/urandom",
      }),
    );
    const devices = values(args, "-device");
    assert.ok(devices.includes("vhost-vsock-pci,id=vsock0,guest-cid=7"));
    assert.ok(!devices.some((d) => d.startsWith("virtserialport")));
    assert.deepEqual(values(args, "-netdev"), ["tap,id=net0,ifname=tap0_hako,script=no,downscript=no,vhost=on"]);
    assert.ok(devices.includes("virtio-net-pci,netdev=net0,mac=02:00:00:00:00:01"));
    assert.ok(devices.includes("virtio-rng-pci,rng=rng0"));
  });

  it("a NIC with an MTU gives it to the guest as host_mtu", () => {
    const nic = { id: "net0", tapName: "tap0_hako", mac: "02:00:00:00:00:02", mtu: 1450, vhost: false };
    const devices = values(buildQemuArgs(plan({ nics: [nic] })), "-device");
    assert.ok(devices.includes("virtio-net-pci,netdev=net0,mac=02:00:00:00:00:02,host_mtu=1450"));
  });

  it("a macvtap NIC is an inherited fd, numbered after the NICs before it that have one", () => {
    const nics = [
      { tap: "tap0_hako", mac: "02:00:00:00:00:01", mtu: 1500 },
      { tap: "mvtap0_hako", mac: "02:00:00:00:00:02", mtu: 1500, device: "/run/hako/netdev/a" },
      { tap: "mvtap1_hako", mac: "02:00:00:00:00:03", mtu: 1500, device: "/run/hako/netdev/b" },
    ];
    assert.deepEqual(
      [0, 1, 2].map((i) => nicFd(nics, i)),
      [3, 3, 4],
    );
    const nic = { id: "net1", tapName: "mvtap0_hako", mac: "02:00:00:00:00:02", vhost: false, fd: 3 };
    assert.deepEqual(values(buildQemuArgs(plan({ nics: [nic] })), "-netdev"), ["tap,id=net1,fd=3,vhost=off"]);
  });
});

describe("kernelParams", () => {
  it("Kata's fast-boot params, the lean-guest params, console, quiet, channel, then the config's params", () => {
    assert.deepEqual(kernelParams({ debug: false, channel: "serial", extra: ["a=1"] }), [
      ...fastBootParams,
      "swiotlb=noforce",
      "init_on_alloc=0",
      "console=ttyS0",
      "quiet",
      "hako.channel=serial",
      "a=1",
    ]);
    const debug = kernelParams({ debug: true, channel: "vsock", extra: [], tscKhz: 2596152 });
    assert.equal(debug.at(-1), "tsc_early_khz=2596152");
    assert.ok(debug.includes("hako.debug=1") && !debug.includes("quiet") && debug.includes("hako.channel=vsock"));
    assert.ok(leanGuestParams.every((p) => debug.includes(p)));
  });
  it("boots an emulated CPU without the local APIC timer (no 100 ms calibration), a KVM guest with it", () => {
    assert.ok(kernelParams({ debug: false, channel: "serial", extra: [], emulatedCpu: true }).includes("noapictimer"));
    assert.ok(
      !kernelParams({ debug: false, channel: "serial", extra: [], emulatedCpu: false }).includes("noapictimer"),
    );
    const template = kernelParams({ debug: false, channel: "serial", extra: [], emulatedCpu: true, template: true });
    assert.ok(
      !template.includes("noapictimer"),
      "a template's guest keeps it: its clones idle without a periodic tick",
    );
  });

  it("presets loops per jiffy only when given, before the config's params", () => {
    const base = { debug: false, channel: "serial", extra: ["lpj=1"] } as const;
    assert.deepEqual(kernelParams({ ...base, lpj: 25_960_960 }).slice(-2), ["lpj=25960960", "lpj=1"]);
    assert.ok(!kernelParams({ ...base, extra: [] }).some((p) => p.startsWith("lpj=")));
  });

  it("starts a template's agent from its bundle (the snapshot blob it would keep is copied into every clone)", () => {
    const base = { debug: false, channel: "serial", extra: [] } as const;
    assert.ok(kernelParams({ ...base, template: true }).includes("hako.snapshot=0"));
    assert.ok(!kernelParams(base).some((p) => p.startsWith("hako.snapshot=")));
    const undone = kernelParams({ ...base, extra: ["hako.snapshot=1"], template: true });
    assert.equal(undone.at(-1), "hako.snapshot=1", "the config's params still come last");
  });

  it("asks for a jitless agent only when told to, before the config's params so that they can undo it", () => {
    const tcg = kernelParams({ debug: false, channel: "serial", extra: ["hako.jitless=0"], jitless: true });
    assert.deepEqual(tcg.slice(-2), ["hako.jitless=1", "hako.jitless=0"]);
    assert.ok(!kernelParams({ debug: false, channel: "serial", extra: [], jitless: false }).includes("hako.jitless=1"));
  });
});

describe("hostTscKhz", () => {
  it("reads the first cpu MHz line", () => {
    assert.equal(hostTscKhz("processor\t: 0\ncpu MHz\t\t: 2596.152\n"), 2596152);
    assert.equal(hostTscKhz("processor\t: 0\n"), undefined);
  });
});
