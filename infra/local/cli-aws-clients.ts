import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { IAMClient } from '@aws-sdk/client-iam';
import { base, withErrorTranslation, type AwsClientOptions } from '../../shared/adapters/aws-clients.js';

/**
 * AWS clients only the command-line tools use (IAM, CloudFormation), kept out of shared/adapters/aws-clients.ts: every
 * Lambda function imports that module, and each client imported there is loaded at every cold start.
 */
export const createIamClient = (options: AwsClientOptions = {}) => withErrorTranslation(new IAMClient(base(options)));
export const createCloudFormationClient = (options: AwsClientOptions = {}) => withErrorTranslation(new CloudFormationClient(base(options)));

/** A deployed stack's outputs by name (`cdk deploy` prints the same): what the tools need without copy-pasting ARNs. */
export async function stackOutputs(client: CloudFormationClient, stackName: string): Promise<Record<string, string>> {
  const stack = (await client.send(new DescribeStacksCommand({ StackName: stackName }))).Stacks?.[0];
  return Object.fromEntries((stack?.Outputs ?? []).filter((o) => o.OutputKey && o.OutputValue).map((o) => [o.OutputKey!, o.OutputValue!]));
}
