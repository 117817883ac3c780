import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { DEFAULT_REGION } from '../shared/definitions/environment.js';
import { LeadlogStack } from './stack.js';
import { DEFAULT_STREAM_PROFILE, isStreamProfile, STREAM_PROFILES, type StreamProfile } from '../shared/definitions/stream.js';

/**
 * `npm run synth` / `cdk deploy`: the stack for one stage (context `stage`, default dev; `reservedConcurrency`,
 * default false), checked by cdk-nag.
 */
function streamProfileOf(value: unknown): StreamProfile {
  const profile = String(value ?? DEFAULT_STREAM_PROFILE);
  if (!isStreamProfile(profile)) throw new Error(`streamProfile must be one of ${Object.keys(STREAM_PROFILES).join(', ')}, got '${profile}'`);
  return profile;
}

export function buildApp(app = new App()): { app: App; stack: LeadlogStack } {
  const stage = String(app.node.tryGetContext('stage') ?? 'dev');
  if (!/^[a-z0-9-]{1,20}$/.test(stage)) throw new Error(`stage must match [a-z0-9-]{1,20}, got '${stage}'`);
  const stack = new LeadlogStack(app, `leadlog-${stage}`, {
    stage,
    // Opt-in (`-c reservedConcurrency=true`): reserving fails in accounts whose concurrency quota is below ~355 (webhooks 250, health 5, and the 100 Lambda keeps unreserved).
    reserveConcurrency: String(app.node.tryGetContext('reservedConcurrency') ?? 'false') === 'true',
    // `-c streamProfile=large` for section 15's volumes (docs/scale.md): fewer stream batches, up to 90 s of latency.
    streamProfile: streamProfileOf(app.node.tryGetContext('streamProfile')),
    // The table's KMS replica settings need a concrete region; offline synth falls back to DEFAULT_REGION.
    env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION ?? process.env.AWS_REGION ?? DEFAULT_REGION },
  });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return { app, stack };
}

if (process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href) {
  buildApp().app.synth();
}
