import { LeadlogError, type FieldError } from '../domain/errors.js';
import type { BatchItemResult } from '../domain/ingest.js';

export const PROBLEM_BASE = 'https://leadlog.dev/problems/';

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  instance?: string;
  request_id?: string;
  errors?: FieldError[];
}

/** The one mapping from errors to RFC 9457 problem+json. Unknown errors never leak their message. */
export function toProblem(error: unknown, requestId?: string): { problem: Problem; headers: Record<string, string> } {
  if (error instanceof LeadlogError) {
    return {
      problem: {
        type: PROBLEM_BASE + error.slug,
        title: error.title,
        status: error.status,
        detail: error.message,
        ...(requestId ? { request_id: requestId } : {}),
        ...(error.errors ? { errors: error.errors } : {}),
      },
      headers: error.headers,
    };
  }
  return {
    problem: {
      type: PROBLEM_BASE + 'internal-error',
      title: 'Internal error',
      status: 500,
      detail: 'An unexpected error occurred. It has been logged; quote the request id when reporting it.',
      ...(requestId ? { request_id: requestId } : {}),
    },
    headers: {},
  };
}

/** A problem as it appears inside a batch result (no headers, no request id); an unexpected error never shows its message. */
export function problemOf(error: unknown): Problem {
  return toProblem(error).problem;
}

/** One item's answer inside a batch response: its index, status, id, and a problem when it was refused. */
export function batchResultOf(result: BatchItemResult, index: number) {
  switch (result.status) {
    case 'created':
    case 'duplicate':
      return { index, status: result.status, id: result.event.id };
    case 'conflict':
      return { index, status: result.status, id: result.id, problem: problemOf(result.error) };
    case 'invalid':
    case 'error':
      return { index, status: result.status, problem: problemOf(result.error) };
  }
}
