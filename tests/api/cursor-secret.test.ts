import { GetParameterCommand, ParameterNotFound, SSMClient } from "@aws-sdk/client-ssm";
import { mockClient } from "aws-sdk-client-mock";
import { expect } from "chai";
import { loadCursorSecret } from "../../handlers/api/cursor-secret";
import { ENV } from "../../lib/runtime-env";

describe("read API cursor secret (SSM SecureString, CURSOR_SECRET locally)", () => {
  const ssm = mockClient(SSMClient);
  afterEach(() => ssm.reset());

  it("reads the parameter named by CURSOR_SECRET_PARAMETER, decrypted, and prefers it to CURSOR_SECRET", async () => {
    ssm.on(GetParameterCommand).resolves({ Parameter: { Value: "s".repeat(48) } });
    const secret = await loadCursorSecret(() => new SSMClient({ region: "us-east-1" }), {
      [ENV.cursorSecretParameter]: "/mp-prod-api/cursor-secret",
      [ENV.cursorSecret]: "local-value-that-must-not-win-xxxxxxxxxxxx",
    });
    expect(secret).to.equal("s".repeat(48));
    expect(ssm.commandCalls(GetParameterCommand).map((c) => c.args[0].input)).to.deep.equal([
      { Name: "/mp-prod-api/cursor-secret", WithDecryption: true },
    ]);
  });

  it("uses CURSOR_SECRET when no parameter is named (lab, tests), without calling SSM", async () => {
    const secret = await loadCursorSecret(() => new SSMClient({ region: "us-east-1" }), {
      [ENV.cursorSecret]: "v".repeat(40),
    });
    expect(secret).to.equal("v".repeat(40));
    expect(ssm.calls()).to.have.length(0);
  });

  it("fails naming the parameter or the variables, never a value", async () => {
    ssm.on(GetParameterCommand).resolves({ Parameter: {} });
    await loadCursorSecret(() => new SSMClient({ region: "us-east-1" }), {
      [ENV.cursorSecretParameter]: "/x/cursor-secret",
    }).then(
      () => expect.fail("should throw"),
      (err: Error) =>
        expect(err.message).to.equal("SSM parameter /x/cursor-secret (CURSOR_SECRET_PARAMETER) has no value"),
    );
    ssm.on(GetParameterCommand).rejects(new ParameterNotFound({ message: "not found", $metadata: {} }));
    await loadCursorSecret(() => new SSMClient({ region: "us-east-1" }), {
      [ENV.cursorSecretParameter]: "/x/cursor-secret",
    }).then(
      () => expect.fail("should throw"),
      (err: Error) => expect(err.name).to.equal("ParameterNotFound"),
    );
    await loadCursorSecret(() => new SSMClient({ region: "us-east-1" }), {}).then(
      () => expect.fail("should throw"),
      (err: Error) =>
        expect(err.message).to.equal("environment variable CURSOR_SECRET_PARAMETER or CURSOR_SECRET is required"),
    );
  });
});
