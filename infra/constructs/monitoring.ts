import { ArnFormat, Duration, Stack } from 'aws-cdk-lib';
import type { HttpApi } from 'aws-cdk-lib/aws-apigatewayv2';
import { Alarm, ComparisonOperator, Dashboard, GraphWidget, MathExpression, Metric, TreatMissingData, type IMetric } from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import { Operation, type ITableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { PolicyStatement, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { Topic } from 'aws-cdk-lib/aws-sns';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';

/** The operations leadlog uses (an alarm's math may combine at most 10 metrics). */
const THROTTLE_OPERATIONS = [Operation.PUT_ITEM, Operation.GET_ITEM, Operation.QUERY, Operation.UPDATE_ITEM, Operation.BATCH_GET_ITEM, Operation.TRANSACT_WRITE_ITEMS];

export interface MonitoringProps {
  api: HttpApi;
  functions: Record<string, IFunction>;
  streamConsumer: IFunction;
  /** Each table by its name in alarms and widgets (events, control, log). */
  tables: Record<string, ITableV2>;
  deadLetterQueues: Record<string, IQueue>;
  /** The archive's delivery streams: each gets the Firehose alarms (a stream's quota is its own). */
  deliveryStreamNames: string[];
  key: IKey;
}

/**
 * Operations alarms to an encrypted SNS topic (subscribe your pager to `OpsTopicArn`) and one dashboard:
 * API 5xx rate, Lambda errors and throttles, stream iterator age, dead-letter depth, Firehose delivery,
 * DynamoDB throttles. Runbook: docs/operations.md.
 */
export class Monitoring extends Construct {
  readonly topic: Topic;
  readonly alarms: Alarm[] = [];

  constructor(scope: Construct, id: string, props: MonitoringProps) {
    super(scope, id);
    this.topic = new Topic(this, 'Ops', { displayName: 'leadlog operations', masterKey: props.key, enforceSSL: true });
    // A topic policy replaces SNS's default one, and enforceSSL's policy holds only its Deny: without this Allow no
    // alarm may publish. CloudWatch publishes as its service principal, so only this account's alarms may (the SNS
    // guide's "CloudWatch alarms" statement: aws:SourceAccount, and aws:SourceArn of an alarm of this account).
    const stack = Stack.of(this);
    this.topic.addToResourcePolicy(new PolicyStatement({
      sid: 'CloudWatchAlarmsPublish', principals: [new ServicePrincipal('cloudwatch.amazonaws.com')], actions: ['sns:Publish'], resources: [this.topic.topicArn],
      conditions: {
        StringEquals: { 'aws:SourceAccount': stack.account },
        ArnLike: { 'aws:SourceArn': stack.formatArn({ service: 'cloudwatch', resource: 'alarm', resourceName: '*', arnFormat: ArnFormat.COLON_RESOURCE_NAME }) },
      },
    }));
    // Alarm actions publish as CloudWatch: without this the encrypted topic refuses every alarm notification.
    props.key.addToResourcePolicy(new PolicyStatement({
      sid: 'CloudWatchAlarmsPublishToEncryptedTopics', principals: [new ServicePrincipal('cloudwatch.amazonaws.com')],
      actions: ['kms:Decrypt', 'kms:GenerateDataKey*'], resources: ['*'],
      conditions: { StringEquals: { 'aws:SourceAccount': Stack.of(this).account } },
    }));
    const action = new SnsAction(this.topic);
    const alarm = (name: string, metric: IMetric, threshold: number, description: string, comparison = ComparisonOperator.GREATER_THAN_THRESHOLD, periods = 1) => {
      const created = new Alarm(this, name, {
        metric, threshold, evaluationPeriods: periods, comparisonOperator: comparison,
        treatMissingData: TreatMissingData.NOT_BREACHING, alarmDescription: `${description} Runbook: docs/operations.md`,
      });
      created.addAlarmAction(action);
      this.alarms.push(created);
      return created;
    };
    const five = Duration.minutes(5);

    const serverErrors = props.api.metricServerError({ period: five, statistic: 'Sum' });
    const requests = props.api.metricCount({ period: five, statistic: 'Sum' });
    alarm('Api5xxRate', new MathExpression({ expression: '100 * errors / MAX([requests, 1])', usingMetrics: { errors: serverErrors, requests }, period: five, label: 'API 5xx %' }), 1,
      'More than 1% of API requests answered 5xx (only our own faults may: DynamoDB throttling or errors).');
    for (const [name, fn] of Object.entries(props.functions)) {
      alarm(`${name}Errors`, fn.metricErrors({ period: five, statistic: 'Sum' }), 0, `${name} function errors.`, ComparisonOperator.GREATER_THAN_THRESHOLD, 2);
      alarm(`${name}Throttles`, fn.metricThrottles({ period: five, statistic: 'Sum' }), 0, `${name} function throttled.`);
    }
    alarm('StreamIteratorAge', new Metric({ namespace: 'AWS/Lambda', metricName: 'IteratorAge', dimensionsMap: { FunctionName: props.streamConsumer.functionName }, statistic: 'Maximum', period: Duration.minutes(1) }),
      5 * 60_000, 'The fan-out is more than 5 minutes behind the events table stream.', ComparisonOperator.GREATER_THAN_THRESHOLD, 3);
    for (const [name, queue] of Object.entries(props.deadLetterQueues)) {
      alarm(`${name}DeadLetters`, queue.metricApproximateNumberOfMessagesVisible({ period: five, statistic: 'Maximum' }), 0, `Messages waiting in the ${name} dead-letter queue: redrive them.`);
    }
    props.deliveryStreamNames.forEach((streamName, index) => {
      // Stream 0 keeps the alarm names of the single stream the stack had; stream k adds its index.
      const suffix = index === 0 ? '' : String(index);
      const firehose = (metricName: string, statistic: string, period: Duration) =>
        new Metric({ namespace: 'AWS/Firehose', metricName, dimensionsMap: { DeliveryStreamName: streamName }, statistic, period });
      alarm(`ArchiveDeliveryFailing${suffix}`, firehose('DeliveryToS3.Success', 'Average', Duration.minutes(15)),
        1, 'Firehose failed to deliver part of the archive to S3 (see the errors/ prefix).', ComparisonOperator.LESS_THAN_THRESHOLD, 2);
      // Dynamic partitioning: beyond the active-partition quota (500 by default) records go to the errors/ prefix.
      alarm(`ArchivePartitionsExceeded${suffix}`, firehose('PartitionCountExceeded', 'Maximum', five),
        0, 'Firehose exceeded its active partition quota: records went to errors/ (re-feed with npm run archive -- redeliver; raise the quota or the streams: docs/decisions.md).');
      alarm(`ArchiveConversionFailed${suffix}`, firehose('FailedConversion.Records', 'Sum', five),
        0, 'Firehose could not convert records to Parquet: they went to errors/ (re-feed with npm run archive -- redeliver).');
      alarm(`ArchiveFreshness${suffix}`, firehose('DeliveryToS3.DataFreshness', 'Maximum', Duration.minutes(15)),
        3600, 'The oldest archive record waiting in Firehose is more than an hour old.');
    });
    const throttled = (table: ITableV2) => table.metricThrottledRequestsForOperations({ operations: THROTTLE_OPERATIONS, period: five });
    // Table<i>Throttles in the record's order: the first two keep the alarm names they were deployed with.
    Object.entries(props.tables).forEach(([name, table], i) => {
      alarm(`Table${i}Throttles`, throttled(table), 0, `DynamoDB throttled requests on ${name}.`, ComparisonOperator.GREATER_THAN_THRESHOLD, 2);
    });

    const dashboard = new Dashboard(this, 'Dashboard', { defaultInterval: Duration.hours(6) });
    dashboard.addWidgets(
      new GraphWidget({ title: 'API requests and 5xx', left: [requests], right: [serverErrors], width: 12 }),
      new GraphWidget({ title: 'Lambda errors', left: Object.values(props.functions).map((fn) => fn.metricErrors({ period: five })), width: 12 }),
      new GraphWidget({ title: 'Lambda duration p99', left: Object.values(props.functions).map((fn) => fn.metricDuration({ period: five, statistic: 'p99' })), width: 12 }),
      new GraphWidget({ title: 'Stream iterator age (ms)', left: [new Metric({ namespace: 'AWS/Lambda', metricName: 'IteratorAge', dimensionsMap: { FunctionName: props.streamConsumer.functionName }, statistic: 'Maximum' })], width: 12 }),
      new GraphWidget({ title: 'Dead letters', left: Object.values(props.deadLetterQueues).map((q) => q.metricApproximateNumberOfMessagesVisible()), width: 12 }),
      ...Object.entries(props.tables).map(([name, table]) => new GraphWidget({ title: `DynamoDB throttles (${name})`, left: [throttled(table)], width: 12 })),
    );
  }
}
