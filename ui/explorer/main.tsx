/**
 * The offline GraphQL explorer, served by the gateway at / and /explorer in Italian or English:
 * GraphiQL with the docs explorer, query history, variables and headers editors, and an Examples
 * panel of ready operations. Everything it loads comes from this gateway (fonts are inlined in
 * main.css). GraphiQL's own controls exist in English only: in an Italian page they are marked
 * `lang="en"`, and our panel, bar and editor labels are in the reader's language.
 */
import { useEffect, useRef } from 'react';
import { createRoot } from 'react-dom/client';
import CodeMirror from 'codemirror';
import { GraphiQL } from 'graphiql';
import { useEditorContext, type GraphiQLPlugin } from '@graphiql/react';
import { createGraphiQLFetcher } from '@graphiql/toolkit';
import 'graphiql/graphiql.css';
import './explorer.css';
import { CATALOGUES, LANGUAGES, type Language } from '../i18n/index.ts';
import { LANG, LanguageSwitch, PagesNav, pageHref, SkipLink, t } from '../shared/page.tsx';
import { EXAMPLES, type Example } from './examples.ts';
import { repairTabs } from './tabsAria.ts';

// Queries and mutations go over HTTP; subscriptions over graphql-ws on the same path. The
// WebSocket client is created lazily, on the first subscription, so the explorer works the same
// whether or not the gateway serves subscriptions yet. GraphiQL reads multipart answers: asking
// for the deferSpec=20220824 format, a query with @defer shows its parts as they arrive (its own
// `multipart/mixed` without a format would get the whole answer at once).
const fetcher = createGraphiQLFetcher({
  url: '/graphql',
  headers: { accept: 'multipart/mixed;deferSpec=20220824, application/json' },
  subscriptionUrl: `${location.protocol === 'https:' ? 'wss:' : 'ws:'}//${location.host}/graphql`,
});

const defaultQuery = (language: Language) => `${CATALOGUES[language].explorer.defaultQuery.map((line) => `# ${line}`).join('\n')}
{
  networkSummary { allianceCount memberCount smallMemberCount provenance }
}
`;
const DEFAULT_QUERY = defaultQuery(LANG);

/** GraphiQL's controls are English: marked as such in a page in another language. */
const GRAPHIQL_LANG = LANG === 'en' ? undefined : 'en';

/**
 * Every CodeMirror editor GraphiQL creates gets a label in the reader's language (screen readers
 * announce it; the hidden input had none). The editor is recognised by where GraphiQL puts it.
 */
CodeMirror.defineInitHook((cm: CodeMirror.Editor) => {
  const at = cm.getWrapperElement();
  const labels = t.explorer.editorLabels;
  const label = at.closest('.graphiql-query-editor')
    ? labels.query
    : at.closest('.graphiql-response')
      ? labels.response
      : at.closest('.graphiql-editor-tool')
        ? cm.getOption('mode') === 'graphql-variables'
          ? labels.variables
          : labels.headers
        : undefined;
  if (label) cm.setOption('screenReaderLabel', label);
  // CodeMirror gives its editable element no role: announce it as the multi-line text box it is.
  const input = cm.getInputField();
  input.setAttribute('role', 'textbox');
  input.setAttribute('aria-multiline', 'true');
  if (cm.getOption('readOnly')) input.setAttribute('aria-readonly', 'true');
});
/*
 * The editable element inside the editor's scrolling area (rather than a hidden textarea beside
 * it), so that the keyboard reaches the area that scrolls; CodeMirror's documentation also
 * recommends it for screen readers.
 */
CodeMirror.defaults.inputStyle = 'contenteditable';

/** Whether a tab holds nothing worth keeping: empty, comments only, or a default query. */
function isBlank(query: string | null | undefined): boolean {
  if (!query || LANGUAGES.some((l) => query.trim() === defaultQuery(l).trim())) return true;
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

  const x = t.explorer;
  return (
    <section className="ali-examples" aria-labelledby="ali-examples-title" lang={LANG}>
      <h2 className="graphiql-doc-explorer-title" id="ali-examples-title">
        {x.examples}
      </h2>
      <p>{x.examplesIntro}</p>
      <ul>
        {EXAMPLES.map((example) => (
          <li key={example.id}>
            <button type="button" data-example={example.id} onClick={() => open(example)}>
              <span className="ali-example-title">{x.exampleTexts[example.id].title}</span>
              <span className="ali-example-question">{x.exampleTexts[example.id].question}</span>
            </button>
          </li>
        ))}
      </ul>
      <h3>{x.provenanceTitle}</h3>
      <p>{x.provenanceIntro}</p>
      <h3>{x.apiKeyTitle}</h3>
      <p>{x.apiKeyIntro}</p>
      {GRAPHIQL_LANG && <p>{x.editorLanguageNote}</p>}
      <p>
        <a href={pageHref('dashboard')}>{t.site.dashboard}</a>
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

const examplesPlugin: GraphiQLPlugin = { title: t.explorer.examples, icon: ExamplesIcon, content: ExamplesPanel };

// Open the Examples panel on a first visit (and after a change of language, which renames it);
// otherwise GraphiQL remembers the panel last shown.
try {
  const shown = localStorage.getItem('graphiql:visiblePlugin');
  if (shown === null || LANGUAGES.some((l) => CATALOGUES[l].explorer.examples === shown)) {
    localStorage.setItem('graphiql:visiblePlugin', t.explorer.examples);
  }
} catch {
  // storage disabled: GraphiQL works without it
}

const first = EXAMPLES[0]!;

function Explorer() {
  return (
    <div className="ali-explorer">
      <SkipLink />
      <header className="ali-bar ali-explorer-bar">
        <p className="ali-site-name">{t.site.name}</p>
        <PagesNav current="explorer" />
        <LanguageSwitch page="explorer" />
      </header>
      <main id="main" tabIndex={-1} className="ali-graphiql" lang={GRAPHIQL_LANG}>
        <h1 className="ali-visually-hidden" lang={LANG}>
          {t.explorer.documentTitle}
        </h1>
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
          <GraphiQL.Logo>{t.site.name}</GraphiQL.Logo>
        </GraphiQL>
      </main>
    </div>
  );
}

const root = document.getElementById('root')!;
repairTabs(root);
createRoot(root).render(<Explorer />);
