// The raw floor of a VM start: QEMU boots the same guest kernel hako uses with a tiny busybox initrd whose init
// powers off at once; the time from spawn to QEMU's exit is what no runtime built on that VM can beat.
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { chmod, copyFile, mkdir, mkdtemp, readFile, rename, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { Accelerator } from "../src/hypervisor/hypervisor.js";

const INIT_MARKER = "hako-bench-init-ran";
const cacheDir = join(resolve(dirname(fileURLToPath(import.meta.url)), ".."), ".cache", "bench");

/** Kata's fast-boot x86 parameters, the ones hako's driver passes too, so both boots do the same work. */
const FAST_BOOT_PARAMS =
  "tsc=reliable no_timer_check rcupdate.rcu_expedited=1 i8042.direct=1 i8042.dumbkbd=1 i8042.nopnp=1 i8042.noaux=1 " +
  "noreplace-smp reboot=k cryptomgr.notests panic=1";

export interface RawBootOptions {
  qemu: string;
  kernel: string;
  accelerator: Accelerator;
  tcgTbSizeMiB: number;
  memoryMiB: number;
  timeoutMs: number;
}

function sh(cmd: string): Promise<void> {
  return new Promise((res, rej) => {
    const c = spawn("sh", ["-c", cmd], { stdio: ["ignore", "ignore", "pipe"] });
    let err = "";
    c.stderr.on("data", (b: Buffer) => {
      err += b.toString();
    });
    c.on("close", (code) => (code === 0 ? res() : rej(new Error(`${cmd}: exit ${code}: ${err}`))));
  });
}

/** Builds (once) a newc initrd holding busybox and an /init that powers the VM off. */
export async function tinyInitrd(busybox = "/bin/busybox"): Promise<string> {
  const out = join(cacheDir, "poweroff-initrd-v2.cpio");
  if (existsSync(out)) return out;
  await mkdir(cacheDir, { recursive: true });
  const dir = await mkdtemp(join(tmpdir(), "hako-bench-initrd-"));
  try {
    await mkdir(join(dir, "bin"), { recursive: true });
    await mkdir(join(dir, "dev"));
    await copyFile(busybox, join(dir, "bin/busybox"));
    await chmod(join(dir, "bin/busybox"), 0o755);
    // -f: no init system to ask; reboot as a fallback exits QEMU too, thanks to -no-reboot.
    // The marker on the serial console proves init ran: a kernel panic (panic=1, -no-reboot) also ends QEMU.
    const init = [
      "#!/bin/busybox sh",
      "/bin/busybox mount -t devtmpfs dev /dev",
      `/bin/busybox echo ${INIT_MARKER} > /dev/ttyS0`,
      "/bin/busybox poweroff -f",
      "/bin/busybox reboot -f",
      "",
    ].join("\n");
    await writeFile(join(dir, "init"), init, { mode: 0o755 });
    await sh(`cd ${dir} && find . | sort | cpio -o -H newc --quiet -R 0:0 > ${out}.tmp`);
    await rename(`${out}.tmp`, out);
    return out;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export function rawBootArgs(o: RawBootOptions, initrd: string, consoleLog: string): string[] {
  const accel =
    o.accelerator === "kvm" ? ["-accel", "kvm", "-cpu", "host"] : ["-accel", `tcg,tb-size=${o.tcgTbSizeMiB}`];
  return [
    "-name",
    "hako-bench-raw-boot",
    "-machine",
    "q35",
    ...accel,
    "-m",
    String(o.memoryMiB),
    "-smp",
    "1",
    "-nodefaults",
    "-nographic",
    "-no-user-config",
    "-no-reboot",
    "-serial",
    `file:${consoleLog}`,
    "-kernel",
    o.kernel,
    "-initrd",
    initrd,
    "-append",
    `console=ttyS0 quiet ${FAST_BOOT_PARAMS} rdinit=/init`,
  ];
}

/** One boot: milliseconds from spawn to QEMU's exit. Rejects if QEMU fails or outlives the timeout (then killed). */
export async function rawBoot(o: RawBootOptions): Promise<number> {
  const initrd = await tinyInitrd();
  const work = await mkdtemp(join(tmpdir(), "hako-bench-raw-"));
  const consoleLog = join(work, "console.log");
  try {
    const ms = await spawnTimed(o, rawBootArgs(o, initrd, consoleLog));
    const console = await readFile(consoleLog, "utf8").catch(() => "");
    if (!console.includes(INIT_MARKER)) {
      throw new Error(`raw boot: the guest's init never ran; console:\n${console.split("\n").slice(-15).join("\n")}`);
    }
    return ms;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

function spawnTimed(o: RawBootOptions, args: string[]): Promise<number> {
  return new Promise((res, rej) => {
    const t0 = performance.now();
    const qemu = spawn(o.qemu, args, { stdio: ["ignore", "ignore", "pipe"] });
    let err = "";
    qemu.stderr.on("data", (b: Buffer) => {
      err += b.toString();
    });
    const timer = setTimeout(() => qemu.kill("SIGKILL"), o.timeoutMs);
    qemu.on("error", (e) => {
      clearTimeout(timer);
      rej(e);
    });
    qemu.on("close", (code, signal) => {
      clearTimeout(timer);
      const ms = performance.now() - t0;
      if (code === 0) res(ms);
      else rej(new Error(`raw boot: qemu exited with ${signal ?? code}${signal ? " (timed out)" : ""}: ${err.trim()}`));
    });
  });
}
