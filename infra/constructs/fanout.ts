import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import type { ITableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { CfnArchive, EventBus, Rule } from 'aws-cdk-lib/aws-events';
import { SnsTopic } from 'aws-cdk-lib/aws-events-targets';
import { PolicyStatement, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import { FilterCriteria, FilterRule, StartingPosition, type IFunction } from 'aws-cdk-lib/aws-lambda';
import { DynamoEventSource, SqsDlq } from 'aws-cdk-lib/aws-lambda-event-sources';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { eventRules } from '../../shared/definitions/event-rules.js';
import type { StreamSettings } from '../../shared/definitions/stream.js';
import { validatePattern } from '../../shared/domain/event-pattern.js';
import { acknowledge } from './lambda-function.js';

export interface FanoutProps {
  busName: string;
  events: ITableV2;
  fanout: IFunction;
  key: IKey;
  /** The stream mapping's settings: a profile of shared/definitions/stream.ts (STREAM_PROFILES). */
  stream: StreamSettings;
}

/**
 * Everything after the write: the events table's stream (INSERTs only, filtered at the event source) into
 * the fan-out function, which puts each event on the leadlog bus; the bus archives for replay, and the
 * per-event rules of shared/definitions/event-rules.ts notify an encrypted SNS topic.
 */
export class Fanout extends Construct {
  readonly bus: EventBus;
  readonly alerts: Topic;
  readonly deadLetters: Queue;
  readonly ruleDeadLetters: Queue;
  readonly busDeadLetters: Queue;

  constructor(scope: Construct, id: string, props: FanoutProps) {
    super(scope, id);
    // The bus ARN from its name: a reference to the bus itself would make key ↔ bus (and queue ↔ bus) a dependency cycle.
    const busArn = Stack.of(this).formatArn({ service: 'events', resource: 'event-bus', resourceName: props.busName });
    // The bus's own dead-letter queue (DeadLetterConfig), which AWS recommends for a bus under a customer managed key:
    // an event the bus cannot encrypt or decrypt (the key disabled, its policy changed) lands here instead of being
    // dropped. Encrypted with SQS's own key, not the data key: a queue under the failing key would refuse it too.
    this.busDeadLetters = new Queue(this, 'BusDeadLetters', {
      encryption: QueueEncryption.SQS_MANAGED, enforceSSL: true, retentionPeriod: Duration.days(14), removalPolicy: RemovalPolicy.RETAIN,
    });
    acknowledge(this.busDeadLetters, { 'AwsSolutions-SQS3': 'This queue is itself the dead-letter queue of the event bus.' });
    // EventBridge sends as its service principal: only for this bus (the EventBridge guide's dead-letter queue policy).
    this.busDeadLetters.addToResourcePolicy(new PolicyStatement({
      sid: 'EventBridgeBusDeadLetters', principals: [new ServicePrincipal('events.amazonaws.com')], actions: ['sqs:SendMessage'],
      resources: [this.busDeadLetters.queueArn], conditions: { ArnEquals: { 'aws:SourceArn': busArn } },
    }));
    this.bus = new EventBus(this, 'Bus', { eventBusName: props.busName, kmsKey: props.key, deadLetterQueue: this.busDeadLetters });
    const archive = this.bus.archive('Archive', {
      archiveName: `${props.busName}-archive`,
      description: 'Every leadlog event, for replay (not the replayed ones again)',
      // A replayed event (detail.replay_id, POST /v1/replays) is already here from its first publish.
      eventPattern: { source: ['leadlog'], detail: { replay_id: [{ exists: false }] } },
      // It cannot delete single events: an erased lead's (masked) events live here at most this long (GDPR: one month).
      retention: Duration.days(30),
      kmsKey: props.key,
    });
    // aws-cdk-lib does not forward `kmsKey` to the archive (the template had KmsKeyIdentifier ""): set it, and give
    // EventBridge the key permissions an archive needs (EventBridge user guide, "Encrypting archives").
    (archive.node.defaultChild as CfnArchive).kmsKeyIdentifier = props.key.keyArn;
    const busContext = { 'kms:EncryptionContext:aws:events:event-bus:arn': busArn };
    props.key.addToResourcePolicy(new PolicyStatement({
      sid: 'EventBridgeArchiveDescribeKey', principals: [new ServicePrincipal('events.amazonaws.com')], actions: ['kms:DescribeKey'], resources: ['*'],
    }));
    props.key.addToResourcePolicy(new PolicyStatement({
      sid: 'EventBridgeArchiveUseKey', principals: [new ServicePrincipal('events.amazonaws.com')],
      actions: ['kms:GenerateDataKey', 'kms:Decrypt', 'kms:ReEncrypt*'], resources: ['*'], conditions: { StringEquals: busContext },
    }));
    this.alerts = new Topic(this, 'Alerts', { displayName: 'leadlog alerts', masterKey: props.key, enforceSSL: true });
    this.ruleDeadLetters = new Queue(this, 'RuleDeadLetters', {
      encryption: QueueEncryption.KMS, encryptionMasterKey: props.key, enforceSSL: true, retentionPeriod: Duration.days(14),
    });
    acknowledge(this.ruleDeadLetters, { 'AwsSolutions-SQS3': 'This queue is itself the dead-letter queue of the rule targets.' });
    for (const rule of eventRules) {
      // Refused here, at synth, as EventBridge would refuse it at deploy (and the local bus at start).
      const refused = validatePattern(rule.pattern);
      if (refused.length > 0) throw new Error(`event rule ${rule.id}: EventBridge would refuse its pattern: ${refused.join('; ')}`);
      new Rule(this, `Rule-${rule.id}`, {
        eventBus: this.bus,
        description: rule.description,
        eventPattern: rule.pattern as never,
        // EventBridge retries a failing target for a day, then parks the event here instead of dropping it.
        targets: [new SnsTopic(this.alerts, { deadLetterQueue: this.ruleDeadLetters, retryAttempts: 185, maxEventAge: Duration.hours(24) })],
      });
    }
    props.key.grantEncryptDecrypt(new ServicePrincipal('events.amazonaws.com'));

    this.deadLetters = new Queue(this, 'StreamDeadLetters', {
      encryption: QueueEncryption.KMS,
      encryptionMasterKey: props.key,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
      removalPolicy: RemovalPolicy.RETAIN,
    });
    acknowledge(this.deadLetters, { 'AwsSolutions-SQS3': 'This queue is itself the dead-letter queue of the stream mapping.' });

    props.fanout.addEventSource(
      new DynamoEventSource(props.events, {
        startingPosition: StartingPosition.TRIM_HORIZON,
        // From the scale model (shared/definitions/stream.ts, docs/scale.md "Stream fan-out"): full 1,000-record
        // batches on a busy shard; on a grown table's quiet shards one batch a window, so alert totals, PutEvents and
        // PutRecordBatch calls stay bounded by shards × factor / window. Cost: up to the window in bus and alert latency.
        batchSize: props.stream.batchSize,
        maxBatchingWindow: Duration.seconds(props.stream.windowSeconds),
        parallelizationFactor: props.stream.parallelization,
        bisectBatchOnError: true,
        reportBatchItemFailures: true,
        retryAttempts: 10,
        maxRecordAge: Duration.hours(24),
        onFailure: new SqsDlq(this.deadLetters),
        // TTL deletions and any other change are not new events: only INSERTs reach the function.
        filters: [FilterCriteria.filter({ eventName: FilterRule.isEqual('INSERT') })],
      }),
    );
    this.bus.grantPutEventsTo(props.fanout);
  }
}
