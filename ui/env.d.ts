// Module kinds esbuild's loaders give the pages (scripts/build-ui.ts).

/** A `.graphql` file, imported as its text. */
declare module '*.graphql' {
  const text: string;
  export default text;
}

/** A stylesheet: bundled into the page's main.css. */
declare module '*.css';
