// Waiting in e2e tests: a promise with a deadline, a condition polled until it holds, a stream read to its end.

/** p, or a rejection naming `what` once ms have passed. */
export function within<T>(ms: number, what: string, p: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms);
  });
  return Promise.race([p, limit]).finally(() => clearTimeout(timer));
}

/** Polls check every 50 ms until it holds; throws, naming `what`, once ms have passed. */
export async function waitFor(check: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Polls check (sync or async) every 200 ms until it holds; false once ms have passed, for a message of one's own. */
export async function eventually(check: () => boolean | Promise<boolean>, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await check()) return true;
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Calls read until it returns null (end of stream) and returns all it gave as text. */
export async function readAll(read: () => Promise<Uint8Array | null>): Promise<string> {
  let out = "";
  for (let b = await read(); b !== null; b = await read()) out += Buffer.from(b).toString();
  return out;
}
