import {
  CreateAccessKeyCommand, CreateUserCommand, ListUserTagsCommand, PutUserPolicyCommand, type IAMClient,
} from '@aws-sdk/client-iam';
import {
  LEADCONDUIT_WRITER_USER_PREFIX, MAX_WRITER_ORG_ID_LENGTH, leadConduitWriterPolicy, type WriterPolicyInput,
} from '../definitions/leadconduit-inbox.js';

/** The inline policy's name on each writer (PutUserPolicy replaces it: running the command again changes nothing else). */
export const WRITER_POLICY_NAME = 'leadlog-leadconduit-inbox-put';
/** The tag that marks a user as an org's LeadConduit writer: an existing user without it is never taken over. */
export const WRITER_ORG_TAG = 'leadlog:leadconduit-org';

export interface WriterAccess {
  userName: string;
  /** False when the user existed already (its policy was set again and a new key made). */
  createdUser: boolean;
  accessKeyId: string;
  /** Shown once: IAM never returns it again and leadlog keeps no copy. */
  secretAccessKey: string;
}

export class WriterRefusedError extends Error {
  override name = 'WriterRefusedError';
}

export const writerUserName = (orgId: string): string => `${LEADCONDUIT_WRITER_USER_PREFIX}${orgId}`;

/**
 * One org's LeadConduit writer (`npm run keys -- leadconduit --org <id> --aws`): the IAM user `leadlog-leadconduit-<org>`,
 * tagged with its org, whose one inline policy is leadConduitWriterPolicy (PutObject under `leadconduit/<org>/` and
 * the inbox key's encrypt actions through S3), and a new access key. Safe to run again: the user and policy are kept
 * (an untagged user of that name is refused, never taken over); IAM allows two keys a user, so a third run asks for
 * an old key to be deleted first.
 */
export async function createLeadConduitWriter(iam: IAMClient, input: WriterPolicyInput): Promise<WriterAccess> {
  if (input.orgId.length > MAX_WRITER_ORG_ID_LENGTH) {
    throw new WriterRefusedError(`an org id of at most ${MAX_WRITER_ORG_ID_LENGTH} characters is needed for an IAM user name (${writerUserName(input.orgId).length} > 64)`);
  }
  const policy = leadConduitWriterPolicy(input); // throws on a malformed bucket, key ARN or org before anything is created
  const userName = writerUserName(input.orgId);
  let createdUser = true;
  try {
    await iam.send(new CreateUserCommand({ UserName: userName, Tags: [{ Key: WRITER_ORG_TAG, Value: input.orgId }] }));
  } catch (error) {
    if ((error as { name?: string }).name !== 'EntityAlreadyExistsException') throw error;
    createdUser = false;
    const { Tags = [] } = await iam.send(new ListUserTagsCommand({ UserName: userName }));
    if (!Tags.some((tag) => tag.Key === WRITER_ORG_TAG && tag.Value === input.orgId)) {
      throw new WriterRefusedError(`an IAM user ${userName} exists but is not tagged ${WRITER_ORG_TAG}=${input.orgId}: not leadlog's, left untouched`);
    }
  }
  await iam.send(new PutUserPolicyCommand({ UserName: userName, PolicyName: WRITER_POLICY_NAME, PolicyDocument: JSON.stringify(policy) }));
  try {
    const { AccessKey } = await iam.send(new CreateAccessKeyCommand({ UserName: userName }));
    if (!AccessKey?.AccessKeyId || !AccessKey.SecretAccessKey) throw new Error('IAM answered no access key');
    return { userName, createdUser, accessKeyId: AccessKey.AccessKeyId, secretAccessKey: AccessKey.SecretAccessKey };
  } catch (error) {
    if ((error as { name?: string }).name === 'LimitExceededException') {
      throw new WriterRefusedError(`${userName} has two access keys already (IAM's limit): delete the one LeadConduit no longer uses (aws iam list-access-keys --user-name ${userName}; aws iam delete-access-key …), then run this again`);
    }
    throw error;
  }
}
