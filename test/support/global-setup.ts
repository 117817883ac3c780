import type { TestProject } from 'vitest/node';
import { ensureTables, startDynamoLocal } from '../../infra/local/dynamo.js';

export const TEST_TABLE_PREFIX = 'leadlog-test';

declare module 'vitest' {
  export interface ProvidedContext {
    dynamoEndpoint: string;
    tableNames: Record<string, string>;
  }
}

/** One real DynamoDB Local (in memory) for the whole run, with the tables from the shared definitions. */
export default async function setup(project: TestProject) {
  const dynamo = await startDynamoLocal();
  const tableNames = await ensureTables(dynamo.endpoint, TEST_TABLE_PREFIX);
  project.provide('dynamoEndpoint', dynamo.endpoint);
  project.provide('tableNames', tableNames);
  return async () => {
    await dynamo.stop();
  };
}
