import { type Cause } from '@pier/contracts';

/** Time and cause of the command being decided: decisions never read the clock or make ids. */
export interface CommandContext {
  readonly cause: Cause;
  /** ISO time at which the command is decided. */
  readonly now: string;
}
