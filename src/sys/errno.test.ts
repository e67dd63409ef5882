// The errno → error code map that every failed system call goes through.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Code } from "../common/errors.js";
import { codeForErrno, EACCES, EAGAIN, EBUSY, EEXIST, EINVAL, ENOENT, ENOSYS, EPERM, errnoName } from "./errno.js";

describe("errno", () => {
  it("names known errnos and numbers the rest", () => {
    assert.equal(errnoName(ENOENT), "ENOENT");
    assert.equal(errnoName(EBUSY), "EBUSY");
    assert.equal(errnoName(4095), "errno 4095");
  });

  it("maps errnos to the codes a caller can act on", () => {
    assert.equal(codeForErrno(ENOENT), Code.NotFound);
    assert.equal(codeForErrno(EEXIST), Code.AlreadyExists);
    assert.equal(codeForErrno(EPERM), Code.PermissionDenied);
    assert.equal(codeForErrno(EACCES), Code.PermissionDenied);
    assert.equal(codeForErrno(EBUSY), Code.FailedPrecondition);
    assert.equal(codeForErrno(EAGAIN), Code.Unavailable);
    assert.equal(codeForErrno(EINVAL), Code.InvalidArgument);
    assert.equal(codeForErrno(ENOSYS), Code.Unimplemented);
    assert.equal(codeForErrno(5 /* EIO */), Code.Internal);
    assert.equal(codeForErrno(4095), Code.Internal);
  });
});
