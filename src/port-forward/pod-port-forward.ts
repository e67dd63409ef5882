// A pod's port forwarding for CRI PortForward, from pod start to teardown. containerd serves PortForward by dialing
// localhost:<port> inside the pod netns; under hako the pod's listeners are in the guest, so the shim puts one
// listener on 127.0.0.1 in the pod netns, an iptables REDIRECT of all loopback TCP there to it (redirect-rule.ts),
// and forwards each connection to its original port in the guest (port-forwarder.ts). What was made is recorded
// ({ netns, port }) before the rule is added, so that the clean-up after a dead shim and a restore can remove the
// rule; the listener dies with its process.
import { existsSync, mkdirSync } from "node:fs";
import { rm } from "node:fs/promises";
import { dirname } from "node:path";
import type { GuestPorts } from "../agent/api/agent-api.js";
import { Code, HakoError } from "../common/errors.js";
import { readJsonFile, writeJsonFile } from "../common/json-file.js";
import type { Logger } from "../common/log.js";
import { type NetnsRunner, nsenterRunner } from "../network/netns-exec.js";
import { load } from "../sys/libc.js";
import { linkIsUp } from "../sys/netdev.js";
import { inNetns, listenTcpInNetns } from "../sys/netns-socket.js";
import { PortForwarder } from "./port-forwarder.js";
import { addRedirectRule, deleteRedirectRule } from "./redirect-rule.js";

/** What a running port forwarding made, persisted at SandboxPaths.portForwardRecord. */
export interface PortForwardRecord {
  /** The pod netns the listener and the rule are in. */
  netns: string;
  /** The listener's port there, which the rule redirects to. */
  port: number;
}

export interface PodPortForward {
  readonly port: number;
  /** Closes the listener and its connections, removes the rule and the record. Idempotent. */
  stop(): Promise<void>;
}

export interface PortForwardRequest {
  netns: string;
  guest: GuestPorts;
  recordPath: string;
}

/** Starts a pod's port forwarding; the runtime's default, replaced by a fake in unit tests. */
export type PortForwardStarter = (req: PortForwardRequest, log: Logger) => Promise<PodPortForward | undefined>;

/**
 * Listener, record, rule, in that order. A pod runs without port forwarding rather than not at all: when a step
 * fails (no iptables in the node, no loopback in the netns) what was made is undone and a warning says why; the
 * result is then undefined.
 */
export async function startPodPortForward(
  req: PortForwardRequest,
  log: Logger,
  runner: NetnsRunner = nsenterRunner,
): Promise<PodPortForward | undefined> {
  const { netns, recordPath } = req;
  let fd: number | undefined;
  let forwarder: PortForwarder | undefined;
  let record: PortForwardRecord | undefined;
  try {
    const made = listenTcpInNetns(netns, "127.0.0.1");
    fd = made.fd;
    forwarder = await PortForwarder.listen(fd, { guest: req.guest, log: log.child({ subsystem: "port-forward" }) });
    fd = undefined; // the server's now
    record = { netns, port: made.port };
    mkdirSync(dirname(recordPath), { recursive: true, mode: 0o700 });
    await writeJsonFile(recordPath, record);
    await addRedirectRule(runner, netns, made.port);
  } catch (err) {
    if (fd !== undefined) load().close(fd);
    await forwarder?.close();
    if (record) await rm(recordPath, { force: true });
    log.warn("port forwarding (CRI PortForward) is not available for this pod", { netns, err });
    return undefined;
  }
  log.info("port forwarding ready", { netns, port: record.port });
  warnIfLoopbackDown(netns, log);
  const listening = forwarder;
  let stopped: Promise<void> | undefined;
  return {
    port: record.port,
    stop: () => {
      stopped ??= (async () => {
        await listening.close();
        await removePortForward(recordPath, log, runner);
      })();
      return stopped;
    },
  };
}

/**
 * containerd dials localhost in the pod netns: with `lo` down there (CNI's loopback plugin sets it up in a
 * Kubernetes pod; a netns made by hand may not have it) every forward fails with "connection refused", so say why.
 * The pod's netns is not changed.
 */
function warnIfLoopbackDown(netns: string, log: Logger): void {
  let up = false;
  try {
    up = inNetns(netns, () => linkIsUp("lo"));
  } catch {
    // unreadable: said as down, which is what it means for a forward
  }
  if (!up) {
    log.warn("port forwarding: lo is down in the pod netns, so nothing there reaches 127.0.0.1 and forwards fail", {
      netns,
    });
  }
}

/**
 * Removes the rule a record names (when its netns still exists), then the record. Idempotent; a failure leaves the
 * record for a later try.
 * @throws HakoError from iptables, or DataLoss for an unreadable record
 */
export async function removePortForward(
  recordPath: string,
  log: Logger,
  runner: NetnsRunner = nsenterRunner,
): Promise<void> {
  const record = (await readJsonFile(recordPath, "port-forward record")) as PortForwardRecord | undefined;
  if (!record) return;
  if (existsSync(record.netns)) {
    try {
      await deleteRedirectRule(runner, record.netns, record.port);
    } catch (err) {
      throw HakoError.from(err, Code.Internal, `removing the port-forward rule in ${record.netns}`);
    }
  }
  await rm(recordPath, { force: true });
  log.info("port forwarding removed", { netns: record.netns, port: record.port });
}

/**
 * For a restored sandbox: the old owner's listener died with it, so its rule goes and port forwarding starts again
 * in the same netns, for the new owner's agent connection. Undefined when there was none (or it cannot start).
 */
export async function restorePodPortForward(
  req: Omit<PortForwardRequest, "netns">,
  log: Logger,
  start: PortForwardStarter = startPodPortForward,
): Promise<PodPortForward | undefined> {
  const record = (await readJsonFile(req.recordPath, "port-forward record")) as PortForwardRecord | undefined;
  if (!record) return undefined;
  await removePortForward(req.recordPath, log);
  if (!existsSync(record.netns)) return undefined;
  return start({ ...req, netns: record.netns }, log);
}
