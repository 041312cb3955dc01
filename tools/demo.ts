/**
 * The demo: one month end to end on local mail servers (Dovecot + an SMTP relay on loopback),
 * driving the real command line as an office would, with simulated people replying.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { simpleParser } from 'mailparser';
import { parseYaml as parse, stringifyYaml as stringify } from '../src/app/yaml.js';
import { ensureMailPackages, startMailStack, type MailStack } from './mail-stack.js';
import { replyToRequest } from './respondent.js';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../', import.meta.url));
const BIN = path.join(ROOT, 'bin', 'taizhang');
const say = (s: string) => process.stdout.write(`${s}\n`);

/** A config for the local stack, from the shipped example (the seed's whole ledger). */
export function localConfig(stack: MailStack, dataDir: string): Record<string, unknown> {
  const doc = parse(readFileSync(path.join(ROOT, 'config', 'taizhang.example.yaml'), 'utf8')) as Record<string, any>;
  const server = (port: number) => ({ host: '127.0.0.1', port, secure: false, user: doc.mailbox.address, password: '${TAIZHANG_MAIL_PASSWORD}' });
  delete doc.mailbox.provider;
  doc.mailbox.imap = { ...server(stack.imap.port), poll_seconds: 5 };
  doc.mailbox.smtp = { ...server(stack.smtp.port), rate_per_minute: 6000, retry_delays_ms: [200, 500] };
  doc.mailbox.sender_name = doc.mailbox.sender_name ?? '濮阳市科学技术局办公室';
  doc.data_dir = dataDir;
  return doc;
}

async function tick(configFile: string, now: string, password: string): Promise<void> {
  const { stdout, stderr } = await run(BIN, ['--config', configFile, 'tick', '--now', now], {
    env: { ...process.env, TAIZHANG_MAIL_PASSWORD: password, TAIZHANG_LOG_LEVEL: 'warn' },
  });
  say(`  $ taizhang tick --now ${now}\n    ${(stderr.trim().split('\n').pop() ?? '')}${stdout.trim() ? `\n    ${stdout.trim()}` : ''}`);
}

async function latest(stack: MailStack, user: string, subject: RegExp) {
  const all = await stack.listMessages(user);
  const m = all.filter((x) => subject.test(x.subject ?? '')).pop();
  if (!m) throw new Error(`no mail matching ${subject} for ${user}`);
  return m;
}

export async function runDemo(outDir = path.join(process.cwd(), 'demo-output')): Promise<string> {
  say('taizhang demo: one month (2020-06) of the seed ledger on local mail servers');
  await ensureMailPackages(say);
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });
  const stack = await startMailStack();
  try {
    const configFile = path.join(outDir, 'taizhang.yaml');
    const cfg = localConfig(stack, path.join(outDir, 'data'));
    writeFileSync(configFile, stringify(cfg));
    const people = cfg.people as { name: string; email: string }[];
    const office = (cfg.office as { email: string }[])[0].email;
    const smtp = { ...stack.smtp, password: stack.password };
    say(`  mail servers: IMAP 127.0.0.1:${stack.imap.port}, SMTP 127.0.0.1:${stack.smtp.port}; config ${configFile}`);

    say('\n1. 6月20日: requests go out, one to each person, with their rows attached');
    await tick(configFile, '2020-06-20T09:00:00+08:00', stack.password);

    say('\n2. Two people reply (one fills every row, one leaves a row empty)');
    const [ai, wang, ma] = people;
    await replyToRequest({ smtp, from: ai.email, original: (await latest(stack, ai.email, /请填报/)).source, answer: (no) => ({ progress: `第${no}项:已完成阶段性工作,"立改废释"同步推进。\n下一步:继续落实。` }) });
    await replyToRequest({ smtp, from: wang.email, original: (await latest(stack, wang.email, /请填报/)).source, answer: (no) => (no === 4 ? { progress: '=已按程序报告人大常委会(2次)' } : no === 9 ? undefined : { progress: `任务${no}进展顺利 ✅` }) });
    await tick(configFile, '2020-06-21T09:00:00+08:00', stack.password);

    say('\n3. 6月25日: a reminder to those who have not reported');
    await tick(configFile, '2020-06-25T09:00:00+08:00', stack.password);
    await replyToRequest({ smtp, from: ma.email, original: (await latest(stack, ma.email, /提醒/)).source, answer: (no) => ({ progress: `机关总支:第${no}项已召开专题会议研究。`, remark: '会议纪要另报' }) });
    await tick(configFile, '2020-06-26T09:00:00+08:00', stack.password);

    say('\n4. 7月1日: the deadline has passed; the consolidated ledger goes to the office');
    await tick(configFile, '2020-07-01T09:00:00+08:00', stack.password);

    const mail = await latest(stack, office, /台账汇总/);
    const parsed = await simpleParser(mail.source);
    const att = parsed.attachments.find((a) => a.filename?.endsWith('.xlsx'));
    if (!att) throw new Error('the office mail has no ledger attached');
    const ledger = path.join(outDir, att.filename ?? 'ledger.xlsx');
    writeFileSync(ledger, att.content);
    say(`\n   office mail: "${parsed.subject}"`);
    say((parsed.text ?? '').split('\n').filter(Boolean).slice(0, 6).map((l) => `     ${l}`).join('\n'));
    const { stdout } = await run(BIN, ['--config', configFile, 'status', '--period', '2020-06'], { env: { ...process.env, TAIZHANG_MAIL_PASSWORD: stack.password } });
    say(`\n5. status:\n${stdout.split('\n').map((l) => `   ${l}`).join('\n')}`);
    say(`(李世想 did not reply: the ledger marks him 李世想：未报送)`);
    say(`\nConsolidated ledger (as received in the office mailbox ${office}):\n${ledger}`);
    return ledger;
  } finally {
    await stack.stop();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  runDemo().catch((err) => {
    process.stderr.write(`demo failed: ${(err as Error).stack ?? err}\n`);
    process.exitCode = 1;
  });
}
