/**
 * The cold-start bench compares each function with an SDK-only reference holding the same
 * @aws-sdk packages; when a handler starts using another client, the bench stops with
 * "add it to its reference". That went unnoticed for the API (Lambda and SSM clients) and the
 * kill switch (Budgets) because the bench is not part of npm test: this test is.
 */

import * as fs from "node:fs/promises";
import * as os from "node:os";
import * as path from "node:path";
import { expect } from "chai";
import { FUNCTIONS, REFERENCES, sdkPackagesOf } from "../../bench/cold-start";
import { buildBundle } from "../../build/bundles";

describe("cold-start bench: each function's SDK-only reference holds the SDK packages its bundle holds", function () {
  this.timeout(120_000);
  let dir: string;
  before(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), "cold-refs-"));
  });
  after(async () => {
    if (dir) await fs.rm(dir, { recursive: true, force: true });
  });

  for (const name of FUNCTIONS) {
    it(`${name}`, async () => {
      const built = await buildBundle(name, dir);
      expect(sdkPackagesOf(built.metafile)).to.deep.equal([...REFERENCES[name].packages].sort());
    });
  }
});
