/**
 * GET /health's pipeline state: from the lab's control (tests/browser) or, in the cloud, the
 * extractor's event source mapping (disabled = paused), read at most every 30 s.
 */
import { expect } from "chai";
import { mappingStateReader } from "../../handlers/api/index";
import { API_ROUTES, createApi, type Health } from "../../handlers/api/routes";
import { makeLabDynamoClient, makeLabS3Client } from "../../lab/clients";
import { LabLogger } from "../../lab/log";

describe("GET /health pipeline state", () => {
  it("reads the mapping's state, paused when Disabled or Disabling, cached for 30 s", async () => {
    let state = "Enabled";
    let calls = 0;
    let clock = 0;
    const lambda = {
      send: async (command: { input: { UUID?: string } }) => {
        calls++;
        expect(command.input.UUID).to.equal("uuid-1");
        return { State: state };
      },
    };
    const read = mappingStateReader(lambda as never, "uuid-1", () => clock);
    expect(await read()).to.deep.equal({ state: "running" });
    state = "Disabled";
    expect(await read()).to.deep.equal({ state: "running" }); // cached
    clock += 30_001;
    expect(await read()).to.deep.equal({ state: "paused" });
    state = "Disabling";
    clock += 30_001;
    expect(await read()).to.deep.equal({ state: "paused" });
    expect(calls).to.equal(3);
  });

  it("answers health with the pipeline's state, and without it when the state cannot be read", async () => {
    const options = {
      dynamodb: makeLabDynamoClient("http://127.0.0.1:9"),
      tableName: "t",
      s3: makeLabS3Client("http://127.0.0.1:9"),
      ingestBucket: "i",
      metadataBucket: "m",
      cursorSecret: "x".repeat(40),
      logger: new LabLogger({ serviceName: "api" }, () => {}),
    };
    const event = { routeKey: API_ROUTES.health, requestContext: {} } as never;
    const paused = createApi({
      ...options,
      pipelineState: async () => ({ state: "paused", pausedAt: "2026-12-02T00:00:00.000Z", pending: 3 }),
    });
    const body = JSON.parse(String((await paused(event)).body)) as Health;
    expect(body.pipeline).to.deep.equal({ state: "paused", pausedAt: "2026-12-02T00:00:00.000Z", pending: 3 });
    const failing = createApi({
      ...options,
      pipelineState: async () => {
        throw new Error("AccessDenied");
      },
    });
    const res = await failing(event);
    expect(res.statusCode).to.equal(200);
    expect(JSON.parse(String(res.body))).to.not.have.property("pipeline");
  });
});
