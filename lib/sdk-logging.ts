/**
 * AWS SDK v3 clients log every call through their `loggerMiddleware`: after each response it
 * builds `{ input, output }` with the command's sensitive-data filters and hands it to the
 * client's `logger` (by default a no-op logger, i.e. the line is built and thrown away).
 * For a DynamoDB Query the output filter walks every attribute of every item returned, so a
 * client built without a logger pays a cost per item read for nothing ("Logging AWS SDK for
 * JavaScript calls", AWS SDK for JavaScript v3 developer guide:
 * https://docs.aws.amazon.com/sdk-for-javascript/v3/developer-guide/logging-sdk-calls.html;
 * middleware can be removed by name, "Introducing Middleware Stack in Modular AWS SDK for
 * JavaScript", AWS Developer Tools Blog). Profiled on the read API's list page in the lab
 * (docs/api.md "Performance"): about 0.16 ms of CPU per Query of 13 items, a few percent.
 *
 * withoutSdkCallLogging removes that middleware from a client built without a logger of its
 * own; a client given a logger keeps logging. The middleware stack is the client's (a
 * DynamoDBDocumentClient built from it shares it).
 */

/** The SDK's name of the middleware that logs each call (@aws-sdk/core, loggerMiddlewareOptions). */
export const SDK_LOGGER_MIDDLEWARE = "loggerMiddleware";

interface SdkClientLike {
  middlewareStack: { remove(name: string): boolean };
}

/**
 * Removes the call-logging middleware from a client built without a logger (see above);
 * returns the client. `config` is what the client was built with: the decision rests on it,
 * not on the logger's class name, because the Lambda bundles are minified (build/bundles.ts)
 * and the SDK's NoOpLogger is not called that there.
 */
export function withoutSdkCallLogging<T extends SdkClientLike>(client: T, config: { logger?: unknown }): T {
  if (config.logger === undefined) client.middlewareStack.remove(SDK_LOGGER_MIDDLEWARE);
  return client;
}
