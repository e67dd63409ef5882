// What every `hako check` rule produces: one item per thing checked, saying what was found and, when it is not fine,
// what to do. Rules are pure: facts in, items out (run.ts gathers the facts).
import type { Accelerator } from "../../hypervisor/hypervisor.js";

export type CheckStatus = "ok" | "warn" | "fail";

export interface CheckItem {
  id: string;
  title: string;
  status: CheckStatus;
  detail: string;
  /** What to do about a warn or fail. */
  fix?: string;
}

export interface CheckReport {
  /** True when sandboxes can run here. */
  ok: boolean;
  config: string;
  accelerator: Accelerator | null;
  items: CheckItem[];
}

export const item = (id: string, title: string, status: CheckStatus, detail: string, fix?: string): CheckItem =>
  fix === undefined ? { id, title, status, detail } : { id, title, status, detail, fix };
