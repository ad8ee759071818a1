import { Suspense, lazy, useEffect, useMemo, useRef, useState, type FormEvent } from 'react';
import { loadLeftOut, saveLeftOut } from './choice';
import { loadConfig, type AppConfig } from './config';
import { History } from './components/History';
import { MetricsTable } from './components/MetricsTable';
import { StrategyPanel } from './components/StrategyPanel';
import { download, toCsv } from './export';
import { addToHistory, loadHistory, type HistoryEntry } from './history';
import type { Sample } from './metrics';
import { race, type Lane, type Mode, type RaceResult } from './race';
import { clients as allClients } from './strategies/registry';

// uPlot is the largest dependency: it loads after the first paint, in its own chunk.
const RaceChart = lazy(() => import('./components/RaceChart'));

const DEFAULT_PROMPT = 'Explain in three sentences why streaming makes a chat answer feel faster.';

export default function App() {
  const [config, setConfig] = useState<AppConfig>();
  const [configError, setConfigError] = useState<string>();
  useEffect(() => {
    loadConfig(window.location.href).then(setConfig, (error: unknown) => setConfigError(String(error)));
  }, []);

  if (configError) {
    return (
      <main>
        <h1>GenAI strategies</h1>
        <p className="error" role="alert">
          {configError}
        </p>
      </main>
    );
  }
  if (!config) return <main aria-busy="true">Loading configuration…</main>;
  return <Compare config={config} />;
}

function Compare({ config }: { config: AppConfig }) {
  // The strategies this build has and this stage serves.
  const clients = useMemo(() => allClients.filter((c) => c.name in config.strategies), [config]);
  const [prompt, setPrompt] = useState(DEFAULT_PROMPT);
  const [system, setSystem] = useState('');
  const [maxTokens, setMaxTokens] = useState(config.limits.defaultMaxTokens);
  const [temperature, setTemperature] = useState(0.7);
  const [runs, setRuns] = useState(1);
  const [mode, setMode] = useState<Mode>('parallel');
  const [warmUp, setWarmUp] = useState(false);
  const [lanes, setLanes] = useState<Record<string, Lane>>({});
  const [result, setResult] = useState<RaceResult>();
  const [history, setHistory] = useState<HistoryEntry[]>(() => loadHistory());
  const [running, setRunning] = useState(false);
  const abort = useRef<AbortController | null>(null);
  const promptBox = useRef<HTMLTextAreaElement>(null);
  // Back to the prompt for the next question once a run ends. After the commit that enables
  // it again: focus() on the still-disabled box (a frame callback can come first on a busy
  // machine) does nothing.
  const wasRunning = useRef(false);
  useEffect(() => {
    if (wasRunning.current && !running) promptBox.current?.focus();
    wasRunning.current = running;
  }, [running]);
  const [leftOut, setLeftOut] = useState<string[]>(() => loadLeftOut());
  // Every strategy when the remembered choice leaves none of this stage's (the choice is kept
  // per origin, which another project on the same port may share).
  const kept = clients.filter((c) => !leftOut.includes(c.name));
  const chosen = kept.length > 0 ? kept : clients;

  function toggle(name: string, included: boolean) {
    const next = included ? leftOut.filter((n) => n !== name) : [...leftOut, name];
    setLeftOut(next);
    saveLeftOut(next);
  }

  const promptBytes = new TextEncoder().encode(prompt).length;
  const tooLong = promptBytes > config.limits.maxPromptBytes;

  async function start(event: FormEvent) {
    event.preventDefault();
    if (running || tooLong || !prompt.trim() || chosen.length === 0) return;
    const controller = new AbortController();
    abort.current = controller;
    setRunning(true);
    setLanes({});
    setResult(undefined);
    const request = { prompt, maxTokens, temperature, ...(system.trim() ? { system } : {}) };
    const outcome = await race({
      clients: chosen,
      config,
      request,
      mode,
      runs,
      warmUp,
      signal: controller.signal,
      onLane: (name, lane) => setLanes((previous) => ({ ...previous, [name]: lane })),
    });
    setResult(outcome);
    setRunning(false);
    setHistory(
      addToHistory({
        at: new Date().toISOString(),
        prompt,
        runs,
        mode,
        samples: outcome.samples,
        errors: outcome.errors.map(({ strategy, code }) => ({ strategy, code })),
      }),
    );
  }

  const samples: Sample[] = result?.samples ?? [];
  // The live leader: while the race runs, the one strategy with the most text so far.
  const received = chosen.map((c) => lanes[c.name]?.text.length ?? 0);
  const most = Math.max(0, ...received);
  const leader =
    running && chosen.length > 1 && most > 0 && received.filter((n) => n === most).length === 1
      ? chosen[received.indexOf(most)].name
      : undefined;
  const series = clients.filter((c) => lanes[c.name]).map((c) => ({ name: c.name, label: c.label, lane: lanes[c.name] }));

  return (
    <main>
      <header className="top">
        <h1>GenAI strategies</h1>
        <p className="subtitle">
          One prompt, raced through each way this app streams a Bedrock answer from AWS Lambda:{' '}
          {clients.map((c) => `${c.label} ${c.summary}`).join('; ')}.
        </p>
        <p>
          Stage <b>{config.stage}</b> · model <code>{config.model}</code> · {config.region}
        </p>
      </header>
      <form onSubmit={start} className="settings">
        <fieldset disabled={running} className="inputs">
          <legend className="visually-hidden">Question and settings</legend>
        <label className="wide">
          Prompt
          <textarea
            ref={promptBox}
            value={prompt}
            onChange={(e) => setPrompt(e.target.value)}
            onKeyDown={(e) => {
              // Enter runs, Shift+Enter is a new line; not while an input method composes.
              if (e.key === 'Enter' && !e.shiftKey && !e.nativeEvent.isComposing) {
                e.preventDefault();
                e.currentTarget.form?.requestSubmit();
              }
            }}
            rows={3}
            required
            placeholder="Ask something…"
            aria-describedby="prompt-hint"
          />

          {tooLong && (
            <span className="error" role="alert">
              The prompt is {promptBytes} bytes; this stage accepts {config.limits.maxPromptBytes}.
            </span>
          )}
        </label>
        {/* Outside the label, so the box's name stays "Prompt"; tied to it as its description. */}
        <p id="prompt-hint" className="hint wide">
          Enter runs the race, Shift+Enter starts a new line.
        </p>
        <label className="wide">
          System prompt (optional)
          <textarea
            value={system}
            onChange={(e) => setSystem(e.target.value)}
            rows={1}
            placeholder="e.g. Answer like a pirate."
          />
        </label>
        <label>
          Max tokens
          <input
            type="number"
            min={1}
            max={config.limits.maxTokens}
            value={maxTokens}
            onChange={(e) => setMaxTokens(Number(e.target.value))}
          />
        </label>
        <label>
          Temperature
          <input
            type="number"
            min={0}
            max={1}
            step={0.1}
            value={temperature}
            onChange={(e) => setTemperature(Number(e.target.value))}
          />
        </label>
        <label>
          Runs
          <input type="number" min={1} max={20} value={runs} onChange={(e) => setRuns(Number(e.target.value))} />
        </label>
        <label>
          Strategies run
          <select value={mode} onChange={(e) => setMode(e.target.value as Mode)}>
            <option value="parallel">all at once</option>
            <option value="sequential">one after another (fair)</option>
          </select>
        </label>
        <label className="check">
          <input type="checkbox" checked={warmUp} onChange={(e) => setWarmUp(e.target.checked)} />
          Warm-up run first, not counted
        </label>
        {clients.length > 1 && (
          <fieldset className="wide strategies">
            <legend>Strategies in the race</legend>
            {clients.map((client) => (
              <label key={client.name}>
                <input
                  type="checkbox"
                  checked={!leftOut.includes(client.name)}
                  onChange={(e) => toggle(client.name, e.target.checked)}
                />
                {client.label}
              </label>
            ))}
          </fieldset>
        )}
        </fieldset>
        <div className="actions">
          <button type="submit" disabled={running || tooLong || chosen.length === 0}>
            Run {chosen.length === 1 ? chosen[0].label : `${chosen.length === clients.length ? 'all ' : ''}${chosen.length} strategies`}
          </button>
          <button type="button" disabled={!running} onClick={() => abort.current?.abort()}>
            Cancel
          </button>
          <button
            type="button"
            disabled={samples.length === 0}
            onClick={() =>
              download('genai-compare.json', 'application/json', JSON.stringify({ config, prompt, mode, result }, null, 2))
            }
          >
            Export JSON
          </button>
          <button
            type="button"
            disabled={samples.length === 0}
            onClick={() => download('genai-compare.csv', 'text/csv', toCsv(samples))}
          >
            Export CSV
          </button>
        </div>
      </form>
      <div className="panels">
        {chosen.map((client) => (
          <StrategyPanel
            key={client.name}
            label={client.label}
            lane={lanes[client.name]}
            maxTokens={maxTokens}
            leading={leader === client.name}
            buffered={client.buffered ?? false}
          />
        ))}
      </div>
      {samples.length > 0 && <MetricsTable clients={clients.filter((c) => samples.some((s) => s.strategy === c.name))} samples={samples} />}
      {series.length > 0 && (
        <Suspense fallback={<p>Loading chart…</p>}>
          <RaceChart series={series} />
        </Suspense>
      )}
      <History entries={history} />
    </main>
  );
}
