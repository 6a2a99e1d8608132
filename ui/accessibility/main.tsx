/**
 * The accessibility statement, served at /accessibility in Italian or English and linked from
 * the footer of every page, with the sections of the model statement of Implementing Decision
 * (EU) 2018/1523 that AgID adopts: compliance status, non-accessible content, preparation of the
 * statement, feedback and contact, enforcement procedure.
 */
import { createRoot } from 'react-dom/client';
import './accessibility.css';
import { f, PageFrame, t } from '../shared/page.tsx';

/** When the statement was last prepared (reviewed at least once a year). */
const PREPARED_ON = '2026-12-04';

function Statement() {
  const s = t.accessibility;
  return (
    <PageFrame page="accessibility" title={s.title}>
      <p>{s.intro}</p>
      <p>{s.scope}</p>
      <h2>{s.statusTitle}</h2>
      <p data-compliance="partial">{s.status}</p>
      <h3>{s.conformsTitle}</h3>
      <ul>
        {s.conforms.map((item) => (
          <li key={item}>{item}</li>
        ))}
      </ul>
      <h2>{s.nonConformTitle}</h2>
      <ul>
        {s.nonConform.map((item) => (
          <li key={item}>{item}</li>
        ))}
      </ul>
      <h2>{s.preparationTitle}</h2>
      <p>{s.preparation(f.date(PREPARED_ON))}</p>
      <h2>{s.feedbackTitle}</h2>
      <p>{s.feedback}</p>
      <h2>{s.enforcementTitle}</h2>
      <p>{s.enforcement}</p>
    </PageFrame>
  );
}

createRoot(document.getElementById('root')!).render(<Statement />);
