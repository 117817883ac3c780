import { GetQueryExecutionCommand, GetQueryResultsCommand, StartQueryExecutionCommand, StopQueryExecutionCommand, type AthenaClient } from '@aws-sdk/client-athena';

export interface AthenaTarget {
  workGroup: string;
  database: string;
  pollMs?: number;
}

/**
 * Runs one statement in the workgroup and waits for it. Returns where Athena wrote its result (a SELECT's CSV, with a
 * header row) and, with `readRows`, the rows of a SELECT (header dropped; for small answers: counts, day lists). Once
 * `signal` fires (a request's deadline), the query is stopped in Athena (best effort) and the signal's reason thrown.
 */
export async function runAthena(
  athena: AthenaClient, target: AthenaTarget, sql: string, options: { readRows?: boolean; signal?: AbortSignal | undefined } = {},
): Promise<{ outputLocation: string | undefined; rows: (string | undefined)[][] }> {
  const { QueryExecutionId } = await athena.send(new StartQueryExecutionCommand({
    QueryString: sql, WorkGroup: target.workGroup, QueryExecutionContext: { Database: target.database },
  }));
  let outputLocation: string | undefined;
  for (;;) {
    if (options.signal?.aborted) {
      await athena.send(new StopQueryExecutionCommand({ QueryExecutionId })).catch(() => undefined);
      options.signal.throwIfAborted();
    }
    const { QueryExecution } = await athena.send(new GetQueryExecutionCommand({ QueryExecutionId }));
    const state = QueryExecution?.Status?.State;
    if (state === 'SUCCEEDED') {
      outputLocation = QueryExecution?.ResultConfiguration?.OutputLocation;
      break;
    }
    if (state === 'FAILED' || state === 'CANCELLED') throw new Error(`Athena query ${QueryExecutionId} ${state}: ${QueryExecution?.Status?.StateChangeReason ?? ''}`);
    await new Promise((resolve) => setTimeout(resolve, target.pollMs ?? 1000));
  }
  const rows: (string | undefined)[][] = [];
  if (options.readRows ?? /^\s*SELECT/i.test(sql)) {
    let token: string | undefined;
    do {
      const page = await athena.send(new GetQueryResultsCommand({ QueryExecutionId, NextToken: token }));
      rows.push(...(page.ResultSet?.Rows ?? []).map((row) => (row.Data ?? []).map((datum) => datum.VarCharValue)));
      token = page.NextToken;
    } while (token);
  }
  return { outputLocation, rows: rows.slice(1) };
}
