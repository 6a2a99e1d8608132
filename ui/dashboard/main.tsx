/**
 * The analytics dashboard, served by the gateway at /dashboard in Italian or English. Every card
 * sends its own operation to the public GraphQL API (/graphql), so one failing query leaves the
 * others intact; each shows where its numbers come from, a chart (told apart by pattern as well
 * as colour, with the data table as its text alternative), the figures as a table formatted for
 * the language, and exports them as CSV generated in the browser.
 */
import { useEffect, useRef, useState } from 'react';
import { createRoot } from 'react-dom/client';
import { BarController, BarElement, CategoryScale, Chart, Legend, LinearScale, Tooltip } from 'chart.js';
import './dashboard.css';
import { columnLabel } from '../i18n/index.ts';
import { f, LANG, PageFrame, t } from '../shared/page.tsx';
import { cards, type CardModel, type CardSpec, type ChartModel, type Column, type Row } from './cards.ts';
import { toCsv, type Cell } from './csv.ts';
import { downloadCsv } from './download.ts';
import { graphql, QueryError } from './graphql.ts';

Chart.register(BarController, BarElement, CategoryScale, LinearScale, Tooltip, Legend);
Chart.defaults.font.family = 'system-ui, -apple-system, "Segoe UI", Roboto, sans-serif';
Chart.defaults.color = '#1a1a1a';

const CARDS = cards(t, f);
/** What the gateway's own messages are written in: marked so that screen readers read them right. */
const API_LANG = LANG === 'en' ? undefined : 'en';

type Load = { status: 'loading' } | { status: 'error'; messages: string[]; fromApi: boolean } | { status: 'ready'; model: CardModel };

function useCard(spec: CardSpec): Load {
  const [state, setState] = useState<Load>({ status: 'loading' });
  useEffect(() => {
    const abort = new AbortController();
    graphql<unknown>(spec.query, abort.signal)
      .then((data) => setState({ status: 'ready', model: spec.model(data) }))
      .catch((err: unknown) => {
        if (abort.signal.aborted) return;
        if (err instanceof QueryError) setState({ status: 'error', messages: err.details, fromApi: err.fromApi });
        else setState({ status: 'error', messages: [err instanceof Error ? err.message : String(err)], fromApi: false });
      });
    return () => abort.abort();
  }, [spec]);
  return state;
}

/**
 * A fill for the n-th series: its colour with a pattern of white marks (none, stripes, dots,
 * cross-hatch), so that series differ by more than colour, in the bars and in the legend.
 */
function fill(color: string, n: number): CanvasPattern | string {
  const tile = document.createElement('canvas');
  tile.width = tile.height = 10;
  const g = tile.getContext('2d');
  if (!g) return color;
  g.fillStyle = color;
  g.fillRect(0, 0, 10, 10);
  g.strokeStyle = g.fillStyle = 'rgba(255, 255, 255, 0.85)';
  g.lineWidth = 2;
  const kind = n % 4;
  if (kind === 1 || kind === 3) {
    g.beginPath();
    g.moveTo(-1, 11);
    g.lineTo(11, -1);
    g.stroke();
  }
  if (kind === 3) {
    g.beginPath();
    g.moveTo(-1, -1);
    g.lineTo(11, 11);
    g.stroke();
  }
  if (kind === 2) {
    g.beginPath();
    g.arc(5, 5, 2, 0, 2 * Math.PI);
    g.fill();
  }
  return g.createPattern(tile, 'repeat') ?? color;
}

function tick(unit: ChartModel['unit'], value: number): string {
  return unit === 'EUR' ? f.euroCompact(value) : unit === 'PERCENT' ? f.percent(value) : f.count(value);
}

function BarChart({ model, title, tableId }: { model: ChartModel; title: string; tableId: string }) {
  const canvas = useRef<HTMLCanvasElement>(null);
  const [drawn, setDrawn] = useState(false);
  useEffect(() => {
    const chart = new Chart(canvas.current!, {
      type: 'bar',
      data: {
        labels: model.labels.map((l) => wrap(l)),
        datasets: model.datasets.map((d, i) => ({ label: d.label, data: [...d.values], backgroundColor: fill(d.color, i), borderColor: d.color, borderWidth: 1 })),
      },
      options: {
        indexAxis: 'y',
        animation: false,
        responsive: true,
        maintainAspectRatio: false,
        locale: LANG,
        scales: {
          x: {
            stacked: model.stacked ?? false,
            beginAtZero: true,
            ...(model.unit === 'PERCENT' ? { max: 100 } : {}),
            ticks: { ...(model.unit === 'COUNT' ? { precision: 0 } : {}), callback: (value) => tick(model.unit, Number(value)) },
          },
          y: { stacked: model.stacked ?? false },
        },
        plugins: {
          legend: { position: 'bottom' },
          tooltip: {
            callbacks: {
              // The API's exact value, never the float the bar was drawn from.
              label: (ctx) => `${ctx.dataset.label ?? ''}: ${model.datasets[ctx.datasetIndex]?.exact[ctx.dataIndex] ?? ''}`,
            },
          },
        },
      },
    });
    setDrawn(true);
    return () => chart.destroy();
  }, [model]);
  const points = model.datasets.reduce((n, d) => n + d.values.length, 0);
  const openTable = () => {
    const details = document.getElementById(tableId);
    if (details instanceof HTMLDetailsElement) details.open = true;
  };
  return (
    <>
      <div className="chart" style={{ height: `${Math.max(180, model.labels.length * (model.stacked ? 44 : 56) + 90)}px` }} data-chart={drawn ? 'drawn' : 'pending'} data-points={points}>
        <canvas ref={canvas} role="img" aria-label={t.dashboard.chartAlt(title)} />
      </div>
      <p className="to-table">
        <a href={`#${tableId}`} onClick={openTable}>
          {t.dashboard.goToTable}
        </a>
      </p>
    </>
  );
}

/** Chart labels on lines of about `width` characters, so long names are not cut. */
function wrap(label: string, width = 26): string[] {
  const lines: string[] = [];
  for (const word of label.split(' ')) {
    const last = lines.at(-1);
    if (last !== undefined && last.length + 1 + word.length <= width) lines[lines.length - 1] = `${last} ${word}`;
    else lines.push(word);
  }
  return lines;
}

/** A value as the table shows it: formatted for the language (the CSV keeps the API's). */
function display(value: Cell, column: Column): string {
  if (value === null || value === undefined || value === '') return '—';
  switch (column.kind) {
    case 'euro':
      return f.euro(String(value));
    case 'percent':
      return f.percent(String(value));
    case 'count':
      return f.count(String(value));
    case 'provenance':
      return t.provenance[value as keyof typeof t.provenance] ?? String(value);
    case 'status':
      return t.status[value as keyof typeof t.status] ?? String(value);
    default:
      return String(value);
  }
}

const isNumeric = (c: Column) => c.kind === 'euro' || c.kind === 'percent' || c.kind === 'count';

function DataTable({ spec, model }: { spec: CardSpec; model: CardModel }) {
  const columns = model.columns.filter((c) => !c.csvOnly);
  const cells = (row: Row) =>
    columns.map((c, j) =>
      j === 0 ? (
        <th key={c.key} scope="row">
          {display(row[c.key], c)}
        </th>
      ) : (
        <td key={c.key} className={isNumeric(c) ? 'num' : undefined}>
          {display(row[c.key], c)}
        </td>
      ),
    );
  const caption = t.dashboard.tableCaption(spec.title);
  return (
    // Focusable, so a keyboard can scroll a table wider than its card.
    <div className="table-wrap" role="region" aria-label={caption} tabIndex={0}>
      <table>
        <caption>{caption}</caption>
        <thead>
          <tr>
            {columns.map((c) => (
              <th key={c.key} scope="col" className={isNumeric(c) ? 'num' : undefined}>
                {columnLabel(LANG, c.key, spec.report)}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {model.rows.map((row, i) => (
            <tr key={i}>{cells(row)}</tr>
          ))}
        </tbody>
        {model.total && (
          <tfoot>
            <tr>{cells(model.total)}</tr>
          </tfoot>
        )}
      </table>
    </div>
  );
}

function ProvenanceNote({ spec, model }: { spec: CardSpec; model: CardModel }) {
  return (
    <div className="provenance" data-provenance={model.provenance.map((p) => p.value).join(' ')}>
      <p>
        <strong>{t.dashboard.source}</strong> {spec.source}.
      </p>
      <ul>
        {model.provenance.map((p) => (
          <li key={p.value}>
            <span className={`badge badge-${p.value.toLowerCase()}`}>{spec.provenanceText[p.value]}</span>{' '}
            <span className="rows">({t.dashboard.rows(p.rows)})</span>
          </li>
        ))}
      </ul>
      {model.notes.length > 0 && (
        <details>
          <summary>{t.dashboard.provenanceNotes}</summary>
          {API_LANG && <p className="rows">{t.dashboard.provenanceNotesLanguage}</p>}
          <ul lang={API_LANG}>
            {model.notes.map((n) => (
              <li key={n}>{n}</li>
            ))}
          </ul>
        </details>
      )}
    </div>
  );
}

/** The card's rows as CSV: headers in the reader's language, values exactly as the API gave them. */
function exportCsv(spec: CardSpec, model: CardModel): void {
  const records = [...model.rows, ...(model.total ? [model.total] : [])].map((r) => model.columns.map((c) => r[c.key]));
  downloadCsv(spec.csvFile, toCsv(model.columns.map((c) => columnLabel(LANG, c.key, spec.report)), records));
}

function Card({ spec }: { spec: CardSpec }) {
  const state = useCard(spec);
  const titleId = `${spec.id}-title`;
  const tableId = `${spec.id}-data`;
  return (
    <section className="card" aria-labelledby={titleId} aria-busy={state.status === 'loading'} data-card={spec.id} data-state={state.status}>
      <h2 id={titleId}>{spec.title}</h2>
      <p className="question">{spec.question}</p>
      {state.status === 'loading' && <p className="loading">{t.dashboard.loading}</p>}
      {state.status === 'error' && (
        <div className="error" role="alert">
          <p>
            <strong>{t.dashboard.loadFailed}</strong> {t.dashboard.othersUnaffected}
          </p>
          <ul lang={state.fromApi ? API_LANG : undefined}>
            {state.messages.map((m) => (
              <li key={m}>{m}</li>
            ))}
          </ul>
        </div>
      )}
      {state.status === 'ready' && (
        <>
          <ProvenanceNote spec={spec} model={state.model} />
          <BarChart model={state.model.chart} title={spec.title} tableId={tableId} />
          <div className="actions">
            <button type="button" aria-describedby={`${titleId} ${spec.id}-csv-hint`} onClick={() => exportCsv(spec, state.model)}>
              {t.dashboard.downloadCsv}
            </button>{' '}
            <span className="hint" id={`${spec.id}-csv-hint`}>
              {t.dashboard.downloadCsvHint}
            </span>
          </div>
          <details className="data" id={tableId} open>
            <summary>{t.dashboard.dataTable}</summary>
            <DataTable spec={spec} model={state.model} />
          </details>
        </>
      )}
      <details className="query">
        <summary>{t.dashboard.graphqlOperation}</summary>
        <pre>
          <code>{spec.query.trim()}</code>
        </pre>
      </details>
    </section>
  );
}

function Dashboard() {
  return (
    <PageFrame page="dashboard" title={t.dashboard.title}>
      <p className="intro">{t.dashboard.intro}</p>
      <div className="cards">
        {CARDS.map((spec) => (
          <Card key={spec.id} spec={spec} />
        ))}
      </div>
    </PageFrame>
  );
}

createRoot(document.getElementById('root')!).render(<Dashboard />);
