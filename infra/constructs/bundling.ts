/**
 * How every Lambda is bundled, shared by the CDK function factory and the bundle-size benchmark.
 * The Node.js 24 runtime ships AWS SDK v3, so it stays out of the bundle.
 */
export const BUNDLE = {
  target: 'node24',
  minify: true,
  mainFields: ['module', 'main'],
  externalModules: ['@aws-sdk/*', '@smithy/*'],
  // ESM output still meets CommonJS dependencies that call require(): give them one.
  banner: "import { createRequire as __createRequire } from 'module'; const require = __createRequire(import.meta.url);",
} as const;
