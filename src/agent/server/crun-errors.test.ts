import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Code } from "../../common/errors.js";
import { crunErrorCode, withRuncWording } from "./crun-errors.js";

describe("crun errors", () => {
  const missing = "executable file `/nonexistent` not found in $PATH: No such file or directory";

  it("adds runc's wording for a missing executable, which docker turns into exit 127", () => {
    const worded = withRuncWording(missing);
    assert.ok(worded.startsWith(missing));
    // docker 20.10's test: the command is named and "executable file not found" is said.
    assert.ok(worded.includes("/nonexistent") && worded.includes("executable file not found"));
    assert.equal(crunErrorCode(worded), Code.NotFound);
  });

  it("leaves other messages as they are", () => {
    const other = "cannot set kernel memory with cgroupv2";
    assert.equal(withRuncWording(other), other);
    assert.equal(crunErrorCode(other), Code.Internal);
  });
});
