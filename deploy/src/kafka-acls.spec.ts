import { spawnSync } from 'node:child_process';
import { dlqTopic, PLATFORM_DATA_TOPICS } from '@k2/kafka';
import { readRepoFile, ROOT } from './repo';

/**
 * deploy/kafka/acls.sh, the one list of broker ACLs that infra.sh (`up --secure`), docker-compose.yml (kafka-init)
 * and prod apply (issue 18, least privilege). Run with /bin/sh and a kafka_acl that prints its arguments, so the
 * checks see exactly the AclCommand calls the script makes.
 */
interface Grant {
  principal: string;
  operations: string[];
  resource: 'topic' | 'group' | 'cluster';
  name: string;
  pattern: 'literal' | 'prefixed';
}

function run(body: string): { status: number | null; lines: string[]; stderr: string } {
  const r = spawnSync('sh', ['-c', `kafka_acl() { printf '%s\\n' "$*"; }; . ./deploy/kafka/acls.sh; ${body}`], { cwd: ROOT, encoding: 'utf8' });
  return { status: r.status, lines: r.stdout.split('\n').filter((l) => l !== ''), stderr: r.stderr };
}

function parse(line: string): Grant {
  const args = line.split(' ');
  const value = (flag: string) => args[args.indexOf(flag) + 1] ?? '';
  const operations = args.flatMap((a, i) => (a === '--operation' ? [args[i + 1] ?? ''] : []));
  const resource = args.includes('--topic') ? 'topic' : args.includes('--group') ? 'group' : 'cluster';
  return {
    principal: value('--allow-principal'),
    operations,
    resource,
    name: resource === 'cluster' ? 'kafka-cluster' : value(`--${resource}`),
    pattern: args.includes('--resource-pattern-type') ? (value('--resource-pattern-type') as Grant['pattern']) : 'literal',
  };
}

const all = run('k2_kafka_acls');
const grants = all.lines.map(parse);
const of = (user: string) => grants.filter((g) => g.principal === `User:${user}`);
const WRITES = ['Write', 'Create', 'Delete', 'Alter', 'AlterConfigs', 'All'];

describe('deploy/kafka/acls.sh', () => {
  it('runs under POSIX sh and grants only allow rules to named users', () => {
    expect({ status: all.status, stderr: all.stderr }).toEqual({ status: 0, stderr: '' });
    expect(grants.length).toBeGreaterThan(10);
    for (const g of grants) expect({ g, named: /^User:[a-z][a-z-]*$/.test(g.principal) && g.principal !== 'User:ANONYMOUS' }).toEqual({ g, named: true });
  });

  it('lists the platform data topics of libs/kafka (PLATFORM_DATA_TOPICS)', () => {
    const listed = /^K2_PLATFORM_DATA_TOPICS="([^"]*)"$/m.exec(readRepoFile('deploy/kafka/acls.sh'))?.[1]?.split(' ');
    expect(listed).toEqual([...PLATFORM_DATA_TOPICS]);
  });

  it("gives the writer Write and Create only on its dead-letter topics, one LITERAL ACL each (no prefix separates '.dlq' from the data topics)", () => {
    const writes = of('writer').filter((g) => g.operations.some((o) => WRITES.includes(o)));
    expect(writes.map((g) => `${g.resource}:${g.pattern}:${g.name}`).sort()).toEqual(PLATFORM_DATA_TOPICS.map((t) => `topic:literal:${dlqTopic(t)}`).sort());
    for (const g of writes) expect(g.operations.sort()).toEqual(['Create', 'Describe', 'Write']);
    // It still reads every data topic it may be configured with.
    expect(of('writer')).toEqual(expect.arrayContaining([{ principal: 'User:writer', operations: ['Read', 'Describe'], resource: 'topic', name: 'market.', pattern: 'prefixed' }]));
  });

  it('gives query-api read only', () => {
    expect(of('query').length).toBeGreaterThan(0);
    expect(of('query').filter((g) => g.operations.some((o) => o !== 'Read' && o !== 'Describe'))).toEqual([]);
  });

  it('grants on the cluster only IdempotentWrite (no Alter, no Create of arbitrary topics)', () => {
    expect(grants.filter((g) => g.resource === 'cluster' && g.operations.join() !== 'IdempotentWrite')).toEqual([]);
  });

  it('covers every user kafka-init creates, and no other', () => {
    const created = (/^for user in ([^;]+);/m.exec(readRepoFile('deploy/kafka/compose-init.sh'))?.[1] ?? '').trim().split(/\s+/).sort();
    expect([...new Set(grants.map((g) => g.principal.replace(/^User:/, '')))].sort()).toEqual(created);
  });

  it('k2_writer_dlq_acls takes data topics only', () => {
    expect(run('k2_writer_dlq_acls market.crypto.trades.k2testx').lines).toEqual(['--allow-principal User:writer --operation Write --operation Create --operation Describe --topic market.crypto.trades.k2testx.dlq']);
    for (const bad of ['market.crypto.trades.binance.dlq', 'market.', 'other.topic', 'market.crypto.trades.x;rm']) {
      const r = run(`k2_writer_dlq_acls '${bad}'`);
      expect({ bad, status: r.status, lines: r.lines }).toEqual({ bad, status: 1, lines: [] });
    }
  });

  it('is what infra.sh applies (sourced, with the old market.* Write withdrawn)', () => {
    const infra = readRepoFile('tools/infra/infra.sh');
    expect(infra).toContain('. "$REPO_ROOT/deploy/kafka/acls.sh"');
    expect(infra).toMatch(/^\s+k2_kafka_acls$/m);
    expect(infra).toMatch(/AclCommand --remove --force --allow-principal User:writer --operation Write/);
  });
});
