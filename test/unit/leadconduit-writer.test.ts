import { describe, expect, it } from 'vitest';
import { createLeadConduitWriter, WRITER_ORG_TAG, WRITER_POLICY_NAME, WriterRefusedError } from '../../shared/adapters/leadconduit-writer.js';
import { leadConduitWriterPolicy, parseKmsKeyArn } from '../../shared/definitions/leadconduit-inbox.js';

const KEY_ARN = 'arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab';
const INPUT = { bucket: 'leadlog-dev-inbox-1a2b3c', orgId: 'org_acme', kmsKeyArn: KEY_ARN };

describe("leadConduitWriterPolicy: one org's LeadConduit writer", () => {
  it('allows PutObject under that org\'s prefix only, and encrypting with the inbox key through S3 only', () => {
    const policy = leadConduitWriterPolicy(INPUT);
    expect(policy.Statement).toHaveLength(2);
    const [put, kms] = policy.Statement;
    expect(put).toEqual({ Sid: expect.any(String), Effect: 'Allow', Action: 's3:PutObject', Resource: 'arn:aws:s3:::leadlog-dev-inbox-1a2b3c/leadconduit/org_acme/*' });
    expect(kms).toMatchObject({ Effect: 'Allow', Action: ['kms:GenerateDataKey', 'kms:Encrypt'], Resource: KEY_ARN });
    expect(kms.Condition.StringEquals).toEqual({ 'kms:ViaService': 's3.eu-west-1.amazonaws.com' });
    expect(kms.Condition.StringLike['kms:EncryptionContext:aws:s3:arn']).toEqual([
      'arn:aws:s3:::leadlog-dev-inbox-1a2b3c', 'arn:aws:s3:::leadlog-dev-inbox-1a2b3c/leadconduit/org_acme/*',
    ]);
    // Nothing else: no Deny to lean on, no NotAction/NotResource, no wildcard action, no bucket-level or other-prefix resource.
    const text = JSON.stringify(policy);
    expect(text).not.toMatch(/NotAction|NotResource|"Deny"|s3:\*|kms:\*|s3:List|s3:Get|kms:Decrypt/);
    for (const statement of policy.Statement) {
      for (const resource of [statement.Resource].flat()) {
        expect(resource === KEY_ARN || resource.startsWith('arn:aws:s3:::leadlog-dev-inbox-1a2b3c/leadconduit/org_acme/'), resource).toBe(true);
      }
    }
  });

  it("takes the partition and region from the key's ARN", () => {
    const policy = leadConduitWriterPolicy({ ...INPUT, kmsKeyArn: 'arn:aws-cn:kms:cn-north-1:123456789012:key/abcd' });
    expect(policy.Statement[0].Resource).toBe('arn:aws-cn:s3:::leadlog-dev-inbox-1a2b3c/leadconduit/org_acme/*');
    expect(policy.Statement[1].Condition.StringEquals['kms:ViaService']).toBe('s3.cn-north-1.amazonaws.com');
  });

  it('refuses anything that would widen it: a wildcard or odd bucket, an org id that is a pattern, a key that is not one', () => {
    for (const bucket of ['*', 'leadlog-*', 'a/b', 'UPPER', 'x', `${'a'.repeat(64)}`, '']) {
      expect(() => leadConduitWriterPolicy({ ...INPUT, bucket }), bucket).toThrow(/bucket/);
    }
    for (const orgId of ['*', 'org/../other', 'org_1/*', '', 'org 1', `${'o'.repeat(65)}`]) {
      expect(() => leadConduitWriterPolicy({ ...INPUT, orgId }), orgId).toThrow(/org id/);
    }
    for (const arn of ['*', 'arn:aws:kms:eu-west-1:123456789012:key/*', 'arn:aws:kms:eu-west-1:123456789012:alias/inbox', 'arn:aws:s3:::bucket']) {
      expect(() => leadConduitWriterPolicy({ ...INPUT, kmsKeyArn: arn }), arn).toThrow(/KMS key ARN/);
    }
    expect(parseKmsKeyArn(KEY_ARN)).toEqual({ partition: 'aws', region: 'eu-west-1', account: '123456789012', keyId: '1234abcd-12ab-34cd-56ef-1234567890ab' });
  });
});

/** IAM as far as the writer uses it: users with tags, inline policies, at most two keys a user. */
function fakeIam(existing: Record<string, { tags: { Key: string; Value: string }[]; keys: number }> = {}) {
  const users = structuredClone(existing) as typeof existing;
  const policies: Record<string, Record<string, string>> = {};
  const calls: string[] = [];
  const error = (name: string) => Object.assign(new Error(name), { name });
  const client = {
    async send(command: { constructor: { name: string }; input: Record<string, any> }) {
      const { input } = command;
      calls.push(command.constructor.name);
      switch (command.constructor.name) {
        case 'CreateUserCommand':
          if (users[input.UserName]) throw error('EntityAlreadyExistsException');
          users[input.UserName] = { tags: input.Tags ?? [], keys: 0 };
          return {};
        case 'ListUserTagsCommand':
          return { Tags: users[input.UserName]!.tags };
        case 'PutUserPolicyCommand':
          (policies[input.UserName] ??= {})[input.PolicyName] = input.PolicyDocument;
          return {};
        case 'CreateAccessKeyCommand': {
          const user = users[input.UserName]!;
          if (user.keys >= 2) throw error('LimitExceededException');
          user.keys++;
          return { AccessKey: { AccessKeyId: `AKIA${user.keys}`, SecretAccessKey: `secret-${user.keys}` } };
        }
        default:
          throw new Error(`unexpected ${command.constructor.name}`);
      }
    },
  };
  return { client, users, policies, calls };
}

describe('createLeadConduitWriter', () => {
  it('creates the tagged user, its one inline policy and an access key', async () => {
    const iam = fakeIam();
    const access = await createLeadConduitWriter(iam.client as never, INPUT);
    expect(access).toEqual({ userName: 'leadlog-leadconduit-org_acme', createdUser: true, accessKeyId: 'AKIA1', secretAccessKey: 'secret-1' });
    expect(iam.users['leadlog-leadconduit-org_acme']!.tags).toEqual([{ Key: WRITER_ORG_TAG, Value: 'org_acme' }]);
    expect(JSON.parse(iam.policies['leadlog-leadconduit-org_acme']![WRITER_POLICY_NAME]!)).toEqual(leadConduitWriterPolicy(INPUT));
  });

  it('run again: keeps the user, sets the policy again, makes a second key; a third asks to delete an old one', async () => {
    const iam = fakeIam();
    await createLeadConduitWriter(iam.client as never, INPUT);
    expect(await createLeadConduitWriter(iam.client as never, INPUT)).toMatchObject({ createdUser: false, accessKeyId: 'AKIA2' });
    await expect(createLeadConduitWriter(iam.client as never, INPUT)).rejects.toThrow(/two access keys already.*delete/);
  });

  it("never takes over a user of that name that is not leadlog's writer for that org", async () => {
    for (const tags of [[], [{ Key: WRITER_ORG_TAG, Value: 'org_other' }]]) {
      const iam = fakeIam({ 'leadlog-leadconduit-org_acme': { tags, keys: 0 } });
      await expect(createLeadConduitWriter(iam.client as never, INPUT)).rejects.toThrow(WriterRefusedError);
      expect(iam.policies).toEqual({});
      expect(iam.calls).not.toContain('CreateAccessKeyCommand');
    }
  });

  it('refuses before any IAM call: an org id too long for a user name, a bad bucket', async () => {
    const iam = fakeIam();
    await expect(createLeadConduitWriter(iam.client as never, { ...INPUT, orgId: 'o'.repeat(45) })).rejects.toThrow(/at most 44/);
    await expect(createLeadConduitWriter(iam.client as never, { ...INPUT, bucket: '*' })).rejects.toThrow(/bucket/);
    expect(iam.calls).toEqual([]);
  });
});
