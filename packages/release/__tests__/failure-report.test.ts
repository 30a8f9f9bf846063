import { describe, expect, it } from '@jest/globals';
import {
  failureLogLines,
  failureReasons,
  failureReportMarkdown,
  md,
  type EventReport,
  type FailureReport,
  type GateResult,
  workloadReasons,
  type WorkloadReport,
} from '../src/index.js';

// The report of why a step failed, as the log and the job summary show it. Event messages,
// termination messages and answers' bodies are cluster data: whoever runs a pod writes them.

const HOSTILE =
  'boom\n::error::forged | ![x](https://evil.example/p.png) <img src=x> **bold** @octocat `code`\r::add-mask::x';

function event(message: string, at = '2030-01-01T10:00:00Z', reason = 'BackOff'): EventReport {
  return {
    object: 'Pod/web-green-1',
    type: 'Warning',
    reason,
    message,
    count: 3,
    lastSeen: at,
    source: 'kubelet',
  };
}

function crashing(
  name = 'web-green',
  events: EventReport[] = [event('Back-off restarting failed container web in pod x')],
): WorkloadReport {
  return {
    kind: 'Deployment',
    name,
    found: true,
    status: '0 of 2 available, 2 updated, 0 ready',
    conditions: [
      {
        type: 'Available',
        status: 'False',
        reason: 'MinimumReplicasUnavailable',
        message: 'Deployment does not have minimum availability.',
      },
      {
        type: 'Progressing',
        status: 'False',
        reason: 'ProgressDeadlineExceeded',
        message: 'ReplicaSet "web-green-7c9" has timed out progressing.',
      },
    ],
    events: [],
    pods: [
      {
        name: `${name}-7c9-abcde`,
        phase: 'Running',
        conditions: [],
        containers: [
          {
            name: 'web',
            image: 'ghcr.io/shop/web@sha256:1',
            init: false,
            ready: false,
            restartCount: 4,
            state: 'waiting',
            reason: 'CrashLoopBackOff',
            message: 'back-off 40s restarting failed container=web',
            lastTermination: {
              exitCode: 3,
              reason: 'Error',
              message: HOSTILE,
              finishedAt: '2030-01-01T10:00:00Z',
            },
          },
        ],
        events,
      },
    ],
    podsNotReady: 2,
    podsTotal: 2,
  };
}

const gate: GateResult = {
  check: 'auth',
  phase: 'pre-switch',
  target: 'service auth-preview:http/health',
  passed: false,
  stopped: false,
  attempts: 4,
  successes: 0,
  failures: 4,
  durationMs: 800,
  lastDetail: 'HTTP 500, expected 200-399: db down',
  answers: [
    {
      at: '2030-01-01T10:00:01.000Z',
      ok: false,
      status: 500,
      latencyMs: 3,
      body: 'db down',
      detail: 'HTTP 500',
    },
    {
      at: '2030-01-01T10:00:02.000Z',
      ok: false,
      status: 503,
      latencyMs: 4,
      body: HOSTILE,
      detail: 'HTTP 503',
    },
  ],
};

function report(workloads: WorkloadReport[], gates: GateResult[] = []): FailureReport {
  return {
    message: 'green did not become available: web-green failed (ProgressDeadlineExceeded)',
    namespace: 'shop',
    workloads,
    gates,
    unread: [],
    workloadsLeftOut: 0,
  };
}

describe('failureReasons', () => {
  it('names what a person would search for: the container first, then conditions; a check by its last status', () => {
    expect(failureReasons(report([crashing()], [gate]))).toEqual([
      'Deployment web-green: CrashLoopBackOff, exit code 3, MinimumReplicasUnavailable, ProgressDeadlineExceeded',
      'health check auth: HTTP 503',
    ]);
  });
});

describe('workloadReasons', () => {
  it("names the kubelet's loop from its back-off events, whatever state the container was read in", () => {
    const between = crashing();
    const [pod] = between.pods;
    const running = {
      ...between,
      pods: [
        {
          ...(pod as NonNullable<typeof pod>),
          containers: [
            {
              ...(pod as NonNullable<typeof pod>).containers[0]!,
              state: 'running' as const,
              reason: '',
              message: '',
            },
          ],
        },
      ],
    };
    expect(workloadReasons(running)[0]).toBe('exit code 3');
    expect(workloadReasons(running)).toContain('CrashLoopBackOff');
    const pulling = {
      ...running,
      pods: [
        {
          ...running.pods[0]!,
          containers: [
            { ...running.pods[0]!.containers[0]!, state: 'waiting' as const, reason: 'ErrImagePull' },
          ],
          events: [
            event('Back-off pulling image "shop/web:typo"', '2030-01-01T10:00:00Z', 'BackOff'),
            event('Failed to pull image "shop/web:typo": not found', '2030-01-01T10:00:01Z', 'Failed'),
          ],
        },
      ],
    };
    // The kubelet's own Failed and BackOff add nothing the states do not say.
    expect(workloadReasons(pulling)).toEqual([
      'ErrImagePull',
      'exit code 3',
      'ImagePullBackOff',
      'MinimumReplicasUnavailable',
      'ProgressDeadlineExceeded',
    ]);
  });
});

describe('failureReportMarkdown', () => {
  const section = failureReportMarkdown(report([crashing()], [gate]));

  it('has a table per workload naming the reason, the restarts and the last exit with its message', () => {
    expect(section).toContain('#### Why it failed');
    expect(section).toContain(
      '**Deployment `web-green`**: 0 of 2 available, 2 updated, 0 ready — **CrashLoopBackOff**',
    );
    expect(section).toMatch(
      /\| Progressing \| False \| ProgressDeadlineExceeded \| ReplicaSet "web-green-7c9" has timed out progressing\. \|/,
    );
    expect(section).toMatch(
      /\| web-green-7c9-abcde \(Running\) \| web \| waiting \| \*\*CrashLoopBackOff\*\* \| 4 \| exit code 3 Error: boom /,
    );
    expect(section).toContain('<details><summary>Events of Deployment web-green and its pods (1)</summary>');
  });

  it("shows a failed check's last answers: status, latency, body", () => {
    expect(section).toContain('**Health check `auth`** (pre-switch, service auth-preview:http/health)');
    expect(section).toContain('| 10:00:01 | 500 | 3 ms | db down |');
    expect(section).toMatch(/\| 10:00:02 \| 503 \| 4 ms \| boom /);
  });

  it('shows cluster text as text: no markup, image, link, HTML, mention or extra cell gets through', () => {
    const escaped = md(HOSTILE);
    expect(escaped).toBe(
      'boom ::error::forged \\| !\\[x\\](https://evil.example/p.png) &lt;img src=x&gt; \\*\\*bold\\*\\* @octocat \\`code\\` ::add-mask::x',
    );
    expect(section).not.toContain('![x](');
    expect(section).not.toContain('<img');
    expect(section).not.toContain('**bold**');
    // Every table row keeps its number of cells.
    for (const row of section.split('\n').filter((l) => l.startsWith('| web-green-7c9')))
      expect(row.split(/(?<!\\)\|/).length).toBe(9);
  });

  it('stays under its size, naming what it left out', () => {
    const big = Array.from({ length: 200 }, (_, i) =>
      crashing(
        `svc-${String(i)}-green`,
        Array.from({ length: 10 }, (_, j) =>
          event(`x`.repeat(500), `2030-01-01T10:00:${String(j).padStart(2, '0')}Z`, 'Failed'),
        ),
      ),
    );
    const text = failureReportMarkdown(report(big), 64 * 1024);
    expect(Buffer.byteLength(text)).toBeLessThanOrEqual(64 * 1024);
    expect(text).toMatch(
      /\d+ more entries are not shown: the section is kept under 64 KiB\. The log's "Why it failed" group has everything\./,
    );
    expect(text).toContain('**Deployment `svc-0-green`**');
  });
});

describe('failureLogLines', () => {
  const lines = failureLogLines(report([crashing()], [gate]));

  it('reads like kubectl describe: conditions, pods, containers with their last exit, events', () => {
    expect(lines).toEqual(
      expect.arrayContaining([
        'Deployment web-green (namespace shop): 0 of 2 available, 2 updated, 0 ready',
        '    Progressing=False ProgressDeadlineExceeded: ReplicaSet "web-green-7c9" has timed out progressing.',
        '  Pod web-green-7c9-abcde (Running)',
        '    container web: waiting CrashLoopBackOff: back-off 40s restarting failed container=web (ready false, restarts 4)',
        '      2030-01-01T10:00:00Z Warning BackOff Pod/web-green-1 (x3) from kubelet: Back-off restarting failed container web in pod x',
        '  10:00:01 HTTP 500 in 3 ms: db down',
      ]),
    );
  });

  it('never lets cluster text start a line, so it can never be read as a workflow command', () => {
    for (const line of lines) expect(line.trimStart().startsWith('::')).toBe(false);
    expect(lines.join('\n')).toContain('boom\\n::error::forged');
    expect(lines.join('\n')).toContain('\\r::add-mask::x');
  });
});
