import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

/**
 * DuckDB's native bindings are per-platform optional packages: a lockfile missing one (or overriding it with a
 * placeholder) leaves `npm ci` on that platform without a working archive and `npm run athena`. Every binding
 * @duckdb/node-bindings asks for must be locked at its version, and nothing may override them.
 */
describe('the lockfile', () => {
  const lock = JSON.parse(readFileSync('package-lock.json', 'utf8')) as { packages: Record<string, { version?: string; optionalDependencies?: Record<string, string> }> };
  const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { overrides?: Record<string, string> };

  it("locks a DuckDB binding for every platform DuckDB ships (macOS, Linux, Windows; x64 and arm64)", () => {
    const bindings = lock.packages['node_modules/@duckdb/node-bindings'];
    expect(bindings).toBeDefined();
    const wanted = Object.entries(bindings!.optionalDependencies ?? {});
    expect(wanted.map(([name]) => name).sort()).toEqual(expect.arrayContaining([
      '@duckdb/node-bindings-darwin-arm64', '@duckdb/node-bindings-darwin-x64', '@duckdb/node-bindings-linux-arm64',
      '@duckdb/node-bindings-linux-x64', '@duckdb/node-bindings-win32-x64',
    ]));
    for (const [name, version] of wanted) {
      const locked = Object.entries(lock.packages).find(([path]) => path.endsWith(`node_modules/${name}`));
      expect(locked, name).toBeDefined();
      expect(locked![1].version, name).toBe(version);
    }
    expect(Object.keys(pkg.overrides ?? {}).filter((name) => name.startsWith('@duckdb/'))).toEqual([]);
  });
});
