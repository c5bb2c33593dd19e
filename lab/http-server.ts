/**
 * The lab's HTTP servers (S3, DynamoDB, API gateway, OIDC issuer): listening on loopback
 * and closing gracefully, the same way for each.
 */
import type * as http from "node:http";
import type { AddressInfo } from "node:net";

/** Listens on host:port (0: any free port) and resolves with the port actually bound. */
export async function listen(server: http.Server, port: number, host: string): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  return (server.address() as AddressInfo).port;
}

/** Stops accepting connections, lets in-flight requests finish (up to graceMs), then drops the rest. */
export async function closeServer(server: http.Server, graceMs = 5_000): Promise<void> {
  if (!server.listening) return;
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeIdleConnections();
  const timer = setTimeout(() => server.closeAllConnections(), graceMs);
  try {
    await closed;
  } finally {
    clearTimeout(timer);
  }
}
