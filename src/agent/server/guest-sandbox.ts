// The pod's guest-wide setup, made once per sandbox: kernel modules, loopback, hostname, DNS and the sandbox's
// storages (mounted here, unmounted at teardown). Containers are guest-containers.ts's.
import { spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { Code, HakoError } from "../../common/errors.js";
import type { Logger } from "../../common/log.js";
import { setHostname } from "../../sys/process.js";
import type { CreateSandboxRequest, GuestStorage } from "../api/agent-api.js";
import type { GuestNetwork } from "./network.js";
import { mountStorage, unmountStorage } from "./storage.js";

export interface GuestSandboxOptions {
  /** Where /etc/resolv.conf lives (a writable copy of /etc in the guest). */
  resolvConf: string;
  loadModule?: (spec: string) => Promise<void>;
  network: GuestNetwork;
  log: Logger;
}

export class GuestSandbox {
  private storages: GuestStorage[] = [];
  private id: string | undefined;

  constructor(private readonly opts: GuestSandboxOptions) {}

  /** Throws AlreadyExists for a second sandbox; Internal (storages unmounted again) when a storage fails. */
  async create(req: CreateSandboxRequest): Promise<void> {
    if (this.id !== undefined) {
      throw new HakoError(Code.AlreadyExists, `sandbox ${this.id} already exists`);
    }
    for (const m of req.kernelModules) await this.opts.loadModule?.(m);
    // Every pod, NIC or not: containers of one pod reach each other over 127.0.0.1.
    await this.opts.network.loopbackUp();
    if (req.hostname) setHostname(req.hostname);
    if (req.dns.length > 0) {
      writeFileSync(this.opts.resolvConf, dnsFile(req.dns));
    }
    const mounted: GuestStorage[] = [];
    try {
      for (const s of req.storages) {
        mountStorage(s);
        mounted.push(s);
      }
    } catch (err) {
      for (const s of mounted.reverse()) unmountStorage(s, this.opts.log);
      throw HakoError.from(err, Code.Internal, `sandbox ${req.sandboxId}: mounting storage`);
    }
    this.storages = mounted;
    this.id = req.sandboxId;
    this.opts.log.info("sandbox created", { sandbox: req.sandboxId });
  }

  /** Unmounts the sandbox's storages (its containers are removed first, by the caller). */
  destroy(): void {
    for (const s of this.storages.reverse()) unmountStorage(s, this.opts.log);
    this.storages = [];
    this.opts.log.info("sandbox destroyed", { sandbox: this.id });
    this.id = undefined;
  }
}

export function dnsFile(dns: string[]): string {
  // Kata sends whole resolv.conf lines ("nameserver 1.1.1.1"); a bare address is a nameserver.
  return `${dns.map((l) => (/^\s*(nameserver|search|options|domain)\s/.test(l) ? l.trim() : `nameserver ${l.trim()}`)).join("\n")}\n`;
}

/** Runs busybox modprobe for "name arg=value …". */
export function modprobe(spec: string): Promise<void> {
  const [name, ...args] = spec.trim().split(/\s+/);
  if (!name) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const child = spawn("modprobe", [name, ...args], { stdio: "ignore" });
    child.once("error", (err) => reject(HakoError.from(err, Code.Internal, `modprobe ${name}`)));
    child.once("exit", (code) =>
      code === 0 ? resolve() : reject(new HakoError(Code.Internal, `modprobe ${name} failed: exit ${code}`)),
    );
  });
}
