/** Headers of an RPC request. */
export const RPC_HEADERS = {
  messageId: 'Pier-Message-Id',
  correlationId: 'Pier-Correlation-Id',
  actor: 'Pier-Actor',
  deadline: 'Pier-Deadline',
} as const;
