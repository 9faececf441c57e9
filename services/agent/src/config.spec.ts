import { ConfigError, loadConfig } from '@pier/config';
import { agentConfigSchema, installationOf, instanceRuntimeSettings } from './config';

describe('agent configuration: leaving the cluster', () => {
  it('does not leave on stop by default, and waits up to 2 minutes when it does leave', () => {
    const config = loadConfig(agentConfigSchema, {});
    expect(config.PIER_AGENT_LEAVE_ON_STOP).toBe(false);
    expect(config.PIER_AGENT_LEAVE_TIMEOUT_MS).toBe(120_000);
    expect(loadConfig(agentConfigSchema, { PIER_AGENT_LEAVE_ON_STOP: 'true' }).PIER_AGENT_LEAVE_ON_STOP).toBe(
      true,
    );
  });

  it('refuses a value that is no boolean, and a timeout out of range, naming each variable', () => {
    const bad = () =>
      loadConfig(agentConfigSchema, { PIER_AGENT_LEAVE_ON_STOP: 'leave', PIER_AGENT_LEAVE_TIMEOUT_MS: '10' });
    expect(bad).toThrow(ConfigError);
    expect(bad).toThrow(/PIER_AGENT_LEAVE_ON_STOP[\s\S]*PIER_AGENT_LEAVE_TIMEOUT_MS/);
  });
});

describe('agent configuration: limits of every container', () => {
  it('defaults to 1024 processes and json-file logs rotated at 10m, 3 files kept', () => {
    const config = loadConfig(agentConfigSchema, {});
    expect(instanceRuntimeSettings(config).containerLimits).toEqual({
      pidsLimit: 1024,
      logMaxSize: '10m',
      logMaxFiles: 3,
    });
  });

  it('takes them from the environment', () => {
    const config = loadConfig(agentConfigSchema, {
      PIER_AGENT_PIDS_LIMIT: '256',
      PIER_AGENT_LOG_MAX_SIZE: '50m',
      PIER_AGENT_LOG_MAX_FILES: '5',
    });
    expect(instanceRuntimeSettings(config).containerLimits).toEqual({
      pidsLimit: 256,
      logMaxSize: '50m',
      logMaxFiles: 5,
    });
  });

  it('refuses limits that would not limit, naming each variable', () => {
    const bad = () =>
      loadConfig(agentConfigSchema, {
        PIER_AGENT_PIDS_LIMIT: '0',
        PIER_AGENT_LOG_MAX_SIZE: '10 MB',
        PIER_AGENT_LOG_MAX_FILES: '0',
      });
    expect(bad).toThrow(ConfigError);
    expect(bad).toThrow(/PIER_AGENT_PIDS_LIMIT[\s\S]*PIER_AGENT_LOG_MAX_SIZE[\s\S]*PIER_AGENT_LOG_MAX_FILES/);
  });
});

describe('agent configuration: the installation label', () => {
  it('is the event-stream prefix unless PIER_INSTALLATION names another', () => {
    expect(installationOf(loadConfig(agentConfigSchema, {}))).toBe('pier');
    expect(installationOf(loadConfig(agentConfigSchema, { PIER_PREFIX: 't_run_1' }))).toBe('t_run_1');
    expect(
      installationOf(loadConfig(agentConfigSchema, { PIER_PREFIX: 'pier', PIER_INSTALLATION: 'lab-2' })),
    ).toBe('lab-2');
  });

  it('refuses a value that is no label value', () => {
    expect(() => loadConfig(agentConfigSchema, { PIER_INSTALLATION: 'a b' })).toThrow(/PIER_INSTALLATION/);
    expect(() => loadConfig(agentConfigSchema, { PIER_INSTALLATION: 'x'.repeat(64) })).toThrow(
      /PIER_INSTALLATION/,
    );
  });
});
