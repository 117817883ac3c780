import { readFileSync } from 'node:fs';
import { exitWithUsageOnHelp, requireRunningServer } from '../infra/local/cli.js';
import { join } from 'node:path';
import { signedSample } from '../infra/local/webhook-samples.js';
import { isProvider, PROVIDERS } from '../shared/domain/webhooks/signatures.js';

/**
 * `npm run webhook:sample -- <provider> [--replay] [--forge]`: sends one correctly signed delivery (shaped
 * like the provider's own) to the running `npm start`, for the dev org, and prints the answer.
 * --replay sends the same delivery twice (the second is absorbed); --forge signs with a wrong secret (401).
 * EMAIL / PHONE set the person (default ana@example.com, +5511999999999): all four land on one lead.
 */
exitWithUsageOnHelp(`Usage: npm run webhook:sample -- <${PROVIDERS.join('|')}> [--replay] [--forge]

  Sends one correctly signed delivery, shaped like the provider's own, to the running npm start for the dev
  org, and prints the answer. --replay sends it twice (absorbed), --forge signs with a wrong secret (401).
  EMAIL and PHONE set the person.`);
const [provider, ...flags] = process.argv.slice(2);
if (!provider || !isProvider(provider)) {
  console.error(`Usage: npm run webhook:sample -- <${PROVIDERS.join('|')}> [--replay] [--forge]`);
  process.exit(2);
}
const dataDir = process.env.LEADLOG_DATA_DIR ?? '.data';
const secrets = JSON.parse(readFileSync(join(dataDir, 'webhook-secrets.json'), 'utf8')) as Record<string, string>;
const runtime = requireRunningServer(dataDir, 'webhook:sample');
const person = { email: process.env.EMAIL ?? 'ana@example.com', phone: process.env.PHONE ?? '+5511999999999' };
const secret = flags.includes('--forge') ? 'not-the-secret' : secrets[provider]!;
const delivery = signedSample(provider, secret, person);
const url = `${runtime.url}/v1/webhooks/${provider}/${secrets.org_id}`;
for (let attempt = 0; attempt < (flags.includes('--replay') ? 2 : 1); attempt++) {
  const response = await fetch(url, { method: 'POST', headers: delivery.headers, body: delivery.body });
  console.log(`POST ${url} -> ${response.status}${response.headers.get('idempotent-replayed') ? ' (replayed)' : ''}`);
  console.log(await response.text());
}
