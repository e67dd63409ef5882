// Connects to a freshly booted guest: the VMM's socket may not exist yet and the agent may need seconds to open its
// port, so Health Check is retried with short per-attempt deadlines until the overall deadline. Late answers to
// abandoned attempts are dropped by the ttrpc client (their stream ids are no longer pending).
import { setTimeout as sleep } from "node:timers/promises";
import { Code, HakoError } from "../../common/errors.js";
import type { Logger } from "../../common/log.js";
import type { AgentAddress } from "../../hypervisor/hypervisor.js";
import { AgentClient } from "./agent-client.js";
import { connectAgent } from "./transport.js";

export interface WaitForAgentOptions {
  /** Overall deadline (ms from now). */
  timeoutMs: number;
  /** First per-attempt deadline; doubles up to maxAttemptMs. */
  attemptMs?: number;
  maxAttemptMs?: number;
  signal?: AbortSignal;
  logger?: Logger;
  controlTimeoutMs?: number;
}

export async function waitForAgent(address: AgentAddress, opts: WaitForAgentOptions): Promise<AgentClient> {
  const deadline = Date.now() + opts.timeoutMs;
  let attempt = opts.attemptMs ?? 500;
  const maxAttempt = opts.maxAttemptMs ?? 2000;
  let client: AgentClient | undefined;
  let lastError: unknown;
  let tries = 0;
  while (Date.now() < deadline) {
    opts.signal?.throwIfAborted();
    tries++;
    const left = deadline - Date.now();
    try {
      if (!client) {
        const stream = await connectAgent(address, { timeoutMs: Math.min(attempt, left), ...sig(opts.signal) });
        const clientOpts: { logger?: Logger; controlTimeoutMs?: number } = {};
        if (opts.logger) clientOpts.logger = opts.logger;
        if (opts.controlTimeoutMs !== undefined) clientOpts.controlTimeoutMs = opts.controlTimeoutMs;
        client = new AgentClient(stream, clientOpts);
      }
      await client.check({ timeoutMs: Math.min(attempt, Math.max(1, left)), ...sig(opts.signal) });
      opts.logger?.debug("agent answered", { tries });
      return client;
    } catch (err) {
      lastError = err;
      const code = err instanceof HakoError ? err.code : Code.Unknown;
      // A dead connection is replaced; a slow one is kept (the guest may not have opened its port yet).
      if (code !== Code.DeadlineExceeded && client) {
        client.close();
        client = undefined;
      }
      if (code !== Code.DeadlineExceeded) await sleep(Math.min(100, Math.max(0, deadline - Date.now())));
      attempt = Math.min(attempt * 2, maxAttempt);
    }
  }
  client?.close();
  const why = lastError instanceof Error ? lastError.message : String(lastError);
  throw new HakoError(
    Code.DeadlineExceeded,
    `agent did not answer within ${opts.timeoutMs} ms (${tries} tries): ${why}`,
    {
      cause: lastError,
    },
  );
}

function sig(signal: AbortSignal | undefined): { signal?: AbortSignal } {
  return signal ? { signal } : {};
}
