// Process and machine control PID 1 needs: waitpid, reboot, prctl(PR_SET_CHILD_SUBREAPER), sethostname,
// clock_settime.
import { ECHILD } from "./errno.js";
import { fail, lastErrno, load } from "./libc.js";

/** Powers the machine off: the host sees the VM die. Only returns if the kernel refused (not PID 1, no CAP). */
export function powerOff(): void {
  const l = load();
  l.sync();
  l.reboot(0x4321fedc); // LINUX_REBOOT_CMD_POWER_OFF
}

export interface WaitResult {
  pid: number;
  /** Exit code, or 128 + signal number for a signalled process. */
  status: number;
}

/** waitpid(pid, WNOHANG): undefined while the process runs, null when it is not our child (ECHILD). */
export function waitPidNoHang(pid: number): WaitResult | undefined | null {
  const out = [0];
  const r = load().waitpid(pid, out, 1 /* WNOHANG */) as number;
  if (r === 0) return undefined;
  if (r < 0) {
    if (lastErrno() === ECHILD) return null;
    throw fail("waitpid", String(pid));
  }
  const raw = out[0] ?? 0;
  const sig = raw & 0x7f;
  return { pid: r, status: sig === 0 ? (raw >> 8) & 0xff : 128 + sig };
}

export function setHostname(name: string): void {
  const buf = Buffer.from(name);
  if ((load().sethostname(name, buf.length) as number) !== 0) throw fail("sethostname", name);
}

/** Orphaned descendants are re-parented to this process, which must then reap them. */
export function setChildSubreaper(): void {
  load().prctl(36 /* PR_SET_CHILD_SUBREAPER */, 1, 0, 0, 0);
}

/** Sets CLOCK_REALTIME (millisecond precision). */
export function setRealtime(date: Date): void {
  const ms = date.getTime();
  const ts = Buffer.alloc(16);
  ts.writeBigInt64LE(BigInt(Math.floor(ms / 1000)), 0);
  ts.writeBigInt64LE(BigInt((ms % 1000) * 1_000_000), 8);
  if ((load().clockSettime(0 /* CLOCK_REALTIME */, ts) as number) !== 0)
    throw fail("clock_settime", date.toISOString());
}
