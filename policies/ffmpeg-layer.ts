/**
 * ffmpeg-layer-pinned: every ffprobe / ffmpeg binary the stack ships to Lambda (in a layer or in a
 * function's own code) is the pinned build, a function set up to run ffprobe gets it from a layer
 * whose content the pack verified and that no later layer can shadow, and no function uses a
 * layer from outside the stack unless its ARN is allowlisted.
 *
 * Trust comes from content, never from names: the pack reads the layer's `code` archive (the
 * FfprobeLayer component's zip is on this machine, under .cache/ffprobe-layer/) and hashes its
 * bin/ffprobe against lib/ffprobe-pin.ts. A component type name, a layer name or a description can
 * be written by anyone, so they only mark a layer as *claiming* to be the FFmpeg layer, which then
 * must prove it. A layer whose content cannot be read here (a remote archive, an S3 object) cannot
 * prove anything: it is refused if it claims ffprobe, and it may not come after the pinned layer.
 *
 * Layer order: Lambda extracts a function's layers into /opt in the order listed, and a later
 * layer's file at the same path replaces the earlier one (Lambda developer guide, "Adding layers
 * to functions", "Packaging your layer content"), so /opt/bin/ffprobe is the LAST layer's.
 *
 * It is a stack policy because a function's `layers` hold the layer's ARN, which is unknown
 * during a preview of a new layer: the join goes through the engine's property dependencies.
 */
import type { PolicyResource, StackValidationPolicy } from "@pulumi/policy";
import { AWS_TYPES } from "../lib/aws-types";
import { FFPROBE_PIN, type LambdaArchitecture, layerDescription } from "../lib/ffprobe-pin";
import { ENV } from "../lib/runtime-env";
import { withExceptions } from "./exceptions";
import { archiveEntryDigest, archiveEntryNames } from "./layer-content";
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

const FUNCTION_TYPE = AWS_TYPES.function;
const LAYER_TYPE = AWS_TYPES.layer;
/**
 * The ffprobe layer component's type token ends with one of these (package and module are the
 * project's): FfprobeLayer (components/ffprobe-layer.ts), and FfmpegLayer, its name before
 * issue 11 (the component aliases that old type), so a program on either name is recognized.
 */
export const FFMPEG_LAYER_COMPONENT_SUFFIX = [":FfprobeLayer", ":FfmpegLayer"] as const;

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

/** The project's FfprobeLayer component type (a name anyone can give a component: a claim, not a proof). */
export const FFMPEG_LAYER_COMPONENT_TYPE = `media-pipeline:lambda${FFMPEG_LAYER_COMPONENT_SUFFIX[0]}`;

/** Path of the binary inside the layer's archive ("bin/ffprobe" for /opt/bin/ffprobe). */
export const LAYER_BINARY_ENTRY = FFPROBE_PIN.layerBinaryPath.replace(/^\/opt\//, "");

/** A file that is an ffprobe or ffmpeg executable by name. */
function isFfBinary(entry: string): boolean {
  return /(^|\/)(ffprobe|ffmpeg)$/i.test(entry);
}

/** What the pack can tell about an archive's content. */
interface Content {
  /** undefined: unreadable here (remote, S3 object, not on this machine); UNKNOWN: not known in this preview. */
  entries: string[] | undefined | typeof UNKNOWN;
  /** SHA-256 of bin/ffprobe when present and readable. */
  ffprobeDigest?: string;
}

async function contentOf(code: unknown): Promise<Content> {
  if (code === UNKNOWN) return { entries: UNKNOWN };
  if (code === undefined || code === null) return { entries: undefined };
  const names = await archiveEntryNames(code);
  if (!names) return { entries: undefined };
  const digest = names.includes(LAYER_BINARY_ENTRY) ? await archiveEntryDigest(code, LAYER_BINARY_ENTRY) : undefined;
  return { entries: names, ffprobeDigest: digest };
}

interface LayerFacts {
  layer: PolicyResource;
  content: Content;
  /** Named, described or parented as the FFmpeg layer. */
  claims: boolean;
  /** Content read and bin/ffprobe is the pinned build for the layer's one architecture, record included. */
  pinned: boolean;
  /** Carries an ffprobe/ffmpeg binary (known from its content). */
  carriesFf: boolean;
  arch?: string;
  problem?: string;
}

function claimsFfmpeg(layer: PolicyResource): boolean {
  for (let p = layer.parent; p; p = p.parent) {
    const type = p.type;
    if (FFMPEG_LAYER_COMPONENT_SUFFIX.some((suffix) => type.endsWith(suffix))) return true;
  }
  const description = asString(prop(layer.props, "description"));
  const name = asString(prop(layer.props, "layerName"));
  return (
    (typeof description === "string" && /ffprobe|ffmpeg/i.test(description)) ||
    (typeof name === "string" && /ffmpeg|ffprobe/i.test(name))
  );
}

async function layerFacts(layer: PolicyResource): Promise<LayerFacts> {
  const content = await contentOf(prop(layer.props, "code"));
  const claims = claimsFfmpeg(layer);
  const entriesKnown = Array.isArray(content.entries) ? content.entries : [];
  const carriesFf = entriesKnown.some(isFfBinary);
  const archs = strings(prop(layer.props, "compatibleArchitectures"));
  const arch = archs !== UNKNOWN && archs.length === 1 && typeof archs[0] === "string" ? archs[0] : undefined;
  const facts: LayerFacts = { layer, content, claims, pinned: false, carriesFf, arch };
  if (content.entries === UNKNOWN) return facts; // judged after the update, when the archive is known
  if (!claims && !carriesFf) return facts;
  if (content.entries === undefined) {
    facts.problem =
      "claims to carry ffprobe but its content cannot be read here (a remote archive or an S3 object), so the pin " +
      "cannot be verified; build it with the FfprobeLayer component from a local archive";
    return facts;
  }
  const stray = entriesKnown.filter((e) => isFfBinary(e) && e !== LAYER_BINARY_ENTRY);
  if (stray.length > 0) {
    facts.problem = `carries ${stray.join(", ")} besides ${LAYER_BINARY_ENTRY}; only the pinned ${LAYER_BINARY_ENTRY} may ship`;
    return facts;
  }
  if (archs === UNKNOWN || archs.includes(UNKNOWN)) return facts;
  if (archs.length !== 1 || !arch) {
    facts.problem =
      `declares compatibleArchitectures ${JSON.stringify(archs)}; it must name exactly one architecture ` +
      "(x86_64 or arm64), since the layer carries one pinned binary";
    return facts;
  }
  if (!(arch in FFPROBE_PIN.binaries)) {
    facts.problem = `declares unsupported architecture ${arch}`;
    return facts;
  }
  const pinnedSha = FFPROBE_PIN.binaries[arch as LambdaArchitecture].sha256;
  if (content.ffprobeDigest === undefined) {
    facts.problem = `has no readable ${LAYER_BINARY_ENTRY}, so it does not carry the pinned ffprobe`;
    return facts;
  }
  if (content.ffprobeDigest !== pinnedSha) {
    facts.problem =
      `carries a ${LAYER_BINARY_ENTRY} whose SHA-256 is ${content.ffprobeDigest}, not the pinned ${pinnedSha} ` +
      "(rebuild the layer zip with build/ffprobe-layer.ts)";
    return facts;
  }
  const expected = layerDescription(arch as LambdaArchitecture);
  const description = asString(prop(layer.props, "description"));
  if (description !== UNKNOWN && description !== expected) {
    facts.problem =
      `does not record the pinned ffprobe build: its description is ${JSON.stringify(description ?? "")}, ` +
      `expected ${JSON.stringify(expected)} (build it with the FfprobeLayer component from lib/ffprobe-pin.ts)`;
    return facts;
  }
  facts.pinned = true;
  return facts;
}

/** The function is configured to run ffprobe: its environment carries the ffprobe settings. */
export function configuredForFfprobe(fn: PolicyResource): boolean {
  const vars = entries(path(fn.props, "environment", "variables"));
  return vars !== UNKNOWN && vars.some(([k]) => k === ENV.ffprobePath || k === ENV.ffprobeSha256);
}

export const ffmpegLayerPinned: StackValidationPolicy = withExceptions({
  name: "ffmpeg-layer-pinned",
  description:
    "Every ffprobe/ffmpeg binary the stack ships to Lambda (layer or function code) is the pinned build of " +
    "lib/ffprobe-pin.ts, verified by hashing the archive; a function that runs ffprobe has the verified layer with " +
    "no later layer able to shadow /opt/bin/ffprobe; no function uses a layer ARN outside the stack unless allowlisted.",
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
    "Give the function the layer of the project's FfprobeLayer component (components/ffprobe-layer.ts), last in its " +
    "`layers`, instead of a public layer or a binary in the function's own code; if you must use an external layer, " +
    "add its ARN to allowedLayerArns in the policy config.",
  validateStack: async (args, reportViolation) => {
    const cfg = configOf(args, FFMPEG_LAYER_DEFAULTS);
    const layers = ofTypes(args.resources, [LAYER_TYPE]);
    const facts = new Map<PolicyResource, LayerFacts>();
    for (const layer of layers) {
      const f = await layerFacts(layer);
      facts.set(layer, f);
      if (f.problem) reportViolation(`FFmpeg layer ${label(layer)} ${f.problem}.`, layer.urn);
    }

    for (const fn of ofTypes(args.resources, [FUNCTION_TYPE])) {
      const refs = elements(prop(fn.props, "layers"));
      /** The function's layers in order: a stack layer, an external ARN, or unknown. */
      const ordered: (LayerFacts | { external: string } | typeof UNKNOWN)[] = [];
      if (refs !== UNKNOWN) {
        for (const ref of refs) {
          const inStack = referencedBy(fn, "layers", layers, ["arn", "id"], ref);
          if (inStack.length > 0) {
            ordered.push(facts.get(inStack[0] as PolicyResource) as LayerFacts);
            continue;
          }
          if (typeof ref !== "string") {
            ordered.push(UNKNOWN); // unknown and untraceable: judged after apply
            continue;
          }
          ordered.push({ external: ref });
          if (!cfg.allowedLayerArns.some((p) => matchesPattern(ref, p))) {
            reportViolation(
              `function ${label(fn)} uses layer ${ref}, which is neither built by this stack nor in allowedLayerArns; ` +
                "public third-party layers are not allowed (use the project's FfprobeLayer, or allowlist the ARN in the " +
                "ffmpeg-layer-pinned policy config).",
              fn.urn,
            );
          }
        }
      }

      // The function's own code must not carry an ffprobe/ffmpeg binary (it would bypass the layer's pin).
      const own = await contentOf(prop(fn.props, "code"));
      const ownFf = Array.isArray(own.entries) ? own.entries.filter(isFfBinary) : [];
      if (ownFf.length > 0) {
        reportViolation(
          `function ${label(fn)} ships ${ownFf.join(", ")} in its own code; ffprobe must come from the pinned FFmpeg ` +
            "layer, whose content this policy verifies.",
          fn.urn,
        );
      }

      const usesFfLayer = ordered.some((o) => o !== UNKNOWN && "layer" in o && (o.claims || o.carriesFf));
      const runs = configuredForFfprobe(fn) || usesFfLayer;
      if (!runs || refs === UNKNOWN) continue;
      if (asString(prop(fn.props, "packageType")) === "Image") {
        reportViolation(
          `function ${label(fn)} is a container image and runs ffprobe; the pack cannot read an image, so the pin ` +
            "cannot be verified; use a .zip function with the FfprobeLayer.",
          fn.urn,
        );
        continue;
      }
      const ffPath = asString(path(fn.props, "environment", "variables", ENV.ffprobePath));
      if (typeof ffPath === "string" && ffPath !== FFPROBE_PIN.layerBinaryPath) {
        reportViolation(
          `function ${label(fn)} sets ${ENV.ffprobePath}=${ffPath}; it must be ${FFPROBE_PIN.layerBinaryPath}, the ` +
            "pinned layer's binary.",
          fn.urn,
        );
      }
      if (ordered.includes(UNKNOWN)) continue;
      const fnArchs = strings(prop(fn.props, "architectures"));
      const fnArch =
        fnArchs !== UNKNOWN && fnArchs.length > 0 && typeof fnArchs[0] === "string" ? fnArchs[0] : "x86_64";
      const lastPinned = ordered.findLastIndex((o) => o !== UNKNOWN && "layer" in o && o.pinned);
      if (lastPinned < 0) {
        const claimed = ordered.filter(
          (o): o is LayerFacts => o !== UNKNOWN && "layer" in o && (o.claims || o.carriesFf),
        );
        reportViolation(
          claimed.length > 0
            ? `function ${label(fn)} runs ffprobe from an FFmpeg layer that is not the verified pinned build (see that layer's violation).`
            : `function ${label(fn)} runs ffprobe but uses no layer whose content is the pinned ffprobe; add the ` +
                "project's FfprobeLayer arn to its `layers`.",
          fn.urn,
        );
        continue;
      }
      const pinnedLayer = ordered[lastPinned] as LayerFacts;
      if (pinnedLayer.arch !== undefined && pinnedLayer.arch !== fnArch) {
        reportViolation(
          `function ${label(fn)} runs on ${fnArch} but its FFmpeg layer is built for ${pinnedLayer.arch}; use the ` +
            `FfprobeLayer built for ${fnArch}.`,
          fn.urn,
        );
      }
      // Layers after the pinned one are extracted over it: they must be readable and carry no ffprobe/ffmpeg.
      for (const later of ordered.slice(lastPinned + 1)) {
        if (later === UNKNOWN) continue;
        const what = "external" in later ? `external layer ${later.external}` : `layer ${label(later.layer)}`;
        const readable = !("external" in later) && Array.isArray(later.content.entries);
        const shadows = readable && (later as LayerFacts).carriesFf;
        if (!readable || shadows) {
          reportViolation(
            `function ${label(fn)} lists ${what} after the pinned FFmpeg layer; ` +
              (shadows
                ? `it also carries ${LAYER_BINARY_ENTRY} and shadows the pinned one`
                : "its content cannot be read here, so it could shadow /opt/bin/ffprobe") +
              "; put the FfprobeLayer last in `layers`.",
            fn.urn,
          );
        }
      }
    }
  },
});
