import nx from '@nx/eslint-plugin';

// Layering (docs/adr/0001-workspace-layout.md): apps and tools sit on libs; libs never import apps or tools;
// util libs (type:util) depend only on other util libs.
export default [
  ...nx.configs['flat/base'],
  ...nx.configs['flat/typescript'],
  ...nx.configs['flat/javascript'],
  {
    ignores: ['**/dist', '**/node_modules', '**/.data', '**/coverage', '**/.nx'],
  },
  {
    files: ['**/*.ts', '**/*.js', '**/*.mjs'],
    rules: {
      '@nx/enforce-module-boundaries': [
        'error',
        {
          enforceBuildableLibDependency: true,
          allow: [],
          depConstraints: [
            { sourceTag: 'type:app', onlyDependOnLibsWithTags: ['type:lib', 'type:util'] },
            { sourceTag: 'type:tool', onlyDependOnLibsWithTags: ['type:lib', 'type:util'] },
            { sourceTag: 'type:lib', onlyDependOnLibsWithTags: ['type:lib', 'type:util'] },
            { sourceTag: 'type:util', onlyDependOnLibsWithTags: ['type:util'] },
            { sourceTag: 'scope:shared', onlyDependOnLibsWithTags: ['scope:shared'] },
            { sourceTag: 'scope:crypto', onlyDependOnLibsWithTags: ['scope:crypto', 'scope:shared'] },
            { sourceTag: 'scope:asx', onlyDependOnLibsWithTags: ['scope:asx', 'scope:shared'] },
            { sourceTag: 'scope:binance-streamer', onlyDependOnLibsWithTags: ['scope:crypto', 'scope:shared'] },
            { sourceTag: 'scope:kraken-streamer', onlyDependOnLibsWithTags: ['scope:crypto', 'scope:shared'] },
            { sourceTag: 'scope:asx-batch-loader', onlyDependOnLibsWithTags: ['scope:asx', 'scope:shared'] },
            // scope:lake (libs/lake) is the contract both sides of the lake share: table definitions, the offsets
            // summary format, row shapes (ADR 0012). The writer side and the read side meet there, never in each other.
            { sourceTag: 'scope:lake', onlyDependOnLibsWithTags: ['scope:lake', 'scope:shared'] },
            { sourceTag: 'scope:lakehouse', onlyDependOnLibsWithTags: ['scope:lakehouse', 'scope:lake', 'scope:shared'] },
            { sourceTag: 'scope:iceberg-writer', onlyDependOnLibsWithTags: ['scope:lakehouse', 'scope:lake', 'scope:shared'] },
            { sourceTag: 'scope:query', onlyDependOnLibsWithTags: ['scope:query', 'scope:lake', 'scope:shared'] },
            // The app's integration tests run the real writer through @k2/lake-testing (scope:lakehouse).
            { sourceTag: 'scope:query-api', onlyDependOnLibsWithTags: ['scope:query', 'scope:lake', 'scope:lakehouse', 'scope:shared'] },
          ],
        },
      ],
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    files: ['**/*.spec.ts', '**/*.itest.ts', '**/test/**/*.ts'],
    rules: {
      '@typescript-eslint/no-non-null-assertion': 'off',
    },
  },
];
