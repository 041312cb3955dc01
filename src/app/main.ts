import { main } from './cli.js';

main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (err) => { process.stderr.write(`taizhang: ${(err as Error).message}\n`); process.exitCode = 1; },
);
