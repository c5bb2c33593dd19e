/**
 * FfprobeLayer: a Lambda layer carrying the pinned static ffprobe (lib/ffprobe-pin.ts) at
 * /opt/bin/ffprobe, with its GPL license text, for one CPU architecture.
 *
 * Named FfmpegLayer (type media-pipeline:lambda:FfmpegLayer) until it was named for what it
 * holds: the old type is an alias, so a deployed layer component and its layer version keep
 * their identity: the engine combines a parent's aliases with each child's name and type, so a
 * retyped component keeps its children without aliases of their own (Pulumi docs, "Resource
 * option: aliases": https://www.pulumi.com/docs/iac/concepts/resources/options/aliases/).
 *
 * The zip is built by build/ffprobe-layer.ts (digest checked against the pin, execute bit
 * set, license shipped) and given to Pulumi as a FileArchive of that zip, which Pulumi
 * uploads byte for byte. The layer's description records the package, version, arch and
 * digest, so anyone (and the policy pack) can tell what a function runs.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { buildFfprobeLayerZip } from "../build/ffprobe-layer";
import { FFPROBE_PIN, type LambdaArchitecture, layerDescription } from "../lib/ffprobe-pin";

/** Runtimes the layer is declared for; the binary is static, the declaration only guides the console. */
export const LAYER_RUNTIMES = ["nodejs22.x"];

export interface FfprobeLayerArgs {
  /** CPU architecture of the binary and of the functions that use the layer. */
  architecture: LambdaArchitecture;
  /** Physical layer name. Default: the component's name and the architecture. */
  layerName?: string;
  /**
   * A prebuilt layer zip to upload instead of building one from the pin (tests). It must
   * have the same layout; nothing here checks its contents.
   */
  zipPath?: string;
  /**
   * Keep replaced and destroyed layer versions (`skipDestroy`): replacing a version otherwise
   * deletes the old one while functions may still reference it (pulumi/pulumi-aws#1448).
   * On in production; off in lab stacks, which must destroy to nothing. Default true.
   */
  keepOldVersions?: boolean;
}

/** The component's type token, and the one it was deployed under before its rename. */
export const FFPROBE_LAYER_TYPE = "media-pipeline:lambda:FfprobeLayer";
export const FORMER_FFPROBE_LAYER_TYPE = "media-pipeline:lambda:FfmpegLayer";

export class FfprobeLayer extends pulumi.ComponentResource {
  public readonly layer: aws.lambda.LayerVersion;
  /** Versioned layer ARN, for a function's `layers`. */
  public readonly arn: pulumi.Output<string>;
  public readonly architecture: LambdaArchitecture;
  /** Where functions find the binary (FFPROBE_PATH). */
  public readonly binaryPath: string = FFPROBE_PIN.layerBinaryPath;
  /** The binary's pinned SHA-256 (FFPROBE_SHA256), checked by the extractor at cold start. */
  public readonly binarySha256: string;
  /** Local path of the uploaded zip. */
  public readonly zipPath: string;

  constructor(name: string, args: FfprobeLayerArgs, opts?: pulumi.ComponentResourceOptions) {
    super(
      FFPROBE_LAYER_TYPE,
      name,
      {},
      {
        ...opts,
        aliases: [...(opts?.aliases ?? []), { type: FORMER_FFPROBE_LAYER_TYPE }],
      },
    );
    const { architecture } = args;
    const pin = FFPROBE_PIN.binaries[architecture];
    if (!pin) throw new Error(`FfprobeLayer ${name}: unsupported architecture ${architecture} (x86_64 or arm64)`);
    this.architecture = architecture;
    this.binarySha256 = pin.sha256;
    this.zipPath = args.zipPath ?? buildFfprobeLayerZip({ architecture }).zipPath;

    this.layer = new aws.lambda.LayerVersion(
      name,
      {
        layerName: args.layerName ?? `${name}-${architecture.replace("_", "-")}`,
        code: new pulumi.asset.FileArchive(this.zipPath),
        compatibleArchitectures: [architecture],
        compatibleRuntimes: LAYER_RUNTIMES,
        description: layerDescription(architecture),
        licenseInfo: FFPROBE_PIN.license,
        // Replacing a layer version would otherwise delete the old one while functions still
        // reference it (pulumi/pulumi-aws#1448); old versions stay and cost only storage.
        // A lab stack turns this off so `pulumi destroy` removes every version it made.
        skipDestroy: args.keepOldVersions ?? true,
      },
      { parent: this },
    );
    this.arn = this.layer.arn;

    this.registerOutputs({ arn: this.arn, architecture, binarySha256: this.binarySha256 });
  }
}
