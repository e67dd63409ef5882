// The agent's settings from the kernel command line: hako.debug=1, hako.channel=serial|vsock,
// hako.modules=name[,name…] (extra modules to load at boot). The names are the guest contract's GUEST_PARAM.
import { GUEST_PARAM } from "../api/guest-contract.js";

export interface AgentCmdline {
  debug: boolean;
  channel: "serial" | "vsock";
  modules: string[];
}

export function parseCmdline(text: string): AgentCmdline {
  const out: AgentCmdline = { debug: false, channel: "serial", modules: [] };
  for (const word of text.trim().split(/\s+/)) {
    const eq = word.indexOf("=");
    const key = eq < 0 ? word : word.slice(0, eq);
    const value = eq < 0 ? "" : word.slice(eq + 1);
    if (key === GUEST_PARAM.debug) out.debug = value === "" || value === "1" || value === "true";
    else if (key === GUEST_PARAM.channel && (value === "serial" || value === "vsock")) out.channel = value;
    else if (key === GUEST_PARAM.modules && value) out.modules.push(...value.split(",").filter(Boolean));
  }
  return out;
}
