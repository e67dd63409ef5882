// `hako check` rule for what CRI PortForward (`kubectl port-forward`) needs on the node (src/port-forward/): nsenter
// and iptables on PATH, and an iptables that can add hako's nat REDIRECT rule with its comment match. The facts come
// from portForwardFacts(), which adds that rule in a network namespace of its own that dies with the probe, so the
// host's own tables are never touched; the rule reads the facts.
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { ruleArgv } from "../../port-forward/redirect-rule.js";
import { onPath, toolVersion } from "../host-facts.js";
import { type CheckItem, item } from "./item.js";

const run = promisify(execFile);

export interface PortForwardFacts {
  nsenter: string | undefined;
  iptables: string | undefined;
  /** `iptables --version`, which names the backend: `(nf_tables)` or `(legacy)`. */
  iptablesVersion: string | undefined;
  /** Adding hako's rule in a fresh network namespace: undefined when not tried (no iptables), else why it failed. */
  rule: { ok: true } | { ok: false; reason: string } | undefined;
}

export async function portForwardFacts(path = process.env.PATH ?? ""): Promise<PortForwardFacts> {
  const nsenter = onPath("nsenter", path);
  const iptables = onPath("iptables", path);
  if (!iptables) return { nsenter, iptables, iptablesVersion: undefined, rule: undefined };
  // As root a plain new netns; otherwise one owned by a user namespace where we are root (where unprivileged
  // user namespaces are allowed), which is enough to show the kernel has nat, REDIRECT and the comment match.
  const userns = process.getuid?.() === 0 ? [] : ["--map-root-user"];
  let rule: PortForwardFacts["rule"];
  try {
    await run("unshare", [...userns, "--net", "--", ...ruleArgv("-A", 1)], { timeout: 10_000 });
    rule = { ok: true };
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    rule = { ok: false, reason: e.stderr?.trim() || e.message };
  }
  return { nsenter, iptables, iptablesVersion: await toolVersion(iptables), rule };
}

export function portForwardItem(f: PortForwardFacts): CheckItem {
  const title = "port forwarding (CRI)";
  const effect = "pods run, but `kubectl port-forward` to them fails (connection refused inside the pod's netns)";
  const missing = [f.nsenter ? undefined : "nsenter", f.iptables ? undefined : "iptables"].filter(Boolean);
  if (missing.length > 0) {
    return item(
      "port-forward",
      title,
      "warn",
      `${missing.join(" and ")} not on PATH: ${effect}`,
      "apt-get install iptables util-linux (nsenter), on the PATH containerd gives the shim",
    );
  }
  if (f.rule && !f.rule.ok) {
    return item(
      "port-forward",
      title,
      "warn",
      `${f.iptablesVersion ?? f.iptables} cannot add hako's nat REDIRECT rule (-m comment) in a new network namespace: ${f.rule.reason}; ${effect}`,
      "the host kernel needs the nat table, the REDIRECT target, the comment match and conntrack (modules such as nft_chain_nat or iptable_nat, xt_REDIRECT, xt_comment, nf_conntrack); run `hako check` as root to test as the shim runs",
    );
  }
  return item(
    "port-forward",
    title,
    "ok",
    `${f.iptablesVersion ?? f.iptables} adds hako's nat REDIRECT rule; nsenter at ${f.nsenter} (the pod netns's lo must be up: CNI's loopback plugin)`,
  );
}
