/**
 * Errors a user can act on. Every failure caused by input (a file, a flag, a hook name) is an
 * InterpError subclass whose message names the thing at fault, states expected against received,
 * and ends with what to do. The CLI prints `message` alone (no stack) and exits non-zero.
 * Internal invariants use `assert` below instead: those are bugs, not user errors.
 */
export class InterpError extends Error {
  /** What the user should do about it; appended to the message. */
  readonly fix: string | undefined;
  /** Process exit code the CLI uses for this error. */
  readonly exitCode: number = 1;

  constructor(message: string, fix?: string) {
    super(fix ? `${message}\n  fix: ${fix}` : message);
    this.name = new.target.name;
    this.fix = fix;
  }
}

/** A model directory or checkpoint that cannot be read (config, safetensors, tokenizer). */
export class ModelFormatError extends InterpError {}

/** A file that is missing, truncated, unreadable, or not in the expected format. */
export class FileFormatError extends InterpError {}


/** A tensor or argument whose shape disagrees with what the model or kernel expects. */
export class ShapeMismatchError extends InterpError {}

/** A flag or argument value that is out of range or contradicts another. */
export class UsageError extends InterpError {}

/** A hook name that no hook point of the model (or capture) has: a usage error with its own type, so callers can tell it apart. */
export class UnknownHookError extends UsageError {}

/** The machine lacks something interp needs (a WebGPU adapter, Chromium, disk space). */
export class EnvironmentError extends InterpError {}

/** Thrown by `assert`: an internal invariant failed, which is a bug in interp. */
export class InternalError extends Error {
  constructor(message: string) {
    super(`internal error (a bug in interp, please report it): ${message}`);
    this.name = 'InternalError';
  }
}

/** Internal invariant check with a lazily built message. Never use it for user input. */
export function assert(condition: unknown, message: () => string): asserts condition {
  if (!condition) throw new InternalError(message());
}

/**
 * A value read from a file, rendered for an error message: JSON, cut to `max` characters. Never
 * throws: values nested too deeply for JSON.stringify (a hostile file can nest arrays 100,000
 * deep, which JSON.parse accepts) are shown by their kind instead.
 */
export function describeValue(value: unknown, max = 80): string {
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch {
    text = Array.isArray(value) ? '[...] (nested too deeply to show)' : '{...} (nested too deeply to show)';
  }
  if (text === undefined) text = String(value);
  return text.length > max ? `${text.slice(0, max - 3)}...` : text;
}
