export { NodeAgent, AgentStartError } from './application/node-agent';
export { agentConfigSchema, type AgentConfig } from './config';
export { InstanceRuntime, type InstanceRuntimeSettings } from './application/run-instances/instance-runtime';
export { createInstanceRuntime } from './infrastructure/instance-runtime.factory';
export { DockerDriver } from './infrastructure/docker/docker.driver';
export { LostStarts } from './infrastructure/docker/lost-starts';
