import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { DEFAULT_REGION } from '../shared/definitions/environment.js';
import { LeadlogStack } from './stack.js';

/**
 * `npm run synth` / `cdk deploy`: the stack for one stage (context `stage`, default dev; `reservedConcurrency`,
 * default false), checked by cdk-nag.
 */
export function buildApp(app = new App()): { app: App; stack: LeadlogStack } {
  const stage = String(app.node.tryGetContext('stage') ?? 'dev');
  if (!/^[a-z0-9-]{1,20}$/.test(stage)) throw new Error(`stage must match [a-z0-9-]{1,20}, got '${stage}'`);
  const stack = new LeadlogStack(app, `leadlog-${stage}`, {
    stage,
    // Opt-in (`-c reservedConcurrency=true`): reserving fails in accounts whose concurrency quota is below ~155.
    reserveConcurrency: String(app.node.tryGetContext('reservedConcurrency') ?? 'false') === 'true',
    // The table's KMS replica settings need a concrete region; offline synth falls back to DEFAULT_REGION.
    env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION ?? process.env.AWS_REGION ?? DEFAULT_REGION },
  });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return { app, stack };
}

if (process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href) {
  buildApp().app.synth();
}
