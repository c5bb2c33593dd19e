import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { expect } from "chai";
import { buildZip } from "../../components/zip-writer";
import { layerDescription } from "../../lib/ffprobe-pin";
import { ffmpegLayerPinned } from "../../policies/ffmpeg-layer";
import {
  assetArchive,
  dependsThrough,
  fileArchive,
  fileAsset,
  res,
  runStack,
  type StackResourceDescription,
  UNKNOWN_STRING,
} from "./harness";

const COMPONENT = "media-pipeline:lambda:FfmpegLayer";
const LAYER = "aws:lambda/layerVersion:LayerVersion";
const FUNCTION = "aws:lambda/function:Function";
/** The pinned x86_64 binary, as npm installed it (its digest is the pin). */
const PINNED_BINARY = require.resolve("@ffprobe-installer/linux-x64/ffprobe");
const PUBLIC_LAYER = "arn:aws:lambda:us-east-1:145266761615:layer:ffmpeg:4";

const component = res(COMPONENT, "mp-dev-ffprobe");

function layer(props: Record<string, unknown> = {}, parent: StackResourceDescription | undefined = component) {
  return res(
    LAYER,
    "mp-dev-ffprobe",
    {
      layerName: "mp-dev-ffprobe-x86-64",
      arn: "arn:aws:lambda:us-east-1:123456789012:layer:mp-dev-ffprobe-x86-64:1",
      compatibleArchitectures: ["x86_64"],
      description: layerDescription("x86_64"),
      ...props,
    },
    parent ? { parent: parent.urn } : {},
  );
}

function extractor(layers: unknown[], extra: Record<string, unknown> = {}) {
  return res(FUNCTION, "mp-dev-extractor", {
    name: "mp-dev-extractor-1234567",
    handler: "index.handler",
    architectures: ["x86_64"],
    layers,
    environment: { variables: { FFPROBE_PATH: "/opt/bin/ffprobe", TABLE_NAME: "t" } },
    ...extra,
  });
}

let tmp: string;
before(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "policy-layer-"));
});
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe("policies: ffmpeg-layer-pinned", () => {
  it("passes an extractor using the project's pinned layer", async () => {
    const l = layer();
    const out = await runStack(ffmpegLayerPinned, [component, l, extractor([l.props?.arn])]);
    expect(out.messages).to.deep.equal([]);
  });

  it("hashes the binary inside the layer's code and passes the pinned one", async () => {
    const l = layer({ code: assetArchive({ "bin/ffprobe": fileAsset(PINNED_BINARY) }) });
    const out = await runStack(ffmpegLayerPinned, [component, l, extractor([l.props?.arn])]);
    expect(out.messages).to.deep.equal([]);
  });

  it("reports a layer zip whose bin/ffprobe is not the pinned binary", async () => {
    const zip = path.join(tmp, "tampered.zip");
    fs.writeFileSync(
      zip,
      buildZip([
        { name: "bin/", mode: 0o755 },
        { name: "bin/ffprobe", data: Buffer.from("#!/bin/sh\n"), mode: 0o755 },
      ]),
    );
    const l = layer({ code: fileArchive(zip) });
    const out = await runStack(ffmpegLayerPinned, [component, l, extractor([l.props?.arn])]);
    expect(out.levels).to.deep.equal(["mandatory", "mandatory"]);
    expect(out.messages[0]).to.match(
      /^FFmpeg layer mp-dev-ffprobe \(aws:lambda\/layerVersion:LayerVersion\) carries a bin\/ffprobe whose SHA-256 is [0-9a-f]{64}, not the pinned 576c2167/,
    );
    expect(out.messages[1]).to.equal(
      "function mp-dev-extractor (aws:lambda/function:Function) runs ffprobe from an FFmpeg layer whose pin record is wrong (see that layer's violation).",
    );
  });

  it("reports a layer whose description does not record the pin, and one with two architectures", async () => {
    const stale = layer({ description: "ffprobe 6.0 sha256:0000" });
    const out = await runStack(ffmpegLayerPinned, [component, stale]);
    expect(out.messages).to.deep.equal([
      'FFmpeg layer mp-dev-ffprobe (aws:lambda/layerVersion:LayerVersion) does not record the pinned ffprobe build: its description is "ffprobe 6.0 sha256:0000", ' +
        `expected ${JSON.stringify(layerDescription("x86_64"))} (build it with the FfmpegLayer component from lib/ffprobe-pin.ts).`,
    ]);
    const both = layer({ compatibleArchitectures: ["x86_64", "arm64"] });
    expect((await runStack(ffmpegLayerPinned, [component, both])).messages[0]).to.contain(
      'declares compatibleArchitectures ["x86_64","arm64"]; it must name exactly one architecture',
    );
  });

  it("reports a function using a public third-party layer, and one running ffprobe without the project's layer", async () => {
    const fn = extractor([PUBLIC_LAYER]);
    const out = await runStack(ffmpegLayerPinned, [fn]);
    expect(out.messages).to.deep.equal([
      `function mp-dev-extractor (aws:lambda/function:Function) uses layer ${PUBLIC_LAYER}, which is neither built by this ` +
        "stack nor in allowedLayerArns; public third-party layers are not allowed (use the project's FfmpegLayer, or " +
        "allowlist the ARN in the ffmpeg-layer-pinned policy config).",
      "function mp-dev-extractor (aws:lambda/function:Function) runs ffprobe but uses no layer from the project's " +
        "FfmpegLayer component; add that layer's arn to its `layers`.",
    ]);
  });

  it("allows layers matching allowedLayerArns (but they do not replace the project's layer)", async () => {
    const powertools = "arn:aws:lambda:us-east-1:094274105915:layer:AWSLambdaPowertoolsTypeScriptV2:30";
    const api = res(FUNCTION, "api", { name: "api", handler: "index.handler", layers: [powertools] });
    const config = { allowedLayerArns: ["arn:aws:lambda:*:094274105915:layer:AWSLambdaPowertoolsTypeScriptV2:*"] };
    expect((await runStack(ffmpegLayerPinned, [api], { config })).messages).to.deep.equal([]);
    expect((await runStack(ffmpegLayerPinned, [api])).messages).to.have.length(1);
  });

  it("does not accept a look-alike layer that the FfmpegLayer component did not make", async () => {
    const diy = layer({}, undefined);
    const out = await runStack(ffmpegLayerPinned, [diy, extractor([diy.props?.arn])]);
    expect(out.messages).to.deep.equal([
      "function mp-dev-extractor (aws:lambda/function:Function) runs ffprobe but uses no layer from the project's " +
        "FfmpegLayer component; add that layer's arn to its `layers`.",
    ]);
  });

  it("reports an arm64 function on the x86_64 layer", async () => {
    const l = layer();
    const out = await runStack(ffmpegLayerPinned, [
      component,
      l,
      extractor([l.props?.arn], { architectures: ["arm64"] }),
    ]);
    expect(out.messages[0]).to.contain("runs on arm64 but its FFmpeg layer is built for x86_64");
  });

  it("finds the layer through property dependencies while its ARN is unknown (preview)", async () => {
    const l = layer({ arn: UNKNOWN_STRING });
    const fn = dependsThrough(extractor([UNKNOWN_STRING, PUBLIC_LAYER]), "layers", l);
    const out = await runStack(ffmpegLayerPinned, [component, l, fn]);
    expect(out.messages).to.have.length(1);
    expect(out.messages[0]).to.contain(`uses layer ${PUBLIC_LAYER}, which is neither built by this stack`);
  });
});
