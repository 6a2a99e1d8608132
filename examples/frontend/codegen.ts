/**
 * GraphQL Code Generator for the example front end, as docs/frontend.md shows it: the client
 * preset over the printed client schema (schema/client/frontend.graphql, never introspection),
 * typed documents in src/gql/, and the persisted-documents manifest (SHA-256 ids) that
 * `npm run documents -- register` takes. `__typename` is added to every selection set, as Apollo
 * Client sends it, so a document's text and hash are those the client sends.
 *
 *   npx graphql-codegen --config examples/frontend/codegen.ts [--check]
 */
import { addTypenameSelectionDocumentTransform, type ClientPresetConfig } from '@graphql-codegen/client-preset';
import type { CodegenConfig } from '@graphql-codegen/cli';

const presetConfig: ClientPresetConfig = {
  fragmentMasking: false,
  persistedDocuments: { hashAlgorithm: 'sha256' },
};

const config: CodegenConfig = {
  overwrite: true,
  schema: 'schema/client/frontend.graphql',
  documents: ['examples/frontend/src/operations.ts'],
  emitLegacyCommonJSImports: false,
  generates: {
    'examples/frontend/src/gql/': {
      preset: 'client',
      presetConfig,
      documentTransforms: [addTypenameSelectionDocumentTransform],
      config: {
        // Our scalars travel as strings: Money "3890700.00", Decimal "39.994", Date "2009-12-22".
        scalars: { Money: 'string', Decimal: 'string', Date: 'string' },
        enumsAsTypes: true,
        useTypeImports: true,
      },
    },
  },
};

export default config;
