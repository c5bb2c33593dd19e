/**
 * The flags of `npm run bench` (bench/main.ts), parsed by tools/cli.ts parseFlags like the other
 * CLIs: the same flags, defaults and usage errors as the hand parser they replaced.
 */
import { expect } from "chai";
import { parseArgs } from "../../bench/main";
import { UsageError } from "../../tools/cli";

describe("bench flags (bench/main.ts)", () => {
  it("defaults: a readable report, every section, 3/2/7/2 runs", () => {
    expect(parseArgs([])).to.deep.equal({ json: false, inPlaceRuns: 3, downloadRuns: 2, coldRuns: 7, layoutRuns: 2 });
  });

  it("takes every flag, as `--flag value` and `--flag=value`", () => {
    expect(
      parseArgs([
        "--json",
        "--only",
        "probe,,coldstart",
        "--inplace-runs",
        "5",
        "--download-runs=4",
        "--cold-runs",
        "9",
        "--layout-runs=1",
      ]),
    ).to.deep.equal({
      json: true,
      only: ["probe", "coldstart"],
      inPlaceRuns: 5,
      downloadRuns: 4,
      coldRuns: 9,
      layoutRuns: 1,
    });
  });

  it("refuses what the hand parser refused, as usage errors", () => {
    const refused = (argv: string[], message: RegExp) => {
      let caught: unknown;
      try {
        parseArgs(argv);
      } catch (err) {
        caught = err;
      }
      expect(caught, argv.join(" ")).to.be.instanceOf(UsageError);
      expect((caught as Error).message).to.match(message);
    };
    refused(["--cold-runs", "0"], /^--cold-runs needs a positive integer, got 0$/);
    refused(["--inplace-runs=1.5"], /^--inplace-runs needs a positive integer, got 1\.5$/);
    refused(["--layout-runs", "many"], /^--layout-runs needs a positive integer, got many$/);
    refused(["--only"], /^option --only needs a value$/);
    refused(["--no-such-flag"], /^unknown option --no-such-flag$/);
    refused(["probe"], /^unexpected argument "probe"$/);
  });
});
