import { expect } from "chai";
import { isTransient } from "../../handlers/extractor/errors";
import { parseRange } from "../../handlers/extractor/range-proxy";

describe("range header parsing", () => {
  it("handles open, closed and suffix ranges", () => {
    expect(parseRange("bytes=0-", 100)).to.deep.equal({ start: 0, end: 99 });
    expect(parseRange("bytes=10-19", 100)).to.deep.equal({ start: 10, end: 19 });
    expect(parseRange("bytes=90-200", 100)).to.deep.equal({ start: 90, end: 99 });
    expect(parseRange("bytes=-10", 100)).to.deep.equal({ start: 90, end: 99 });
    expect(parseRange(undefined, 100)).to.equal(undefined);
  });

  it("refuses unsatisfiable or malformed ranges", () => {
    expect(parseRange("bytes=100-", 100)).to.equal("invalid");
    expect(parseRange("bytes=5-1", 100)).to.equal("invalid");
    expect(parseRange("items=0-1", 100)).to.equal("invalid");
    expect(parseRange("bytes=0-1,5-6", 100)).to.equal("invalid");
  });
});

describe("transient failure classification", () => {
  it("retries throttling, 5xx and network errors", () => {
    expect(isTransient({ name: "ProvisionedThroughputExceededException" })).to.equal(true);
    expect(isTransient({ name: "SlowDown", $metadata: { httpStatusCode: 503 } })).to.equal(true);
    expect(isTransient({ name: "Whatever", $metadata: { httpStatusCode: 500 } })).to.equal(true);
    expect(isTransient(Object.assign(new Error("socket hang up"), { code: "ECONNRESET" }))).to.equal(true);
  });

  it("does not retry client errors", () => {
    expect(isTransient({ name: "AccessDenied", $metadata: { httpStatusCode: 403 } })).to.equal(false);
    expect(isTransient({ name: "ValidationException", $metadata: { httpStatusCode: 400 } })).to.equal(false);
  });
});
