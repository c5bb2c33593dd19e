/**
 * A lab folder keeps its ports (<dir>/ports.json): a restart listens where the last start did,
 * so an open dashboard tab and a token taken before the restart keep working. Flags and
 * variables still override, and a kept port another program took is replaced, not fatal.
 */
import * as fs from "node:fs/promises";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { expect } from "chai";
import { labAccessToken } from "../../lab/auth/sign-in";
import { keptPorts, type LabEndpoints, type LabPorts, labPaths, startLab } from "../../lab/lab";
import { freePort } from "../../lab/soak/start";

const portOf = (url: string) => Number(new URL(url).port);

function ports(e: LabEndpoints): LabPorts {
  return {
    s3: portOf(e.s3Endpoint),
    dynamodb: portOf(e.dynamodbEndpoint),
    api: portOf(e.apiUrl),
    auth: portOf(e.auth.issuer),
  };
}

/** Occupies a port (as another program would) until closed. */
function occupy(port: number): Promise<net.Server> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen({ host: "127.0.0.1", port, exclusive: true }, () => resolve(server));
  });
}

describe("lab: stable ports", function () {
  this.timeout(120_000);
  let dir: string;
  const saved = { ...process.env };
  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), "mp-lab-ports-"));
    for (const v of ["LAB_S3_PORT", "LAB_DYNAMODB_PORT", "LAB_API_PORT", "LAB_AUTH_PORT"]) delete process.env[v];
  });
  afterEach(async () => {
    process.env = { ...saved };
    await fs.rm(dir, { recursive: true, force: true });
  });

  it("reuses the first start's ports after a restart, and a token taken before still works", async () => {
    const first = await startLab({ dir, quiet: true });
    const before = ports(first.endpoints);
    const token = await labAccessToken(first.endpoints);
    await first.stop();
    expect(keptPorts(dir)).to.deep.equal(before);

    const second = await startLab({ dir, quiet: true });
    try {
      expect(ports(second.endpoints)).to.deep.equal(before);
      const res = await fetch(`${second.endpoints.apiUrl}/files?limit=1`, {
        headers: { authorization: `Bearer ${token}` },
      });
      expect(res.status, await res.text()).to.equal(200);
      expect((await fetch(second.endpoints.dashboardUrl)).status).to.equal(200);
    } finally {
      await second.stop();
    }
  });

  it("a flag or variable overrides a kept port, and a kept port taken meanwhile is replaced", async () => {
    const first = await startLab({ dir, quiet: true });
    const before = ports(first.endpoints);
    await first.stop();

    const blocker = await occupy(before.s3);
    const [wanted, flagged] = await Promise.all([freePort(), freePort()]);
    process.env.LAB_AUTH_PORT = String(wanted);
    try {
      const second = await startLab({ dir, quiet: true, ports: { dynamodb: flagged } });
      try {
        const now = ports(second.endpoints);
        expect(now.s3, "the taken S3 port is replaced").to.not.equal(before.s3);
        expect(now.auth, "LAB_AUTH_PORT wins over the kept port").to.equal(wanted);
        expect(now.dynamodb, "the option (--dynamodb-port) wins over the kept port").to.equal(flagged);
        expect(now.api, "the free kept port is reused").to.equal(before.api);
        expect(keptPorts(dir)).to.deep.equal(now);
      } finally {
        await second.stop();
      }
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
    }
    expect(JSON.parse(await fs.readFile(labPaths(dir).ports, "utf8"))).to.have.keys("s3", "dynamodb", "api", "auth");
  });
});
