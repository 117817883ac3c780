import { Aws, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { CfnNamedQuery, CfnWorkGroup } from 'aws-cdk-lib/aws-athena';
import { CfnDatabase, CfnTable } from 'aws-cdk-lib/aws-glue';
import { PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { CfnDeliveryStream } from 'aws-cdk-lib/aws-kinesisfirehose';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import { LogGroup, LogStream, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { BlockPublicAccess, Bucket, BucketEncryption, ObjectOwnership, StorageClass, type IBucket } from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import {
  ARCHIVE_PREFIX, ARCHIVE_STREAMS, ARCHIVE_TIMESTAMP_FORMAT, EVENTS_VIEW, PROJECTION_DT_RANGE, RAW_TABLE, archiveColumns, eventsViewSql, namedQueries, partitionColumns,
  type ColumnType,
} from '../../shared/definitions/archive.js';

/** Days the archive's error prefix is kept: well past the hot table's 90, so nothing expires before it is re-fed. */
export const ERROR_PREFIX_RETENTION_DAYS = 400;

/** The view's column types as Athena (Trino) names them; the Glue table's `timestamp` reads as timestamp(3). */
const PRESTO_TYPES: Record<ColumnType, string> = { string: 'varchar', timestamp: 'timestamp(3)', double: 'double', bigint: 'bigint' };
import { namedQuerySql } from '../queries.js';
import { acknowledge } from './lambda-function.js';

export interface AnalyticsProps {
  prefix: string;
  key: IKey;
  logKey: IKey;
  accessLogs: IBucket;
  /** Delivery streams (default ARCHIVE_STREAMS, the plan for contract section 15's targets). */
  streams?: number;
}

/**
 * The archive and its SQL: K Firehose streams from one definition (dynamic partitioning by org_id/dt, JSON → Parquet
 * through the Glue schema; the fan-out spreads orgs over them so each stays within its active-partition quota) into a KMS-encrypted bucket with a Standard → IA (30 d) → Glacier Instant Retrieval (90 d)
 * lifecycle; the Glue table with partition projection (org_id injected: every query names its org); an
 * Athena workgroup with an enforced, encrypted result location and a per-query scan limit; the named queries.
 */
export class Analytics extends Construct {
  readonly bucket: Bucket;
  /**
   * The delivery streams, in the order the fan-out indexes them (archiveStreamOf): one definition, K copies, each
   * writing the same org_id=/dt= layout into the same bucket. Stream 0 keeps the construct id of the single stream
   * the stack had before, so it is never replaced.
   */
  readonly deliveryStreams: CfnDeliveryStream[];
  readonly database: string;
  readonly workGroup: CfnWorkGroup;
  /** Where Athena writes query results (the erasure job's queries write there as it runs them). */
  readonly results: Bucket;

  constructor(scope: Construct, id: string, props: AnalyticsProps) {
    super(scope, id);
    const region = Stack.of(this).region;
    this.bucket = new Bucket(this, 'Archive', {
      encryption: BucketEncryption.KMS, encryptionKey: props.key, bucketKeyEnabled: true,
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL, enforceSSL: true, objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
      serverAccessLogsBucket: props.accessLogs, serverAccessLogsPrefix: 'archive/',
      lifecycleRules: [
        {
          prefix: `${ARCHIVE_PREFIX}/`,
          transitions: [
            { storageClass: StorageClass.INFREQUENT_ACCESS, transitionAfter: Duration.days(30) },
            { storageClass: StorageClass.GLACIER_INSTANT_RETRIEVAL, transitionAfter: Duration.days(90) },
          ],
        },
        // What Firehose could not deliver waits here for `npm run archive -- redeliver`: kept far longer than the
        // hot table (90 days), so a record is never lost before someone can re-feed it.
        { prefix: 'errors/', expiration: Duration.days(ERROR_PREFIX_RETENTION_DAYS) },
      ],
      removalPolicy: RemovalPolicy.RETAIN,
    });
    const results = (this.results = new Bucket(this, 'QueryResults', {
      encryption: BucketEncryption.KMS, encryptionKey: props.key, bucketKeyEnabled: true,
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL, enforceSSL: true, objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
      serverAccessLogsBucket: props.accessLogs, serverAccessLogsPrefix: 'athena-results/',
      lifecycleRules: [{ expiration: Duration.days(30) }],
      removalPolicy: RemovalPolicy.DESTROY,
      autoDeleteObjects: false,
    }));

    this.database = `${props.prefix.replace(/-/g, '_')}`;
    const database = new CfnDatabase(this, 'Database', { catalogId: Aws.ACCOUNT_ID, databaseInput: { name: this.database, description: 'leadlog archive' } });
    const location = `s3://${this.bucket.bucketName}/${ARCHIVE_PREFIX}/`;
    const table = new CfnTable(this, 'EventsTable', {
      catalogId: Aws.ACCOUNT_ID,
      databaseName: this.database,
      tableInput: {
        name: RAW_TABLE,
        tableType: 'EXTERNAL_TABLE',
        partitionKeys: partitionColumns.map((c) => ({ name: c.name, type: c.type, comment: c.comment })),
        parameters: {
          classification: 'parquet',
          'projection.enabled': 'true',
          'projection.org_id.type': 'injected',
          'projection.dt.type': 'date',
          'projection.dt.format': 'yyyy-MM-dd',
          'projection.dt.range': PROJECTION_DT_RANGE,
          'projection.dt.interval': '1',
          'projection.dt.interval.unit': 'DAYS',
          'storage.location.template': `${location}org_id=\${org_id}/dt=\${dt}/`,
        },
        storageDescriptor: {
          location,
          columns: archiveColumns.map((c) => ({ name: c.name, type: c.type, comment: c.comment })),
          inputFormat: 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat',
          outputFormat: 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat',
          serdeInfo: { serializationLibrary: 'org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe' },
        },
      },
    });
    table.node.addDependency(database);
    // What users and the named queries read: each event once (Firehose delivers at least once). An Athena view is
    // a Glue table of type VIRTUAL_VIEW whose original text carries the Presto view definition, base64-encoded.
    const allColumns = [...archiveColumns, ...partitionColumns];
    const prestoView = {
      originalSql: eventsViewSql(`"${this.database}"."${RAW_TABLE}"`),
      catalog: 'awsdatacatalog',
      schema: this.database,
      columns: allColumns.map((c) => ({ name: c.name, type: PRESTO_TYPES[c.type] })),
    };
    const view = new CfnTable(this, 'EventsView', {
      catalogId: Aws.ACCOUNT_ID,
      databaseName: this.database,
      tableInput: {
        name: EVENTS_VIEW,
        tableType: 'VIRTUAL_VIEW',
        description: 'Each archived event once (the archive holds a row at least once)',
        parameters: { presto_view: 'true', comment: 'Presto View' },
        viewOriginalText: `/* Presto View: ${Buffer.from(JSON.stringify(prestoView)).toString('base64')} */`,
        viewExpandedText: '/* Presto View */',
        storageDescriptor: { columns: allColumns.map((c) => ({ name: c.name, type: c.type })), serdeInfo: {} },
      },
    });
    view.node.addDependency(table);

    const logs = new LogGroup(this, 'DeliveryLogs', { retention: RetentionDays.ONE_MONTH, encryptionKey: props.logKey });
    const logStream = new LogStream(this, 'DeliveryLogStream', { logGroup: logs });
    const role = new Role(this, 'DeliveryRole', { assumedBy: new ServicePrincipal('firehose.amazonaws.com') });
    this.bucket.grantReadWrite(role);
    props.key.grantEncryptDecrypt(role);
    logs.grantWrite(role);
    role.addToPolicy(new PolicyStatement({
      actions: ['glue:GetTable', 'glue:GetTableVersion', 'glue:GetTableVersions'],
      resources: [
        `arn:${Aws.PARTITION}:glue:${region}:${Aws.ACCOUNT_ID}:catalog`,
        `arn:${Aws.PARTITION}:glue:${region}:${Aws.ACCOUNT_ID}:database/${this.database}`,
        `arn:${Aws.PARTITION}:glue:${region}:${Aws.ACCOUNT_ID}:table/${this.database}/${RAW_TABLE}`,
      ],
    }));

    const deliveryStream = (index: number) => {
      const stream = new CfnDeliveryStream(this, index === 0 ? 'Delivery' : `Delivery${index}`, {
        deliveryStreamType: 'DirectPut',
        deliveryStreamEncryptionConfigurationInput: { keyType: 'CUSTOMER_MANAGED_CMK', keyArn: props.key.keyArn },
        extendedS3DestinationConfiguration: {
          bucketArn: this.bucket.bucketArn,
          roleArn: role.roleArn,
          prefix: `${ARCHIVE_PREFIX}/org_id=!{partitionKeyFromQuery:org_id}/dt=!{partitionKeyFromQuery:dt}/`,
          errorOutputPrefix: 'errors/!{firehose:error-output-type}/dt=!{timestamp:yyyy-MM-dd}/',
          // Parquet wants big files: buffer 128 MB or 15 minutes (dynamic partitioning needs at least 64 MB).
          bufferingHints: { sizeInMBs: 128, intervalInSeconds: 900 },
          compressionFormat: 'UNCOMPRESSED', // Parquet compresses itself (Snappy below)
          encryptionConfiguration: { kmsEncryptionConfig: { awskmsKeyArn: props.key.keyArn } },
          cloudWatchLoggingOptions: { enabled: true, logGroupName: logs.logGroupName, logStreamName: logStream.logStreamName },
          dynamicPartitioningConfiguration: { enabled: true, retryOptions: { durationInSeconds: 300 } },
          processingConfiguration: {
            enabled: true,
            processors: [
              // The fan-out packs rows of one org and day into one record (5 KB billing steps): split them again.
              { type: 'RecordDeAggregation', parameters: [{ parameterName: 'SubRecordType', parameterValue: 'JSON' }] },
              {
                type: 'MetadataExtraction',
                parameters: [
                  { parameterName: 'MetadataExtractionQuery', parameterValue: '{org_id: .org_id, dt: .dt}' },
                  { parameterName: 'JsonParsingEngine', parameterValue: 'JQ-1.6' },
                ],
              },
            ],
          },
          dataFormatConversionConfiguration: {
            enabled: true,
            // The zone is parsed, not assumed: Joda's `ZZ` reads the `Z` of every archive row's timestamp as UTC.
            inputFormatConfiguration: { deserializer: { hiveJsonSerDe: { timestampFormats: [ARCHIVE_TIMESTAMP_FORMAT] } } },
            outputFormatConfiguration: { serializer: { parquetSerDe: { compression: 'SNAPPY' } } },
            schemaConfiguration: { databaseName: this.database, tableName: RAW_TABLE, roleArn: role.roleArn, region, versionId: 'LATEST' },
          },
        },
      });
      stream.node.addDependency(role);
      stream.node.addDependency(table);
      return stream;
    };
    this.deliveryStreams = Array.from({ length: props.streams ?? ARCHIVE_STREAMS }, (_, index) => deliveryStream(index));

    this.workGroup = new CfnWorkGroup(this, 'WorkGroup', {
      name: props.prefix,
      description: 'leadlog analytics over the Parquet archive',
      state: 'ENABLED',
      workGroupConfiguration: {
        enforceWorkGroupConfiguration: true,
        publishCloudWatchMetricsEnabled: true,
        bytesScannedCutoffPerQuery: 10 * 1024 ** 3,
        engineVersion: { selectedEngineVersion: 'Athena engine version 3' },
        resultConfiguration: {
          outputLocation: `s3://${results.bucketName}/results/`,
          encryptionConfiguration: { encryptionOption: 'SSE_KMS', kmsKey: props.key.keyArn },
        },
      },
    });
    for (const query of namedQueries) {
      const named = new CfnNamedQuery(this, `Query-${query.name}`, {
        name: query.name, description: `${query.description} (parameters: org_id, from dt, to dt)`,
        database: this.database, workGroup: this.workGroup.name, queryString: namedQuerySql(query.name),
      });
      named.node.addDependency(this.workGroup);
    }
    acknowledge(role, {
      'AwsSolutions-IAM5[Action::s3:Abort*]': 'grantReadWrite on the archive bucket only (multipart uploads of Parquet files).',
      'AwsSolutions-IAM5[Action::s3:DeleteObject*]': 'grantReadWrite on the archive bucket only; Firehose may replace its own temporary objects.',
      'AwsSolutions-IAM5[Action::s3:GetBucket*]': 'grantReadWrite on the archive bucket only.',
      'AwsSolutions-IAM5[Action::s3:GetObject*]': 'grantReadWrite on the archive bucket only.',
      'AwsSolutions-IAM5[Action::s3:List*]': 'grantReadWrite on the archive bucket only.',
      [`AwsSolutions-IAM5[Resource::<${Stack.of(this).getLogicalId(this.bucket.node.defaultChild as never)}.Arn>/*]`]: 'Objects of the archive bucket only.',
      'AwsSolutions-IAM5[Action::kms:GenerateDataKey*]': "The stack's own data key only.",
      'AwsSolutions-IAM5[Action::kms:ReEncrypt*]': "The stack's own data key only.",
    });
  }
}
