import { writeFileSync } from 'node:fs';
import { catalogueMarkdown } from '../shared/domain/catalogue-doc.js';

writeFileSync('docs/event-types.md', catalogueMarkdown());
console.log('wrote docs/event-types.md');
