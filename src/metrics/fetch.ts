// GET /metrics from a sandbox's unix socket, with a deadline: one stuck shim must not stall `hako monitor`.
import { request } from "node:http";
import { Code, HakoError } from "../common/errors.js";

export function fetchMetrics(socketPath: string, timeoutMs = 5_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, path: "/metrics", method: "GET", timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => {
        const body = Buffer.concat(chunks).toString();
        if (res.statusCode === 200) resolve(body);
        else reject(new HakoError(Code.Unavailable, `${socketPath}: HTTP ${res.statusCode}: ${body.trim()}`));
      });
      res.on("error", reject);
    });
    req.on("timeout", () =>
      req.destroy(new HakoError(Code.DeadlineExceeded, `${socketPath}: no answer within ${timeoutMs} ms`)),
    );
    req.on("error", reject);
    req.end();
  });
}
