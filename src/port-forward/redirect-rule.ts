// The iptables rule that turns the pod netns's loopback into the port forwarder: containerd's CRI PortForward enters
// the pod netns and dials localhost:<port> there (tcp4 first), and a nat OUTPUT REDIRECT sends every such TCP
// connection to the forwarder's one listener, which reads the port asked for back with SO_ORIGINAL_DST. The rule
// carries a comment so that people (and the clean-up) can tell hako's rule from others.
import type { NetnsRunner } from "../network/netns-exec.js";

/** The comment on hako's rule (iptables -m comment). */
export const RULE_COMMENT = "hako port-forward";

/** The rule's match and target, shared by -A and -D: TCP to 127.0.0.1, redirected to `toPort` on loopback. */
export function ruleSpec(toPort: number): string[] {
  return [
    "OUTPUT",
    "-p",
    "tcp",
    "-d",
    "127.0.0.1/32",
    "-m",
    "comment",
    "--comment",
    RULE_COMMENT,
    "-j",
    "REDIRECT",
    "--to-ports",
    String(toPort),
  ];
}

/** `iptables -w -t nat -A|-D <ruleSpec>`; -w waits for the xtables lock rather than failing on it. */
export function ruleArgv(action: "-A" | "-D", toPort: number): string[] {
  return ["iptables", "-w", "-t", "nat", action, ...ruleSpec(toPort)];
}

/**
 * Whether `iptables -S` output (of the nat table's OUTPUT chain) holds hako's rule to `toPort`. iptables prints the
 * match in its own order: `-A OUTPUT -d 127.0.0.1/32 -p tcp -m comment --comment "hako port-forward" -j REDIRECT
 * --to-ports N`.
 */
export function hasRule(listing: string, toPort: number): boolean {
  return listing
    .split("\n")
    .some((l) => l.includes(`--comment "${RULE_COMMENT}"`) && l.trim().endsWith(`--to-ports ${toPort}`));
}

export async function addRedirectRule(runner: NetnsRunner, netns: string, toPort: number): Promise<void> {
  await runner.run(netns, ruleArgv("-A", toPort));
}

/** Deletes the rule if it is there (idempotent: a second call, or a rule already gone, does nothing). */
export async function deleteRedirectRule(runner: NetnsRunner, netns: string, toPort: number): Promise<boolean> {
  const listing = await runner.run(netns, ["iptables", "-w", "-t", "nat", "-S", "OUTPUT"]);
  if (!hasRule(listing, toPort)) return false;
  await runner.run(netns, ruleArgv("-D", toPort));
  return true;
}
