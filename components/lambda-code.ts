/**
 * Lambda code archives: the esbuild bundles of tools/build-bundles.ts, built ahead of time
 * (no closure serialization), as Pulumi FileArchives of their folders. The bundles are plain
 * JavaScript, so Pulumi's zipping (which drops file modes) is harmless here.
 */
import * as pulumi from "@pulumi/pulumi";
import { type BundleName, buildBundleSync } from "../tools/build-bundles";

/** Builds one handler's bundle and returns it as a code archive; the error names the handler. */
export function bundleArchive(name: BundleName): pulumi.asset.Archive {
  try {
    return new pulumi.asset.FileArchive(buildBundleSync(name).dir);
  } catch (err) {
    throw new Error(`bundling the ${name} handler (tools/build-bundles.ts) failed: ${(err as Error).message}`, {
      cause: err,
    });
  }
}
