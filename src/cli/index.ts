/**
 * @module The table of CLI commands. Each command lives in its own file beside this one.
 */
import { doctor } from './doctor.js';
import { login } from './login.js';
import { logout } from './logout.js';
import { serve } from './serve.js';
import { whoami } from './whoami.js';

export interface Command {
  summary: string;
  /** Returns the process exit code. */
  run(args: string[]): Promise<number>;
}

export const commands: Record<string, Command> = {
  doctor,
  login,
  logout,
  serve,
  whoami,
};
