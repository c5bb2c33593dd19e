/**
 * The one declaration of the ffprobe build this project runs.
 *
 * The Lambda layer (components/ffprobe-layer.ts), the extractor's start-up check
 * (handlers/extractor/ffprobe.ts), the policy pack (policies/) and the local lab all
 * read this file. Bumping ffprobe means changing the version, sizes and digests here,
 * nothing else.
 */

/** CPU architectures the layer can be built for, named as Lambda names them. */
export type LambdaArchitecture = "x86_64" | "arm64";

export interface FfprobeBinaryPin {
  /** npm package that ships the static binary. */
  readonly npmPackage: string;
  /** Exact package version (never a range). */
  readonly version: string;
  /** SHA-256 of the `ffprobe` file inside the package, lower-case hex. */
  readonly sha256: string;
}

/** A pinned binary with the facts the function checks at start-up instead of the full digest. */
export interface PinnedFfprobeBinary extends FfprobeBinaryPin {
  /** Size of the `ffprobe` file in bytes. */
  readonly bytes: number;
  /**
   * SHA-256 of its size and 16 evenly spaced 4 KiB blocks (handlers/extractor/ffprobe-identity.ts):
   * what the function checks at start-up instead of hashing the whole file.
   */
  readonly sampleSha256: string;
}

export const FFPROBE_PIN = {
  /** FFmpeg build the packages carry (John Van Sickle's static build of 2023-07-21). */
  build: "20230721-c2b3861",
  /** First line of `ffprobe -version` for this build, as stored in every document. */
  versionLine: "ffprobe version N-66595-gc2b38619c0-static",
  /** The static build is configured with --enable-gpl --enable-version3. */
  license: "GPL-3.0-or-later",
  /** Where the build and its corresponding source are published. */
  sourceUrl: "https://johnvansickle.com/ffmpeg/",
  binaries: {
    x86_64: {
      npmPackage: "@ffprobe-installer/linux-x64",
      version: "5.2.0",
      sha256: "576c21674291ec1948d507ea8ab0d78eb6621a0be8c6f1a6db0f50c5fcb1e0f9",
      bytes: 78_926_144,
      sampleSha256: "9a2cf3264e4ba5cdae2e29c0a0477c8d076df7716f0f44543b204eb06c23db70",
    },
    arm64: {
      npmPackage: "@ffprobe-installer/linux-arm64",
      version: "5.2.0",
      sha256: "9b63a1715f87c0c476dacf237a4adcb0bf26de29854b137dae4e79f69a98b624",
      bytes: 50_245_776,
      sampleSha256: "1f568f3f0d36ac568fe42755a3a4e647bdeecc81425e9c3c6e4ea350a0132297",
    },
  } satisfies Record<LambdaArchitecture, PinnedFfprobeBinary>,
  /** Path of the binary inside the layer (layers are mounted at /opt). */
  layerBinaryPath: "/opt/bin/ffprobe",
  /** Path of the license text inside the layer. */
  layerLicensePath: "/opt/share/licenses/ffprobe/LICENSE",
} as const;

/** The string a layer's description carries, so policies can check the layer's provenance. */
export function layerDescription(arch: LambdaArchitecture): string {
  const bin = FFPROBE_PIN.binaries[arch];
  return `ffprobe ${FFPROBE_PIN.build} (${bin.npmPackage}@${bin.version}) ${arch} sha256:${bin.sha256} ${FFPROBE_PIN.license}`;
}
