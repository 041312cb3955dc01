import { readdirSync, readFileSync } from 'node:fs';
import { simpleParser } from 'mailparser';
const dir = '/tmp/taizhang-bench-1000-YAv5HK/data/mail/1795748800';
const files = readdirSync(dir).map(f => readFileSync(dir + '/' + f));
for (let round = 0; round < 3; round++) {
const cpu0 = process.cpuUsage(); const t = performance.now();
for (const f of files) await simpleParser(f, { skipHtmlToText: true, skipTextToHtml: true, skipTextLinks: true });
const c = process.cpuUsage(cpu0); console.log('round', round, (performance.now() - t).toFixed(0), 'ms wall', ((c.user + c.system) / 1000).toFixed(0), 'ms cpu');
}
