const BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

/** Request latencies per route as a Prometheus histogram; bounded: one series per route, method and status class. */
export class ApiMetrics {
  private readonly series = new Map<string, { counts: number[]; sum: number; n: number }>();
  /** Requests refused, by the error code the API answered with (a fixed set of codes). */
  private readonly refused = new Map<string, number>();
  authFailures = 0;

  refuse(code: string): void {
    this.refused.set(code, (this.refused.get(code) ?? 0) + 1);
  }

  observe(route: string, method: string, status: number, seconds: number): void {
    const key = `route="${route}",method="${method}",code="${Math.floor(status / 100)}xx"`;
    let s = this.series.get(key);
    if (!s) this.series.set(key, (s = { counts: BUCKETS.map(() => 0), sum: 0, n: 0 }));
    BUCKETS.forEach((b, i) => { if (seconds <= b) s!.counts[i]++; });
    s.sum += seconds;
    s.n++;
  }

  render(): string {
    let out = '# HELP netpulse_api_request_seconds API request latency.\n# TYPE netpulse_api_request_seconds histogram\n';
    for (const [k, s] of this.series) {
      BUCKETS.forEach((b, i) => { out += `netpulse_api_request_seconds_bucket{${k},le="${b}"} ${s.counts[i]}\n`; });
      out += `netpulse_api_request_seconds_bucket{${k},le="+Inf"} ${s.n}\nnetpulse_api_request_seconds_sum{${k}} ${s.sum}\nnetpulse_api_request_seconds_count{${k}} ${s.n}\n`;
    }
    out += metric('netpulse_api_refused_total', 'counter', 'Requests refused, by error code.', [...this.refused].map(([code, n]) => [{ code }, n]));
    out += metric('netpulse_api_auth_failures_total', 'counter', 'Requests with no valid bearer token.', [[{}, this.authFailures]]);
    return out;
  }
}

/** One metric in Prometheus text format: `metric('netpulse_x_total', 'counter', 'help', [[{label: 'v'}, 3]])`. */
export function metric(name: string, type: 'counter' | 'gauge', help: string, values: [Record<string, string>, number][]): string {
  let out = `# HELP ${name} ${help}\n# TYPE ${name} ${type}\n`;
  for (const [labels, v] of values) {
    const l = Object.entries(labels).map(([k, x]) => `${k}="${x.replace(/["\\\n]/g, '_')}"`).join(',');
    out += `${name}${l ? `{${l}}` : ''} ${v}\n`;
  }
  return out;
}
