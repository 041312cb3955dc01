/**
 * The clerk's desk: server-rendered Chinese pages on fastify, served by `taizhang run` when the
 * config has `web:`. Every page needs a login; every POST a CSRF token; actions run through the
 * daemon's Serial, so they never overlap a tick, and are written to the audit log.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import fastifyCookie from '@fastify/cookie';
import fastifyCsrf from '@fastify/csrf-protection';
import fastifyFormbody from '@fastify/formbody';
import fastifyHelmet from '@fastify/helmet';
import fastifyRateLimit from '@fastify/rate-limit';
import fastifyView from '@fastify/view';
import Handlebars from 'handlebars';
import { Lockout, Sessions } from './auth.js';
import type { Desk, DeskDeps, WebConfig } from './types.js';

export type { Desk, DeskDeps, WebConfig } from './types.js';
import { verifyPassword } from './password.js';
import { registerPages } from './pages.js';
import { registerActions } from './actions.js';

export const WEB_TEMPLATES_DIR = fileURLToPath(new URL('../../templates/web/', import.meta.url));
export const SESSION_COOKIE = 'taizhang_session';
const LOOPBACK = new Set(['127.0.0.1', '::1', '::ffff:127.0.0.1']);

declare module 'fastify' {
  interface FastifyRequest { user?: string }
  /** What every view gets besides its own data (@fastify/view decorates it). */
  interface FastifyReply { locals?: Record<string, unknown> }
}

/** Whether the cookie must be Secure: a config flag, or HTTPS as told by a proxy on this machine. */
function overHttps(web: WebConfig, req: FastifyRequest): boolean {
  return web.secureCookie || (LOOPBACK.has(req.socket.remoteAddress ?? '') && req.headers['x-forwarded-proto'] === 'https');
}

export function sessionCookie(desk: Desk, req: FastifyRequest) {
  return { path: '/', httpOnly: true, sameSite: 'strict' as const, secure: overHttps(desk.web, req) };
}

function handlebars() {
  const hb = Handlebars.create();
  hb.registerHelper('eq', (a: unknown, b: unknown) => a === b);
  return hb;
}

/** The desk's app, not yet listening (tests use `inject`). */
export async function buildDesk(deps: DeskDeps, web: WebConfig): Promise<FastifyInstance> {
  const clock = deps.clock ?? deps.ctx.clock;
  const desk: Desk = { deps, web, clock, sessions: new Sessions(deps.ctx.store, clock, web.sessionMinutes) };
  const css = readFileSync(`${WEB_TEMPLATES_DIR}desk.css`, 'utf8');
  const cssHash = createHash('sha256').update(css).digest('base64');
  const app = Fastify({ logger: false, bodyLimit: 64 * 1024, trustProxy: false });
  await app.register(fastifyHelmet, {
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'none'"], styleSrc: [`'sha256-${cssHash}'`], imgSrc: ["'self'"], formAction: ["'self'"],
        frameAncestors: ["'none'"], baseUri: ["'none'"],
      },
    },
    hsts: false, // set by the HTTPS proxy (see README), never on plain loopback HTTP
  });
  await app.register(fastifyCookie, { secret: randomBytes(32).toString('hex') });
  await app.register(fastifyFormbody);
  await app.register(fastifyCsrf, {
    sessionPlugin: '@fastify/cookie', cookieKey: 'taizhang_csrf',
    cookieOpts: { path: '/', httpOnly: true, sameSite: 'strict', signed: true, secure: web.secureCookie },
    getToken: (req) => (req.body as Record<string, string> | undefined)?._csrf,
  });
  await app.register(fastifyRateLimit, { global: false });
  await app.register(fastifyView, {
    engine: { handlebars: handlebars() }, root: WEB_TEMPLATES_DIR, layout: 'layout.hbs', production: true,
    defaultContext: { css }, options: { partials: { mailitem: 'mailitem.hbs' } },
  });
  app.addHook('onSend', async (_req, reply) => { reply.header('Cache-Control', 'no-store'); });
  app.setErrorHandler((err: Error & { statusCode?: number; code?: string }, req, reply) => errorPage(desk, err, req, reply));
  app.setNotFoundHandler((req, reply) => reply.code(404).view('message.hbs', { title: '页面不存在', text: '所请求的页面不存在。', user: req.user }));
  app.addHook('onRequest', async (req, reply) => {
    if (req.url === '/login' || req.url.startsWith('/login?')) return;
    req.user = desk.sessions.user(req.cookies[SESSION_COOKIE]);
    if (req.user) return;
    if (req.method === 'GET') return reply.redirect('/login', 303);
    return reply.code(403).view('message.hbs', { title: '请先登录', text: '登录已过期或尚未登录，请重新登录。' });
  });
  app.addHook('preHandler', (req, reply, done) => {
    if (req.method === 'POST') return app.csrfProtection(req, reply, done);
    if (req.user) reply.locals = { ...reply.locals, logoutCsrf: reply.generateCsrf() }; // the header's 退出 form
    done();
  });
  registerLogin(app, desk);
  registerPages(app, desk);
  registerActions(app, desk);
  return app;
}

function errorPage(desk: Desk, err: Error & { statusCode?: number; code?: string }, req: FastifyRequest, reply: FastifyReply) {
  if (err.code?.startsWith('FST_CSRF')) {
    desk.deps.log.warn({ user: req.user, url: req.url, code: err.code }, 'desk: request refused, no valid CSRF token');
    return reply.code(403).view('message.hbs', { title: '请求无效', text: '页面已过期或请求无效，请返回重新操作。', user: req.user });
  }
  if (err.statusCode === 429) return reply.code(429).view('message.hbs', { title: '尝试过于频繁', text: '登录尝试过于频繁，请稍后再试。' });
  const status = err.statusCode && err.statusCode < 500 ? err.statusCode : 500;
  if (status === 500) desk.deps.log.error({ err, user: req.user, url: req.url }, 'desk: page failed');
  return reply.code(status).view('message.hbs', { title: '出错了', text: status === 500 ? '处理出错，详情已记入日志。' : '请求无效。', user: req.user });
}

function registerLogin(app: FastifyInstance, desk: Desk): void {
  const lockout = new Lockout(desk.clock);
  const users = new Map(desk.web.users.map((u) => [u.name, u.passwordHash]));
  app.get('/login', (req, reply) => reply.view('login.hbs', { csrf: reply.generateCsrf() }));
  app.post('/login', { config: { rateLimit: { max: 10, timeWindow: 60_000 } } }, async (req, reply) => {
    const body = (req.body ?? {}) as Record<string, string>;
    const name = String(body.name ?? '').slice(0, 100);
    const again = (text: string, code = 401) => reply.code(code).view('login.hbs', { csrf: reply.generateCsrf(), error: text, name });
    const log = desk.deps.log.child({ user: name, ip: req.ip });
    if (lockout.lockedUntil(name)) {
      log.warn('desk: login refused, the name is locked');
      return again('登录失败次数过多，该用户已暂时锁定，请15分钟后再试。', 423);
    }
    const ok = await verifyPassword(String(body.password ?? ''), users.get(name));
    if (!ok) {
      if (lockout.fail(name)) log.warn('desk: too many failed logins, the name is locked for 15 minutes');
      else log.warn('desk: failed login');
      return again('用户名或密码错误。');
    }
    lockout.succeed(name);
    reply.setCookie(SESSION_COOKIE, desk.sessions.create(name), sessionCookie(desk, req));
    log.info('desk: logged in');
    return reply.redirect('/', 303);
  });
  app.post('/logout', (req, reply) => {
    desk.sessions.end(req.cookies[SESSION_COOKIE]);
    desk.deps.log.info({ user: req.user }, 'desk: logged out');
    reply.clearCookie(SESSION_COOKIE, { path: '/' });
    return reply.redirect('/login', 303);
  });
}

/** Starts the desk on `web.listen`; returns its address and a stop. */
export async function startDesk(deps: DeskDeps, web: WebConfig): Promise<{ url: string; close: () => Promise<void> }> {
  const app = await buildDesk(deps, web);
  await app.listen({ host: web.host, port: web.port });
  const url = `http://${web.host.includes(':') ? `[${web.host}]` : web.host}:${web.port}/`;
  if (!LOOPBACK.has(web.host) && web.host !== 'localhost') deps.log.warn({ listen: url }, 'the desk listens beyond this machine: put it behind an HTTPS proxy');
  deps.log.info({ url }, 'desk listening');
  return { url, close: () => app.close() };
}
