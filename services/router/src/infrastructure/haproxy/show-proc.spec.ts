import { parseShowProc } from './show-proc';

describe('show proc', () => {
  it('reads the master, its reloads, the current and the old workers', () => {
    const text = [
      '#<PID>          <type>          <reloads>       <uptime>        <version>      ',
      '26219           master          1 [failed: 0]   0d00h00m02s     2.6.12-1+deb12u4',
      '# workers',
      '26237           worker          0               0d00h00m01s     2.6.12-1+deb12u4',
      '# old workers',
      '26222           worker          1               0d00h00m02s     2.6.12-1+deb12u4',
      '# programs',
      '',
    ].join('\n');
    expect(parseShowProc(text)).toEqual({
      masterPid: 26219,
      reloads: 1,
      failedReloads: 0,
      workers: [26237],
      oldWorkers: [26222],
    });
  });

  it('reports a failed reload', () => {
    const text =
      '#<PID> <type> <reloads>\n21942 master 1 [failed: 1] 0d00h00m02s 2.6.12\n# workers\n21945 worker 1 0d 2.6\n';
    expect(parseShowProc(text)).toMatchObject({ reloads: 1, failedReloads: 1, workers: [21945] });
  });

  it('refuses an answer that is not a process list', () => {
    expect(() => parseShowProc('Unknown command')).toThrow('not an HAProxy process list');
  });
});
