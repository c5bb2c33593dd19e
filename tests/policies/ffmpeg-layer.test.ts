import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { expect } from "chai";
import { buildZip } from "../../build/zip";
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

const COMPONENT = "media-pipeline:lambda:FfprobeLayer";
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
      code: assetArchive({ "bin/ffprobe": fileAsset(PINNED_BINARY) }),
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
      "function mp-dev-extractor (aws:lambda/function:Function) runs ffprobe from an FFmpeg layer that is not the verified pinned build (see that layer's violation).",
    );
  });

  it("reports a layer whose description does not record the pin, and one with two architectures", async () => {
    const stale = layer({ description: "ffprobe 6.0 sha256:0000" });
    const out = await runStack(ffmpegLayerPinned, [component, stale]);
    expect(out.messages).to.deep.equal([
      'FFmpeg layer mp-dev-ffprobe (aws:lambda/layerVersion:LayerVersion) does not record the pinned ffprobe build: its description is "ffprobe 6.0 sha256:0000", ' +
        `expected ${JSON.stringify(layerDescription("x86_64"))} (build it with the FfprobeLayer component from lib/ffprobe-pin.ts).`,
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
        "stack nor in allowedLayerArns; public third-party layers are not allowed (use the project's FfprobeLayer, or " +
        "allowlist the ARN in the ffmpeg-layer-pinned policy config).",
      "function mp-dev-extractor (aws:lambda/function:Function) runs ffprobe but uses no layer whose content is the " +
        "pinned ffprobe; add the project's FfprobeLayer arn to its `layers`.",
    ]);
  });

  it("allows layers matching allowedLayerArns (but they do not replace the project's layer)", async () => {
    const powertools = "arn:aws:lambda:us-east-1:094274105915:layer:AWSLambdaPowertoolsTypeScriptV2:30";
    const api = res(FUNCTION, "api", { name: "api", handler: "index.handler", layers: [powertools] });
    const config = { allowedLayerArns: ["arn:aws:lambda:*:094274105915:layer:AWSLambdaPowertoolsTypeScriptV2:*"] };
    expect((await runStack(ffmpegLayerPinned, [api], { config })).messages).to.deep.equal([]);
    expect((await runStack(ffmpegLayerPinned, [api])).messages).to.have.length(1);
  });

  it("trusts a layer for its content, not its parent: the same pinned zip built outside the component passes", async () => {
    const diy = layer({}, undefined);
    const out = await runStack(ffmpegLayerPinned, [diy, extractor([diy.props?.arn])]);
    expect(out.messages).to.deep.equal([]);
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
    const fn = dependsThrough(extractor([PUBLIC_LAYER, UNKNOWN_STRING]), "layers", l);
    const out = await runStack(ffmpegLayerPinned, [component, l, fn]);
    expect(out.messages).to.have.length(1);
    expect(out.messages[0]).to.contain(`uses layer ${PUBLIC_LAYER}, which is neither built by this stack`);
  });
});

function zipWith(name: string, entries: { name: string; data?: Buffer }[]): string {
  const zip = path.join(tmp, name);
  fs.writeFileSync(zip, buildZip(entries.map((e) => ({ ...e, mode: 0o755 }))));
  return zip;
}

describe("policies: ffmpeg-layer-pinned, evasions", () => {
  // Class: any component whose type name ends the same way was trusted.
  it("refuses a look-alike FfmpegLayer component whose layer carries another ffprobe", async () => {
    const fake = res("evil:lambda:FfmpegLayer", "fake");
    const zip = zipWith("other-ffprobe.zip", [{ name: "bin/ffprobe", data: Buffer.from("\x7fELF other build") }]);
    const l = layer({ code: fileArchive(zip) }, fake);
    const out = await runStack(ffmpegLayerPinned, [fake, l, extractor([l.props?.arn])]);
    expect(out.levels).to.deep.equal(["mandatory", "mandatory"]);
    expect(out.messages[0]).to.contain("carries a bin/ffprobe whose SHA-256 is");
  });

  // The component was renamed FfprobeLayer (issue 11): its layer claims ffprobe under either name.
  it("takes a layer of an FfprobeLayer or (its former name) FfmpegLayer component as claiming ffprobe", async () => {
    const remote = { code: { uri: "https://example.com/tools.zip" }, layerName: "tools", description: "tools" };
    for (const type of ["media-pipeline:lambda:FfprobeLayer", "media-pipeline:lambda:FfmpegLayer"]) {
      const parent = res(type, "mp-dev-ffprobe");
      const out = await runStack(ffmpegLayerPinned, [parent, layer(remote, parent)]);
      expect(out.messages.join("\n"), type).to.contain("claims to carry ffprobe but its content cannot be read here");
    }
    const other = res("media-pipeline:lambda:ToolsLayer", "mp-dev-tools");
    expect((await runStack(ffmpegLayerPinned, [other, layer(remote, other)])).messages).to.deep.equal([]);
  });

  // Class: a remote archive was judged by its description.
  it("refuses a layer from a remote archive (or an S3 object) that claims the pin by its description", async () => {
    const remote = layer({
      code: {
        "4dabf18193072939515e22adb298388d": "0def7320c3a5731c473e5ecbe6d01bc7",
        uri: "https://example.com/ffmpeg.zip",
      },
    });
    const out = await runStack(ffmpegLayerPinned, [component, remote, extractor([remote.props?.arn])]);
    expect(out.messages[0]).to.contain("claims to carry ffprobe but its content cannot be read here");
    const s3 = layer({ code: undefined, s3Bucket: "somewhere", s3Key: "ffmpeg.zip" });
    expect((await runStack(ffmpegLayerPinned, [component, s3, extractor([s3.props?.arn])])).messages[0]).to.contain(
      "its content cannot be read here",
    );
  });

  it("fair use: the FfmpegLayer's local zip, read and hashed, passes", async () => {
    const l = layer({ code: fileArchive(path.dirname(path.dirname(PINNED_BINARY))) });
    // A directory archive: node_modules/@ffprobe-installer/linux-x64 holds ffprobe at its root, not bin/ffprobe.
    const out = await runStack(ffmpegLayerPinned, [component, l, extractor([l.props?.arn])]);
    expect(out.messages[0]).to.contain("only the pinned bin/ffprobe may ship");
    const good = layer();
    expect((await runStack(ffmpegLayerPinned, [component, good, extractor([good.props?.arn])])).messages).to.deep.equal(
      [],
    );
  });

  // Class: a later layer that also provides bin/ffprobe shadowed the pinned one unnoticed.
  it("refuses a later layer that carries bin/ffprobe, or an unreadable/external layer after the pinned one", async () => {
    const pinned = layer();
    const zip = zipWith("shadow.zip", [{ name: "bin/ffprobe", data: Buffer.from("shadow") }]);
    const shadow = res(LAYER, "tools", {
      layerName: "tools",
      arn: "arn:aws:lambda:us-east-1:123456789012:layer:tools:1",
      code: fileArchive(zip),
    });
    const out = await runStack(ffmpegLayerPinned, [
      component,
      pinned,
      shadow,
      extractor([pinned.props?.arn, shadow.props?.arn]),
    ]);
    expect(out.messages.some((m) => m.includes("it also carries bin/ffprobe and shadows the pinned one"))).to.equal(
      true,
    );
    const powertools = "arn:aws:lambda:us-east-1:094274105915:layer:AWSLambdaPowertoolsTypeScriptV2:30";
    const config = { allowedLayerArns: [powertools] };
    const after = await runStack(ffmpegLayerPinned, [component, pinned, extractor([pinned.props?.arn, powertools])], {
      config,
    });
    expect(after.messages).to.deep.equal([
      `function mp-dev-extractor (aws:lambda/function:Function) lists external layer ${powertools} after the pinned ` +
        "FFmpeg layer; its content cannot be read here, so it could shadow /opt/bin/ffprobe; put the FfprobeLayer last in `layers`.",
    ]);
  });

  it("fair use: an allowlisted external layer BEFORE the pinned one, and a readable layer without ffprobe after it, pass", async () => {
    const pinned = layer();
    const zip = zipWith("fonts.zip", [{ name: "fonts/a.ttf", data: Buffer.from("font") }]);
    const fonts = res(LAYER, "fonts", {
      layerName: "fonts",
      arn: "arn:aws:lambda:us-east-1:123456789012:layer:fonts:1",
      code: fileArchive(zip),
    });
    const powertools = "arn:aws:lambda:us-east-1:094274105915:layer:AWSLambdaPowertoolsTypeScriptV2:30";
    const out = await runStack(
      ffmpegLayerPinned,
      [component, pinned, fonts, extractor([powertools, pinned.props?.arn, fonts.props?.arn])],
      { config: { allowedLayerArns: [powertools] } },
    );
    expect(out.messages).to.deep.equal([]);
  });

  // Class: a function that runs ffprobe without the expected environment variables or handler name was never checked.
  it("refuses a function without the ffprobe variables that uses an unpinned ffprobe layer, or ships ffprobe in its code", async () => {
    const zip = zipWith("diy.zip", [{ name: "bin/ffprobe", data: Buffer.from("diy build") }]);
    const diy = res(LAYER, "media-tools", {
      layerName: "media-tools",
      arn: "arn:aws:lambda:us-east-1:123456789012:layer:media-tools:1",
      code: fileArchive(zip),
    });
    const quiet = res(FUNCTION, "thumbs", { name: "thumbs", handler: "main.run", layers: [diy.props?.arn] });
    const out = await runStack(ffmpegLayerPinned, [diy, quiet]);
    expect(out.messages.some((m) => m.startsWith("FFmpeg layer media-tools"))).to.equal(true);
    expect(
      out.messages.some((m) =>
        m.includes(
          "function thumbs (aws:lambda/function:Function) runs ffprobe from an FFmpeg layer that is not the verified pinned build",
        ),
      ),
    ).to.equal(true);
    const codeZip = zipWith("fn.zip", [
      { name: "index.js", data: Buffer.from("") },
      { name: "vendor/ffmpeg", data: Buffer.from("x") },
    ]);
    const bundled = res(FUNCTION, "thumbs", { name: "thumbs", handler: "index.run", code: fileArchive(codeZip) });
    expect((await runStack(ffmpegLayerPinned, [bundled])).messages).to.deep.equal([
      "function thumbs (aws:lambda/function:Function) ships vendor/ffmpeg in its own code; ffprobe must come from the " +
        "pinned FFmpeg layer, whose content this policy verifies.",
    ]);
  });

  // False alarm: a handler whose name merely contains "extractor" (an EXIF extractor) was treated as an ffprobe runner.
  it("fair use: an EXIF extractor (handler exif-extractor.handler, no ffprobe anywhere) passes", async () => {
    const codeZip = zipWith("exif.zip", [{ name: "exif-extractor.js", data: Buffer.from("") }]);
    const exif = res(FUNCTION, "exif", {
      name: "exif",
      handler: "exif-extractor.handler",
      code: fileArchive(codeZip),
      layers: [],
    });
    expect((await runStack(ffmpegLayerPinned, [exif])).messages).to.deep.equal([]);
  });
});
