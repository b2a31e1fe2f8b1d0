import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROLE_PERMISSIONS, ROLES } from '../../src/modules/users/domain/permissions';

const root = join(__dirname, '../..');

/** The permission rows of a markdown matrix `| \`perm\` | what | user | moderator | admin |`, as perm -> roles ticked. */
function matrixIn(text: string): Record<string, string[]> {
  const rows: Record<string, string[]> = {};
  for (const line of text.split('\n')) {
    const cells = line.trim().split('|').slice(1, -1).map((c) => c.trim());
    const name = /^`([a-z_]+:[a-z_]+)`$/.exec(cells[0] ?? '')?.[1];
    if (!name || cells.length !== 2 + ROLES.length) continue;
    rows[name] = ROLES.filter((_, i) => cells[2 + i] === '✓');
  }
  return rows;
}

describe('the permission matrix', () => {
  const code = Object.fromEntries(
    [...new Set(Object.values(ROLE_PERMISSIONS).flat())].map((p) => [p, ROLES.filter((r) => ROLE_PERMISSIONS[r].includes(p))]),
  );

  it.each(['docs/roles.md', 'openapi/openapi.yaml'])('when %s lists who holds each permission, then it says what ROLE_PERMISSIONS says', (file) => {
    expect(matrixIn(readFileSync(join(root, file), 'utf8'))).toEqual(code);
  });
});
