// Network namespaces the CRI tests make for themselves (network safety): the "node" namespace a private containerd,
// its CNI plugins and every pod address live in, so that no bridge, veth, route or packet ever reaches the host's
// own network. Entered with nsenter, not `ip netns exec`, which remounts /sys and would hide the host's cgroups.
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { type CtrResult, runCommand } from "./containerd.js";

const NETNS_DIR = "/var/run/netns";

export class TestNetns {
  private constructor(readonly name: string) {}

  get path(): string {
    return join(NETNS_DIR, this.name);
  }

  /** Creates the namespace with loopback up; `name` should be unique to the test run. */
  static async create(name: string): Promise<TestNetns> {
    await mustRun("ip", ["netns", "add", name]);
    const ns = new TestNetns(name);
    try {
      await mustRun("nsenter", [`--net=${ns.path}`, "ip", "link", "set", "lo", "up"]);
    } catch (err) {
      await ns.delete();
      throw err;
    }
    return ns;
  }

  /** A namespace by name that someone else created (e.g. one a killed run left), to delete it. */
  static existing(name: string): TestNetns {
    return new TestNetns(name);
  }

  /** The argv prefix that runs a command inside this namespace. */
  wrap(cmd: string, args: string[]): [string, string[]] {
    return ["nsenter", [`--net=${this.path}`, cmd, ...args]];
  }

  /** Runs a command inside the namespace to completion (never throws for a non-zero exit). */
  run(cmd: string, args: string[], options: { timeoutMs?: number; input?: string } = {}): Promise<CtrResult> {
    const [c, a] = this.wrap(cmd, args);
    return runCommand(c, a, options);
  }

  /** Deletes the namespace; its veths and bridges go with it. Idempotent. */
  async delete(): Promise<void> {
    if (existsSync(this.path)) await mustRun("ip", ["netns", "delete", this.name]);
  }
}

/** Names under /var/run/netns (CRI's pod namespaces are `cni-<uuid>`), to check that teardown removed its own. */
export function netnsNames(): string[] {
  return existsSync(NETNS_DIR) ? readdirSync(NETNS_DIR) : [];
}

async function mustRun(cmd: string, args: string[]): Promise<void> {
  const r = await runCommand(cmd, args, { timeoutMs: 30_000 });
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(" ")} failed (${r.code}): ${r.stderr.trim()}`);
}
