import { ArnFormat, Duration, Stack, Token } from 'aws-cdk-lib';
import type { ITableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import { Schedule, ScheduleExpression } from 'aws-cdk-lib/aws-scheduler';
import { LambdaInvoke } from 'aws-cdk-lib/aws-scheduler-targets';
import { Construct } from 'constructs';
import { LEADCONDUIT_SECRET_PREFIX } from '../../shared/definitions/leadconduit-pull.js';
import { acknowledge } from './lambda-function.js';

/** How often the puller runs (contract section 12: every 5 minutes). */
export const LEADCONDUIT_PULL_EVERY = Duration.minutes(5);

/**
 * The scheduled LeadConduit pull (contract section 12): EventBridge Scheduler invokes the puller
 * (functions/leadconduitPull.ts) every 5 minutes, without retries (the next tick is the retry, and a retry could only
 * find the orgs' leases held). The puller reads the orgs' API keys from Secrets Manager, and only under
 * `leadlog/leadconduit/` (where `npm run keys -- leadconduit --api-key … --aws` stores them, with Secrets Manager's
 * own key); it stores events as the ingest does (events table, raw payloads' claim check) and keeps each org's
 * position, lease and status in the control table.
 */
export class LeadConduitPull extends Construct {
  readonly schedule: Schedule;

  constructor(scope: Construct, id: string, props: { puller: IFunction; events: ITableV2; control: ITableV2; payloads: IBucket }) {
    super(scope, id);
    const { puller } = props;
    const stack = Stack.of(this);
    const secrets = stack.formatArn({ service: 'secretsmanager', resource: 'secret', resourceName: `${LEADCONDUIT_SECRET_PREFIX}*`, arnFormat: ArnFormat.COLON_RESOURCE_NAME });
    const region = Token.isUnresolved(stack.region) ? '<AWS::Region>' : stack.region;
    puller.addToRolePolicy(new PolicyStatement({ actions: ['secretsmanager:GetSecretValue'], resources: [secrets] }));
    props.events.grantReadWriteData(puller); // conditional puts; a duplicate's stored twin comes back on the check
    props.control.grantReadWriteData(puller); // identities, the pull's position and lease, the status counters
    props.payloads.grantPut(puller); // raw objects over the inline limit (claim check)
    props.payloads.grantRead(puller);
    const role = new Role(this, 'SchedulerRole', { assumedBy: new ServicePrincipal('scheduler.amazonaws.com') });
    this.schedule = new Schedule(this, 'Schedule', {
      schedule: ScheduleExpression.rate(LEADCONDUIT_PULL_EVERY),
      target: new LambdaInvoke(puller, { retryAttempts: 0, role }),
      description: "Pulls LeadConduit's GET /events for each org that stored an API key (shared/domain/leadconduit/pull.ts)",
    });
    const logicalId = (construct: Construct) => stack.getLogicalId(construct.node.defaultChild as never);
    acknowledge(role, { [`AwsSolutions-IAM5[Resource::<${logicalId(puller)}.Arn>:*]`]: 'EventBridge Scheduler invokes the one puller function (and its versions).' });
    acknowledge(puller, {
      [`AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:secretsmanager:${region}:<AWS::AccountId>:secret:${LEADCONDUIT_SECRET_PREFIX}*]`]:
        "The orgs' LeadConduit API keys only: one secret per org under leadlog/leadconduit/, made by the keys CLI after deploy.",
      [`AwsSolutions-IAM5[Resource::<${logicalId(props.events)}.Arn>/index/*]`]: "grantReadWriteData: the events table's own indexes only.",
      [`AwsSolutions-IAM5[Resource::<${logicalId(props.payloads)}.Arn>/*]`]: 'Objects of the raw-payload bucket only; keys are raw/<org>/<event id>/….',
      'AwsSolutions-IAM5[Action::s3:GetObject*]': 'grantRead on the one raw-payload bucket (object reads and their versions).',
      'AwsSolutions-IAM5[Action::s3:GetBucket*]': 'grantRead on the one raw-payload bucket.',
      'AwsSolutions-IAM5[Action::s3:List*]': 'grantRead on the one raw-payload bucket.',
      'AwsSolutions-IAM5[Action::s3:Abort*]': 'grantPut: abort its own multipart uploads to the raw-payload bucket.',
      'AwsSolutions-IAM5[Action::kms:GenerateDataKey*]': "Encrypting items and raw payloads with the stack's own data key only.",
      'AwsSolutions-IAM5[Action::kms:ReEncrypt*]': "Encrypting items and raw payloads with the stack's own data key only.",
    });
  }
}
