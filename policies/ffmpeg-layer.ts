/**
 * ffmpeg-layer-pinned: a function that runs ffprobe uses the project's FFmpeg layer, that
 * layer's content is the pinned build, and no function uses a layer outside the stack unless
 * its ARN is allowlisted.
 *
 * It is a stack policy because a function's `layers` hold the layer's ARN, which is unknown
 * during a preview of a new layer: the join goes through the engine's property dependencies.
 *
 * How the pin is verified, for every layer that carries ffprobe (made by the FfmpegLayer
 * component, or described or named as an ffprobe/ffmpeg layer):
 *  - the record: the FfmpegLayer component writes `layerDescription(arch)` (build,
 *    package@version, arch, sha256 from lib/ffprobe-pin.ts) into the LayerVersion description;
 *    it must be exactly that for the layer's one compatible architecture;
 *  - the content: when the layer's `code` archive is on this machine (the component's zip is,
 *    under .cache/ffprobe-layer/), the SHA-256 of its bin/ffprobe must be the pinned one. An
 *    archive the pack cannot read (remote, or built elsewhere) is judged by the record alone.
 */
import type { PolicyResource, StackValidationPolicy } from "@pulumi/policy";
import { FFPROBE_PIN, type LambdaArchitecture, layerDescription } from "../lib/ffprobe-pin";
import { ENV } from "../lib/runtime-env";
import { archiveEntryDigest } from "./layer-content";
import {
  asString,
  configOf,
  elements,
  entries,
  label,
  ofTypes,
  path,
  prop,
  referencedBy,
  schemaWithNote,
  strings,
  UNKNOWN,
} from "./util";

export const FUNCTION_TYPE = "aws:lambda/function:Function";
export const LAYER_TYPE = "aws:lambda/layerVersion:LayerVersion";
/** The FfmpegLayer component's type token ends with this (package and module are the project's). */
export const FFMPEG_LAYER_COMPONENT_SUFFIX = ":FfmpegLayer";

export interface FfmpegLayerConfig {
  /** Layer ARNs (a `*` matches any run of characters) functions may use besides the stack's own layers. */
  allowedLayerArns: string[];
}

export const FFMPEG_LAYER_DEFAULTS: FfmpegLayerConfig = { allowedLayerArns: [] };

function matchesPattern(arn: string, pattern: string): boolean {
  const re = new RegExp(`^${pattern.split("*").map(escapeRegExp).join(".*")}$`);
  return re.test(arn);
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

function isFfmpegComponent(r: PolicyResource | undefined): boolean {
  return !!r && r.type.endsWith(FFMPEG_LAYER_COMPONENT_SUFFIX);
}

/** The layer was made by the project's FfmpegLayer component (it or an ancestor is one). */
function fromFfmpegComponent(layer: PolicyResource): boolean {
  for (let p = layer.parent; p; p = p.parent) if (isFfmpegComponent(p)) return true;
  return false;
}

/** A layer that claims to carry ffprobe: made by the component, or described / named as such. */
function looksLikeFfmpegLayer(layer: PolicyResource): boolean {
  if (fromFfmpegComponent(layer)) return true;
  const description = asString(prop(layer.props, "description"));
  const name = asString(prop(layer.props, "layerName"));
  return (
    (typeof description === "string" && description.startsWith("ffprobe ")) ||
    (typeof name === "string" && /ffmpeg|ffprobe/i.test(name))
  );
}

/** Path of the binary inside the layer's archive ("bin/ffprobe" for /opt/bin/ffprobe). */
export const LAYER_BINARY_ENTRY = FFPROBE_PIN.layerBinaryPath.replace(/^\/opt\//, "");

/** Why the layer is not the pinned build (undefined: it is, or it cannot be known yet). */
async function pinProblem(layer: PolicyResource): Promise<string | undefined> {
  const archs = strings(prop(layer.props, "compatibleArchitectures"));
  if (archs === UNKNOWN || archs.includes(UNKNOWN)) return undefined;
  if (archs.length !== 1) {
    return (
      `declares compatibleArchitectures ${JSON.stringify(archs)}; it must name exactly one ` +
      `architecture (x86_64 or arm64), since the layer carries one pinned binary`
    );
  }
  const arch = archs[0] as string;
  if (!(arch in FFPROBE_PIN.binaries)) return `declares unsupported architecture ${arch}`;
  const expected = layerDescription(arch as LambdaArchitecture);
  const description = asString(prop(layer.props, "description"));
  if (description === UNKNOWN) return undefined;
  if (description !== expected) {
    return (
      `does not record the pinned ffprobe build: its description is ${JSON.stringify(description ?? "")}, ` +
      `expected ${JSON.stringify(expected)} (build it with the FfmpegLayer component from lib/ffprobe-pin.ts)`
    );
  }
  // The content itself, when the archive is on this machine (the FfmpegLayer's zip is).
  const code = prop(layer.props, "code");
  if (code === UNKNOWN || code === undefined || code === null) return undefined;
  const digest = await archiveEntryDigest(code, LAYER_BINARY_ENTRY);
  const pinned = FFPROBE_PIN.binaries[arch as LambdaArchitecture].sha256;
  if (digest !== undefined && digest !== pinned) {
    return (
      `carries a ${LAYER_BINARY_ENTRY} whose SHA-256 is ${digest}, not the pinned ${pinned} ` +
      "(rebuild the layer zip with components/ffprobe-layer-build.ts)"
    );
  }
  return undefined;
}

function layerArchitecture(layer: PolicyResource): string | undefined {
  const archs = strings(prop(layer.props, "compatibleArchitectures"));
  return archs !== UNKNOWN && archs.length === 1 && typeof archs[0] === "string" ? archs[0] : undefined;
}

/** The function runs ffprobe: its environment names the binary, or it is the extractor. */
export function runsFfprobe(fn: PolicyResource): boolean {
  const vars = entries(path(fn.props, "environment", "variables"));
  if (vars !== UNKNOWN && vars.some(([k]) => k === ENV.ffprobePath || k === ENV.ffprobeSha256)) return true;
  const handler = asString(prop(fn.props, "handler"));
  return typeof handler === "string" && /extractor/i.test(handler);
}

export const ffmpegLayerPinned: StackValidationPolicy = {
  name: "ffmpeg-layer-pinned",
  description:
    "A function that runs ffprobe uses a layer from the project's FfmpegLayer component whose recorded SHA-256 " +
    "matches lib/ffprobe-pin.ts, and no function uses a layer ARN outside the stack unless it is allowlisted.",
  enforcementLevel: "mandatory",
  configSchema: schemaWithNote({
    properties: {
      allowedLayerArns: {
        type: "array",
        items: { type: "string", pattern: "^arn:" },
        uniqueItems: true,
        default: [...FFMPEG_LAYER_DEFAULTS.allowedLayerArns],
        description:
          "Layer version ARNs functions may use besides the stack's own layers; `*` matches any characters " +
          "(e.g. arn:aws:lambda:*:017000801446:layer:AWSLambdaPowertoolsTypeScriptV2:*).",
      },
    },
  }),
  remediationSteps:
    "Give the function the layer of the project's FfmpegLayer component (components/ffmpeg-layer.ts) instead of " +
    "a public layer; if you must use an external layer, add its ARN to allowedLayerArns in the policy config.",
  validateStack: async (args, reportViolation) => {
    const cfg = configOf(args, FFMPEG_LAYER_DEFAULTS);
    const layers = ofTypes(args.resources, [LAYER_TYPE]);

    const badPins = new Map<PolicyResource, string>();
    for (const layer of layers.filter(looksLikeFfmpegLayer)) {
      const problem = await pinProblem(layer);
      if (problem) {
        badPins.set(layer, problem);
        reportViolation(`FFmpeg layer ${label(layer)} ${problem}.`, layer.urn);
      }
    }

    for (const fn of ofTypes(args.resources, [FUNCTION_TYPE])) {
      const refs = elements(prop(fn.props, "layers"));
      const used: PolicyResource[] = [];
      if (refs !== UNKNOWN) {
        for (const ref of refs) {
          const inStack = referencedBy(fn, "layers", layers, ["arn", "id"], ref);
          if (inStack.length > 0) {
            used.push(...inStack);
            continue;
          }
          if (typeof ref !== "string") continue; // unknown and untraceable: judged after apply
          if (!cfg.allowedLayerArns.some((p) => matchesPattern(ref, p))) {
            reportViolation(
              `function ${label(fn)} uses layer ${ref}, which is neither built by this stack nor in allowedLayerArns; ` +
                "public third-party layers are not allowed (use the project's FfmpegLayer, or allowlist the ARN in the " +
                "ffmpeg-layer-pinned policy config).",
              fn.urn,
            );
          }
        }
      }
      if (!runsFfprobe(fn)) continue;
      if (refs === UNKNOWN) continue;
      const fnArchs = strings(prop(fn.props, "architectures"));
      const fnArch =
        fnArchs !== UNKNOWN && fnArchs.length > 0 && typeof fnArchs[0] === "string" ? fnArchs[0] : "x86_64";
      const projectLayers = used.filter(fromFfmpegComponent);
      const good = projectLayers.filter((l) => !badPins.has(l) && (layerArchitecture(l) ?? fnArch) === fnArch);
      if (good.length > 0) continue;
      if (projectLayers.length === 0) {
        reportViolation(
          `function ${label(fn)} runs ffprobe but uses no layer from the project's FfmpegLayer component; add ` +
            "that layer's arn to its `layers`.",
          fn.urn,
        );
      } else if (projectLayers.every((l) => badPins.has(l))) {
        reportViolation(
          `function ${label(fn)} runs ffprobe from an FFmpeg layer whose pin record is wrong (see that layer's violation).`,
          fn.urn,
        );
      } else {
        reportViolation(
          `function ${label(fn)} runs on ${fnArch} but its FFmpeg layer is built for ` +
            `${projectLayers.map((l) => layerArchitecture(l) ?? "?").join(", ")}; use the FfmpegLayer built for ${fnArch}.`,
          fn.urn,
        );
      }
    }
  },
};
