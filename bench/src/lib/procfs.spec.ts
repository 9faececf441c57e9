import { cpuSecondsBetween, groupUsage } from './procfs';

describe('cpuSecondsBetween', () => {
  const reading = (entries: [number, number][]) => ({ cpuByPid: new Map(entries) });

  it('adds what each process alive at both readings used', () => {
    expect(
      cpuSecondsBetween(
        reading([
          [1, 2],
          [2, 5],
        ]),
        reading([
          [1, 3],
          [2, 5.5],
        ]),
      ),
    ).toBeCloseTo(1.5);
  });

  it('leaves out a process that exited or started in between, instead of counting it negative', () => {
    // Process 2 exited with 40 s used; process 3 started after the first reading.
    expect(
      cpuSecondsBetween(
        reading([
          [1, 2],
          [2, 40],
        ]),
        reading([
          [1, 2.5],
          [3, 1],
        ]),
      ),
    ).toBeCloseTo(0.5);
  });
});

describe('groupUsage', () => {
  it('reads this process and skips pids that do not exist', () => {
    const usage = groupUsage([process.pid, 2 ** 22 + 1]);
    expect(usage.alive).toBe(1);
    expect(usage.rssKiB).toBeGreaterThan(0);
    expect(usage.cpuByPid.get(process.pid)).toBe(usage.cpuSeconds);
  });
});
