import type { ArchivedEvents } from '../domain/replays.js';
import type { ReportEngine } from '../domain/ports.js';
import type { CheckpointArchive, CheckpointSigner } from '../domain/proofs.js';

/**
 * Local stand-ins that live in `npm start`'s process and that the functions' containers cannot build themselves
 * (they need the runtime's files and engines): the runtime sets them before it loads the handlers. In AWS they are
 * never set; the AWS adapter is used instead.
 */
export const localStandIns: { archivedEvents?: ArchivedEvents; reports?: ReportEngine; checkpointSigner?: CheckpointSigner; checkpointArchive?: CheckpointArchive } = {};
