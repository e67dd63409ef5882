// Two connected unix sockets for ttrpc specs, in a fresh temporary directory that cleanup() removes.
import { mkdtempSync, rmSync } from "node:fs";
import { connect, createServer, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

export function tempSocketPath(): { path: string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), "hako-ttrpc-"));
  return { path: join(dir, "s.sock"), cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export async function socketPair(): Promise<{ client: Socket; server: Socket; cleanup(): void }> {
  const { path, cleanup } = tempSocketPath();
  const listener = createServer();
  await new Promise<void>((resolve) => listener.listen(path, resolve));
  const accepted = new Promise<Socket>((resolve) => listener.once("connection", resolve));
  const client = connect(path);
  const server = await accepted;
  await new Promise<void>((resolve) => (client.connecting ? client.once("connect", () => resolve()) : resolve()));
  listener.close();
  return {
    client,
    server,
    cleanup: () => {
      client.destroy();
      server.destroy();
      cleanup();
    },
  };
}
