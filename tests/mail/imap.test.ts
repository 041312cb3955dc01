import { describe, expect, it } from 'vitest';
import { connectImap, ensureFolders, sentFolderOf } from '../../src/mail/imap.js';
import { silentLogger } from '../../src/logger.js';
import { useMailStack } from '../helpers/mail-stack.js';

const mail = useMailStack();

function imapConfig(user: string) {
  const s = mail();
  return { host: s.imap.host, port: s.imap.port, secure: false, user, password: s.password, tlsVerify: true, idle: true, pollSeconds: 60 };
}

describe('imap helpers on a real server', () => {
  it('finds the Sent folder by its special-use flag unless one is configured', async () => {
    const client = await connectImap(imapConfig('sent-check@office.test'), silentLogger);
    try {
      const flagged = (await client.list()).find((f) => f.specialUse === '\\Sent');
      expect(flagged).toBeDefined();
      expect(await sentFolderOf(client, undefined)).toBe(flagged!.path);
      expect(await sentFolderOf(client, '已发送')).toBe('已发送');
    } finally {
      await client.logout();
    }
  });

  it('creates missing folders with Chinese names once, and again is a no-op', async () => {
    const client = await connectImap(imapConfig('folders@office.test'), silentLogger);
    try {
      await ensureFolders(client, ['台账-已处理', '台账-隔离']);
      await ensureFolders(client, ['台账-已处理', '台账-隔离']);
      const paths = (await client.list()).map((f) => f.path);
      expect(paths.filter((p) => p === '台账-已处理')).toHaveLength(1);
      expect(paths).toContain('台账-隔离');
    } finally {
      await client.logout();
    }
  });
});
