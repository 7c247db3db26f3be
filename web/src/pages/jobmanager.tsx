/** The JobManager's page: metrics, configuration and environment. */
import { getJson } from '../api.js';
import { Card, ErrorBanner, KeyValues, Loading, Tabs } from '../components/ui.js';
import { usePoll } from '../hooks.js';
import { ProcessMetrics } from './metrics.js';

interface Environment {
  readonly jvm: { readonly version: string; readonly arch: string; readonly options: readonly string[] };
  readonly classpath: readonly string[];
}

function ConfigurationView() {
  const config = usePoll(
    () => getJson<{ key: string; value: string }[]>('/jobmanager/config'),
    'jm-config',
    0,
  );
  if (config.error !== undefined) return <ErrorBanner error={config.error} />;
  if (config.data === undefined) return <Loading />;
  return <KeyValues rows={config.data.map((e) => [e.key, <span class="mono">{e.value}</span>] as const)} />;
}

function EnvironmentView() {
  const env = usePoll(() => getJson<Environment>('/jobmanager/environment'), 'jm-env', 0);
  if (env.error !== undefined) return <ErrorBanner error={env.error} />;
  if (env.data === undefined) return <Loading />;
  return (
    <KeyValues
      rows={[
        ['Runtime', env.data.jvm.version],
        ['Architecture', env.data.jvm.arch],
        ['Options', <span class="mono">{env.data.jvm.options.join(' ') || '–'}</span>],
        ['Entry points', <span class="mono">{env.data.classpath.join(', ') || '–'}</span>],
      ]}
    />
  );
}

export function JobManagerPage({ tab }: { tab: string }) {
  const tabs = [
    { id: 'metrics', label: 'Metrics', href: '#/jobmanager/metrics' },
    { id: 'config', label: 'Configuration', href: '#/jobmanager/config' },
    { id: 'environment', label: 'Environment', href: '#/jobmanager/environment' },
  ];
  return (
    <div class="page">
      <h1>Job Manager</h1>
      <Tabs tabs={tabs} active={tab} />
      {tab === 'config' ? (
        <Card title="Configuration">
          <ConfigurationView />
        </Card>
      ) : tab === 'environment' ? (
        <Card title="Environment">
          <EnvironmentView />
        </Card>
      ) : (
        <ProcessMetrics base="/jobmanager/metrics" />
      )}
    </div>
  );
}
