import { describe, expect, it } from 'vitest';
import { useMailStack } from './helpers/mail-stack.js';
import { makeProject } from './helpers/project.js';
import { addPeople, casePeople, filledForm, send, collectionFolders, answersTo } from './helpers/replies.js';

const mail = useMailStack();
describe('smoke', () => {
  it('works', async () => {
    const stack = mail();
    const P = casePeople(['good', 'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i']);
    const project = makeProject(stack, (doc) => addPeople(doc, P));
    let t = Date.now();
    const r1 = await project.tick('2020-06-20T09:00:00+08:00');
    console.log('tick1', Date.now() - t, r1.code, r1.stdout, r1.stderr.slice(0, 2000)); t = Date.now();
    const f = await filledForm(project, P.good.email, (no) => ({ progress: `done ${no}` }));
    const mid = await send(stack, project, { from: P.good.email, replyTo: f.request, attachments: [{ filename: f.filename, content: f.content }] });
    console.log('send', Date.now() - t); t = Date.now();
    const r2 = await project.tick('2020-06-21T09:00:00+08:00');
    console.log('tick2', Date.now() - t, r2.code, r2.stdout, r2.stderr.slice(0, 2000)); t = Date.now();
    const ans = await answersTo(project, P.good.email, mid);
    console.log(ans.map((a) => [a.subject, a.text]));
    console.log(Object.fromEntries(Object.entries(await collectionFolders(stack, project)).map(([k, v]) => [k, v.map((m) => m.messageId)])));
    console.log(JSON.stringify(await project.status(), null, 1).slice(0, 3000));
    expect(r2.code).toBe(0);
  });
});
