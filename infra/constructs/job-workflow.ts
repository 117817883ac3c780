import { ArnFormat, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Choice, Condition, DefinitionBody, Errors, LogLevel, StateMachine, Succeed, Wait, WaitTime } from 'aws-cdk-lib/aws-stepfunctions';
import { LambdaInvoke } from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import { acknowledge } from './lambda-function.js';

export interface JobWorkflowProps {
  /** The state machine's name (its ARN is known before it exists: the API function's environment needs it). */
  name: string;
  /** The job's step (functions/erasure.ts, functions/exporter.ts): runs the job as far as it can, answers completed or how long to wait. */
  step: IFunction;
  /** What the job is, for the findings' reasons ("erasure", "export"). */
  what: string;
  logKey: IKey;
}

/**
 * A job (an erasure, section 9; an export, section 10) as a Standard Step Functions workflow, one execution per
 * job, named after it: invoke the step; when it answers `waiting` (a settle phase, or a step that stopped before
 * Lambda's time limit), wait that long and invoke it again; until `completed`. A failed step is retried with
 * backoff for about a day, then the execution fails and alarms (the job's progress is stored, so starting it again
 * resumes where it stopped).
 */
export class JobWorkflow extends Construct {
  readonly stateMachine: StateMachine;

  /** The ARN the workflow will have: `name` is fixed, so the ARN can be given to functions created before it. */
  static arnFor(scope: Construct, name: string): string {
    return Stack.of(scope).formatArn({ service: 'states', resource: 'stateMachine', resourceName: name, arnFormat: ArnFormat.COLON_RESOURCE_NAME });
  }

  constructor(scope: Construct, id: string, props: JobWorkflowProps) {
    super(scope, id);
    const run = new LambdaInvoke(this, 'RunStep', { lambdaFunction: props.step, payloadResponseOnly: true, retryOnServiceExceptions: true });
    run.addRetry({ errors: [Errors.ALL], interval: Duration.seconds(10), backoffRate: 2, maxDelay: Duration.hours(1), maxAttempts: 30 });
    const settle = new Wait(this, 'Settle', { time: WaitTime.secondsPath('$.wait_seconds') });
    const completed = new Succeed(this, 'Completed');
    const next = new Choice(this, 'CompletedOrWaiting')
      .when(Condition.stringEquals('$.status', 'completed'), completed)
      .otherwise(settle.next(run));
    const logs = new LogGroup(this, 'Logs', { retention: RetentionDays.ONE_MONTH, encryptionKey: props.logKey, removalPolicy: RemovalPolicy.DESTROY });
    this.stateMachine = new StateMachine(this, 'StateMachine', {
      stateMachineName: props.name,
      definitionBody: DefinitionBody.fromChainable(run.next(next)),
      timeout: Duration.days(2),
      tracingEnabled: true,
      logs: { destination: logs, level: LogLevel.ALL, includeExecutionData: false },
    });
    acknowledge(this.stateMachine, {
      'AwsSolutions-IAM5[Action::lambda:InvokeFunction]': `Invoking the one ${props.what} step function (and its versions).`,
      [`AwsSolutions-IAM5[Resource::<${Stack.of(this).getLogicalId(props.step.node.defaultChild as never)}.Arn>:*]`]: `Versions and aliases of the one ${props.what} step function.`,
      'AwsSolutions-IAM5[Resource::*]': 'X-Ray and CloudWatch Logs delivery for Step Functions support no resource scoping.',
    });
  }
}
