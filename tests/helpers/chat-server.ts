/**
 * A local HTTP server standing in for the group-chat platforms' bot webhooks, on 127.0.0.1:
 * `/wecom/send?key=K`, `/dingtalk/robot/send?access_token=T` and `/feishu/hook/ID`. It checks each
 * request as the platform would (the signature computed here, independently, from the secret it
 * was given; the timestamp within an hour of now), answers in the platform's own words, and keeps
 * every request. `fail(path, n)` makes the next n requests to a path answer 500.
 */
import { createHmac } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ChatRequest { platform: 'wecom' | 'dingtalk' | 'feishu'; url: URL; body: any; accepted: boolean }

export interface ChatServer {
  base: string;
  requests: ChatRequest[];
  /** Accepted messages, by platform. */
  accepted(platform: ChatRequest['platform']): any[];
  fail(platform: ChatRequest['platform'], times: number): void;
  close(): Promise<void>;
}

const HOUR_MS = 3600_000;

function verify(platform: ChatRequest['platform'], url: URL, body: any, secrets: Record<string, string>): { ok: boolean; answer: object } {
  const now = Date.now();
  if (platform === 'wecom') {
    return url.searchParams.get('key') === 'wecom-key' && body.msgtype === 'text'
      ? { ok: true, answer: { errcode: 0, errmsg: 'ok' } } : { ok: false, answer: { errcode: 93000, errmsg: 'invalid webhook url' } };
  }
  if (platform === 'dingtalk') {
    const ts = url.searchParams.get('timestamp') ?? '';
    const want = createHmac('sha256', secrets.dingtalk).update(`${ts}\n${secrets.dingtalk}`).digest('base64');
    // searchParams has decoded the url-encoded sign.
    const ok = url.searchParams.get('access_token') === 'ding-token' && Math.abs(now - Number(ts)) < HOUR_MS && url.searchParams.get('sign') === want;
    return ok ? { ok, answer: { errcode: 0, errmsg: 'ok' } } : { ok, answer: { errcode: 310000, errmsg: 'sign not match' } };
  }
  const want = createHmac('sha256', `${body.timestamp}\n${secrets.feishu}`).update('').digest('base64');
  const ok = Math.abs(now - Number(body.timestamp) * 1000) < HOUR_MS && body.sign === want;
  return ok ? { ok, answer: { code: 0, msg: 'success', data: {} } } : { ok, answer: { code: 19021, msg: 'sign match fail or timestamp is not within one hour from current time' } };
}

export async function startChatServer(secrets: { dingtalk: string; feishu: string }): Promise<ChatServer> {
  const requests: ChatRequest[] = [];
  const failing: Record<string, number> = {};
  const server = http.createServer((req, res) => {
    let text = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => { text += c; });
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      const platform = url.pathname.split('/')[1] as ChatRequest['platform'];
      let body: any = null;
      try { body = JSON.parse(text); } catch { /* kept as null */ }
      if (failing[platform] > 0) {
        failing[platform]--;
        requests.push({ platform, url, body, accepted: false });
        res.writeHead(500).end('busy');
        return;
      }
      const { ok, answer } = verify(platform, url, body ?? {}, secrets);
      requests.push({ platform, url, body, accepted: ok });
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(answer));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    base, requests,
    accepted: (p) => requests.filter((r) => r.platform === p && r.accepted).map((r) => r.body),
    fail: (p, n) => { failing[p] = n; },
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

/** The `notify:` entries for the three platforms on this server (mobiles by person name). */
export function notifyConfig(chat: ChatServer, secrets: { dingtalk: string; feishu: string }, mobiles: Record<string, string>) {
  return [
    { kind: 'wecom', webhook: `${chat.base}/wecom/send?key=wecom-key`, mobiles },
    { kind: 'dingtalk', webhook: `${chat.base}/dingtalk/robot/send?access_token=ding-token`, secret: secrets.dingtalk, mobiles },
    { kind: 'feishu', webhook: `${chat.base}/feishu/hook/abc`, secret: secrets.feishu, mobiles },
  ];
}
