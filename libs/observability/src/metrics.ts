import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

export { Counter, Gauge, Histogram, Registry };

/** A Prometheus registry for one process, with the process's default metrics and a `service` label. */
export function createMetricsRegistry(service: string): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  collectDefaultMetrics({ register: registry });
  return registry;
}

interface MetricSpec<L extends string> {
  readonly name: string;
  readonly help: string;
  readonly labelNames: readonly L[];
}

/** The registry's counter of that name, created on first use (several components may share one). */
export function counter<L extends string>(registry: Registry, spec: MetricSpec<L>): Counter<L> {
  return (
    (registry.getSingleMetric(spec.name) as Counter<L> | undefined) ??
    new Counter({ ...spec, registers: [registry] })
  );
}

/** The registry's histogram of that name (seconds), created on first use. */
export function histogram<L extends string>(registry: Registry, spec: MetricSpec<L>): Histogram<L> {
  return (
    (registry.getSingleMetric(spec.name) as Histogram<L> | undefined) ??
    new Histogram({
      ...spec,
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    })
  );
}
