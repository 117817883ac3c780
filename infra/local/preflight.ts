import { spawnSync } from 'node:child_process';
import { closeSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { alive } from './runtime.js';

/**
 * What `npm start` checks before it starts anything, so that a common failure is one line saying what to do, exit
 * 1, and nothing left running: another instance on the same data folder, no Java, a busy port.
 */
export class PreflightError extends Error {
  override name = 'PreflightError';
}

/**
 * One instance per data folder: `<dataDir>/leadlog.lock` holds the owner's pid, created exclusively. A lock whose
 * process is gone (a crash, SIGKILL) is taken over. Returns the release function (also run at exit).
 */
export function acquireInstanceLock(dataDir: string, describeOwner: () => string | undefined): () => void {
  const file = join(dataDir, 'leadlog.lock');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(file, 'wx');
      writeSync(fd, String(process.pid));
      closeSync(fd);
      const release = () => {
        try {
          if (readFileSync(file, 'utf8').trim() === String(process.pid)) rmSync(file, { force: true });
        } catch {
          // already gone
        }
      };
      process.once('exit', release);
      return release;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const owner = Number(readFileSync(file, 'utf8').trim());
      if (Number.isInteger(owner) && owner > 0 && owner !== process.pid && alive(owner)) {
        const where = describeOwner();
        throw new PreflightError(`leadlog is already running for ${dataDir} (pid ${owner}${where ? `, ${where}` : ''}): use that one, stop it (Ctrl-C, or kill ${owner}), or give this one another folder with LEADLOG_DATA_DIR=<dir>.`);
      }
      rmSync(file, { force: true }); // stale: its process is gone
    }
  }
  throw new PreflightError(`could not take the lock ${file}: another leadlog is starting at the same time; try again.`);
}

/** DynamoDB Local needs Java 17 or later on PATH. */
export function checkJava(): void {
  const result = spawnSync('java', ['-version'], { encoding: 'utf8' });
  const fix = 'install a Java 17+ runtime (Debian/Ubuntu: sudo apt install openjdk-17-jre-headless; macOS: brew install openjdk@17) and make sure `java` is on PATH';
  if (result.error) throw new PreflightError(`DynamoDB Local needs Java, and \`java\` was not found: ${fix}.`);
  const version = /version "(\d+)(?:\.(\d+))?/.exec(`${result.stderr}${result.stdout}`);
  const major = version ? (Number(version[1]) === 1 ? Number(version[2]) : Number(version[1])) : undefined;
  if (major !== undefined && major < 17) throw new PreflightError(`DynamoDB Local needs Java 17 or later, and \`java\` is Java ${major}: ${fix}.`);
}

/** The API's port must be free before anything starts. */
export async function checkPortFree(host: string, port: number): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const probe = createServer();
    probe.once('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EADDRINUSE') reject(new PreflightError(`port ${port} on ${host} is already in use: stop what uses it, or pick another port, e.g. PORT=${port + 1} npm start.`));
      else if (error.code === 'EACCES') reject(new PreflightError(`port ${port} on ${host} needs privileges: pick a port above 1023, e.g. PORT=3000 npm start.`));
      else reject(error);
    });
    probe.listen(port, host, () => probe.close(() => resolve()));
  });
}
