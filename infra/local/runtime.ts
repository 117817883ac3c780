import { existsSync, readFileSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ensureTables, startDynamoLocal, type DynamoLocal } from './dynamo.js';
import { localSettings } from './settings.js';

/** Where the local runtime keeps its state; everything under it survives a restart. */
export const DATA_DIR = localSettings.dataDir;
export const LOCAL_TABLE_PREFIX = 'leadlog-local';
const RUNTIME_FILE = join(DATA_DIR, 'runtime.json');
const JAVA_PID_FILE = join(DATA_DIR, 'dynamodb.pid');

export interface RuntimeInfo {
  pid: number;
  dynamoEndpoint: string;
  url?: string;
}

/** Whether a process with this pid exists (signal 0 checks without touching it; EPERM: it exists, another user's). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** A previous run killed with SIGKILL cannot stop its Java child: stop that orphan before starting a new one. */
async function stopOrphanedJava(): Promise<void> {
  if (!existsSync(JAVA_PID_FILE)) return;
  const pid = Number(await readFile(JAVA_PID_FILE, 'utf8'));
  if (Number.isInteger(pid) && pid > 0 && alive(pid)) {
    process.kill(pid, 'SIGTERM');
    for (let i = 0; i < 50 && alive(pid); i++) await new Promise((r) => setTimeout(r, 100));
    if (alive(pid)) process.kill(pid, 'SIGKILL');
  }
  await rm(JAVA_PID_FILE, { force: true });
}

/** Starts DynamoDB Local over .data/dynamodb and creates the tables (kept across restarts). */
export async function startLocalDynamo(): Promise<{ dynamo: DynamoLocal; tableNames: Record<string, string> }> {
  await mkdir(join(DATA_DIR, 'dynamodb'), { recursive: true });
  await stopOrphanedJava();
  const port = localSettings.dynamoPort;
  const dynamo = await startDynamoLocal({ dataDir: join(DATA_DIR, 'dynamodb'), ...(port ? { port } : {}) });
  if (dynamo.process.pid) await writeFile(JAVA_PID_FILE, String(dynamo.process.pid));
  const tableNames = await ensureTables(dynamo.endpoint, LOCAL_TABLE_PREFIX);
  return { dynamo, tableNames };
}

export async function writeRuntimeInfo(info: RuntimeInfo): Promise<void> {
  await writeFile(RUNTIME_FILE, JSON.stringify(info, null, 2));
}

/** Forgets the Java pid once that DynamoDB Local has stopped (a stale pid could later name another process). */
export async function forgetJavaPid(): Promise<void> {
  await rm(JAVA_PID_FILE, { force: true });
}

export async function clearRuntimeInfo(): Promise<void> {
  await rm(RUNTIME_FILE, { force: true });
  await rm(JAVA_PID_FILE, { force: true });
}

/** The running `npm start` of a data folder (default: this one's), if one is up: its pid, URL and DynamoDB endpoint. */
export function runningRuntime(dataDir = DATA_DIR): RuntimeInfo | undefined {
  const file = join(dataDir, 'runtime.json');
  if (!existsSync(file)) return undefined;
  try {
    const info = JSON.parse(readFileSync(file, 'utf8')) as RuntimeInfo;
    return alive(info.pid) ? info : undefined;
  } catch {
    return undefined;
  }
}
