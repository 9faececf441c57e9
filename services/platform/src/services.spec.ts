import { CONTROL_PLANE, selectServices } from './services';

describe('the services of the one-process control plane', () => {
  it('are every control-plane service, each one after what it depends on', () => {
    expect(CONTROL_PLANE.map((s) => s.name)).toEqual(['clusters', 'auth', 'scheduler', 'router', 'gateway']);
  });

  it('are all of them unless PIER_SERVICES names some, which keep the start order', () => {
    expect(selectServices(undefined)).toBe(CONTROL_PLANE);
    expect(selectServices(' ')).toBe(CONTROL_PLANE);
    expect(selectServices('gateway, clusters').map((s) => s.name)).toEqual(['clusters', 'gateway']);
  });

  it('refuses a name it does not know', () => {
    expect(() => selectServices('gateway,builder')).toThrow(/no service named builder; known: clusters/);
  });
});
