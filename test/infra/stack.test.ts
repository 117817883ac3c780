import { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../infra/app.js';
import { FUNCTIONS } from '../../infra/stack.js';
import { FALLBACK_HANDLER, routes } from '../../shared/definitions/routes.js';
import { API_STAGE_THROTTLE } from '../../shared/definitions/rate-limits.js';
import { environmentVariables, functionVariables, type FunctionName } from '../../shared/definitions/environment.js';
import { eventRules } from '../../shared/definitions/event-rules.js';
import { STREAM_PROFILES } from '../../shared/definitions/stream.js';
import { ARCHIVE_STREAMS, ARCHIVE_TIMESTAMP_FORMAT, PROJECTION_DT_RANGE, archiveColumns, eventsViewSql, namedQueries, partitionColumns } from '../../shared/definitions/archive.js';
import { namedQuerySql } from '../../infra/queries.js';
import { INBOX_INGESTED_TAG, INBOX_REJECTED_EXPIRY_DAYS } from '../../shared/definitions/leadconduit-inbox.js';

let template: Template;

beforeAll(() => {
  const { context } = JSON.parse(readFileSync('cdk.json', 'utf8'));
  const { app, stack } = buildApp(new App({ context, outdir: `${process.env.TMPDIR ?? '/tmp'}/leadlog-cdk-test-${process.pid}` }));
  app.synth(); // runs bundling and the cdk-nag validation plugin: an unacknowledged finding throws here
  template = Template.fromStack(stack);
}, 180_000);

describe('the stream profile (-c streamProfile=…)', () => {
  it('takes the large profile for section 15\'s volumes and refuses an unknown one', () => {
    const { context } = JSON.parse(readFileSync('cdk.json', 'utf8'));
    // Template.fromStack synthesizes this stack alone (no cdk-nag pass: the profile changes three numbers only).
    const { stack } = buildApp(new App({ context: { ...context, streamProfile: 'large' }, outdir: `${process.env.TMPDIR ?? '/tmp'}/leadlog-cdk-test-large-${process.pid}` }));
    Template.fromStack(stack).hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      BatchSize: STREAM_PROFILES.large.batchSize,
      MaximumBatchingWindowInSeconds: STREAM_PROFILES.large.windowSeconds,
      ParallelizationFactor: STREAM_PROFILES.large.parallelization,
    });
    expect(() => buildApp(new App({ context: { ...context, streamProfile: 'huge' } }))).toThrow(/streamProfile must be one of standard, large/);
  }, 180_000);
});

describe('the synthesized stack', () => {
  it('has the events table with TTL, a NEW_IMAGE stream, PITR, KMS, deletion protection and the indexes', () => {
    template.hasResourceProperties('AWS::DynamoDB::GlobalTable', {
      TableName: 'leadlog-dev-events',
      KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
      BillingMode: 'PAY_PER_REQUEST',
      TimeToLiveSpecification: { AttributeName: 'expires_at', Enabled: true },
      StreamSpecification: { StreamViewType: 'NEW_IMAGE' },
      SSESpecification: Match.objectLike({ SSEEnabled: true, SSEType: 'KMS' }),
      GlobalSecondaryIndexes: Match.arrayWith([
        // Narrow indexes: one write unit an entry; no index copies an event's body, snapshot or raw payload.
        Match.objectLike({ IndexName: 'by_lead', Projection: { ProjectionType: 'INCLUDE', NonKeyAttributes: Match.not(Match.arrayWith(['body'])) } }),
        Match.objectLike({ IndexName: 'by_day', Projection: Match.objectLike({ ProjectionType: 'INCLUDE' }) }),
        Match.objectLike({ IndexName: 'by_flow' }),
      ]),
      Replicas: [
        Match.objectLike({
          PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
          DeletionProtectionEnabled: true,
          TableClass: 'STANDARD_INFREQUENT_ACCESS',
        }),
      ],
    });
  });

  it('runs every function on Node.js 24, arm64, traced, with a log retention', () => {
    const functions = template.findResources('AWS::Lambda::Function');
    // Not CDK's bucket-notifications custom resource (its own inline handler, for the LeadConduit inbox's notification).
    const ours = Object.entries(functions).filter(([id, f]) => f.Properties.Handler === 'index.handler' && !id.startsWith('BucketNotificationsHandler')).map(([, f]) => f);
    expect(ours.length).toBe(Object.keys(FUNCTIONS).length); // one per entry of the stack's function table, no other
    for (const fn of ours) {
      expect(fn.Properties.Runtime).toBe('nodejs24.x');
      expect(fn.Properties.Architectures).toEqual(['arm64']);
      expect(fn.Properties.TracingConfig).toEqual({ Mode: 'Active' });
      expect(fn.Properties.LoggingConfig).toMatchObject({ LogFormat: 'JSON', SystemLogLevel: 'WARN' });
    }
    template.allResourcesProperties('AWS::Logs::LogGroup', { RetentionInDays: Match.anyValue(), KmsKeyId: Match.anyValue() });
  });

  it('has a route for every entry of the route table, keyed ones behind the cached Lambda authorizer', () => {
    const apiRoutes = Object.values(template.findResources('AWS::ApiGatewayV2::Route')).map((r) => r.Properties);
    for (const route of routes) {
      const found = apiRoutes.find((r) => r.RouteKey === `${route.method} ${route.path}`);
      expect(found, `${route.method} ${route.path}`).toBeDefined();
      expect(found!.AuthorizationType).toBe(route.scope ? 'CUSTOM' : 'NONE');
    }
    template.hasResourceProperties('AWS::ApiGatewayV2::Authorizer', {
      AuthorizerType: 'REQUEST',
      AuthorizerPayloadFormatVersion: '2.0',
      EnableSimpleResponses: true,
      IdentitySource: ['$request.header.Authorization'],
      AuthorizerResultTtlInSeconds: 60,
    });
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      StageName: '$default',
      // Raised to the account's regional quota (10,000/s, burst 5,000): orgs are limited one by one, not by a shared throttle.
      DefaultRouteSettings: Match.objectLike({ ThrottlingRateLimit: API_STAGE_THROTTLE.rateLimit, ThrottlingBurstLimit: API_STAGE_THROTTLE.burstLimit }),
      AccessLogSettings: Match.objectLike({ DestinationArn: Match.anyValue() }),
    });
  });

  it("sends what no route matches to the fallback handler ($default), and gives each function exactly its contract's variables", () => {
    const resources = template.toJSON().Resources as Record<string, { Type: string; Properties: Record<string, any> }>;
    const fallback = Object.values(resources).find((r) => r.Type === 'AWS::ApiGatewayV2::Route' && r.Properties.RouteKey === '$default');
    expect(fallback?.Properties.AuthorizationType).toBe('NONE');
    const integrationId = (fallback!.Properties.Target['Fn::Join'][1] as unknown[])[1] as { Ref: string };
    const integrationUri = JSON.stringify(resources[integrationId.Ref]!.Properties.IntegrationUri);
    const logicalIdOf = (fn: FunctionName) => Object.keys(resources).find((id) => id.startsWith(`${FUNCTIONS[fn].id}Function`) && resources[id]!.Type === 'AWS::Lambda::Function')!;
    expect(integrationUri).toContain(logicalIdOf(FALLBACK_HANDLER));
    for (const fn of Object.keys(functionVariables) as FunctionName[]) {
      const variables = Object.keys(resources[logicalIdOf(fn)]!.Properties.Environment.Variables).filter((name) => name in environmentVariables);
      const deployed = functionVariables[fn].filter((name) => environmentVariables[name].setBy === 'aws');
      expect(variables.sort(), fn).toEqual([...deployed].sort());
    }
  });

  it('fans the stream out (INSERTs only, partial batch failures, DLQ) to the leadlog bus with its rules and archive', () => {
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      FilterCriteria: { Filters: [{ Pattern: JSON.stringify({ eventName: ['INSERT'] }) }] },
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      BisectBatchOnFunctionError: true,
      DestinationConfig: { OnFailure: { Destination: Match.anyValue() } },
      // The default deploy's stream profile (shared/definitions/stream.ts): 1,000-record batches, a 5 s window, 2 per shard.
      BatchSize: STREAM_PROFILES.standard.batchSize,
      MaximumBatchingWindowInSeconds: STREAM_PROFILES.standard.windowSeconds,
      ParallelizationFactor: STREAM_PROFILES.standard.parallelization,
    });
    template.hasResourceProperties('AWS::Events::EventBus', { Name: 'leadlog' });
    template.hasResourceProperties('AWS::Events::Archive', { EventPattern: { source: ['leadlog'] } });
    for (const rule of eventRules) {
      template.hasResourceProperties('AWS::Events::Rule', { EventPattern: rule.pattern, Targets: [Match.objectLike({ Arn: Match.anyValue() })] });
    }
    template.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: Match.anyValue() });
  });

  it('archives through Firehose as Parquet partitioned by org_id/dt, into a lifecycle-managed bucket, queryable in Athena', () => {
    template.hasResourceProperties('AWS::KinesisFirehose::DeliveryStream', {
      ExtendedS3DestinationConfiguration: Match.objectLike({
        Prefix: 'events/org_id=!{partitionKeyFromQuery:org_id}/dt=!{partitionKeyFromQuery:dt}/',
        ErrorOutputPrefix: Match.stringLikeRegexp('^errors/'),
        DynamicPartitioningConfiguration: Match.objectLike({ Enabled: true }),
        DataFormatConversionConfiguration: Match.objectLike({
          Enabled: true,
          OutputFormatConfiguration: { Serializer: { ParquetSerDe: Match.anyValue() } },
          SchemaConfiguration: Match.objectLike({ TableName: 'events_raw' }),
        }),
      }),
    });
    template.hasResourceProperties('AWS::Glue::Table', {
      TableInput: Match.objectLike({
        Name: 'events_raw',
        PartitionKeys: [Match.objectLike({ Name: 'org_id' }), Match.objectLike({ Name: 'dt' })],
        Parameters: Match.objectLike({ 'projection.enabled': 'true', 'projection.org_id.type': 'injected', 'projection.dt.type': 'date', 'projection.dt.range': PROJECTION_DT_RANGE }),
      }),
    });
    // What users query is the view that shows each event once, with the very definition DuckDB uses locally.
    const view = Object.values(template.findResources('AWS::Glue::Table')).find((t) => t.Properties.TableInput.Name === 'events')!;
    expect(view.Properties.TableInput).toMatchObject({ TableType: 'VIRTUAL_VIEW', Parameters: { presto_view: 'true' } });
    const encoded = /^\/\* Presto View: (.*) \*\/$/.exec(view.Properties.TableInput.ViewOriginalText)![1]!;
    const presto = JSON.parse(Buffer.from(encoded, 'base64').toString('utf8'));
    expect(presto.originalSql).toBe(eventsViewSql('"leadlog_dev"."events_raw"'));
    expect(presto.columns.map((c: { name: string }) => c.name)).toEqual([...archiveColumns, ...partitionColumns].map((c) => c.name));
    for (const query of namedQueries) expect(namedQuerySql(query.name), query.name).toMatch(/FROM events\b/);
    // Timestamps parsed with their zone (a quoted 'Z' would leave it to the SerDe's undocumented default).
    const formats = Object.values(template.findResources('AWS::KinesisFirehose::DeliveryStream'))[0]!.Properties
      .ExtendedS3DestinationConfiguration.DataFormatConversionConfiguration.InputFormatConfiguration.Deserializer.HiveJsonSerDe.TimestampFormats as string[];
    expect(formats).toEqual([ARCHIVE_TIMESTAMP_FORMAT]);
    expect(formats.join()).not.toContain("'Z'");
    // What Firehose cannot deliver outlives the hot table (90 days) by far.
    template.hasResourceProperties('AWS::S3::Bucket', {
      LifecycleConfiguration: { Rules: Match.arrayWith([Match.objectLike({ Prefix: 'errors/', ExpirationInDays: Match.anyValue() })]) },
    });
    const errorRule = Object.values(template.findResources('AWS::S3::Bucket')).flatMap((b) => b.Properties.LifecycleConfiguration?.Rules ?? []).find((r: { Prefix?: string }) => r.Prefix === 'errors/');
    expect(errorRule.ExpirationInDays).toBeGreaterThan(90 * 4);
    template.hasResourceProperties('AWS::Athena::WorkGroup', {
      WorkGroupConfiguration: Match.objectLike({ EnforceWorkGroupConfiguration: true, BytesScannedCutoffPerQuery: Match.anyValue(), ResultConfiguration: Match.objectLike({ OutputLocation: Match.anyValue() }) }),
    });
    expect(Object.keys(template.findResources('AWS::Athena::NamedQuery'))).toHaveLength(namedQueries.length);
    template.hasResourceProperties('AWS::S3::Bucket', {
      LifecycleConfiguration: { Rules: Match.arrayWith([Match.objectLike({ Transitions: [
        { StorageClass: 'STANDARD_IA', TransitionInDays: 30 }, { StorageClass: 'GLACIER_IR', TransitionInDays: 90 },
      ] })]) },
    });
  });

  it('spreads the archive over ARCHIVE_STREAMS delivery streams of one definition: all granted to the fan-out, named to it in order, each alarmed', () => {
    const streams = Object.entries(template.findResources('AWS::KinesisFirehose::DeliveryStream'));
    expect(ARCHIVE_STREAMS).toBeGreaterThan(1);
    expect(streams).toHaveLength(ARCHIVE_STREAMS);
    // One definition: the same prefix (the contract's org_id=/dt= layout), error prefix, partitioning, buffer and schema.
    const destinations = streams.map(([, stream]) => stream.Properties.ExtendedS3DestinationConfiguration);
    for (const destination of destinations) expect(destination).toEqual(destinations[0]);
    expect(destinations[0]).toMatchObject({ DynamicPartitioningConfiguration: { Enabled: true }, DataFormatConversionConfiguration: { SchemaConfiguration: { TableName: 'events_raw' } } });
    // Stream 0 keeps the id of the single stream the stack had (never replaced); the fan-out gets every name, in order.
    const ids = streams.map(([id]) => id);
    expect(ids[0]).toMatch(/^AnalyticsDelivery[0-9A-F]{8}$/);
    const fanout = Object.values(template.findResources('AWS::Lambda::Function')).find((f) => f.Properties.Environment?.Variables?.ARCHIVE_STREAM_NAMES)!;
    expect(fanout.Properties.Environment.Variables.ARCHIVE_STREAM_NAMES).toEqual({ 'Fn::Join': [',', ids.map((id) => ({ Ref: id }))] });
    const puts = Object.values(template.findResources('AWS::IAM::Policy')).flatMap((p) => p.Properties.PolicyDocument.Statement)
      .filter((statement: { Action: unknown }) => statement.Action === 'firehose:PutRecordBatch');
    expect(puts).toHaveLength(1);
    expect(puts[0].Resource).toEqual(ids.map((id) => ({ 'Fn::GetAtt': [id, 'Arn'] })));
    // Every stream's quota is its own: each has its partition, conversion, delivery and freshness alarms.
    const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm')).map((a) => a.Properties);
    for (const metric of ['PartitionCountExceeded', 'FailedConversion.Records', 'DeliveryToS3.Success', 'DeliveryToS3.DataFreshness']) {
      const alarmed = alarms.filter((a) => a.MetricName === metric).map((a) => a.Dimensions[0].Value);
      expect(alarmed, metric).toEqual(ids.map((id) => ({ Ref: id })));
    }
    const output = Object.values(template.findOutputs('ArchiveDeliveryStreamNames'))[0]!;
    expect(output.Value).toEqual({ 'Fn::Join': [',', ids.map((id) => ({ Ref: id }))] });
  });

  it('alarms on 5xx rate, Lambda errors and throttles, iterator age, dead letters, Firehose delivery and DynamoDB throttles', () => {
    const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm')).map((a) => a.Properties);
    const metricNames = alarms.flatMap((a) => [a.MetricName, ...(a.Metrics ?? []).map((m: { MetricStat?: { Metric: { MetricName: string } } }) => m.MetricStat?.Metric.MetricName)]).filter(Boolean);
    for (const name of ['5xx', 'Errors', 'Throttles', 'IteratorAge', 'ApproximateNumberOfMessagesVisible', 'DeliveryToS3.Success', 'ThrottledRequests', 'PartitionCountExceeded', 'FailedConversion.Records']) {
      expect(metricNames, name).toContain(name);
    }
    expect(alarms.every((a) => (a.AlarmActions ?? []).length === 1)).toBe(true);
    template.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
    template.hasResourceProperties('AWS::Events::Rule', { Targets: [Match.objectLike({ DeadLetterConfig: Match.objectLike({ Arn: Match.anyValue() }) })] });
    // No reserved concurrency by default (it fails to deploy in accounts with a lowered quota): the public routes
    // are throttled at the stage instead, from the route table.
    const reserved = Object.values(template.findResources('AWS::Lambda::Function')).filter((f) => f.Properties.ReservedConcurrentExecutions !== undefined);
    expect(reserved).toEqual([]);
    const stage = Object.values(template.findResources('AWS::ApiGatewayV2::Stage'))[0]!;
    for (const route of routes.filter((r) => !r.scope && r.throttle)) {
      expect(stage.Properties.RouteSettings[`${route.method} ${route.path}`], route.path).toEqual({ ThrottlingRateLimit: route.throttle!.rateLimit, ThrottlingBurstLimit: route.throttle!.burstLimit });
    }
    // Every public route but the webhooks (limited by the stage and, once signed, per org) has its own lower throttle.
    expect(routes.filter((r) => !r.scope && !r.throttle).map((r) => r.path)).toEqual(['/v1/webhooks/{provider}/{org_id}']);
    expect(stage.Properties.RouteSettings['POST /v1/webhooks/{provider}/{org_id}']).toBeUndefined();
    expect(stage.DependsOn?.length).toBeGreaterThanOrEqual(2);
  });

  it('keeps raw payloads in a KMS-encrypted, private, TLS-only bucket', () => {
    template.hasResourceProperties('AWS::S3::Bucket', {
      BucketEncryption: { ServerSideEncryptionConfiguration: [Match.objectLike({ ServerSideEncryptionByDefault: Match.objectLike({ SSEAlgorithm: 'aws:kms' }) })] },
      PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
    });
    const policies = Object.values(template.findResources('AWS::S3::BucketPolicy'));
    expect(policies.some((p) => JSON.stringify(p).includes('aws:SecureTransport'))).toBe(true);
  });

  it('runs erasures as a logged, traced Step Functions workflow the admin function starts, with a least-privilege step', () => {
    const machines = template.findResources('AWS::StepFunctions::StateMachine');
    expect(Object.keys(machines)).toHaveLength(3); // erasures, exports, replays
    const [machineId, machine] = Object.entries(machines).find(([, m]) => m.Properties.StateMachineName === 'leadlog-dev-erasure')!;
    expect(machine.Properties).toMatchObject({
      StateMachineName: 'leadlog-dev-erasure',
      TracingConfiguration: { Enabled: true },
      LoggingConfiguration: { Level: 'ALL', IncludeExecutionData: false },
    });
    const definition = JSON.stringify(machine.Properties.DefinitionString);
    expect(definition).toContain('"SecondsPath\\":\\"$.wait_seconds');
    const policies = Object.values(template.findResources('AWS::IAM::Policy')).map((p) => ({ name: JSON.stringify(p.Properties.Roles), statements: p.Properties.PolicyDocument.Statement as { Action: string | string[]; Resource: unknown }[] }));
    const allows = (role: string, action: string) => policies.filter((p) => p.name.includes(role)).flatMap((p) => p.statements).filter((s) => [s.Action].flat().includes(action));
    expect(JSON.stringify(allows('AdminFunction', 'states:StartExecution').map((s) => s.Resource))).toContain(machineId);
    const athena = allows('ErasureFunction', 'athena:StartQueryExecution');
    expect(athena).toHaveLength(1);
    expect(JSON.stringify(athena[0]!.Resource)).toContain(':workgroup/');
    expect(allows('ErasureFunction', 'events:PutEvents')).toHaveLength(1);
    // No function but the erasure step may delete archive files or raw payloads; the exporter deletes only in the
    // export bucket (its parts) and Athena's results bucket (its query results, as the erasure step does).
    const deleting = (p: { statements: { Action: string | string[]; Resource: unknown }[] }) => p.statements.filter((s) => [s.Action].flat().some((a) => a.startsWith('s3:DeleteObject')));
    const deleters = policies.filter((p) => deleting(p).length > 0);
    // v1.2: the erasure step deletes export files holding the family, in the export bucket.
    expect(JSON.stringify(policies.filter((p) => p.name.includes('ErasureFunction')).flatMap((p) => deleting(p)).map((st) => st.Resource))).toMatch(/ExportStorageExports/);
    expect(deleters.map((p) => p.name).every((name) => /ErasureFunction|ExporterFunction|LeadConduitInboxFunction|Firehose|Delivery/.test(name))).toBe(true);
    // The inbox function deletes only what LeadConduit wrote to the inbox bucket, once set aside.
    for (const inbox of deleters.filter((p) => p.name.includes('LeadConduitInboxFunction'))) {
      expect(deleting(inbox).every((s) => /EventStreamingInboxBucket[^"]*","Arn"\]\},"\/leadconduit\/\*"/.test(JSON.stringify(s.Resource)))).toBe(true);
    }
    for (const exporter of deleters.filter((p) => p.name.includes('ExporterFunction'))) {
      expect(deleting(exporter).every((s) => /ExportStorageExports|AnalyticsQueryResults/.test(JSON.stringify(s.Resource)))).toBe(true);
    }
    // v1.2 (red team #23 finding 3): the erasure step lists and deletes the family's LeadConduit inbox objects, under
    // leadconduit/ and rejected/leadconduit/ only, and never reads one (no GetObject, no use of the inbox's key).
    const erasureOnInbox = policies.filter((p) => p.name.includes('ErasureFunction')).flatMap((p) => p.statements)
      .filter((st) => JSON.stringify(st.Resource).includes('EventStreamingInboxBucket'));
    const inboxBucketArn = (suffix?: string) => (suffix === undefined
      ? { 'Fn::GetAtt': [expect.stringMatching(/^EventStreamingInboxBucket/), 'Arn'] }
      : { 'Fn::Join': ['', [{ 'Fn::GetAtt': [expect.stringMatching(/^EventStreamingInboxBucket/), 'Arn'] }, suffix]] });
    expect(erasureOnInbox).toEqual([
      expect.objectContaining({ Action: 's3:ListBucket', Resource: inboxBucketArn(), Condition: { StringLike: { 's3:prefix': ['leadconduit/*', 'rejected/leadconduit/*'] } } }),
      expect.objectContaining({ Action: 's3:DeleteObject', Resource: [inboxBucketArn('/leadconduit/*'), inboxBucketArn('/rejected/leadconduit/*')] }),
    ]);
    const erasureFunction = Object.values(template.findResources('AWS::Lambda::Function')).find((f) => JSON.stringify(f.Properties.Role).includes('ErasureFunction'))!;
    expect(erasureFunction.Properties.Environment.Variables.LEADCONDUIT_INBOX_BUCKET).toEqual({ Ref: expect.stringMatching(/^EventStreamingInboxBucket/) });
  });

  it('lets alarms notify: the ops topic policy allows CloudWatch of this account to publish, beside the TLS-only Deny', () => {
    const opsTopic = Object.keys(template.findResources('AWS::SNS::Topic', { Properties: { DisplayName: 'leadlog operations' } }))[0]!;
    const policies = Object.values(template.findResources('AWS::SNS::TopicPolicy')).filter((p) => JSON.stringify(p.Properties.Topics).includes(opsTopic));
    expect(policies).toHaveLength(1); // a topic policy replaces SNS's default: this one must hold the Allow itself
    const statements = policies[0]!.Properties.PolicyDocument.Statement as { Effect: string; Principal?: { Service?: string }; Action: string | string[]; Condition?: Record<string, Record<string, unknown>> }[];
    const allow = statements.find((s) => s.Effect === 'Allow' && s.Principal?.Service === 'cloudwatch.amazonaws.com');
    expect(allow, 'an Allow for cloudwatch.amazonaws.com').toBeDefined();
    expect([allow!.Action].flat()).toEqual(['sns:Publish']);
    expect(allow!.Condition?.StringEquals?.['aws:SourceAccount']).toEqual({ Ref: 'AWS::AccountId' });
    expect(JSON.stringify(allow!.Condition?.ArnLike?.['aws:SourceArn'])).toContain(':alarm:*');
    expect(statements.some((s) => s.Effect === 'Deny' && JSON.stringify(s.Condition).includes('aws:SecureTransport'))).toBe(true);
    // Every alarm notifies this topic.
    for (const alarm of Object.values(template.findResources('AWS::CloudWatch::Alarm'))) expect(alarm.Properties.AlarmActions).toEqual([{ Ref: opsTopic }]);
  });

  it("LeadConduit's inbox: a private, TLS-only, KMS bucket whose ingested objects expire, notifying a KMS queue with an alarmed DLQ, consumed with partial batch failures", () => {
    const outputs = template.findOutputs('LeadConduitInboxBucketName');
    const bucketId = (Object.values(outputs)[0]!.Value as { Ref: string }).Ref;
    const bucket = template.findResources('AWS::S3::Bucket')[bucketId]!.Properties;
    const keyId = (Object.values(template.findOutputs('LeadConduitInboxKeyArn'))[0]!.Value as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];
    // Its own key (LeadConduit's writers may encrypt with it), never the data key.
    expect(bucket.BucketEncryption.ServerSideEncryptionConfiguration).toEqual([
      { BucketKeyEnabled: true, ServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: { 'Fn::GetAtt': [keyId, 'Arn'] } } },
    ]);
    expect(template.findResources('AWS::KMS::Key')[keyId]!.Properties.EnableKeyRotation).toBe(true);
    expect(bucket.PublicAccessBlockConfiguration).toEqual({ BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true });
    expect(bucket.VersioningConfiguration).toBeUndefined();
    expect(bucket.LoggingConfiguration).toMatchObject({ LogFilePrefix: 'leadconduit-inbox/' });
    const rules = bucket.LifecycleConfiguration.Rules as Record<string, unknown>[];
    expect(rules).toEqual(expect.arrayContaining([
      expect.objectContaining({ TagFilters: [{ Key: INBOX_INGESTED_TAG.key, Value: INBOX_INGESTED_TAG.value }], ExpirationInDays: 7, Status: 'Enabled' }),
      expect.objectContaining({ Prefix: 'rejected/', ExpirationInDays: INBOX_REJECTED_EXPIRY_DAYS }),
      expect.objectContaining({ AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 } }),
    ]));
    // No rule expires what was not ingested: an object that keeps failing stays until it is handled.
    expect(rules.filter((r) => r.ExpirationInDays !== undefined && !r.TagFilters && r.Prefix !== 'rejected/')).toEqual([]);
    const bucketPolicy = Object.values(template.findResources('AWS::S3::BucketPolicy')).find((p) => JSON.stringify(p.Properties.Bucket).includes(bucketId))!;
    expect(JSON.stringify(bucketPolicy.Properties.PolicyDocument)).toContain('aws:SecureTransport');

    // The notification: objects created under leadconduit/ only, to the queue.
    const notifications = Object.values(template.findResources('Custom::S3BucketNotifications')).find((n) => JSON.stringify(n.Properties.BucketName).includes(bucketId))!;
    const queueConfigs = notifications.Properties.NotificationConfiguration.QueueConfigurations;
    expect(queueConfigs).toHaveLength(1);
    expect(queueConfigs[0]).toMatchObject({ Events: ['s3:ObjectCreated:*'], Filter: { Key: { FilterRules: [{ Name: 'prefix', Value: 'leadconduit/' }] } } });
    const queueId = queueConfigs[0].QueueArn['Fn::GetAtt'][0] as string;
    const queue = template.findResources('AWS::SQS::Queue')[queueId]!.Properties;
    // The queues' own key: LeadConduit's writers, allowed to use the bucket's, never get it.
    const queueKeyId = queue.KmsMasterKeyId['Fn::GetAtt'][0] as string;
    expect(queueKeyId).not.toBe(keyId);
    expect(template.findResources('AWS::KMS::Key')[queueKeyId]!.Properties.EnableKeyRotation).toBe(true);
    expect(queue.VisibilityTimeout).toBe(6 * 60);
    const dlqId = queue.RedrivePolicy.deadLetterTargetArn['Fn::GetAtt'][0] as string;
    expect(queue.RedrivePolicy.maxReceiveCount).toBe(5);
    expect(template.findResources('AWS::SQS::Queue')[dlqId]!.Properties).toMatchObject({ KmsMasterKeyId: { 'Fn::GetAtt': [queueKeyId, 'Arn'] }, MessageRetentionPeriod: 14 * 86_400 });
    for (const id of [queueId, dlqId]) {
      const policy = Object.values(template.findResources('AWS::SQS::QueuePolicy')).find((p) => JSON.stringify(p.Properties.Queues).includes(id))!;
      expect(JSON.stringify(policy.Properties.PolicyDocument), id).toContain('aws:SecureTransport');
    }
    // S3 may send from this bucket only.
    const queuePolicy = Object.values(template.findResources('AWS::SQS::QueuePolicy')).find((p) => JSON.stringify(p.Properties.Queues).includes(queueId))!;
    const send = (queuePolicy.Properties.PolicyDocument.Statement as { Principal?: { Service?: string }; Condition?: unknown }[]).find((st) => st.Principal?.Service === 's3.amazonaws.com')!;
    expect(JSON.stringify(send.Condition)).toContain(bucketId);

    // The function: the queue as its event source, partial batch responses; its environment names the bucket.
    // (The erasure function names the bucket too: it deletes an erased family's objects.)
    const fnId = Object.entries(template.findResources('AWS::Lambda::Function')).find(([id, f]) => id.startsWith('LeadConduitInboxFunction') && JSON.stringify(f.Properties.Environment ?? {}).includes('LEADCONDUIT_INBOX_BUCKET'))![0];
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: { 'Fn::GetAtt': [queueId, 'Arn'] }, FunctionName: { Ref: fnId }, BatchSize: 10, FunctionResponseTypes: ['ReportBatchItemFailures'],
    });
    // Its rights on the bucket: read/delete/tag what LeadConduit wrote, put only under rejected/ — never the whole bucket.
    const roleId = template.findResources('AWS::Lambda::Function')[fnId]!.Properties.Role['Fn::GetAtt'][0] as string;
    const policies = Object.values(template.findResources('AWS::IAM::Policy')).filter((p) => JSON.stringify(p.Properties.Roles).includes(`"${roleId}"`));
    const statements = policies.flatMap((p) => p.Properties.PolicyDocument.Statement as { Action: string | string[]; Resource: unknown }[]);
    const onInbox = statements.filter((st) => JSON.stringify(st.Resource).includes(bucketId));
    expect(onInbox.length).toBeGreaterThan(0);
    for (const st of onInbox) {
      const objectResources = [st.Resource].flat().map((r) => JSON.stringify(r)).filter((r) => r.includes('/'));
      for (const r of objectResources) expect(r).toMatch(/\/(leadconduit|rejected)\/\*/);
      if ([st.Action].flat().some((a) => a.startsWith('s3:PutObject') && a !== 's3:PutObjectTagging')) expect(objectResources.join()).not.toContain('/leadconduit/*');
    }

    // The dead-letter queue's depth and the function's errors are alarmed to the ops topic.
    const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm')).map((a) => a.Properties);
    expect(alarms.some((a) => a.MetricName === 'ApproximateNumberOfMessagesVisible' && JSON.stringify(a.Dimensions).includes(dlqId))).toBe(true);
    expect(alarms.some((a) => a.MetricName === 'Errors' && JSON.stringify(a.Dimensions).includes(fnId))).toBe(true);
  });

  it("gives the bus its own dead-letter queue: encrypted, TLS-only, EventBridge may send to it from this bus only, its depth alarmed", () => {
    const bus = Object.values(template.findResources('AWS::Events::EventBus'))[0]!;
    const queueRef = bus.Properties.DeadLetterConfig?.Arn as { 'Fn::GetAtt': [string, string] } | undefined;
    expect(queueRef?.['Fn::GetAtt']?.[1]).toBe('Arn');
    const queueId = queueRef!['Fn::GetAtt'][0];
    const queue = template.findResources('AWS::SQS::Queue')[queueId]!;
    // SQS's own key, not the bus's: what lands here failed with the bus's key.
    expect(queue.Properties.SqsManagedSseEnabled).toBe(true);
    const policy = Object.values(template.findResources('AWS::SQS::QueuePolicy')).find((p) => JSON.stringify(p.Properties.Queues).includes(queueId))!;
    const statements = policy.Properties.PolicyDocument.Statement as { Effect: string; Principal?: { Service?: string }; Action: string | string[]; Condition?: Record<string, Record<string, unknown>> }[];
    const send = statements.find((s) => s.Effect === 'Allow' && s.Principal?.Service === 'events.amazonaws.com');
    expect([send!.Action].flat()).toEqual(['sqs:SendMessage']);
    expect(JSON.stringify(send!.Condition?.ArnEquals?.['aws:SourceArn'])).toContain(':event-bus/leadlog');
    expect(statements.some((s) => s.Effect === 'Deny' && JSON.stringify(s.Condition).includes('aws:SecureTransport'))).toBe(true);
    const depth = Object.values(template.findResources('AWS::CloudWatch::Alarm')).filter((a) => a.Properties.MetricName === 'ApproximateNumberOfMessagesVisible'
      && JSON.stringify(a.Properties.Dimensions).includes(queueId));
    expect(depth).toHaveLength(1);
  });

  it("lets every service that writes with the data key use it: alarms to the ops topic, EventBridge to topics, queues and its archive", () => {
    const keys = template.findResources('AWS::KMS::Key');
    const dataKey = Object.entries(keys).find(([id]) => id.startsWith('DataKey'))!;
    const statements = dataKey[1].Properties.KeyPolicy.Statement as { Principal?: { Service?: string }; Action: string | string[]; Condition?: unknown }[];
    const allowed = (service: string) => new Set(statements.filter((s) => s.Principal?.Service === service).flatMap((s) => [s.Action].flat()));
    // Every encrypted topic and queue is encrypted with the data key; their publishers are CloudWatch (ops topic)
    // and EventBridge (alerts topic, rule dead letters, the bus and its archive).
    for (const topic of Object.values(template.findResources('AWS::SNS::Topic'))) expect(JSON.stringify(topic.Properties.KmsMasterKeyId)).toContain(dataKey[0]);
    for (const action of ['kms:Decrypt', 'kms:GenerateDataKey*']) expect(allowed('cloudwatch.amazonaws.com'), action).toContain(action);
    for (const action of ['kms:Decrypt', 'kms:GenerateDataKey', 'kms:DescribeKey', 'kms:ReEncrypt*']) expect(allowed('events.amazonaws.com'), action).toContain(action);
    // The bus archive is encrypted with the stack's key (aws-cdk-lib alone leaves KmsKeyIdentifier empty).
    template.hasResourceProperties('AWS::Events::Archive', { KmsKeyIdentifier: { 'Fn::GetAtt': [dataKey[0], 'Arn'] }, RetentionDays: 30 });
  });

  it('serves the console and the API description from the HTTP API, the built console shipped with its function', () => {
    const outputs = template.findOutputs('*');
    expect(JSON.stringify(outputs.ConsoleUrl!.Value)).toContain('/console/');
    expect(JSON.stringify(outputs.OpenApiUrl!.Value)).toContain('/v1/openapi.json');
    for (const key of ['GET /console', 'GET /console/{proxy+}', 'GET /v1/openapi.json']) {
      template.hasResourceProperties('AWS::ApiGatewayV2::Route', { RouteKey: key, AuthorizationType: 'NONE' });
    }
    const functions = template.findResources('AWS::Lambda::Function', { Properties: { Environment: { Variables: Match.objectLike({ POWERTOOLS_SERVICE_NAME: 'leadlog' }) } } });
    const console = Object.entries(functions).find(([id]) => id.startsWith('Console'));
    expect(console, 'the console function').toBeDefined();
    // Its code asset holds the handler and the built console: index.html and hashed assets under /console/assets/.
    const assetHash = (console![1].Properties.Code.S3Key as string).replace(/\.zip$/, '');
    const assetDir = `${process.env.TMPDIR ?? '/tmp'}/leadlog-cdk-test-${process.pid}/asset.${assetHash}`;
    const index = readFileSync(`${assetDir}/console/index.html`, 'utf8');
    expect(index).toMatch(/<script type="module" src="\/console\/assets\/app-[A-Z0-9]+\.js">/);
    expect(index).not.toMatch(/https?:\/\//); // nothing from another origin
  });

  it('exports: a KMS bucket whose files expire in a day, a workflow per export, and an exporter that may do only that', () => {
    const buckets = template.findResources('AWS::S3::Bucket', { Properties: { LifecycleConfiguration: { Rules: [Match.objectLike({ ExpirationInDays: 1 })] } } });
    const [exportBucket] = Object.entries(buckets);
    expect(exportBucket, 'the export bucket').toBeDefined();
    expect(exportBucket![1].Properties.BucketEncryption.ServerSideEncryptionConfiguration[0].ServerSideEncryptionByDefault.SSEAlgorithm).toBe('aws:kms');
    expect(exportBucket![1].Properties.PublicAccessBlockConfiguration).toEqual({ BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true });
    template.hasResourceProperties('AWS::StepFunctions::StateMachine', { StateMachineName: 'leadlog-dev-export' });
    for (const key of ['POST /v1/exports', 'GET /v1/exports/{id}']) template.hasResourceProperties('AWS::ApiGatewayV2::Route', { RouteKey: key, AuthorizationType: 'CUSTOM' });
    const policies = Object.values(template.findResources('AWS::IAM::Policy')).filter((p) => JSON.stringify(p.Properties.Roles).includes('ExporterFunction'));
    const statements = policies.flatMap((p) => p.Properties.PolicyDocument.Statement as { Action: string | string[]; Resource: unknown }[]);
    const glueWrites = statements.filter((st) => [st.Action].flat().includes('glue:CreateTable'));
    expect(JSON.stringify(glueWrites.map((st) => st.Resource))).toContain('export_ex_*');
    expect(JSON.stringify(glueWrites.map((st) => st.Resource))).not.toMatch(/table\/[^"]*\/\*"/);
    const athena = statements.filter((st) => [st.Action].flat().some((a) => a.startsWith('athena:')));
    expect(athena.every((st) => JSON.stringify(st.Resource).includes('workgroup'))).toBe(true);
    expect(statements.some((st) => [st.Action].flat().includes('dynamodb:DeleteTable') || [st.Action].flat().includes('s3:PutBucketPolicy'))).toBe(false);
    // Scheduled exports: EventBridge Scheduler ticks the clock function every 15 minutes, through a role that may
    // invoke only that function.
    const schedules = Object.values(template.findResources('AWS::Scheduler::Schedule')).filter((s) => JSON.stringify(s.Properties.Target.Arn).includes('ExportSchedulesFunction'));
    expect(schedules).toHaveLength(1);
    expect(schedules[0]!.Properties.ScheduleExpression).toBe('rate(15 minutes)');
    expect(JSON.stringify(schedules[0]!.Properties.Target.Arn)).toContain('ExportSchedulesFunction');
    const clockPolicies = Object.values(template.findResources('AWS::IAM::Policy')).filter((p) => JSON.stringify(p.Properties.Roles).includes('ExportScheduleClockRole'));
    expect(clockPolicies.flatMap((p) => p.Properties.PolicyDocument.Statement.map((st: { Action: unknown }) => st.Action)).flat()).toEqual(['lambda:InvokeFunction']);
  });

  it('replays: a workflow per replay, and the bus archive does not store replayed events again', () => {
    template.hasResourceProperties('AWS::StepFunctions::StateMachine', { StateMachineName: 'leadlog-dev-replay' });
    template.hasResourceProperties('AWS::Events::Archive', { EventPattern: { source: ['leadlog'], detail: { replay_id: [{ exists: false }] } } });
    for (const key of ['POST /v1/replays', 'GET /v1/replays/{id}']) template.hasResourceProperties('AWS::ApiGatewayV2::Route', { RouteKey: key, AuthorizationType: 'CUSTOM' });
    // Replays have their own function (functions/replays.ts), not the exports one: each route reaches its integration.
    const integrations = template.findResources('AWS::ApiGatewayV2::Integration');
    const targetOf = (key: string) => {
      const route = Object.values(template.findResources('AWS::ApiGatewayV2::Route', { Properties: { RouteKey: key } }))[0]!;
      const integrationId = JSON.stringify(route.Properties.Target).match(/"Ref":"([^"]+)"/)![1]!;
      return JSON.stringify(integrations[integrationId]!.Properties.IntegrationUri);
    };
    for (const key of ['POST /v1/replays', 'GET /v1/replays/{id}']) expect(targetOf(key), key).toMatch(/ReplaysFunction/);
    for (const key of ['POST /v1/exports', 'GET /v1/exports/{id}']) expect(targetOf(key), key).toMatch(/ExportsFunction/);
    const replaysPolicies = Object.values(template.findResources('AWS::IAM::Policy')).filter((p) => JSON.stringify(p.Properties.Roles).includes('ReplaysFunction'));
    expect(JSON.stringify(replaysPolicies)).toContain('states:StartExecution');
    const exportsStatements = Object.values(template.findResources('AWS::IAM::Policy')).filter((p) => /"ExportsFunction/.test(JSON.stringify(p.Properties.Roles)));
    expect(JSON.stringify(exportsStatements)).not.toMatch(/ReplayWorkflow|EventsTable/);
  });

  /**
   * The one Secrets Manager secret whose logical id starts with `prefix`, checked as every secret of the stack must be:
   * generated (never in the template), under the data key, and granted read-only (describe + get). Its readers: the
   * functions whose roles' policies name it, sorted.
   */
  function generatedSecret(prefix: string) {
    const secrets = Object.entries(template.findResources('AWS::SecretsManager::Secret')).filter(([id]) => id.startsWith(prefix));
    expect(secrets).toHaveLength(1);
    const [secretId, secret] = secrets[0]!;
    expect(secret.Properties.GenerateSecretString).toMatchObject({ PasswordLength: 64, ExcludePunctuation: true });
    expect(secret.Properties.SecretString).toBeUndefined(); // never in the template
    expect(JSON.stringify(secret.Properties.KmsKeyId)).toMatch(/DataKey/);
    const policies = Object.values(template.findResources('AWS::IAM::Policy'));
    for (const policy of policies) {
      for (const statement of policy.Properties.PolicyDocument.Statement) {
        if (JSON.stringify(statement.Resource ?? '').includes(`"${secretId}"`)) expect([statement.Action].flat().sort()).toEqual(['secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue']);
      }
    }
    const readers = policies
      .filter((p) => JSON.stringify(p.Properties.PolicyDocument).includes(`"${secretId}"`))
      .flatMap((p) => p.Properties.Roles.map((role: { Ref: string }) => role.Ref.replace(/ServiceRole.*$/, '')));
    return { secretId, secret, readers: readers.sort() };
  }

  it('signs cursors with a generated Secrets Manager secret under the data key, readable by the paging functions only', () => {
    const { readers } = generatedSecret('CursorSecret');
    expect(readers).toEqual(['AdminFunction', 'ProofsFunction', 'QueryFunction']);
  });

  it('keys masked ids with a generated Secrets Manager secret under the data key, retained, readable by the masking functions only', () => {
    const { secretId, secret, readers } = generatedSecret('PseudonymSecret');
    expect(secret.DeletionPolicy).toBe('Retain'); // archived pseudonyms outlive the stack
    expect(secret.UpdateReplacePolicy).toBe('Retain');
    expect(template.findResources('AWS::SecretsManager::RotationSchedule')).toEqual({}); // never rotated
    // The masking functions, those that write events (each item's seal, proof of record, is keyed from it) and the
    // integrator (it appends only queue items whose seal verifies).
    expect(readers).toEqual([
      'AdminFunction', 'ErasureFunction', 'ExporterFunction', 'FanoutFunction', 'IngestFunction', 'LeadConduitInboxFunction', 'LeadconduitPullFunction',
      'ProofLogFunction', 'QueryFunction', 'ReplayerFunction', 'ReplaysFunction', 'WebhooksFunction',
    ]);
    // Exactly the functions whose contract names the variable get it, and it is this secret.
    for (const fn of Object.values(template.findResources('AWS::Lambda::Function'))) {
      const variable = fn.Properties.Environment?.Variables?.PSEUDONYM_SECRET_ARN;
      if (variable) expect(JSON.stringify(variable)).toContain(secretId);
    }
  });
});


describe('the LeadConduit pull (contract section 12)', () => {
  const resources = () => template.toJSON().Resources as Record<string, { Type: string; Properties: Record<string, any> }>;
  const pullerId = () => Object.entries(resources()).find(([id, r]) => r.Type === 'AWS::Lambda::Function' && id.startsWith('LeadconduitPullFunction'))![0];

  it('invokes the puller every 5 minutes, without retries (the next tick is the retry), within a 5-minute timeout', () => {
    const puller = pullerId();
    expect(resources()[puller]!.Properties.Timeout).toBe(300);
    const schedules = Object.values(resources()).filter((r) => r.Type === 'AWS::Scheduler::Schedule' && JSON.stringify(r.Properties.Target.Arn).includes(puller));
    expect(schedules).toHaveLength(1);
    expect(schedules[0]!.Properties).toMatchObject({ ScheduleExpression: 'rate(5 minutes)', State: 'ENABLED', Target: { RetryPolicy: { MaximumRetryAttempts: 0 } } });
  });

  it('lets the puller read only the leadlog/leadconduit/ secrets, and no other function read them', () => {
    const puller = pullerId();
    const role = resources()[puller]!.Properties.Role['Fn::GetAtt'][0] as string;
    const statements = (forRole: (roles: string) => boolean) => Object.values(resources())
      .filter((r) => r.Type === 'AWS::IAM::Policy' && forRole(JSON.stringify(r.Properties.Roles)))
      .flatMap((r) => r.Properties.PolicyDocument.Statement as { Action: string | string[]; Resource: unknown }[])
      .filter((s) => [s.Action].flat().some((action) => action.startsWith('secretsmanager:')));
    // Besides the pseudonym secret, which every function that writes events reads (the seal of proof of record).
    const own = statements((roles) => roles.includes(role)).filter((s) => !JSON.stringify(s.Resource).includes('PseudonymSecret'));
    expect(own).toHaveLength(1);
    expect(own[0]!.Action).toBe('secretsmanager:GetSecretValue');
    expect(JSON.stringify(own[0]!.Resource)).toMatch(/:secret:leadlog\/leadconduit\/\*"\]\]\}$/);
    const others = statements((roles) => !roles.includes(role));
    expect(others.filter((s) => JSON.stringify(s.Resource).includes('leadlog/leadconduit/'))).toEqual([]);
  });
});

describe('proof of record (contract section 14)', () => {
  const resources = () => template.toJSON().Resources as Record<string, { Type: string; Properties: Record<string, any>; DeletionPolicy?: string }>;
  const functionId = (prefix: string) => Object.entries(resources()).find(([id, r]) => r.Type === 'AWS::Lambda::Function' && id.startsWith(`${prefix}Function`))![0];
  const roleOf = (fnId: string) => resources()[fnId]!.Properties.Role['Fn::GetAtt'][0] as string;
  const checkpointKey = () => {
    const keys = Object.entries(resources()).filter(([, r]) => r.Type === 'AWS::KMS::Key' && r.Properties.KeySpec === 'ECC_NIST_P256');
    expect(keys).toHaveLength(1);
    return keys[0]!;
  };
  /** Every IAM statement of every policy, with the roles it is attached to. */
  const iamStatements = () => Object.values(resources())
    .filter((r) => r.Type === 'AWS::IAM::Policy')
    .flatMap((r) => (r.Properties.PolicyDocument.Statement as { Effect: string; Action: string | string[]; Resource: unknown }[]).map((statement) => ({ roles: JSON.stringify(r.Properties.Roles), statement })));

  it('signs with a retained ECC_NIST_P256 SIGN_VERIFY key under the alias, whose policy denies kms:Sign to all but the integrator', () => {
    const [keyId, key] = checkpointKey();
    expect(key.Properties).toMatchObject({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' });
    expect(key.Properties.EnableKeyRotation).toBeUndefined(); // asymmetric keys cannot rotate: the key is the log's identity
    expect(key.DeletionPolicy).toBe('Retain');
    template.hasResourceProperties('AWS::KMS::Alias', { AliasName: 'alias/leadlog-checkpoints', TargetKeyId: { 'Fn::GetAtt': [keyId, 'Arn'] } });
    const integratorRole = roleOf(functionId('ProofLog'));
    const proofsRole = roleOf(functionId('Proofs'));
    const statements = key.Properties.KeyPolicy.Statement as { Sid?: string; Effect: string; Principal: any; Action: string | string[]; Condition?: any }[];
    const deny = statements.filter((s) => s.Effect === 'Deny');
    expect(deny).toHaveLength(1);
    expect(deny[0]).toMatchObject({ Principal: { AWS: '*' }, Action: 'kms:Sign', Condition: { ArnNotEquals: { 'aws:PrincipalArn': { 'Fn::GetAtt': [integratorRole, 'Arn'] } } } });
    const allowed = (action: string) => statements.filter((s) => s.Effect === 'Allow' && [s.Action].flat().includes(action)).map((s) => JSON.stringify(s.Principal));
    expect(allowed('kms:Sign')).toEqual([JSON.stringify({ AWS: { 'Fn::GetAtt': [integratorRole, 'Arn'] } })]);
    expect(allowed('kms:GetPublicKey').sort()).toEqual([integratorRole, proofsRole].map((role) => JSON.stringify({ AWS: { 'Fn::GetAtt': [role, 'Arn'] } })).sort());
    // Besides the account root statement CDK adds (which delegates to IAM; the Deny above binds IAM too).
    expect(statements.filter((s) => s.Effect === 'Allow' && [s.Action].flat().includes('kms:*'))).toHaveLength(1);
    // IAM: only the integrator's role is granted kms:Sign, on this key only; the proofs function gets GetPublicKey only.
    const signers = iamStatements().filter(({ statement }) => [statement.Action].flat().some((a) => a === 'kms:Sign' || a === 'kms:*'));
    expect(signers).toHaveLength(1);
    expect(signers[0]!.roles).toContain(integratorRole);
    expect(signers[0]!.statement.Resource).toEqual({ 'Fn::GetAtt': [keyId, 'Arn'] });
    const proofsKms = iamStatements().filter(({ roles, statement }) => roles.includes(proofsRole) && JSON.stringify(statement.Resource).includes(keyId));
    expect(proofsKms.map(({ statement }) => statement.Action)).toEqual(['kms:GetPublicKey']);
  });

  it('keeps checkpoints in a retained, versioned Object Lock bucket (COMPLIANCE, 400 days), private, TLS-only, encrypted, access-logged', () => {
    const buckets = Object.entries(resources()).filter(([, r]) => r.Type === 'AWS::S3::Bucket' && r.Properties.ObjectLockEnabled);
    expect(buckets).toHaveLength(1);
    const [bucketId, bucket] = buckets[0]!;
    expect(bucket.Properties).toMatchObject({
      ObjectLockEnabled: true,
      ObjectLockConfiguration: { ObjectLockEnabled: 'Enabled', Rule: { DefaultRetention: { Mode: 'COMPLIANCE', Days: 400 } } },
      VersioningConfiguration: { Status: 'Enabled' },
      PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
      BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] },
      LoggingConfiguration: { LogFilePrefix: 'checkpoints/' },
    });
    expect(bucket.DeletionPolicy).toBe('Retain');
    const policy = Object.values(resources()).find((r) => r.Type === 'AWS::S3::BucketPolicy' && JSON.stringify(r.Properties.Bucket).includes(bucketId));
    expect(JSON.stringify(policy)).toContain('aws:SecureTransport');
    // Only the integrator writes, and only under checkpoints/; nothing may delete or change retention.
    const writers = iamStatements().filter(({ statement }) => JSON.stringify(statement.Resource).includes(bucketId) && [statement.Action].flat().some((a) => /^s3:(Put|Delete|\*)/.test(a)));
    expect(writers).toHaveLength(1);
    expect(writers[0]!.roles).toContain(roleOf(functionId('ProofLog')));
    expect([writers[0]!.statement.Action].flat().sort()).toEqual(['s3:GetObject', 's3:PutObject']);
    expect(JSON.stringify(writers[0]!.statement.Resource)).toContain('/checkpoints/*');
  });

  it('runs the integrator every minute without retries, 5 minutes at most, one at a time when concurrency is reserved, and alarms on its errors', () => {
    const integrator = functionId('ProofLog');
    expect(resources()[integrator]!.Properties.Timeout).toBe(300);
    const schedules = Object.values(resources()).filter((r) => r.Type === 'AWS::Scheduler::Schedule' && JSON.stringify(r.Properties.Target.Arn).includes(integrator));
    expect(schedules).toHaveLength(1);
    expect(schedules[0]!.Properties).toMatchObject({ ScheduleExpression: 'rate(1 minute)', State: 'ENABLED', Target: { RetryPolicy: { MaximumRetryAttempts: 0 } } });
    const variables = resources()[integrator]!.Properties.Environment.Variables;
    expect(JSON.stringify(variables.CHECKPOINT_KEY_ARN)).toContain(checkpointKey()[0]);
    const errorAlarms = Object.values(template.findResources('AWS::CloudWatch::Alarm'))
      .filter((a) => a.Properties.MetricName === 'Errors' && JSON.stringify(a.Properties.Dimensions).includes(integrator));
    expect(errorAlarms).toHaveLength(1);
    // Reserved concurrency follows the stack's switch (off by default: accounts with a lowered quota refuse any reservation).
    const { context } = JSON.parse(readFileSync('cdk.json', 'utf8'));
    const { stack } = buildApp(new App({ context: { ...context, reservedConcurrency: 'true' }, outdir: `${process.env.TMPDIR ?? '/tmp'}/leadlog-cdk-test-reserved-${process.pid}` }));
    const reserved = Template.fromStack(stack).toJSON().Resources as Record<string, { Type: string; Properties: Record<string, any> }>;
    const [, fn] = Object.entries(reserved).find(([id, r]) => r.Type === 'AWS::Lambda::Function' && id.startsWith('ProofLogFunction'))!;
    expect(fn.Properties.ReservedConcurrentExecutions).toBe(1);
  }, 180_000);

  it('has the log table: pk/sk, no TTL, no stream, with PITR, KMS and deletion protection; the integrator, fan-out, erasure and admin write it', () => {
    const tables = Object.entries(resources()).filter(([, r]) => r.Type === 'AWS::DynamoDB::GlobalTable' && r.Properties.TableName === 'leadlog-dev-log');
    expect(tables).toHaveLength(1);
    const [tableId, table] = tables[0]!;
    expect(table.Properties.KeySchema).toEqual([{ AttributeName: 'pk', KeyType: 'HASH' }, { AttributeName: 'sk', KeyType: 'RANGE' }]);
    expect(table.Properties.TimeToLiveSpecification).toBeUndefined();
    expect(table.Properties.StreamSpecification).toBeUndefined();
    expect(table.Properties.SSESpecification).toMatchObject({ SSEEnabled: true, SSEType: 'KMS' });
    expect(table.Properties.Replicas).toEqual([expect.objectContaining({ PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true }, DeletionProtectionEnabled: true })]);
    expect(table.DeletionPolicy).toBe('Retain');
    const writersOf = iamStatements().filter(({ statement }) => JSON.stringify(statement.Resource).includes(tableId) && [statement.Action].flat().includes('dynamodb:PutItem'));
    const writers = ['ProofLog', 'Fanout', 'Erasure', 'Admin'].map((fn) => roleOf(functionId(fn)));
    for (const role of writers) expect(writersOf.some(({ roles }) => roles.includes(role)), role).toBe(true);
    expect(writersOf.every(({ roles }) => writers.some((role) => roles.includes(role)))).toBe(true);
    const proofsRole = roleOf(functionId('Proofs'));
    expect(iamStatements().some(({ roles, statement }) => roles.includes(proofsRole) && JSON.stringify(statement.Resource).includes(tableId) && [statement.Action].flat().includes('dynamodb:Query'))).toBe(true);
  });
});
