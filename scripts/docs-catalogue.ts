import { writeFileSync } from 'node:fs';
import { exitWithUsageOnHelp } from '../infra/local/cli.js';
import { catalogueMarkdown } from '../shared/domain/catalogue-doc.js';

exitWithUsageOnHelp('Usage: npm run docs:catalogue\n\n  Writes docs/event-types.md from the event catalogue (shared/domain/catalogue.ts).');
writeFileSync('docs/event-types.md', catalogueMarkdown());
console.log('wrote docs/event-types.md');
