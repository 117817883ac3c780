import { execFileSync, spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../shared/domain/errors.js';
import type { WebhookSecretStore } from '../../shared/domain/ports.js';
import { MIN_SECRET_LENGTH, setWebhookSecret } from '../../shared/domain/webhooks/secrets.js';
import { verifyDelivery } from '../../shared/domain/webhooks/signatures.js';
import { createHmac } from 'node:crypto';

function memoryStore(): WebhookSecretStore & { puts: number } {
  const data = new Map<string, string[]>();
  return {
    puts: 0,
    async get(orgId, provider) { return data.get(`${orgId}/${provider}`) ?? []; },
    async put(orgId, provider, secrets) { this.puts++; data.set(`${orgId}/${provider}`, secrets); },
    async providers() { return []; },
  } as WebhookSecretStore & { puts: number };
}

describe('webhook secrets are at least 16 characters (contract section 4, v1.2)', () => {
  it.each(['', '   ', '\t\n', 'short', 'x'.repeat(MIN_SECRET_LENGTH - 1), ` ${'y'.repeat(MIN_SECRET_LENGTH - 1)} `])('refuses %j and stores nothing', async (secret) => {
    const store = memoryStore();
    await expect(setWebhookSecret(store, { orgId: 'org_1', provider: 'typeform', secret, nowIso: '2026-01-01T00:00:00.000Z' })).rejects.toThrow(ValidationError);
    expect(store.puts).toBe(0);
  });

  it('stores one of 16 characters', async () => {
    const store = memoryStore();
    await setWebhookSecret(store, { orgId: 'org_1', provider: 'typeform', secret: 'z'.repeat(MIN_SECRET_LENGTH), nowIso: '2026-01-01T00:00:00.000Z' });
    expect(store.puts).toBe(1);
  });

  it('a delivery signed with an empty or blank stored secret is never accepted', () => {
    const raw = Buffer.from('{"event_id":"1"}');
    for (const secret of ['', ' ', '\t']) {
      const signature = `sha256=${createHmac('sha256', secret).update(raw).digest('base64')}`;
      expect(verifyDelivery('typeform', raw, { 'typeform-signature': signature }, [secret], Date.now()).ok, JSON.stringify(secret)).toBe(false);
    }
    const good = 'g'.repeat(MIN_SECRET_LENGTH);
    const signature = `sha256=${createHmac('sha256', good).update(raw).digest('base64')}`;
    expect(verifyDelivery('typeform', raw, { 'typeform-signature': signature }, ['', good], Date.now()).ok).toBe(true);
  });
});

describe('npm run keys', () => {
  it('--help starts with a usage line like every other tool', () => {
    const output = execFileSync(process.execPath, ['--import', 'tsx', 'infra/local/keys-cli.ts', '--help'], { encoding: 'utf8', timeout: 30_000 });
    expect(output.split('\n')[0]).toMatch(/^Usage: npm run keys -- /);
  });

  it('webhook-secret set --secret "" exits 1 before opening any store', () => {
    for (const secret of ['', '   ', 'fifteen_chars__'.slice(0, 15)]) {
      const run = spawnSync(process.execPath, ['--import', 'tsx', 'infra/local/keys-cli.ts', 'webhook-secret', 'set', '--org', 'org_cli', '--provider', 'stripe', '--secret', secret], { encoding: 'utf8', timeout: 30_000, env: { ...process.env, LEADLOG_DATA_DIR: '/nonexistent/leadlog-test' } });
      expect(run.status, run.stderr).toBe(1);
      expect(run.stderr).toMatch(/nothing stored/);
    }
  });
});
