/**
 * The offline GraphQL explorer, served by the gateway at / and /explorer: GraphiQL with the docs
 * explorer, query history, variables and headers editors, and an Examples panel of ready
 * operations. Everything it loads comes from this gateway (fonts are inlined in main.css).
 */
import { useEffect, useRef } from 'react';
import { createRoot } from 'react-dom/client';
import { GraphiQL } from 'graphiql';
import { useEditorContext, type GraphiQLPlugin } from '@graphiql/react';
import { createGraphiQLFetcher } from '@graphiql/toolkit';
import 'graphiql/graphiql.css';
import './explorer.css';
import { EXAMPLES, type Example } from './examples.ts';

// Queries and mutations go over HTTP; subscriptions over graphql-ws on the same path. The
// WebSocket client is created lazily, on the first subscription, so the explorer works the same
// whether or not the gateway serves subscriptions yet.
const fetcher = createGraphiQLFetcher({
  url: '/graphql',
  subscriptionUrl: `${location.protocol === 'https:' ? 'wss:' : 'ws:'}//${location.host}/graphql`,
});

const DEFAULT_QUERY = `# ALI Graph: one GraphQL API over Piedmont's Local Alliances for Innovation.
# Open a ready operation from the Examples panel (left), or write your own:
# Ctrl-Space completes, Ctrl-Enter runs, the Docs panel documents every type.
{
  networkSummary { allianceCount memberCount smallMemberCount provenance }
}
`;

const EXAMPLES_TITLE = 'Examples';

/** Whether a tab holds nothing worth keeping: empty, comments only, or the default query. */
function isBlank(query: string | null | undefined): boolean {
  if (!query || query.trim() === DEFAULT_QUERY.trim()) return true;
  return query.replace(/#.*$/gm, '').trim() === '';
}

function ExamplesPanel() {
  const editor = useEditorContext({ nonNull: true });
  // What to do once GraphiQL has switched tabs and filled the editors of the tab it shows.
  const pending = useRef<{ example: Example; fill: boolean } | null>(null);

  /**
   * GraphiQL learns the operation name of a changed query 100 ms after the change: run sooner
   * and it would send the previous tab's operation name. Forgetting the stale name makes the
   * gateway run the document's only operation until GraphiQL catches up.
   */
  function show(example: Example, fill: boolean): void {
    const { queryEditor } = editor;
    if (fill) queryEditor?.setValue(example.query);
    if (queryEditor) {
      queryEditor.operationName = null;
      queryEditor.documentAST = null;
    }
  }

  useEffect(() => {
    const next = pending.current;
    if (!next) return;
    pending.current = null;
    show(next.example, next.fill);
  }, [editor.tabs.length, editor.activeTabIndex]);

  function open(example: Example): void {
    const existing = editor.tabs.findIndex((tab) => (tab.query ?? '').trim() === example.query.trim());
    if (existing === editor.activeTabIndex) return;
    if (existing >= 0) {
      pending.current = { example, fill: false };
      editor.changeTab(existing);
      return;
    }
    if (isBlank(editor.queryEditor?.getValue() ?? editor.tabs[editor.activeTabIndex]?.query)) {
      show(example, true);
      return;
    }
    pending.current = { example, fill: true };
    editor.addTab();
  }

  return (
    <section className="ali-examples" aria-labelledby="ali-examples-title">
      <h2 className="graphiql-doc-explorer-title" id="ali-examples-title">
        {EXAMPLES_TITLE}
      </h2>
      <p>Ready operations for the main questions. Pick one to open it in a tab, then run it with ▶ (Ctrl-Enter).</p>
      <ul>
        {EXAMPLES.map((example) => (
          <li key={example.id}>
            <button type="button" data-example={example.id} onClick={() => open(example)}>
              <span className="ali-example-title">{example.title}</span>
              <span className="ali-example-question">{example.question}</span>
            </button>
          </li>
        ))}
      </ul>
      <h3>Provenance</h3>
      <p>
        Every record says where its values come from: <code>PUBLISHED</code> (the source), <code>DERIVED</code> (computed from
        published figures), <code>ESTIMATED</code> (a defensible estimate) or <code>SAMPLE</code> (demonstration data). Amounts
        are exact decimal strings in euro.
      </p>
      <h3>API key</h3>
      <p>
        Paste it in the <strong>Headers</strong> tab under the editor, e.g. <code>{'{"x-api-key": "…"}'}</code>. Headers stay in
        this page unless you choose to persist them in Settings.
      </p>
      <p>
        <a href="/dashboard">Analytics dashboard</a>
      </p>
    </section>
  );
}

function ExamplesIcon() {
  return (
    <svg viewBox="0 0 24 24" width="24" height="24" aria-hidden="true" fill="none" stroke="currentColor" strokeWidth="1.5">
      <rect x="4" y="3" width="16" height="18" rx="2" />
      <path d="M8 8h8M8 12h8M8 16h5" strokeLinecap="round" />
    </svg>
  );
}

const examplesPlugin: GraphiQLPlugin = { title: EXAMPLES_TITLE, icon: ExamplesIcon, content: ExamplesPanel };

// Open the Examples panel on a first visit; afterwards GraphiQL remembers the panel last shown.
try {
  if (localStorage.getItem('graphiql:visiblePlugin') === null) localStorage.setItem('graphiql:visiblePlugin', EXAMPLES_TITLE);
} catch {
  // storage disabled: GraphiQL works without it
}

const first = EXAMPLES[0]!;

function Explorer() {
  return (
    <GraphiQL
      fetcher={fetcher}
      plugins={[examplesPlugin]}
      defaultQuery={DEFAULT_QUERY}
      defaultTabs={[{ query: first.query }]}
      defaultEditorToolsVisibility="variables"
      isHeadersEditorEnabled
      shouldPersistHeaders={false}
      showPersistHeadersSettings
    >
      <GraphiQL.Logo>ALI Graph</GraphiQL.Logo>
    </GraphiQL>
  );
}

createRoot(document.getElementById('root')!).render(<Explorer />);
