/** For the desk's tests: `taizhang passwd` through the CLI, a free loopback port, a hand-made table, a project with the desk. */
import { execFile } from 'node:child_process';
import { createServer } from 'node:net';
import ExcelJS from 'exceljs';
import type { MailStack } from '../../tools/mail-stack.js';
import { isolate, spawnCli, until, type Child } from '../helpers/fleet.js';
import { BIN, makeProject, type Project } from '../helpers/project.js';

/** Runs `taizhang passwd` with `input` on standard input (a pipe, as a script would). */
export function passwdCli(input: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(BIN, ['passwd'], (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
    child.stdin!.end(input);
  });
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** A table made by hand (no identity of ours): 序号, 主要任务, 进展情况, 备注. */
export async function handMadeTable(rows: { no: number; task: string; progress: string }[]): Promise<Buffer> {
  const wb = new ExcelJS.Workbook();
  const ws = wb.addWorksheet('Sheet1');
  ws.addRow(['序号', '主要任务', '进展情况', '备注']);
  for (const r of rows) ws.addRow([r.no, r.task, r.progress, '']);
  return Buffer.from(await wb.xlsx.writeBuffer());
}

/** The clerk's password in the desk's tests. */
export const DESK_PASSWORD = 'desk-Clerk-2020';

/** A project of the seed with the desk on a free loopback port, user `clerk`; `edit` changes the config further. */
export async function deskProject(stack: MailStack, edit?: (d: Record<string, any>) => void): Promise<{ p: Project; base: string; hash: string }> {
  const hash = (await passwdCli(`${DESK_PASSWORD}\n`)).stdout.trim();
  const port = await freePort();
  const p = makeProject(stack, (d) => {
    isolate(d);
    d.web = { listen: `127.0.0.1:${port}`, users: [{ name: 'clerk', password_hash: hash }] };
    edit?.(d);
  });
  return { p, base: `http://127.0.0.1:${port}`, hash };
}

/** `taizhang run` with the desk, once it listens. */
export async function startDesk(p: Project, stack: MailStack): Promise<Child> {
  const daemon = spawnCli(p, stack, ['run']);
  await until('the desk listens', () => /desk listening/.test(daemon.stderr()) || undefined, 30_000, 100);
  return daemon;
}
