/**
 * `fn` over every item with at most `limit` calls in flight, results in input order. For fan-outs whose width comes
 * from data (a family's members, a union timeline's partitions): all at once would flood the table (and DynamoDB Local).
 * The first rejection rejects the whole; calls already started finish on their own.
 */
export async function mapWithConcurrency<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await fn(items[index]!, index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(Math.max(1, limit), items.length) }, worker));
  return results;
}
