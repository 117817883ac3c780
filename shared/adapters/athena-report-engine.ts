import { GetQueryExecutionCommand, GetQueryResultsCommand, StartQueryExecutionCommand, type AthenaClient } from '@aws-sdk/client-athena';
import { sqlLiteral } from '../definitions/archive.js';
import type { ReportEngine, ReportQuery, ReportRunState } from '../domain/ports.js';
import { MAX_REPORT_ROWS } from '../domain/reports.js';
import type { AthenaTarget } from './athena-queries.js';


/**
 * Reports on Athena: the execution id is the run's handle. Parameters go as ExecutionParameters (Athena binds them to
 * the `?` in order; each is a SQL literal, so text is quoted with its quotes doubled by sqlLiteral); the caller's
 * text never becomes SQL. Result reuse is OFF: Athena reuses a result for the same query string in the workgroup, and
 * its documentation does not say whether ExecutionParameters take part in the match; every org's report has the same
 * string, so a reuse that ignored them would answer one org with another's numbers. (A digest in a leading comment
 * would separate them only if Athena kept comments in the match — also unstated.) A scan per request is the price
 * of certainty. A run whose request stopped waiting goes on in Athena; `state` reads it by its id, within the
 * workgroup only (an execution of another workgroup is unknown here).
 */
export class AthenaReportEngine implements ReportEngine {
  constructor(private readonly athena: AthenaClient, private readonly target: AthenaTarget) {}

  async start(query: ReportQuery): Promise<string> {
    const { QueryExecutionId } = await this.athena.send(new StartQueryExecutionCommand({
      QueryString: query.sql,
      ExecutionParameters: query.params.map(sqlLiteral),
      WorkGroup: this.target.workGroup,
      QueryExecutionContext: { Database: this.target.database },
      ResultReuseConfiguration: { ResultReuseByAgeConfiguration: { Enabled: false } },
    }));
    if (!QueryExecutionId) throw new Error('Athena started no query');
    return QueryExecutionId;
  }

  async wait(handle: string, signal: AbortSignal): Promise<ReportRunState> {
    for (;;) {
      signal.throwIfAborted();
      const state = await this.state(handle);
      if (!state) throw new Error(`Athena knows no query ${handle} in ${this.target.workGroup}`);
      if (state.status !== 'running') return state;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, this.target.pollMs ?? 500);
        signal.addEventListener('abort', () => { clearTimeout(timer); resolve(); }, { once: true });
      });
    }
  }

  async state(handle: string): Promise<ReportRunState | undefined> {
    let execution;
    try {
      ({ QueryExecution: execution } = await this.athena.send(new GetQueryExecutionCommand({ QueryExecutionId: handle })));
    } catch (error) {
      if ((error as { name?: string }).name === 'InvalidRequestException') return undefined; // no such execution
      throw error;
    }
    if (!execution || execution.WorkGroup !== this.target.workGroup) return undefined;
    const status = execution.Status?.State;
    if (status === 'FAILED' || status === 'CANCELLED') return { status: 'failed', error: `${status}: ${execution.Status?.StateChangeReason ?? ''}` };
    if (status !== 'SUCCEEDED') return { status: 'running' };
    return { status: 'succeeded', rows: await this.rows(handle) };
  }

  /** The result's rows as objects by column name (Athena's text values; the domain types them by the report's columns). */
  private async rows(handle: string): Promise<Record<string, unknown>[]> {
    const rows: Record<string, unknown>[] = [];
    let names: string[] | undefined;
    let token: string | undefined;
    do {
      const page = await this.athena.send(new GetQueryResultsCommand({ QueryExecutionId: handle, NextToken: token, MaxResults: 1000 }));
      names ??= (page.ResultSet?.ResultSetMetadata?.ColumnInfo ?? []).map((c) => c.Name ?? '');
      const data = page.ResultSet?.Rows ?? [];
      for (const [i, row] of data.entries()) {
        if (token === undefined && i === 0) continue; // the header row
        rows.push(Object.fromEntries(names.map((name, j) => [name, row.Data?.[j]?.VarCharValue ?? null])));
      }
      token = page.NextToken;
      // One past the answer's limit is enough for the domain to refuse it (400 naming what to narrow), not a 5xx.
      if (rows.length > MAX_REPORT_ROWS) return rows.slice(0, MAX_REPORT_ROWS + 1);
    } while (token);
    return rows;
  }
}
