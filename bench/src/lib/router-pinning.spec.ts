import { cpuListSize } from './router-pinning';

describe('cpuListSize', () => {
  it('counts the CPUs of a taskset list, each once', () => {
    expect(cpuListSize('0')).toBe(1);
    expect(cpuListSize('1-3')).toBe(3);
    expect(cpuListSize('0,2-3')).toBe(3);
    expect(cpuListSize('0-1,1')).toBe(2);
  });

  it('refuses what is not a CPU list', () => {
    expect(() => cpuListSize('a')).toThrow('not a CPU list');
    expect(() => cpuListSize('3-1')).toThrow('runs backwards');
  });
});
