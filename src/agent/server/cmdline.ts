// The agent's settings from the kernel command line: hako.debug=1, hako.channel=serial|vsock,
// hako.modules=name[,name…] (extra modules to load at boot).
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
    if (key === "hako.debug") out.debug = value === "" || value === "1" || value === "true";
    else if (key === "hako.channel" && (value === "serial" || value === "vsock")) out.channel = value;
    else if (key === "hako.modules" && value) out.modules.push(...value.split(",").filter(Boolean));
  }
  return out;
}
