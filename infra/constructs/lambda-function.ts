import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import { Architecture, LoggingFormat, Runtime, SystemLogLevel, Tracing } from 'aws-cdk-lib/aws-lambda';
import { LogLevel, NodejsFunction, OutputFormat, type NodejsFunctionProps } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import { libraryVariables } from '../../shared/definitions/environment.js';
import { BUNDLE } from './bundling.js';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

/** Lambda's own (platform) log level for every function. */
export const LAMBDA_SYSTEM_LOG_LEVEL = 'WARN' as const;

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

export interface LeadlogFunctionProps {
  /** Module under functions/ that exports `handler`. */
  handlerModule: string;
  environment?: Record<string, string>;
  memorySize?: number;
  timeout?: Duration;
  logKey: IKey;
  reservedConcurrentExecutions?: number;
  /** A folder copied into the bundle beside the handler (the console's built files: `console/`). */
  extraFiles?: { from: string; as: string };
}

/**
 * The one function factory: Node.js 24 on arm64, esbuild-minified and tree-shaken locally (no Docker),
 * X-Ray tracing, JSON logs in a KMS-encrypted log group with a fixed retention.
 */
export class LeadlogFunction extends Construct {
  readonly fn: NodejsFunction;

  constructor(scope: Construct, id: string, props: LeadlogFunctionProps) {
    super(scope, id);
    const logGroup = new LogGroup(this, 'Logs', {
      retention: RetentionDays.ONE_MONTH,
      encryptionKey: props.logKey,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const options: NodejsFunctionProps = {
      entry: join(ROOT, 'functions', `${props.handlerModule}.ts`),
      handler: 'handler',
      runtime: Runtime.NODEJS_24_X,
      architecture: Architecture.ARM_64,
      memorySize: props.memorySize ?? 1024,
      timeout: props.timeout ?? Duration.seconds(10),
      tracing: Tracing.ACTIVE,
      loggingFormat: LoggingFormat.JSON,
      // No platform START/END/REPORT lines (~600 bytes an invocation, most of the log bill): duration, errors and
      // throttles are CloudWatch metrics already; warnings and errors from the runtime are still logged.
      systemLogLevelV2: SystemLogLevel[LAMBDA_SYSTEM_LOG_LEVEL],
      logGroup,
      depsLockFilePath: join(ROOT, 'package-lock.json'),
      projectRoot: ROOT,
      environment: {
        NODE_OPTIONS: '--enable-source-maps',
        ...libraryVariables,
        ...props.environment,
      },
      ...(props.reservedConcurrentExecutions !== undefined ? { reservedConcurrentExecutions: props.reservedConcurrentExecutions } : {}),
      bundling: {
        minify: BUNDLE.minify,
        sourceMap: true,
        sourcesContent: false,
        target: BUNDLE.target,
        format: OutputFormat.ESM,
        mainFields: [...BUNDLE.mainFields],
        banner: BUNDLE.banner,
        forceDockerBundling: false,
        externalModules: [...BUNDLE.externalModules],
        metafile: false,
        logLevel: LogLevel.WARNING,
        ...(props.extraFiles ? {
          commandHooks: {
            beforeBundling: () => [],
            beforeInstall: () => [],
            afterBundling: (_input: string, output: string) => [`cp -R "${props.extraFiles!.from}" "${join(output, props.extraFiles!.as)}"`],
          },
        } : {}),
      },
    };
    this.fn = new NodejsFunction(this, 'Function', options);
    acknowledge(this, {
      'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]':
        "AWS's minimal logging policy for the function's own log group; nothing else is granted by it.",
      'AwsSolutions-IAM5[Resource::*]': 'X-Ray tracing (PutTraceSegments/PutTelemetryRecords) supports no resource scoping.',
    });
  }
}

/** cdk-nag acknowledgements, each with its one-line justification. */
export function acknowledge(scope: Construct, findings: Record<string, string>): void {
  for (const [id, reason] of Object.entries(findings)) Validations.of(scope).acknowledge({ id, reason });
}
