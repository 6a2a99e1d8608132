/**
 * The analytics dashboard, served by the gateway at /dashboard. Every card sends its own
 * operation to the public GraphQL API (/graphql), so one failing query leaves the others intact;
 * each shows where its numbers come from, a chart, the exact figures as a table, and exports them
 * as CSV generated in the browser.
 */
import { useEffect, useRef, useState } from 'react';
import { createRoot } from 'react-dom/client';
import { BarController, BarElement, CategoryScale, Chart, Legend, LinearScale, Tooltip } from 'chart.js';
import './dashboard.css';
import { CARDS, type CardModel, type CardSpec, type ChartModel, type Row } from './cards.ts';
import { downloadCsv, toCsv } from './csv.ts';
import { graphql, QueryError } from './graphql.ts';

Chart.register(BarController, BarElement, CategoryScale, LinearScale, Tooltip, Legend);
Chart.defaults.font.family = 'system-ui, -apple-system, "Segoe UI", Roboto, sans-serif';
Chart.defaults.color = '#1a1a1a';

type Load = { status: 'loading' } | { status: 'error'; messages: string[] } | { status: 'ready'; model: CardModel };

function useCard(spec: CardSpec): Load {
  const [state, setState] = useState<Load>({ status: 'loading' });
  useEffect(() => {
    const abort = new AbortController();
    graphql<unknown>(spec.query, abort.signal)
      .then((data) => setState({ status: 'ready', model: spec.model(data) }))
      .catch((err: unknown) => {
        if (abort.signal.aborted) return;
        setState({ status: 'error', messages: err instanceof QueryError ? err.details : [err instanceof Error ? err.message : String(err)] });
      });
    return () => abort.abort();
  }, [spec]);
  return state;
}

const euroTick = (value: number): string =>
  value === 0 ? '0' : Math.abs(value) >= 1e6 ? `€${(value / 1e6).toFixed(1)}M` : `€${Math.round(value / 1e3)}k`;

function BarChart({ model, title }: { model: ChartModel; title: string }) {
  const canvas = useRef<HTMLCanvasElement>(null);
  const [drawn, setDrawn] = useState(false);
  useEffect(() => {
    const chart = new Chart(canvas.current!, {
      type: 'bar',
      data: {
        labels: model.labels.map((l) => wrap(l)),
        datasets: model.datasets.map((d) => ({ label: d.label, data: [...d.values], backgroundColor: d.color, borderColor: d.color })),
      },
      options: {
        indexAxis: 'y',
        animation: false,
        responsive: true,
        maintainAspectRatio: false,
        scales: {
          x: {
            stacked: model.stacked ?? false,
            beginAtZero: true,
            ...(model.unit === 'PERCENT' ? { max: 100 } : {}),
            ticks: {
              ...(model.unit === 'COUNT' ? { precision: 0 } : {}),
              callback: (value) => {
                const n = Number(value);
                return model.unit === 'EUR' ? euroTick(n) : model.unit === 'PERCENT' ? `${n}%` : String(n);
              },
            },
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
  return (
    <div className="chart" style={{ height: `${Math.max(180, model.labels.length * (model.stacked ? 44 : 56) + 90)}px` }} data-chart={drawn ? 'drawn' : 'pending'} data-points={points}>
      <canvas ref={canvas} role="img" aria-label={`${title}: bar chart. The data table has the exact figures.`} />
    </div>
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

function DataTable({ model, caption }: { model: CardModel; caption: string }) {
  const cell = (value: unknown) => (value === null || value === undefined ? '—' : String(value));
  const columns = model.columns.filter((c) => !c.csvOnly);
  const cells = (row: Row) =>
    columns.map((c, j) =>
      j === 0 ? (
        <th key={c.key} scope="row">
          {cell(row[c.key])}
        </th>
      ) : (
        <td key={c.key} className={c.numeric ? 'num' : undefined}>
          {cell(row[c.key])}
        </td>
      ),
    );
  return (
    // Focusable, so a keyboard can scroll a table wider than its card.
    <div className="table-wrap" role="region" aria-label={caption} tabIndex={0}>
      <table>
        <caption>{caption}</caption>
        <thead>
          <tr>
            {columns.map((c) => (
              <th key={c.key} scope="col" className={c.numeric ? 'num' : undefined}>
                {c.label}
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
        <strong>Source:</strong> {spec.source}.
      </p>
      <ul>
        {model.provenance.map((p) => (
          <li key={p.value}>
            <span className={`badge badge-${p.value.toLowerCase()}`}>{spec.provenanceText[p.value]}</span>{' '}
            <span className="rows">
              ({p.rows} {p.rows === 1 ? 'row' : 'rows'})
            </span>
          </li>
        ))}
      </ul>
      {model.notes.length > 0 && (
        <details>
          <summary>Provenance notes</summary>
          <ul>
            {model.notes.map((n) => (
              <li key={n}>{n}</li>
            ))}
          </ul>
        </details>
      )}
    </div>
  );
}

function Card({ spec }: { spec: CardSpec }) {
  const state = useCard(spec);
  const titleId = `${spec.id}-title`;
  return (
    <section className="card" aria-labelledby={titleId} aria-busy={state.status === 'loading'} data-card={spec.id} data-state={state.status}>
      <h2 id={titleId}>{spec.title}</h2>
      <p className="question">{spec.question}</p>
      {state.status === 'loading' && <p className="loading">Loading…</p>}
      {state.status === 'error' && (
        <div className="error" role="alert">
          <p>
            <strong>This chart could not be loaded.</strong> The other charts are not affected.
          </p>
          <ul>
            {state.messages.map((m) => (
              <li key={m}>{m}</li>
            ))}
          </ul>
        </div>
      )}
      {state.status === 'ready' && (
        <>
          <ProvenanceNote spec={spec} model={state.model} />
          <BarChart model={state.model.chart} title={spec.title} />
          <div className="actions">
            <button
              type="button"
              aria-describedby={titleId}
              onClick={() =>
                downloadCsv(
                  spec.csvFile,
                  toCsv(
                    state.model.columns.map((c) => c.key),
                    [...state.model.rows, ...(state.model.total ? [state.model.total] : [])].map((r) => state.model.columns.map((c) => r[c.key])),
                  ),
                )
              }
            >
              Download CSV
            </button>
          </div>
          <details className="data" open>
            <summary>Data table</summary>
            <DataTable model={state.model} caption={`${spec.title}: exact figures from the API`} />
          </details>
        </>
      )}
      <details className="query">
        <summary>GraphQL operation</summary>
        <pre>
          <code>{spec.query.trim()}</code>
        </pre>
      </details>
    </section>
  );
}

function Dashboard() {
  return (
    <>
      <header className="page-header">
        <h1>ALI Graph — analytics</h1>
        <p>
          Funding, coverage of the small Comuni and adoption of the reuse solutions across Piedmont’s Local Alliances for Innovation.
          Every figure comes from the public GraphQL API at <code>/graphql</code>; each chart says where its numbers come from and
          whether they are published, derived, estimated or sample data.
        </p>
        <nav aria-label="Pages">
          <a href="/explorer">GraphQL explorer</a>
        </nav>
      </header>
      <main className="cards">
        {CARDS.map((spec) => (
          <Card key={spec.id} spec={spec} />
        ))}
      </main>
    </>
  );
}

createRoot(document.getElementById('root')!).render(<Dashboard />);
