import { readRepoFile } from './repo';

/**
 * deploy/postgres/catalog-roles.sql creates the catalog's tables itself so that neither service role needs CREATE
 * (issue 18, least privilege). Its DDL must stay the DDL the writer would run (libs/iceberg/src/catalog/sql-catalog.ts):
 * a drifted copy would make the tables differ from what Java's JdbcCatalog and PyIceberg expect. Checked by text here;
 * the grants were run against PostgreSQL 15 (the writer role committing through SqlCatalog, the query role refused
 * every write), see deploy/k8s/README.md "Credentials".
 */

const SCRIPT = readRepoFile('deploy/postgres/catalog-roles.sql');
const CATALOG = readRepoFile('libs/iceberg/src/catalog/sql-catalog.ts');

/** A `const NAME = '…' + '…';` string constant of sql-catalog.ts, concatenated. */
function tsStringConstant(name: string): string {
  const m = new RegExp(`const ${name} =\\s*((?:'[^']*'\\s*\\+?\\s*)+);`).exec(CATALOG);
  if (!m?.[1]) throw new Error(`no string constant ${name} in libs/iceberg/src/catalog/sql-catalog.ts`);
  return [...m[1].matchAll(/'([^']*)'/g)].map((p) => p[1] ?? '').join('');
}

/** The script's statements, comments and psql meta-commands dropped. */
const statements = SCRIPT.split('\n')
  .filter((l) => !l.startsWith('--') && !l.startsWith('\\'))
  .join('\n')
  .split(';')
  .map((s) => s.replace(/\s+/g, ' ').trim())
  .filter((s) => s !== '');

describe('deploy/postgres/catalog-roles.sql', () => {
  test.each(['CREATE_TABLES_SQL', 'CREATE_NAMESPACE_PROPERTIES_SQL'])('creates the tables with the writer\'s own DDL (%s)', (name) => {
    expect(statements).toContain(tsStringConstant(name));
  });

  test('the query role gets SELECT on the catalog tables and nothing that writes', () => {
    const toQuery = statements.filter((s) => /^GRANT /.test(s) && /\bTO\b.*:"query_role"/.test(s));
    const privileges = toQuery.map((s) => /^GRANT (.+?) ON /.exec(s)?.[1]);
    expect(privileges.sort()).toEqual(['SELECT', 'USAGE']);
    expect(toQuery.find((s) => s.startsWith('GRANT SELECT'))).toMatch(/ON iceberg_tables, iceberg_namespace_properties TO :"query_role"$/);
    // Only row changes for the writer: no CREATE on the schema, no ownership, no TRUNCATE or ALL.
    const toWriter = statements.filter((s) => /^GRANT /.test(s) && /:"writer_role"/.test(s));
    expect(toWriter.join('\n')).not.toMatch(/\b(ALL|CREATE|TRUNCATE|REFERENCES|TRIGGER)\b/);
    expect(statements.some((s) => /ALTER (TABLE|SCHEMA) .* OWNER TO/.test(s))).toBe(false);
  });
});
